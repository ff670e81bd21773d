"""Web origins, parsed strictly: what a site allows (``allowed_origins``) and what a browser sends.

An allowed origin is ``scheme://host[:port]`` with an IDNA (punycode) host, or a wildcard
``scheme://*.example.com[:port]`` that stands for one or more whole DNS labels in front of
example.com. A request's ``Origin`` is matched only when it has exactly that form as browsers
send it (lowercase ASCII, no user info, path, query or fragment): anything else, such as
``https://evil.com/.example.com``, ``https://evil.com@a.example.com``, full-width letters or a
literal ``*``, matches nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
IPV6_HOST = re.compile(r"\[[0-9a-f:.]+\]")
# The serialisation browsers use for Origin (RFC 6454): nothing before or after host and port.
REQUEST_ORIGIN = re.compile(
    r"(https?)://([a-z0-9.-]{1,253}|\[[0-9a-f:.]{2,45}\])(?::([0-9]{1,5}))?"
)


class OriginError(ValueError):
    """The text is not an origin in the accepted form; the message says why."""


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str  # lowercase ASCII (punycode); without the "*." of a wildcard
    port: int
    wildcard: bool = False

    def __str__(self) -> str:
        host = f"*.{self.host}" if self.wildcard else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return f"{self.scheme}://{host}"
        return f"{self.scheme}://{host}:{self.port}"

    def matches(self, other: Origin) -> bool:
        """True when the browser origin ``other`` is this origin or, for a wildcard, a host made
        of whole labels in front of this one's domain."""
        if (self.scheme, self.port) != (other.scheme, other.port) or other.wildcard:
            return False
        if not self.wildcard:
            return self.host == other.host
        prefix, dot, domain = other.host.rpartition("." + self.host)
        return bool(dot) and domain == "" and valid_labels(prefix)


def valid_labels(host: str) -> bool:
    labels = host.split(".")
    return all(HOST_LABEL.fullmatch(label) for label in labels)


def idna_host(host: str) -> str:
    """The ASCII form of a host name typed by a person (IDNA; full-width letters fold)."""
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError as error:
        raise OriginError("The host is not a valid domain name.") from error


@lru_cache(maxsize=4096)  # every CORS answer matches against the site's list
def parse_allowed_origin(value: str) -> Origin:
    """An allowed origin from a site's settings, normalised; raises :class:`OriginError`."""
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise OriginError("Give an origin as scheme://host[:port].")
    parts = urlsplit(value.strip())
    if parts.scheme not in DEFAULT_PORTS:
        raise OriginError("The scheme must be http or https.")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise OriginError("An origin has no path, query, fragment or user info.")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as error:
        raise OriginError("The port is not valid.") from error
    host = parts.hostname or ""
    if IPV6_HOST.fullmatch(f"[{host}]") and ":" in host:
        return Origin(parts.scheme, f"[{host}]", port)
    wildcard = host.startswith("*.")
    host = idna_host(host[2:] if wildcard else host)
    if "*" in host or not host or not valid_labels(host):
        raise OriginError("The host is not valid; wildcards are only allowed as '*.domain'.")
    if wildcard and "." not in host:
        raise OriginError("A wildcard needs a domain: https://*.example.com.")
    return Origin(parts.scheme, host, port, wildcard)


@lru_cache(maxsize=1024)  # each consent POST checks its Origin twice: the site, then CORS
def parse_request_origin(value: str | None) -> Origin | None:
    """A browser's ``Origin`` header, or None when it is absent or not in the exact form."""
    if not value or len(value) > 300:
        return None
    match = REQUEST_ORIGIN.fullmatch(value.lower())
    if match is None or not value.isascii():
        return None
    scheme, host, port_text = match.groups()
    port = int(port_text) if port_text else DEFAULT_PORTS[scheme]
    if not 0 < port < 65536 or not (host.startswith("[") or valid_labels(host)):
        return None
    return Origin(scheme, host, port)


def origin_in(allowed_origins: list[str], origin: str | None) -> bool:
    """True when the browser ``origin`` matches one of ``allowed_origins`` (stored normalised)."""
    request_origin = parse_request_origin(origin)
    if request_origin is None:
        return False
    for allowed in allowed_origins:
        try:
            if parse_allowed_origin(allowed).matches(request_origin):
                return True
        except OriginError:
            continue  # stored before strict parsing: it allows nothing
    return False
