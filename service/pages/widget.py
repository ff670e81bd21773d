"""The widget's scripts, built by ``widget/build.mjs`` into ``service/static`` (committed, so a
plain ``pip install`` ships them) and read once per process:

- ``GET /widget.js``: the first layer, for ``<script src=".../widget.js" data-site="..." async>``;
  it fetches the banner config.
- ``GET /widget-more.js``: the on-demand parts (preferences dialog, placeholders, delivery with
  retries), loaded by the first layer from this origin.
- ``GET /s/{site}.js``: the per-site script, the first layer with its banner config in front,
  so the banner paints without a second round trip. The config is the banner endpoint's own
  (same function, same cache), for ``?locale=`` or else the browser's ``Accept-Language``.

The URLs are not versioned (sites embed them once and never change them), so they cannot be
``immutable``: browsers may use them for a few minutes and then revalidate, which a 304 makes
cheap. A release reaches every visitor within minutes.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, request

from ..documents import banner
from ..documents.locales import is_valid_locale
from ..documents.service import check_locale
from ..documents.views import base_url
from ..jurisdictions.resolution import resolver

bp = Blueprint("widget", __name__)

STATIC = Path(__file__).resolve().parent.parent / "static"
CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=86400"
SITE_SCRIPT_CACHE_CONTROL = banner.CACHE_CONTROL  # as short as the banner config's


@cache
def bundle(name: str = "widget.js") -> tuple[bytes, str]:
    """A built file and its ETag (SHA-256 of the bytes)."""
    body = (STATIC / name).read_bytes()
    return body, hashlib.sha256(body).hexdigest()


def serve_bundle(name: str) -> Response:
    body, etag = bundle(name)
    response = Response(body, mimetype="text/javascript")
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    # The same bytes for every page: nothing to vary on; a classic script needs no CORS.
    return response.make_conditional(request)


@bp.get("/widget.js")
def widget_js() -> Response:
    """The first layer for ``<script src=".../widget.js" data-site="..." async>``."""
    return serve_bundle("widget.js")


@bp.get("/widget-more.js")
def widget_more_js() -> Response:
    """The on-demand parts, loaded by the first layer."""
    return serve_bundle("widget-more.js")


def asked_locale() -> str | None:
    """``?locale=`` (validated), else the browser's first valid ``Accept-Language`` entry."""
    locale = check_locale(request.args.get("locale"))
    if locale:
        return locale
    for value, _quality in request.accept_languages:
        if value != "*" and is_valid_locale(value):
            return value
    return None


@bp.get("/s/<site>.js")
def site_script(site: str) -> Response:
    """The first layer carrying the site's banner config: one request before the banner paints.

    The body is ``{const __consentry=[CONFIG,"LOCALE"];`` + widget.js + ``}``: a block, so the
    constant is not a global; the first layer reads it when it is defined. LOCALE is the locale
    asked for, which the widget compares with the page's own ``lang``.
    """
    locale = asked_locale()
    regions = resolver()
    region = regions.for_request(request.environ, request.args.get("region"))
    entry = banner.banner_entry(site, locale, base_url(), region)
    script, script_etag = bundle("widget.js")
    asked = banner.canonical_json(locale or "")
    etag = hashlib.sha256(f"{entry.revision}:{script_etag}:{locale}".encode()).hexdigest()
    body = b"{const __consentry=[" + entry.body + b"," + asked + b"];\n" + script + b"\n}\n"
    response = Response(body, mimetype="text/javascript")
    response.set_etag(etag)
    response.headers["Cache-Control"] = SITE_SCRIPT_CACHE_CONTROL
    response.vary.update(["Accept-Language", *regions.vary])
    return response.make_conditional(request)
