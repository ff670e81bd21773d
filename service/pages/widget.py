"""``GET /widget.js``: the built widget bundle (``service/static/widget.js``, committed, so a plain
``pip install`` ships it), read once per process, with a strong ETag.

The URL is not versioned (sites embed it once and never change it), so the bundle cannot be
``immutable``: browsers may use it for five minutes and then revalidate in the background for a
day, which a 304 makes cheap. A release reaches every visitor within minutes.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, request

bp = Blueprint("widget", __name__)

BUNDLE = Path(__file__).resolve().parent.parent / "static" / "widget.js"
CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=86400"


@cache
def bundle() -> tuple[bytes, str]:
    """The bundle and its ETag (SHA-256 of the bytes)."""
    body = BUNDLE.read_bytes()
    return body, hashlib.sha256(body).hexdigest()


@bp.get("/widget.js")
def widget_js() -> Response:
    """The widget for ``<script src=".../widget.js" data-site="..." async>``."""
    body, etag = bundle()
    response = Response(body, mimetype="text/javascript")
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    # The same bytes for every page: nothing to vary on; a classic script needs no CORS.
    return response.make_conditional(request)
