"""The per-site consent rate limit, on Flask-Limiter's configured storage and strategy.

One function enforces it for both ways a consent POST is answered (the fast path and the Flask
view, :mod:`service.consents.fastpath`), so a request is counted once whichever answers it.
Flask-Limiter still owns the configuration: ``RATELIMIT_STORAGE_URI`` (in memory by default,
Redis to share the count across workers and machines), ``RATELIMIT_STRATEGY`` and
``RATELIMIT_ENABLED``; its per-request hooks skip this endpoint, which checks the limit itself.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import lru_cache

from flask import current_app
from limits import RateLimitItem, parse
from limits.strategies import FixedWindowRateLimiter

from ..errors import DomainError
from ..extensions import limiter


@dataclass(frozen=True)
class RateLimitState:
    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)


NOT_LIMITED = RateLimitState(True)


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"


@lru_cache(maxsize=16)
def parse_limit(text: str) -> RateLimitItem:
    return parse(text)


def hit_site_limit(site_id: str) -> RateLimitState:
    """Count one consent POST against the site's ``CONSENT_RATE_LIMIT``."""
    config = current_app.config
    if not config["RATELIMIT_ENABLED"]:
        return NOT_LIMITED
    item = parse_limit(config["CONSENT_RATE_LIMIT"])
    strategy = limiter.limiter
    try:
        if isinstance(strategy, FixedWindowRateLimiter):
            # The default strategy, counted here as its hit() does, so that the count the
            # increment returns gives the remaining budget: two storage calls, not three
            # (docs/performance.md).
            key = item.key_for("consents", site_id)
            count = strategy.storage.incr(key, item.get_expiry())
            allowed, remaining = count <= item.amount, max(0, item.amount - count)
            reset_at = strategy.storage.get_expiry(key)
        else:
            allowed = strategy.hit(item, "consents", site_id)
            reset_at, remaining = strategy.get_window_stats(item, "consents", site_id)
    except Exception as error:
        # The limit protects the service; a consent is what it exists to keep: fail open.
        current_app.logger.warning("Rate-limit storage unavailable, not limiting: %s", error)
        return NOT_LIMITED
    headers = {
        "X-RateLimit-Limit": str(item.amount),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(math.ceil(reset_at)),
    }
    if not allowed:
        headers["Retry-After"] = str(max(1, math.ceil(reset_at - time.time())))
    return RateLimitState(allowed, headers)


def rate_limited(state: RateLimitState) -> RateLimited:
    """The error a request over the site's limit is answered with (429, with its headers)."""
    return RateLimited(
        "Too many consent records for this site right now; try again shortly.",
        headers=state.headers,
    )
