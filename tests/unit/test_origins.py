from __future__ import annotations

import pytest

from service.sites.models import Site
from service.sites.service import origin_allowed

SITE = Site(
    allowed_origins=["https://news.example.com", "http://localhost:8000", "https://*.shop.example"]
)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://news.example.com", True),
        ("HTTPS://NEWS.EXAMPLE.COM", True),
        ("http://news.example.com", False),
        ("https://news.example.com:8443", False),
        ("https://evil-news.example.com", False),
        ("https://news.example.com.evil.test", False),
        ("http://localhost:8000", True),
        ("http://localhost:8001", False),
        ("https://a.shop.example", True),
        ("https://a.b.shop.example", True),
        ("https://shop.example", False),
        ("https://a.shop.example:444", False),
        ("https://evilshop.example", False),
        ("null", False),
        ("", False),
        (None, False),
    ],
)
def test_origin_matching_is_exact_or_subdomain_wildcard(origin, allowed):
    assert origin_allowed(SITE, origin) is allowed
