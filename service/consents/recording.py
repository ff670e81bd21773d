"""The one way a consent is recorded: ``record_consent(site, body, headers)`` takes the raw body
and the headers that matter and returns a typed :mod:`outcome <service.consents.outcomes>`.

Both ways a consent POST is answered are thin adapters of it: the WSGI fast path
(:mod:`.fastpath`) and the Flask view (:mod:`.views`), which differ only in how they read the
request and write the response (:mod:`.answer`). The body is parsed and validated here once,
whatever the outcome. No Flask import: the function runs in an app context (configuration, keys,
database) but reads no request and no ``flask.g``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError

from ..errors import DomainError, MalformedJSON, invalid_request
from ..jsonparse import parse_json
from . import service
from .outcomes import Outcome, Recorded, Refused, Replayed
from .schemas import ConsentEventSchema

__all__ = ["Outcome", "Recorded", "Refused", "Replayed", "record_consent"]

event_schema = ConsentEventSchema()


def record_consent(
    site_id: str, body: bytes, headers: Mapping[str, str], region: str | None = None
) -> Outcome:
    """Validate a consent POST's ``body`` (JSON, whatever its media type) and record it.
    ``headers``: the request's ``Origin``, ``User-Agent`` and ``Idempotency-Key``, if sent;
    ``region``: the visitor's, from trusted headers (None: unknown)."""
    try:
        event = parse_event(body)
        return service.record_event(
            site_id,
            event,
            headers.get("Origin"),
            headers.get("User-Agent"),
            headers.get("Idempotency-Key"),
            region,
        )
    except DomainError as error:
        return Refused(error, service.known_site(site_id))


def parse_event(body: bytes) -> dict[str, Any]:
    """The body as a consent event (``ConsentEventSchema``), or the error to answer."""
    try:
        data = parse_json(body or b"null")
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedJSON("The request body is not valid JSON.") from error
    try:
        return event_schema.load(data)
    except ValidationError as error:
        raise invalid_request(error) from error
