"""Which URLs the scanner may open: only those on one of the site's allowed origins."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urldefrag, urljoin, urlsplit

from ..sites.origins import DEFAULT_PORTS


class OriginRefused(ValueError):
    """A URL outside the site's allowed origins (or not http/https)."""


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL as the site's allowed origins spell it (default ports
    dropped); None for anything that is not http(s) with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[parts.scheme]) else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}"


class AllowedOrigins:
    """The site's allowed origins, wildcards (``https://*.example.com``) included."""

    def __init__(self, origins: Iterable[str]) -> None:
        self.exact: set[str] = set()
        self.wildcards: list[tuple[str, str]] = []  # (scheme://, .domain[:port])
        for origin in origins:
            scheme, _sep, rest = origin.partition("://")
            if rest.startswith("*."):
                self.wildcards.append((scheme, rest[1:]))
            else:
                self.exact.add(origin)

    def allows(self, url: str) -> bool:
        """True when ``url``'s origin is one of the allowed origins."""
        origin = origin_of(url)
        if origin is None:
            return False
        if origin in self.exact:
            return True
        scheme, _sep, netloc = origin.partition("://")
        return any(scheme == wild and netloc.endswith(suffix) for wild, suffix in self.wildcards)

    def pattern(self) -> str:
        """A regular expression (JavaScript-compatible) that matches URLs on these origins."""
        end = r"(?:[/?#]|$)"
        options = [re.escape(origin) + end for origin in sorted(self.exact)]
        options += [
            re.escape(f"{scheme}://") + r"[^/?#@]+" + re.escape(suffix) + end
            for scheme, suffix in self.wildcards
        ]
        return "(?:" + "|".join(options) + ")" if options else "(?!)"

    def check(self, url: str) -> str:
        """Return ``url`` without its fragment, or raise OriginRefused."""
        if not self.allows(url):
            raise OriginRefused(f"{url} is not on one of the site's allowed origins")
        return urldefrag(url).url


def same_origin_links(base_url: str, hrefs: Iterable[str], allowed: AllowedOrigins) -> list[str]:
    """The links of a page worth following: absolute, fragment-free, on the page's own origin
    and allowed; each once, in page order."""
    base_origin = origin_of(base_url)
    links: list[str] = []
    for href in hrefs:
        url = urldefrag(urljoin(base_url, href.strip())).url
        if origin_of(url) == base_origin and allowed.allows(url) and url not in links:
            links.append(url)
    return links
