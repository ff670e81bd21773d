from __future__ import annotations

import json

from flask import current_app, jsonify, request
from flask_smorest import Blueprint

from ..auth.guard import require_scope
from ..cors import public
from ..errors import MalformedJSON, Unprocessable, accepts_media_types
from ..extensions import limiter
from . import service
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


def site_rate_key() -> str:
    return "consents:" + (request.view_args or {}).get("site", "")


def consent_rate_limit() -> str:
    return current_app.config["CONSENT_RATE_LIMIT"]


@blp.route("/sites/<site>/consents", methods=["POST"])
@public
@accepts_media_types("text/plain")
@limiter.limit(consent_rate_limit, key_func=site_rate_key)
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
def record_consent(site):
    """Record one consent event (JSON or text/plain JSON from sendBeacon); idempotent by
    ``client_event_id`` / ``Idempotency-Key``."""
    event = event_schema.load(parse_json_body())
    key = request.headers.get("Idempotency-Key")
    if key is not None and key.strip().lower() != str(event["client_event_id"]):
        raise Unprocessable(
            "Idempotency-Key must equal client_event_id.",
            {"fields": {"Idempotency-Key": ["does not match client_event_id"]}},
        )
    return service.record_consent(
        site, event, request.headers.get("Origin"), request.headers.get("User-Agent")
    )


def parse_json_body() -> object:
    """The body as JSON whatever its media type (sendBeacon sends text/plain)."""
    try:
        return json.loads(request.get_data(cache=False) or b"null")
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
