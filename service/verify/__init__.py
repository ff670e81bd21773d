"""``/verify``: a public page where anyone checks a proof bundle, an NDJSON export or a receipt in
their own browser (WebCrypto Ed25519 and SHA-256). The server only serves the page and its
scripts: the file never leaves the browser. ``static/verifier.js`` makes the checks of
``consentry verify-bundle`` with the same messages (tests/verify/test_parity.py compares them).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, render_template

bp = Blueprint(
    "verify",
    __name__,
    url_prefix="/verify",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# connect-src: the JWKS may be fetched from the page's own origin or any https URL, nothing else.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self' https:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@bp.get("/")
@bp.get("")  # registered first: url_for gives /verify
def verify_page() -> Response:
    """The verifier page (no sign-in)."""
    response = Response(render_template("verify/page.html"), mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
