"""One JSON error envelope for every error: ``{"error": {"code", "message", "details"}}``.

Service functions raise :class:`DomainError` subclasses; HTTP errors (from Werkzeug, webargs and
flask-smorest) and marshmallow ``ValidationError`` are turned into the same envelope here, so views
never build error bodies themselves.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import psycopg
from flask import Flask, Response, current_app, jsonify, request
from markupsafe import escape
from marshmallow import Schema, ValidationError, fields
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

# SQLAlchemy's wrapper, and the drivers' own errors from connections used directly (the banner
# config's version probe, the ledger append): the database is down or restarting.
DATABASE_UNAVAILABLE = (OperationalError, psycopg.OperationalError, sqlite3.OperationalError)

# Paths answered in JSON; everything else (hosted policy pages, demo) gets a small HTML page.
JSON_PREFIXES = ("/api/", "/.well-known/", "/healthz", "/widget.js")


class DomainError(Exception):
    """A rule of the domain was broken; carries its HTTP status and a stable error code.

    A subclass names both in its bases: ``class Gone(DomainError, status=410, code="gone"): ...``.
    """

    status = 400
    code = "bad_request"

    def __init_subclass__(
        cls, *, status: int | None = None, code: str | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(
        self,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


class MalformedJSON(DomainError, status=400, code="malformed_json"): ...


class NotFound(DomainError, status=404, code="not_found"): ...


class Conflict(DomainError, status=409, code="conflict"): ...


class Unprocessable(DomainError, status=422, code="validation_failed"): ...


class PayloadTooLarge(DomainError, status=413, code="payload_too_large"): ...


class Unauthorized(DomainError, status=401, code="unauthorized"): ...


class Forbidden(DomainError, status=403, code="forbidden"): ...


class InternalError(DomainError, status=500, code="internal_error"): ...


class ServiceUnavailable(DomainError, status=503, code="unavailable"): ...


def invalid_request(error: ValidationError) -> Unprocessable:
    """A marshmallow validation error as the 422 every endpoint answers, messages by field."""
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    return Unprocessable("The request body or parameters are not valid.", {"fields": messages})


def database_unavailable() -> ServiceUnavailable:
    """The database is unreachable or restarting: 503 with Retry-After, not a 500. Clients (the
    widget's outbox) retry; nothing was committed, so nothing is lost or doubled."""
    return ServiceUnavailable(
        "The service cannot reach its database; try again shortly.", headers={"Retry-After": "5"}
    )


def envelope(error: DomainError) -> bytes:
    """The error envelope's JSON bytes, for answers written outside Flask (the fast paths)."""
    body = {"error": {"code": error.code, "message": error.message, "details": error.details}}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    if not request.path.startswith(JSON_PREFIXES) and request.accept_mimetypes.accept_html:
        page = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(message)}</p>"
        return Response(page, status=status, mimetype="text/html")
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    return response


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    code = HTTP_CODES.get(status, "error")
    details: dict[str, Any] = {}
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if messages:
        # webargs nests messages by location ({"json": {...}}); the location is noise for clients.
        details = {"fields": _flatten_locations(messages)}
        if status == 400:
            code = "malformed_json"
    message = _message_for(error, status)
    response = error_response(status, code, message, details)
    if status == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    for name, value in (data.get("headers") or {}).items() if isinstance(data, dict) else ():
        response.headers[name] = value
    return response


def _message_for(error: HTTPException, status: int) -> str:
    if status == 422:
        return "The request body or parameters are not valid."
    if status == 400 and getattr(error, "data", None):
        return "The request body is not valid JSON."
    if status == 413:
        limit = request.max_content_length
        return f"The request body is larger than {limit} bytes."
    return error.description or error.name


def _flatten_locations(messages: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for location, problems in messages.items():
        if isinstance(problems, dict):
            flat.update(problems)
        else:
            flat[location] = problems
    return flat


def handle_domain_error(error: DomainError) -> Response:
    response = error_response(error.status, error.code, error.message, error.details)
    response.headers.update(error.headers)
    return response


def handle_validation_error(error: ValidationError) -> Response:
    return handle_domain_error(invalid_request(error))


def handle_database_unavailable(error: Exception) -> Response:
    """See :func:`database_unavailable`."""
    # Flask-SQLAlchemy's extension, by its registered name: extensions.py imports this module.
    current_app.extensions["sqlalchemy"].session.rollback()
    current_app.logger.warning(
        "Database unavailable on %s %s: %s", request.method, request.path, error
    )
    return handle_domain_error(database_unavailable())


def handle_unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return handle_http_exception(InternalServerError())


def check_request_body() -> None:
    """Before auth and parsing: refuse a body that is too large (413) or in a media type the
    endpoint does not read (415)."""
    if request.method in ("GET", "HEAD", "OPTIONS") and not request.content_length:
        return  # nothing to check (and the busiest requests: keep them cheap)
    view = current_app.view_functions.get(request.endpoint or "")
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    limit_key = getattr(view, "body_limit_key", None)
    if limit_key is not None:
        limit = current_app.config[limit_key]
        request.max_content_length = limit  # Flask enforces it again while reading the body
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()
    if request.method not in ("POST", "PUT", "PATCH") or not request.path.startswith("/api/"):
        return
    if not request.content_length and request.content_length is not None:
        return
    allowed = {"application/json"}
    allowed |= set(getattr(view, "extra_media_types", ()))
    if request.mimetype and request.mimetype not in allowed:
        raise UnsupportedMediaType(
            f"Send the body as {' or '.join(sorted(allowed))}, not {request.mimetype}."
        )


def accepts_media_types(*media_types: str):
    """Mark a view as also reading ``media_types`` bodies (``text/plain`` for sendBeacon)."""

    def mark(view):
        view.extra_media_types = media_types
        return view

    return mark


def accepts_body_up_to(config_key: str):
    """Mark a view as reading bodies up to ``app.config[config_key]`` bytes instead of the
    global ``MAX_CONTENT_LENGTH`` (policy texts are longer than API calls)."""

    def mark(view):
        view.body_limit_key = config_key
        return view

    return mark


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    for unavailable in DATABASE_UNAVAILABLE:
        app.register_error_handler(unavailable, handle_database_unavailable)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
    app.before_request(check_request_body)


class ErrorBodySchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ErrorSchema(Schema):
    """The error envelope, for the OpenAPI document."""

    error = fields.Nested(ErrorBodySchema, required=True)
