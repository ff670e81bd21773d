"""The check that every admin route goes through: bearer key, scope, and the key's site."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import g, request

from ..errors import ErrorSchema, Forbidden
from ..sites.service import site_not_found
from .models import ApiKey
from .service import authenticate

BEARER = [{"bearerAuth": []}]


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
    check_grant(key.scopes, key.site_id, scopes, site, holder="API key")
    g.api_key = key
    return key


def check_grant(
    granted: list[str] | tuple[str, ...],
    granted_site: str | None,
    scopes: tuple[str, ...],
    site: str | None,
    holder: str,
) -> None:
    """The one access rule, for API keys and console users alike: the holder needs any of
    ``scopes``; one bound to another site than ``site`` gets the same 404 as a missing site."""
    if not set(scopes) & set(granted):
        raise Forbidden(
            f"This {holder} lacks the scope {' or '.join(scopes)}.",
            {"required": list(scopes)},
        )
    if site is not None and granted_site is not None and granted_site != site:
        raise site_not_found(site)


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
