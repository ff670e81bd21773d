"""Hostile input stopped at the door, so that no request can reach a 500.

- JSON bodies: nesting too deep for the parser, lone surrogates (which no UTF-8 text, canonical
  JSON or database can hold) and NUL characters (which PostgreSQL text cannot hold) are a 400
  ``malformed_json``, for every endpoint (Flask's JSON provider) and the consent fast path alike.
- URL integers (``<int:version>``) above PostgreSQL's ``integer`` are a 404, not an overflow.
- A NUL byte in the path is a 404, in the query string a 400.
- A body without ``Content-Length`` (chunked) is read up to the largest body limit and handed on
  with its length, or answered 413: Werkzeug would silently cut it at the limit instead.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from marshmallow import fields
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter
from werkzeug.wsgi import get_content_length

from .jsonparse import HostileJSON, parse_json

# The largest value of an ``integer`` column (PostgreSQL, and what SQLite tables here hold).
MAX_DATABASE_INT = 2**31 - 1
_ASCII_INTEGER = re.compile(r"-?[0-9]{1,20}")


class QueryInteger(fields.Integer):
    """An integer in a query string: ASCII digits only. ``int()`` also takes ``" 5"``, ``"1_0"``,
    ``"+5"`` and other scripts' digits (``"٣"``), which the OpenAPI document's integer is not."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not _ASCII_INTEGER.fullmatch(value):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with :func:`parse_json` for request bodies."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if kwargs:
            return super().loads(s, **kwargs)
        return parse_json(s)


class DatabaseIntConverter(IntegerConverter):
    """``<int:...>`` that matches only values a database integer column can hold."""

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_DATABASE_INT)
        super().__init__(map, *args, **kwargs)


class StrictFlaskParser(FlaskParser):
    """webargs' parser for flask-smorest's ``@blp.arguments``, with :func:`parse_json`."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        try:
            return parse_json(data)
        except HostileJSON as error:
            raise json.JSONDecodeError(str(error), "", 0) from None


def wants_html(format_asked: str | None) -> bool:
    """An answer that has a JSON and an HTML form: HTML when ``?format=html`` asks for it, or,
    with no ``format``, when the client's ``Accept`` prefers it (a browser)."""
    if format_asked is not None:
        return format_asked == "html"
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def refuse_nul_bytes() -> None:
    if "\x00" in request.path:
        raise NotFound()
    if b"%00" in request.query_string or b"\x00" in request.query_string:
        raise BadRequest("The query string must not contain NUL characters.")


TOO_LARGE = (
    b'{"error":{"code":"payload_too_large","message":"The request body is too large.",'
    b'"details":{}}}\n'
)


class ChunkedBodyLimit:
    """WSGI middleware: a streamed body (no ``Content-Length``) becomes a sized one, or a 413
    once it passes ``limit`` bytes; per-endpoint limits then apply as to any sized body."""

    def __init__(self, wsgi_app: Callable, limit: int) -> None:
        self.wsgi_app = wsgi_app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if get_content_length(environ) is not None or not self._streamed(environ):
            return self.wsgi_app(environ, start_response)
        body = self._read(environ["wsgi.input"])
        if len(body) > self.limit:
            start_response(
                "413 REQUEST ENTITY TOO LARGE",
                [("Content-Type", "application/json"), ("Content-Length", str(len(TOO_LARGE)))],
            )
            return [TOO_LARGE]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.wsgi_app(environ, start_response)

    @staticmethod
    def _streamed(environ: dict[str, Any]) -> bool:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        return chunked or bool(environ.get("wsgi.input_terminated"))

    def _read(self, stream: Any) -> bytes:
        parts: list[bytes] = []
        size = 0
        while size <= self.limit:
            part = stream.read(min(65536, self.limit + 1 - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
        return b"".join(parts)


def init_wsgi(app: Flask) -> None:
    """Wrap the app (outside the fast paths) with :class:`ChunkedBodyLimit`."""
    keys = ("MAX_CONTENT_LENGTH", "DOCUMENT_MAX_CONTENT_LENGTH", "RECEIPTS_MAX_CONTENT_LENGTH")
    limits = [app.config.get(key) for key in keys]
    app.wsgi_app = ChunkedBodyLimit(app.wsgi_app, max(limit or 0 for limit in limits))


def init_app(app: Flask) -> None:
    """Before any blueprint is registered (URL rules take their converters when added)."""
    app.json = StrictJSONProvider(app)
    app.url_map.converters["int"] = DatabaseIntConverter
    app.before_request(refuse_nul_bytes)
