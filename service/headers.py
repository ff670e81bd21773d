"""Security headers on every response, whichever part of the service answered it.

The banner and consent fast paths answer before Flask dispatches (so ``after_request`` hooks and
Flask extensions such as flask-talisman never see them); this outermost WSGI middleware covers
them, Flask's own answers, error pages and static files alike:

- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` everywhere;
- a ``Content-Security-Policy`` on every answer: a page's own policy is kept (and gets
  ``frame-ancestors 'none'`` when it names none), other HTML gets a strict default, and every
  other answer gets ``default-src 'none'``, so a JSON body opened as a document runs nothing;
- ``Cache-Control: no-store`` unless the view chose its caching: audit, export, proof and
  subject answers are personal and must never sit in a shared cache;
- no ``Date`` from the application: the server adds its own, and two confuse caches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

HTML_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
ALWAYS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)


def secure_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with the security headers added (the view's own choices kept). One pass: it
    runs on every answer, the banner's fast path included."""
    result, names, html = [], set(), False
    for name, value in headers:
        lower = name.lower()
        if lower == "date":
            continue
        if lower == "content-security-policy" and "frame-ancestors" not in value:
            value = f"{value}; frame-ancestors 'none'"
        elif lower == "content-type":
            html = value.startswith("text/html")
        names.add(lower)
        result.append((name, value))
    for name, value in ALWAYS:
        if name.lower() not in names:
            result.append((name, value))
    if "cache-control" not in names:
        result.append(("Cache-Control", "no-store"))
    if "content-security-policy" not in names:
        result.append(("Content-Security-Policy", HTML_POLICY if html else DATA_POLICY))
    return result


class SecurityHeaders:
    """WSGI middleware that passes every response's headers through :func:`secure_headers`."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            return start_response(status, secure_headers(headers), exc_info)

        return self.wsgi_app(environ, start)


def init_app(app: Flask) -> None:
    """Wrap the app last, outside the fast paths."""
    app.wsgi_app = SecurityHeaders(app.wsgi_app)
