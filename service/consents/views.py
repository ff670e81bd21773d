from __future__ import annotations

from flask import Response, jsonify, request

from ..auth.guard import require_scope
from ..errors import ErrorSchema, accepts_body_up_to, accepts_media_types
from ..extensions import Blueprint, limiter
from ..jurisdictions.resolution import resolver
from ..sites.cors import public
from . import service
from .answer import respond
from .schemas import (
    CheckpointSchema,
    ConsentEventSchema,
    ConsentReceiptSchema,
    LedgerVerifyRequestSchema,
    ProofSchema,
    ReceiptVerifyRequestSchema,
    ReceiptVerifyResultSchema,
    VerificationSchema,
)

blp = Blueprint("consents", __name__, url_prefix="/api/v1", description="Record and prove consent")


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
@blp.doc(security=[{}, {"bearerAuth": []}])
@blp.response(201, ConsentReceiptSchema)
@blp.alt_response(401, schema=ErrorSchema, description="No Origin and no valid API key")
@blp.alt_response(
    403,
    schema=ErrorSchema,
    description="A foreign Origin, a key without consents:write, or subject_token_required",
)
@blp.alt_response(429, schema=ErrorSchema)
def record_consent(site):
    """Record one consent event (JSON or text/plain JSON from sendBeacon); idempotent by
    ``client_event_id`` / ``Idempotency-Key``.

    A browser's request needs an allowed ``Origin``; a request without ``Origin`` (a site's
    server) needs an API key with the scope ``consents:write``. An event for a subject that
    already has records must carry that subject's ``subject_token`` (returned with every
    receipt) in the body, else 403 ``subject_token_required``."""
    region = resolver().for_request(request.environ, request.args.get("region"))
    body = request.get_data(cache=False)
    answer = respond(site, body, request.headers, region, request.remote_addr)
    return Response(answer.body, answer.status, answer.headers)


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
    """Full verification of the site's ledger: chain, copies of body fields, checkpoints,
    erasure log and head."""
    return service.verify_site_ledger(site).to_dict()


@blp.route("/sites/<site>/ledger/verify", methods=["POST"])
@require_scope(blp, "audit:read")
@accepts_body_up_to("RECEIPTS_MAX_CONTENT_LENGTH")
@blp.arguments(LedgerVerifyRequestSchema)
@blp.response(200, VerificationSchema)
def verify_ledger_with_receipts(data, site):
    """Full verification, also against receipts kept elsewhere: each receipt's entry must be
    in the table as signed (``receipts`` in the answer says what became of each)."""
    report = service.verify_site_ledger(
        site, check_signatures=data["signatures"], receipts=data["receipts"]
    )
    return report.to_dict()


def jwks():
    """Every public key that ever signed a receipt or checkpoint (current first)."""
    from ..signing import keyring

    response = jsonify(keyring().jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
