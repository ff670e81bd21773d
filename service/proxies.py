"""Who sent a request: the client address, believed from ``X-Forwarded-For`` only when the
request arrives from a trusted proxy.

``CONSENTRY_TRUSTED_PROXIES`` is a JSON list of addresses or CIDR ranges (default none). A request
whose peer (``REMOTE_ADDR`` as the WSGI server sees it) is in that list goes through Werkzeug's
``ProxyFix``, which sets ``REMOTE_ADDR`` to the address ``CONSENTRY_PROXY_HOPS`` entries from the
right of ``X-Forwarded-For`` (1: the address the nearest proxy saw); anyone else's
``X-Forwarded-For`` is ignored. The middleware wraps the whole app, so the fast paths, Flask's
``request.remote_addr``, the rate limits and the console's sign-in throttle all see one address.
The peer stays readable (:func:`peer_address`) for the checks that trust the proxy itself, such
as the region headers (``service.jurisdictions.resolution``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The original values ProxyFix keeps when it rewrites the environ.
PROXY_FIX_ORIGINAL = "werkzeug.proxy_fix.orig"


def parse_trusted_proxies(value: Any) -> tuple[Network, ...]:
    """``CONSENTRY_TRUSTED_PROXIES`` (addresses or CIDR ranges) as networks."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise ValueError("CONSENTRY_TRUSTED_PROXIES must be a JSON list of addresses or CIDRs.")
    try:
        return tuple(ipaddress.ip_network(str(item), strict=False) for item in value)
    except ValueError as error:
        raise ValueError(f"CONSENTRY_TRUSTED_PROXIES: {error}") from error


def parse_address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address (an IPv4-mapped IPv6 address as its IPv4 one), or None for anything else."""
    try:
        address = ipaddress.ip_address((text or "").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def networks_check(networks: tuple[Network, ...]) -> Callable[[str | None], bool]:
    """``trusts(address)``: is ``address`` in one of ``networks`` (cached per address)."""

    @lru_cache(maxsize=1024)
    def trusts(address: str | None) -> bool:
        parsed = parse_address(address)
        return parsed is not None and any(parsed in network for network in networks)

    return trusts


def peer_address(environ: Mapping[str, Any]) -> str | None:
    """The address the request came from (the proxy's, when a trusted proxy forwarded it)."""
    original = environ.get(PROXY_FIX_ORIGINAL)
    return original["REMOTE_ADDR"] if original else environ.get("REMOTE_ADDR")


@lru_cache(maxsize=4096)
def client_network(address: str | None) -> str | None:
    """The client a rate limit counts: an IPv4 address, or the /64 of an IPv6 one (one host
    usually holds a whole /64). None when the address is not an IP address (a Unix socket)."""
    parsed = parse_address(address)
    if parsed is None:
        return None
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


class TrustedProxyFix:
    """WSGI middleware: ``ProxyFix`` for requests from a trusted proxy, nothing for the rest."""

    def __init__(self, wsgi_app: Callable, trusted: tuple[Network, ...], hops: int = 1) -> None:
        self.wsgi_app = wsgi_app
        self.fixed = ProxyFix(wsgi_app, x_for=hops, x_proto=0, x_host=0, x_port=0, x_prefix=0)
        self.trusts = networks_check(trusted)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if self.trusts(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self.wsgi_app(environ, start_response)


def proxy_hops(value: Any) -> int:
    """``CONSENTRY_PROXY_HOPS``: how many trusted proxies append to ``X-Forwarded-For``."""
    if type(value) is not int or not 1 <= value <= 10:
        raise ValueError("CONSENTRY_PROXY_HOPS must be an integer from 1 to 10.")
    return value


def init_app(app: Flask) -> None:
    """Wrap the app, outermost: every part of it then sees the same client address."""
    trusted = parse_trusted_proxies(app.config["TRUSTED_PROXIES"])
    if trusted:
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, trusted, proxy_hops(app.config["PROXY_HOPS"]))
