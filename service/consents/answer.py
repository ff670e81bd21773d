"""A consent POST answered: the request's site, body and headers in, status, headers and body
out. The fast path (:mod:`.fastpath`) and the Flask view (:mod:`.views`) both answer with
:func:`respond`, so they send the same bytes for the same request.

The rate limits are counted here, each once per request (:mod:`.ratelimit`): the client's
before any work, the site's once the event passed every check (:func:`.recording.check_consent`)
and before it is written (:func:`.recording.write_consent`), so requests refused as invalid use up
only their sender's budget. The outcome decides everything else: the status, the body (a receipt
or the error envelope), the CORS headers (from the site it was checked against) and the
rate-limit headers (the site's budget once the request reached it, else the client's).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app

from ..errors import DATABASE_UNAVAILABLE, database_unavailable, envelope
from ..extensions import db
from ..sites.cors import cors_headers
from .outcomes import Outcome, Refused
from .ratelimit import (
    NOT_LIMITED,
    RateLimitState,
    client_rate_limited,
    hit_client_limit,
    hit_site_limit,
    rate_limited,
)
from .recording import check_consent, write_consent
from .schemas import ConsentReceiptSchema
from .service import known_site

receipt_schema = ConsentReceiptSchema()


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def respond(
    site_id: str,
    body: bytes,
    headers: Mapping[str, str],
    region: str | None = None,
    client: str | None = None,
) -> Answer:
    """Count the request against its limits, record the consent, answer the outcome. ``client``:
    the client's address (``REMOTE_ADDR`` after :mod:`service.proxies`). A database that is down
    or restarting is answered 503 with ``Retry-After`` (the widget retries; nothing was
    committed)."""
    try:
        outcome, rate = limited_outcome(site_id, body, headers, region, client)
    except DATABASE_UNAVAILABLE as error:
        db.session.rollback()
        current_app.logger.warning("Database unavailable on a consent for %s: %s", site_id, error)
        outcome, rate = Refused(database_unavailable(), None), NOT_LIMITED
    return answer(outcome, headers.get("Origin"), rate)


def limited_outcome(
    site_id: str,
    body: bytes,
    headers: Mapping[str, str],
    region: str | None,
    client: str | None,
) -> tuple[Outcome, RateLimitState]:
    """The outcome within the client's and the site's limits, and the limit state to answer."""
    rate = hit_client_limit(client)
    if not rate.allowed:
        return Refused(client_rate_limited(rate), known_site(site_id)), rate
    checked = check_consent(site_id, body, headers, region)
    if isinstance(checked, Refused):
        return checked, rate
    site_rate = hit_site_limit(site_id)
    if not site_rate.allowed:
        return Refused(rate_limited(site_rate), checked.site), site_rate
    return write_consent(checked), site_rate


def answer(outcome: Outcome, origin: str | None, rate: RateLimitState) -> Answer:
    """201 with the receipt (recorded, or recorded before), or the refusal's status and error
    envelope; CORS for an allowed ``origin`` of the outcome's site; the rate-limit headers."""
    if isinstance(outcome, Refused):
        status, body, extra = outcome.error.status, envelope(outcome.error), outcome.error.headers
    else:
        receipt = receipt_schema.dump(outcome.receipt)
        status, body, extra = 201, json.dumps(receipt, separators=(",", ":")).encode() + b"\n", {}
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "Vary": "Origin",
    }
    if origin and outcome.site is not None:
        headers.update(cors_headers(outcome.site, origin))
    headers.update(rate.headers)
    headers.update(extra)
    return Answer(status, headers, body)
