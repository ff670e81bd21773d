"""The consent POST's fast path: a well-formed consent recorded before Flask dispatches it.

Recording a consent is the service's busiest write, and Flask's request cycle around it (request
context, URL matching, before/after hooks, response wrappers) costs about as much as validating,
signing and storing it. This middleware records a consent sent as a JSON or text/plain body of
an allowed size with the very functions the Flask view uses (rate limit, schema, service) and
answers 201 with the view's body and headers (CORS, ``Vary``, rate-limit headers).

Whatever else it meets, it hands to Flask unchanged, body included: other paths and methods, an
unusual body, and every error, which Flask then answers with the one error envelope. The
rate-limit hit it counted travels with the request (``RATE_COUNTED``), so nothing is counted
twice; nothing else it did persists (an append is one transaction, and a replay is idempotent).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, current_app, g, has_app_context

from ..sites.cors import cors_headers
from ..sites.schemas import SLUG_PATTERN
from .ratelimit import RATE_COUNTED, hit_site_limit
from .schemas import ConsentReceiptSchema
from .views import parse_json_body, receive_consent

CONSENT_PATH = re.compile(rf"^/api/v1/sites/({SLUG_PATTERN})/consents$")
MEDIA_TYPES = ("application/json", "text/plain")
receipt_schema = ConsentReceiptSchema()


VIEW_HEADERS = (
    ("Origin", "HTTP_ORIGIN"),
    ("User-Agent", "HTTP_USER_AGENT"),
    ("Idempotency-Key", "HTTP_IDEMPOTENCY_KEY"),
)


def view_headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request headers the view reads, by their HTTP names, from a WSGI environ."""
    return {name: environ[key] for name, key in VIEW_HEADERS if key in environ}


class ConsentFastPath:
    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and self._plain_body(environ):
            match = CONSENT_PATH.match(environ.get("PATH_INFO", ""))
            if match:
                answer = self._record(match.group(1), environ)
                if answer is not None:
                    headers, body = answer
                    start_response("201 CREATED", headers)
                    return [body]
        return self.wsgi_app(environ, start_response)

    def _plain_body(self, environ: dict[str, Any]) -> bool:
        """A JSON or text/plain body of a stated length within the limit (Flask answers the
        rest: 413, 415, chunked bodies); and no host validation to do first."""
        media_type = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        length = environ.get("CONTENT_LENGTH", "")
        return (
            media_type in MEDIA_TYPES
            and length.isdigit()
            and 0 < int(length) <= self.app.config["MAX_CONTENT_LENGTH"]
            and not self.app.config.get("TRUSTED_HOSTS")
        )

    def _record(self, site_id: str, environ: dict[str, Any]):
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        environ["wsgi.input"] = io.BytesIO(body)  # for Flask, should it answer instead
        with self._app_context():
            try:
                data = parse_json_body(body)
                rate = environ[RATE_COUNTED] = hit_site_limit(site_id)
                if not rate.allowed:
                    return None
                headers = view_headers(environ)
                receipt = receipt_schema.dump(receive_consent(site_id, data, headers))
            except Exception as error:
                self.app.logger.debug("Consent handed over to Flask: %r", error)
                return None
            payload = (json.dumps(receipt, separators=(",", ":")) + "\n").encode()
            response_headers = [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                ("Vary", "Origin"),
            ]
            origin = headers.get("Origin")
            if origin:
                response_headers += cors_headers(g.cors_site, origin).items()
            response_headers += rate.headers.items()
            return response_headers, payload

    def _app_context(self):
        """A new app context, unless this app's is active already (as Flask does for a request:
        tests that hold one share its session with the requests they make)."""
        if has_app_context() and current_app._get_current_object() is self.app:
            return contextlib.nullcontext()
        return self.app.app_context()


def init_app(app: Flask) -> None:
    app.wsgi_app = ConsentFastPath(app, app.wsgi_app)
