"""CORS for the public endpoints: only a site's own allowed origins are ever echoed back.

A public view is marked with :func:`public`; every response of such a view (and Flask's automatic
``OPTIONS`` answer for its URL) gets ``Access-Control-Allow-Origin`` when the ``Origin`` is
allowed for the ``site`` in the URL, and ``Vary: Origin`` always.
"""

from __future__ import annotations

import contextlib

from flask import Flask, Response, current_app, g, request

from ..errors import DATABASE_UNAVAILABLE
from ..extensions import db
from .models import Site
from .service import origin_allowed

ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-None-Match"
EXPOSED_HEADERS = "ETag, Retry-After"


def public(view):
    """Mark a view as callable from a site's pages (CORS for the site's allowed origins)."""
    view.public_cors = True
    return view


def add_cors_headers(response: Response) -> Response:
    view = current_app.view_functions.get(request.endpoint or "")
    site_id = (request.view_args or {}).get("site")
    if not getattr(view, "public_cors", False) or site_id is None:
        return response
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if not origin or "Access-Control-Allow-Origin" in response.headers:
        return response  # none asked for, or decided by the view (the consent POST's outcome)
    # A view that already loaded the site (the cached banner config) leaves it in g.cors_site.
    site = g.get("cors_site") or site_for_cors(site_id)
    if site is not None:
        response.headers.update(cors_headers(site, origin, request.method == "OPTIONS"))
    elif response.status_code == 404 and request.endpoint == "documents.banner_config":
        # No site, so no allowed origins, and nothing in the answer but "not found": any page
        # may read it, so a widget with a wrong data-site can say so instead of "Failed to fetch".
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def site_for_cors(site_id: str) -> Site | None:
    """The site, to decide the CORS headers of a response; None when the database is down (the
    response, a 503 then, goes without them rather than turning into a 500)."""
    try:
        return db.session.get(Site, site_id)
    except DATABASE_UNAVAILABLE:
        with contextlib.suppress(Exception):
            db.session.rollback()
        return None


def cors_headers(site: Site, origin: str, preflight: bool = False) -> dict[str, str]:
    """The CORS headers for ``origin``: none unless it is one of the site's allowed origins."""
    if not origin_allowed(site, origin):
        return {}
    headers = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
    }
    if preflight:
        headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        headers["Access-Control-Max-Age"] = "86400"
    return headers


def init_app(app: Flask) -> None:
    app.after_request(add_cors_headers)
