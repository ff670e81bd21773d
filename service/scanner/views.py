"""Scan reports over the API: a list per site and one report, as JSON or readable HTML."""

from __future__ import annotations

from flask import Response

from ..auth.guard import require_scope
from ..extensions import Blueprint
from ..inputs import wants_html
from . import service
from .schemas import ScanDetailSchema, ScanListQuerySchema, ScanListSchema, ScanQuerySchema

blp = Blueprint(
    "scans",
    __name__,
    url_prefix="/api/v1/sites",
    template_folder="templates",
    description="Signed reports of what the site's pages do before and after a consent choice",
)


@blp.route("/<site>/scans", methods=["GET"])
@require_scope(blp, "audit:read")
@blp.arguments(ScanListQuerySchema, location="query")
@blp.response(200, ScanListSchema)
def list_scans(query, site):
    """The site's scan reports, newest first (``before``: an id, for the next page)."""
    return {"items": service.list_reports(site, query["limit"], query["before"])}


@blp.route("/<site>/scans/<int:scan_id>", methods=["GET"])
@require_scope(blp, "audit:read")
@blp.arguments(ScanQuerySchema, location="query")
@blp.response(200, ScanDetailSchema)
@blp.alt_response(200, content_type="text/html", success=True)
def get_scan(query, site, scan_id):
    """One signed report (JSON; a readable page with ``?format=html`` or ``Accept: text/html``)."""
    row = service.get_report(site, scan_id)
    if wants_html(query["format"]):
        response = Response(service.render_report_html(row), mimetype="text/html")
        response.headers["Content-Security-Policy"] = service.html_policy()
        response.headers["Cache-Control"] = "no-store"
        return response
    return service.report_detail(row)
