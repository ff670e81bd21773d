"""The consent POST's fast path: a consent answered before Flask dispatches the request.

Recording a consent is the service's busiest write, and Flask's request cycle around it (request
context, URL matching, before/after hooks, response wrappers) costs about as much as validating,
signing and storing it. This middleware answers a consent POST whose body is JSON or text/plain
of a stated length within the limit with :func:`.answer.respond`, exactly as the Flask view
does: recorded, recorded before, or refused (with the one error envelope). Other requests, and
consent POSTs that need Flask's own checks first (a chunked or oversized body, another media type,
host validation), go to Flask unchanged.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from flask import Flask, current_app, has_app_context
from werkzeug.exceptions import InternalServerError
from werkzeug.sansio.utils import host_is_trusted

from ..errors import InternalError, envelope
from ..jurisdictions.resolution import resolver
from ..sites.schemas import SLUG_PATTERN
from .answer import Answer, respond

CONSENT_PATH = re.compile(rf"^/api/v1/sites/({SLUG_PATTERN})/consents$")
MEDIA_TYPES = ("application/json", "text/plain")
REQUEST_HEADERS = (
    ("Origin", "HTTP_ORIGIN"),
    ("User-Agent", "HTTP_USER_AGENT"),
    ("Idempotency-Key", "HTTP_IDEMPOTENCY_KEY"),
    ("Authorization", "HTTP_AUTHORIZATION"),
)


def request_headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request headers a consent reads, by their HTTP names, from a WSGI environ."""
    return {name: environ[key] for name, key in REQUEST_HEADERS if key in environ}


class ConsentFastPath:
    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        # A query (``?region=`` in development) is Flask's to read.
        if (
            environ.get("REQUEST_METHOD") == "POST"
            and not environ.get("QUERY_STRING")
            and self._plain_body(environ)
        ):
            match = CONSENT_PATH.match(environ.get("PATH_INFO", ""))
            if match:
                answer = self._answer(match.group(1), environ)
                start_response(
                    f"{answer.status} {HTTPStatus(answer.status).phrase}", [*answer.headers.items()]
                )
                return [answer.body]
        return self.wsgi_app(environ, start_response)

    def _plain_body(self, environ: dict[str, Any]) -> bool:
        """A JSON or text/plain body of a stated length within the limit (Flask answers the
        rest: 413, 415, chunked bodies, an untrusted Host)."""
        media_type = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        length = environ.get("CONTENT_LENGTH", "")
        trusted_hosts = self.app.config.get("TRUSTED_HOSTS")
        return (
            media_type in MEDIA_TYPES
            and length.isdigit()
            and 0 < int(length) <= self.app.config["MAX_CONTENT_LENGTH"]
            and (not trusted_hosts or host_is_trusted(environ.get("HTTP_HOST"), trusted_hosts))
        )

    def _answer(self, site_id: str, environ: dict[str, Any]) -> Answer:
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        with self._app_context():
            try:
                region = resolver(self.app).from_headers(environ)
                client = environ.get("REMOTE_ADDR")  # the client's, after service.proxies
                return respond(site_id, body, request_headers(environ), region, client)
            except Exception:  # a bug: answered as Flask answers one (logged, 500 envelope)
                current_app.logger.exception("Unhandled error on a consent for %s", site_id)
                error = InternalError(InternalServerError.description)
                return Answer(error.status, {"Content-Type": "application/json"}, envelope(error))

    def _app_context(self):
        """A new app context, unless this app's is active already (as Flask does for a request:
        tests that hold one share its session with the requests they make)."""
        if has_app_context() and current_app._get_current_object() is self.app:
            return contextlib.nullcontext()
        return self.app.app_context()


def init_app(app: Flask) -> None:
    app.wsgi_app = ConsentFastPath(app, app.wsgi_app)
