"""The one way a consent is recorded: ``record_consent(site, body, headers)`` takes the raw body
and the headers that matter and returns a typed :mod:`outcome <service.consents.outcomes>`.

It is two steps, so that a request can be counted against the site's rate limit between them
(:mod:`.answer`): :func:`check_consent` parses and validates the body once and checks the event
against the site (a :class:`~.service.Prepared` event, or a refusal), and :func:`write_consent`
appends it. Both ways a consent POST is answered, the WSGI fast path (:mod:`.fastpath`) and the
Flask view (:mod:`.views`), are thin adapters of them, which differ only in how they read the
request and write the response. No Flask import: the functions run in an app context
(configuration, keys, database) but read no request and no ``flask.g``.
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
from .service import ConsentRequest, Prepared

__all__ = [
    "Outcome",
    "Prepared",
    "Recorded",
    "Refused",
    "Replayed",
    "check_consent",
    "record_consent",
    "write_consent",
]

event_schema = ConsentEventSchema()


def record_consent(
    site_id: str, body: bytes, headers: Mapping[str, str], region: str | None = None
) -> Outcome:
    """Check a consent POST and write it (no rate limit: :func:`.answer.respond` adds it)."""
    checked = check_consent(site_id, body, headers, region)
    return checked if isinstance(checked, Refused) else write_consent(checked)


def check_consent(
    site_id: str, body: bytes, headers: Mapping[str, str], region: str | None = None
) -> Prepared | Refused:
    """Validate a consent POST's ``body`` (JSON, whatever its media type) and check it against
    the site. ``headers``: the request's ``Origin``, ``User-Agent``, ``Idempotency-Key`` and
    ``Authorization``, if sent; ``region``: the visitor's, from trusted headers (None: unknown)."""
    try:
        event = parse_event(body)
        request = ConsentRequest(
            origin=headers.get("Origin"),
            user_agent=headers.get("User-Agent"),
            idempotency_key=headers.get("Idempotency-Key"),
            authorization=headers.get("Authorization"),
        )
        return service.prepare_event(site_id, event, request, region)
    except DomainError as error:
        return Refused(error, service.known_site(site_id))


def write_consent(prepared: Prepared) -> Outcome:
    """Append a checked event: recorded, recorded before, or refused (the site changed meanwhile
    and the event no longer passes, or its documents are outdated)."""
    try:
        return service.append_prepared(prepared)
    except DomainError as error:
        return Refused(error, service.known_site(prepared.site.id))


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
