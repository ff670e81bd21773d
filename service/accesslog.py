"""Access-log lines without subject ids or tokens in clear.

A subject id in a path (``/api/v1/sites/S/subjects/<id>/erase``, ``.../proof``) or in a query
(``?subject=<id>``) is logged as a keyed hash (``h.`` + 16 hex digits of an HMAC-SHA256 with a
key derived from ``CONSENTRY_PEPPER``): lines of one subject can still be told apart and
grouped, but an erased subject cannot be read back or confirmed from the logs without the
pepper. A ``token=`` (the receipt page's subject token, a bearer credential) is not logged at
all.

Both servers the docs describe log through it:

- the development server (``consentry demo``, ``flask run``): a filter on Werkzeug's ``werkzeug``
  logger rewrites each request line (:func:`init_app`);
- gunicorn in production: the app puts the redacted request target in the WSGI environ, and the
  logger class of ``service/gunicorn_config.py`` (``gunicorn -c python:service.gunicorn_config``)
  logs it instead of the raw one.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from flask import Flask

# Where gunicorn's logger finds the request target to log (path and query, redacted).
ENVIRON_KEY = "consentry.log_target"
HASH_PREFIX = "h."
SUBJECT_IN_PATH = re.compile(r"(/subjects/)([^/?#\s\"]+)")
SUBJECT_OR_TOKEN_IN_QUERY = re.compile(r"([?&;](?:subject|token)=)([^&;#\s\"]*)", re.IGNORECASE)
KEPT_SEGMENTS = {"me"}  # /subjects/me/consents names no one


def log_key(pepper: str) -> bytes:
    """The access log's own key, derived from the pepper (the pepper itself never leaves it)."""
    return hmac.new(pepper.encode(), b"access-log-subjects", hashlib.sha256).digest()


def subject_hash(key: bytes, subject: str) -> str:
    """How ``subject`` appears in access logs."""
    digest = hmac.new(key, subject.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return HASH_PREFIX + digest[:16]


def redact(target: str, key: bytes | None) -> str:
    """``target`` (a path with its query, a request line, a URL) with every subject id hashed
    with ``key`` and every token removed; with no key, subject ids are removed too."""

    def path_subject(match: re.Match) -> str:
        segment = match[2]
        if segment in KEPT_SEGMENTS:
            return match[0]
        return match[1] + (subject_hash(key, segment) if key else "[subject]")

    def query_value(match: re.Match) -> str:
        name = match[1].lower()
        if name.endswith("subject=") and key and match[2]:
            return match[1] + subject_hash(key, match[2])
        return match[1] + "[redacted]"

    return SUBJECT_OR_TOKEN_IN_QUERY.sub(query_value, SUBJECT_IN_PATH.sub(path_subject, target))


def request_target(environ: dict[str, Any]) -> str:
    """The request's path and query as the client sent them (gunicorn's ``RAW_URI``)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return raw
    query = environ.get("QUERY_STRING")
    path = quote(environ.get("PATH_INFO", ""), safe="/;=,:@!$&'()*+~")
    return path + ("?" + query if query else "")


class RedactedTarget:
    """WSGI middleware: puts the redacted request target in the environ for the server's log."""

    def __init__(self, wsgi_app: Callable, key: bytes) -> None:
        self.wsgi_app = wsgi_app
        self.key = key

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        environ[ENVIRON_KEY] = redact(request_target(environ), self.key)
        return self.wsgi_app(environ, start_response)


class RedactingFilter(logging.Filter):
    """Rewrites the development server's request lines (and any other line it logs)."""

    def __init__(self, key: bytes) -> None:
        super().__init__("werkzeug")
        self.key = key

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(
                redact(arg, self.key) if isinstance(arg, str) else arg for arg in args
            )
        if isinstance(record.msg, str):
            record.msg = redact(record.msg, self.key)
        return True


def init_app(app: Flask) -> None:
    """The environ key for gunicorn's logger, and the filter on Werkzeug's request log (one per
    process: the latest app's key)."""
    key = log_key(app.config["PEPPER"])
    app.wsgi_app = RedactedTarget(app.wsgi_app, key)
    logger = logging.getLogger("werkzeug")
    for old in [f for f in logger.filters if isinstance(f, RedactingFilter)]:
        logger.removeFilter(old)
    logger.addFilter(RedactingFilter(key))
