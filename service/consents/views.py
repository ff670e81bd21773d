from __future__ import annotations

import json
from collections.abc import Mapping

from flask import g, jsonify, request
from flask_smorest import Blueprint

from ..auth.guard import require_scope
from ..errors import MalformedJSON, accepts_media_types
from ..extensions import limiter
from ..sites.cors import public
from . import service
from .ratelimit import RATE_COUNTED, check_site_limit, hit_site_limit
from .schemas import (
    CheckpointSchema,
    ConsentEventSchema,
    ConsentReceiptSchema,
    ProofSchema,
    ReceiptVerifyRequestSchema,
    ReceiptVerifyResultSchema,
    VerificationSchema,
)

blp = Blueprint("consents", __name__, url_prefix="/api/v1", description="Record and prove consent")
event_schema = ConsentEventSchema()


@limiter.request_filter
def consents_check_their_own_limit() -> bool:
    """The consent POST counts its per-site limit itself (``ratelimit``)."""
    return request.endpoint == "consents.record_consent"


@blp.route("/sites/<site>/consents", methods=["POST"])
@public
@accepts_media_types("text/plain")
@blp.doc(
    requestBody={
        "required": True,
        "content": {
            "application/json": {"schema": ConsentEventSchema},
            "text/plain": {"schema": ConsentEventSchema},
        },
    }
)
@blp.response(201, ConsentReceiptSchema)
@blp.alt_response(429, schema=None)
def record_consent(site):
    """Record one consent event (JSON or text/plain JSON from sendBeacon); idempotent by
    ``client_event_id`` / ``Idempotency-Key``."""
    # The fast path may have counted this request already before handing it over.
    rate = request.environ.get(RATE_COUNTED) or hit_site_limit(site)
    g.rate_limit_headers = rate.headers
    check_site_limit(rate)
    return receive_consent(site, parse_json_body(request.get_data(cache=False)), request.headers)


@blp.after_request
def add_rate_limit_headers(response):
    """The consent POST's answers, errors included, carry its rate-limit headers."""
    response.headers.update(g.pop("rate_limit_headers", {}))
    return response


def receive_consent(site_id: str, data: object, headers: Mapping[str, str]) -> dict:
    """Parse a consent POST's body and record it: the view's work, shared with the fast path.
    ``headers``: the request's ``Origin``, ``User-Agent`` and ``Idempotency-Key``."""
    return service.record_consent(
        site_id,
        event_schema.load(data),
        headers.get("Origin"),
        headers.get("User-Agent"),
        headers.get("Idempotency-Key"),
    )


def parse_json_body(body: bytes) -> object:
    """The body as JSON whatever its media type (sendBeacon sends text/plain)."""
    try:
        return json.loads(body or b"null")
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedJSON("The request body is not valid JSON.") from error


@blp.route("/receipts/verify", methods=["POST"])
@blp.arguments(ReceiptVerifyRequestSchema)
@blp.response(200, ReceiptVerifyResultSchema)
def verify_receipt(data):
    """Check a receipt's signature against the published keys; answers the consent it holds."""
    return service.verify_receipt(data["receipt"])


@blp.route("/sites/<site>/checkpoints/latest", methods=["GET"])
@public
@blp.response(200, CheckpointSchema)
@blp.alt_response(404, schema=None)
def latest_checkpoint(site):
    """The latest signed tree head of the site's ledger."""
    return service.latest_signed_checkpoint(site)


@blp.route("/sites/<site>/consents/<record_id>/proof", methods=["GET"])
@require_scope(blp, "audit:read")
@blp.response(200, ProofSchema)
def record_proof(site, record_id):
    """Inclusion proof of one record against the latest checkpoint."""
    return service.inclusion_proof(site, record_id)


@blp.route("/sites/<site>/ledger/verify", methods=["GET"])
@require_scope(blp, "audit:read")
@blp.response(200, VerificationSchema)
def verify_ledger(site):
    """Full verification of the site's ledger: chain, copies of body fields, checkpoints."""
    return service.verify_site_ledger(site).to_dict()


def jwks():
    """Every public key that ever signed a receipt or checkpoint (current first)."""
    from ..signing import keyring

    response = jsonify(keyring().jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
