"""``/r/{site}/{record id}?token=``: the visitor's receipt page (server-rendered, no script)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request

from ..timeutil import as_utc
from .receipt import receipt_view

bp = Blueprint("receipt_pages", __name__, url_prefix="/r", template_folder="templates")

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


@bp.get("/<site>/<record_id>")
def receipt_page(site: str, record_id: str) -> Response:
    """One consent of the token's holder, in plain language, with its signature verified. The
    token (the ``subject_token`` of the consent answer) comes as ``?token=`` or as a Bearer
    ``Authorization`` header."""
    token = request.args.get("token") or bearer_token()
    view = receipt_view(site, record_id, token)
    html = render_template(
        "receipt/page.html",
        **view,
        when=f"{as_utc(view['record'].recorded_at):%-d %B %Y, %H:%M:%S}",
        has_verify_page="verify.verify_page" in current_app.view_functions,
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The token is in the URL: never send it on, never keep the page in a shared cache.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() or None if header.startswith("Bearer ") else None
