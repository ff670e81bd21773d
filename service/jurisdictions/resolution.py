"""Which region a request comes from: trusted CDN headers only, never the body.

``CONSENTRY_REGION_HEADERS`` names the headers, in order of preference, as a JSON list whose
items are a header name (a country, or a full ``US-CA`` code) or a pair ``[country header,
subdivision header]`` (CloudFront and Vercel send the subdivision without its country). They are
read only when the request's peer address is in ``CONSENTRY_TRUSTED_PROXIES`` (a JSON list of
addresses or CIDR ranges): anyone else could send them. In development and testing, ``?region=``
overrides them for previews and tests.

The resolver works on a WSGI environ, so the banner's fast path and the Flask views share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from ..errors import Unprocessable
from ..proxies import Network, networks_check, parse_trusted_proxies, peer_address
from .regions import normalise_region


@dataclass(frozen=True)
class HeaderSource:
    country: str  # header name
    subdivision: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.country,) if self.subdivision is None else (self.country, self.subdivision)


def parse_region_headers(value: Any) -> tuple[HeaderSource, ...]:
    """``CONSENTRY_REGION_HEADERS`` as a tuple of sources; a ValueError says what is wrong."""
    if isinstance(value, str):
        value = [name.strip() for name in value.split(",") if name.strip()]
    if not isinstance(value, list | tuple):
        raise ValueError("CONSENTRY_REGION_HEADERS must be a JSON list of header names or pairs.")
    sources = []
    for item in value:
        names = [item] if isinstance(item, str) else item
        if (
            not isinstance(names, list | tuple)
            or not 1 <= len(names) <= 2
            or not all(isinstance(name, str) and name.strip() for name in names)
        ):
            raise ValueError(f"CONSENTRY_REGION_HEADERS: {item!r} is not a header or a pair.")
        sources.append(HeaderSource(*(name.strip() for name in names)))
    return tuple(sources)


def environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


class RegionResolver:
    def __init__(
        self,
        sources: tuple[HeaderSource, ...],
        trusted: tuple[Network, ...],
        allow_override: bool,
    ) -> None:
        self.sources = sources
        self.trusted = trusted
        self.allow_override = allow_override
        self._keys = [
            (environ_key(s.country), environ_key(s.subdivision) if s.subdivision else None)
            for s in sources
        ]
        self.vary = [name for source in sources for name in source.names]
        self._trusts = networks_check(trusted)

    def peer_trusted(self, environ: Mapping[str, Any]) -> bool:
        """The request's peer (the proxy itself, not the client it forwarded) is trusted."""
        return bool(self.trusted) and self._trusts(peer_address(environ))

    def from_headers(self, environ: Mapping[str, Any]) -> str | None:
        """The region the trusted headers give, or None (untrusted peer, absent or bad value)."""
        if not self._keys or not self.peer_trusted(environ):
            return None
        for country_key, subdivision_key in self._keys:
            country = normalise_region(environ.get(country_key))
            if country is None:
                continue
            if subdivision_key and len(country) == 2:
                part = (environ.get(subdivision_key) or "").strip().upper()
                if part.startswith(country + "-"):
                    part = part[3:]
                region = normalise_region(f"{country}-{part}") if part else None
                return region or country
            return country
        return None

    def for_request(self, environ: Mapping[str, Any], override: str | None = None) -> str | None:
        """The request's region. ``override`` (``?region=``) counts only where allowed (a bad
        one is a 422 there) and is ignored elsewhere, so production caches see one answer."""
        if override is None or not self.allow_override:
            return self.from_headers(environ)
        region = normalise_region(override)
        if region is None:
            raise Unprocessable(
                "region must be an ISO 3166-1 country or ISO 3166-2 subdivision (e.g. US-CA).",
                {"fields": {"region": ["Not a known country or subdivision."]}},
            )
        return region


def resolver(app: Flask | None = None) -> RegionResolver:
    app = app or current_app
    return app.extensions["consentry_region_resolver"]


def init_app(app: Flask) -> None:
    sources = parse_region_headers(app.config["REGION_HEADERS"])
    trusted = parse_trusted_proxies(app.config["TRUSTED_PROXIES"])
    allow_override = app.testing or app.config["ENV"] in ("development", "testing")
    app.extensions["consentry_region_resolver"] = RegionResolver(sources, trusted, allow_override)
