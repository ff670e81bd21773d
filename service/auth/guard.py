"""The check that every admin route goes through: bearer key, scope, and the key's site."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import g, request

from ..errors import ErrorSchema, Forbidden
from .models import ApiKey
from .service import authenticate

BEARER = [{"bearerAuth": []}]


def current_key() -> ApiKey:
    return g.api_key


def key_site_scope() -> str | None:
    """The site the current key is bound to, or None for an all-sites key."""
    return g.api_key.site_id


def authorise(scopes: tuple[str, ...], site: str | None) -> ApiKey:
    """Check the request's bearer key for any of ``scopes`` and for ``site``; remember it in ``g``.

    For views that are public but show more to a key holder, call it when the request carries
    an ``Authorization`` header.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    key = authenticate(token.strip() if scheme.lower() == "bearer" else None)
    if not set(scopes) & set(key.scopes):
        raise Forbidden(
            f"This API key lacks the scope {' or '.join(scopes)}.",
            {"required": list(scopes)},
        )
    if site is not None and key.site_id is not None and key.site_id != site:
        from ..sites.service import site_not_found

        raise site_not_found(site)
    g.api_key = key
    return key


def require_scope(blp, *scopes: str) -> Callable:
    """Decorate an admin view: any of ``scopes`` is needed; a key bound to another site than the
    ``site`` in the URL gets the same 404 as a site that does not exist."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            authorise(scopes, kwargs.get("site"))
            return view(*args, **kwargs)

        # Read by the tenant-isolation test, which proves every guarded route checks the site.
        guarded.required_scopes = scopes
        guarded = blp.doc(security=BEARER)(guarded)
        for status in (401, 403, 404):
            guarded = blp.alt_response(status, schema=ErrorSchema)(guarded)
        return guarded

    return decorate
