"""Audit endpoints: parse, call one service function, serialise."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, render_template, request, stream_with_context

from ..auth.guard import require_scope
from ..documents.views import base_url
from ..extensions import Blueprint
from ..inputs import wants_html
from ..sites.cors import public
from ..timeutil import utcnow
from . import bundle as bundles
from . import erasure as erasures
from . import export as exports
from . import query as queries
from . import stats as statistics
from .records import export_iso27560
from .schemas import (
    ErasureSchema,
    ExportQuerySchema,
    ProofBundleSchema,
    ProofQuerySchema,
    RecordDetailSchema,
    RecordPageSchema,
    RecordQuerySchema,
    StatsQuerySchema,
    StatsSchema,
    SubjectHistorySchema,
)

blp = Blueprint(
    "audit",
    __name__,
    url_prefix="/api/v1/sites",
    template_folder="templates",
    description="Query, export and prove consent; erasure; statistics",
)
MEDIA_TYPES = {
    "ndjson": "application/x-ndjson",
    "csv": "text/csv",
    "iso27560": "application/x-ndjson",
}
EXTENSIONS = {"iso27560": "iso27560.jsonl"}
DEFAULT_STATS_DAYS = 30


@blp.route("/<site>/consents", methods=["GET"])
@require_scope(blp, "audit:read")
@blp.arguments(RecordQuerySchema, location="query")
@blp.response(200, RecordPageSchema)
def list_records(query, site):
    """Records of the site, filtered, in seq order, one page at a time (keyset cursor)."""
    return queries.query_records(site, **query)


@blp.route("/<site>/consents/<record_id>", methods=["GET"])
@require_scope(blp, "audit:read")
@blp.response(200, RecordDetailSchema)
def get_record(site, record_id):
    """One record, its receipt, and its verification status."""
    return queries.record_detail(site, record_id)


@blp.route("/<site>/export", methods=["GET"])
@require_scope(blp, "audit:read")
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, content_type="application/x-ndjson")
def export(query, site):
    """Stream the ledger (or a time range of it) as NDJSON or CSV, with what a verifier needs."""
    plan = exports.plan_export(site, query["start"], query["end"])
    fmt = query["format"]
    if fmt == "iso27560":
        lines = export_iso27560(plan, base_url(), query["region"])
    else:
        lines = exports.export_ndjson(plan) if fmt == "ndjson" else exports.export_csv(plan)
    response = Response(stream_with_context(lines), mimetype=MEDIA_TYPES[fmt])
    name = f"{site}-ledger-{plan.first_seq}-{plan.last_seq}.{EXTENSIONS.get(fmt, fmt)}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@blp.route("/<site>/subjects/<subject>/proof", methods=["GET"])
@require_scope(blp, "audit:read")
@blp.arguments(ProofQuerySchema, location="query")
@blp.response(200, ProofBundleSchema)
@blp.alt_response(200, content_type="text/html", success=True)
def proof_bundle(query, site, subject):
    """Proof bundle of a subject's consent history (JSON; printable HTML with ?format=html)."""
    bundle = bundles.proof_bundle(site, subject)
    if wants_html(query["format"]):
        return Response(render_template("audit/proof.html", bundle=bundle), mimetype="text/html")
    return bundle


@blp.route("/<site>/subjects/<subject>/erase", methods=["POST"])
@require_scope(blp, "sites:admin")
@blp.response(200, ErasureSchema)
def erase_subject(site, subject):
    """Redact the subject's personal fields in every record; the ledger still verifies."""
    return erasures.erase_subject(site, subject)


@blp.route("/<site>/stats", methods=["GET"])
@require_scope(blp, "audit:read")
@blp.arguments(StatsQuerySchema, location="query")
@blp.response(200, StatsSchema)
def stats(query, site):
    """Counts and rates per UTC day and per document version (default: the last 30 days)."""
    last = query["last_day"] or utcnow().date()
    first = query["first_day"] or last - timedelta(days=DEFAULT_STATS_DAYS - 1)
    return statistics.consent_stats(site, first, last)


@blp.route("/<site>/subjects/me/consents", methods=["GET"])
@public
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(200, SubjectHistorySchema)
def my_consents(site):
    """The visitor's own history, with the ``subject_token`` of a receipt as bearer token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return queries.subject_history(site, token.strip() if scheme.lower() == "bearer" else None)
