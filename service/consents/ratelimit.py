"""The consent POST's rate limits, on Flask-Limiter's configured storage and strategy.

Two budgets, each counted once per request whichever adapter answers it (the fast path or the
Flask view, both through :func:`.answer.respond`):

- per client (``CONSENT_CLIENT_RATE_LIMIT``): every POST of one IPv4 address or IPv6 /64, valid
  or not, counted before any work; the address is the one :mod:`service.proxies` gives;
- per site (``CONSENT_RATE_LIMIT``): consents that passed every check, counted just before they
  are written, so requests refused as invalid never use up a site's budget for real consents.

Flask-Limiter still owns the configuration: ``RATELIMIT_STORAGE_URI`` (in memory by default,
Redis to share the counts across workers and machines), ``RATELIMIT_STRATEGY`` and
``RATELIMIT_ENABLED``; its per-request hooks skip this endpoint, which checks its limits itself.
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
from ..proxies import client_network


@dataclass(frozen=True)
class RateLimitState:
    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)


NOT_LIMITED = RateLimitState(True)


class RateLimited(DomainError, status=429, code="rate_limited"): ...


@lru_cache(maxsize=16)
def parse_limit(text: str) -> RateLimitItem:
    return parse(text)


def hit_site_limit(site_id: str) -> RateLimitState:
    """Count one valid consent against the site's ``CONSENT_RATE_LIMIT``."""
    return hit_limit("CONSENT_RATE_LIMIT", "consents", site_id)


def hit_client_limit(address: str | None) -> RateLimitState:
    """Count one consent POST against its client's ``CONSENT_CLIENT_RATE_LIMIT`` (not limited
    when the address is not an IP address, as on a Unix socket)."""
    network = client_network(address)
    if network is None:
        return NOT_LIMITED
    return hit_limit("CONSENT_CLIENT_RATE_LIMIT", "consents-client", network)


def hit_limit(setting: str, *identifiers: str) -> RateLimitState:
    """Count one hit against the limit the setting names, for ``identifiers``."""
    config = current_app.config
    if not config["RATELIMIT_ENABLED"]:
        return NOT_LIMITED
    item = parse_limit(config[setting])
    strategy = limiter.limiter
    try:
        if isinstance(strategy, FixedWindowRateLimiter):
            # The default strategy, counted here as its hit() does, so that the count the
            # increment returns gives the remaining budget: two storage calls, not three
            # (docs/performance.md).
            key = item.key_for(*identifiers)
            count = strategy.storage.incr(key, item.get_expiry())
            allowed, remaining = count <= item.amount, max(0, item.amount - count)
            reset_at = strategy.storage.get_expiry(key)
        else:
            allowed = strategy.hit(item, *identifiers)
            reset_at, remaining = strategy.get_window_stats(item, *identifiers)
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


def client_rate_limited(state: RateLimitState) -> RateLimited:
    """The error a request over its client's limit is answered with (429, with its headers)."""
    return RateLimited(
        "Too many consent requests from this address right now; try again shortly.",
        headers=state.headers,
    )
