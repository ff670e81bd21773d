"""``/api/docs/``: Swagger UI for the OpenAPI document, under a strict Content-Security-Policy.

flask-swagger-ui's own page starts Swagger UI from an inline script, which a policy without
``'unsafe-inline'`` refuses; this page loads the same bundle (the package's ``dist`` files) and
starts it from a script file of ours.
"""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Response, render_template, send_from_directory

DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"

bp = Blueprint(
    "apidocs",
    __name__,
    url_prefix="/api/docs",
    template_folder="templates",
    static_folder="static/apidocs",
    static_url_path="/consentry",
)

# Swagger UI sets style attributes and shows data: images (its icons).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


@bp.get("/")
def index() -> Response:
    response = Response(render_template("apidocs/index.html"), mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@bp.get("/<path:filename>")
def dist_file(filename: str) -> Response:
    """Swagger UI's own files (bundle, styles, icons)."""
    return send_from_directory(DIST, filename)
