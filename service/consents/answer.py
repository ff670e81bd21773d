"""A consent POST answered: the request's site, body and headers in, status, headers and body
out. The fast path (:mod:`.fastpath`) and the Flask view (:mod:`.views`) both answer with
:func:`respond`, so they send the same bytes for the same request.

The per-site rate limit is counted here, once per request, then :func:`.recording.record_consent`
gives the outcome, and the outcome decides everything else: the status, the body (a receipt or
the error envelope), the CORS headers (from the site it was checked against) and the rate-limit
headers.
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
from .ratelimit import RateLimitState, hit_site_limit, rate_limited
from .recording import record_consent
from .schemas import ConsentReceiptSchema
from .service import known_site

receipt_schema = ConsentReceiptSchema()


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def respond(
    site_id: str, body: bytes, headers: Mapping[str, str], region: str | None = None
) -> Answer:
    """Count the request against the site's limit, record the consent, answer the outcome. A
    database that is down or restarting is answered 503 with ``Retry-After`` (the widget
    retries; nothing was committed)."""
    rate = hit_site_limit(site_id)
    try:
        if rate.allowed:
            outcome = record_consent(site_id, body, headers, region)
        else:
            outcome = Refused(rate_limited(rate), known_site(site_id))
    except DATABASE_UNAVAILABLE as error:
        db.session.rollback()
        current_app.logger.warning("Database unavailable on a consent for %s: %s", site_id, error)
        outcome = Refused(database_unavailable(), None)
    return answer(outcome, headers.get("Origin"), rate)


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
