"""Finding 7: origins are parsed strictly; a wildcard matches whole DNS labels only."""

from __future__ import annotations

import pytest

from service.sites.origins import OriginError, parse_allowed_origin
from service.sites.service import origin_in

ALLOWED = ["https://*.example.com", "https://shop.test", "http://localhost:8000"]


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.com/.example.com",
        "https://evil.com@a.example.com",
        "https://a.example.com@evil.com",
        "https://evil.com#.example.com",
        "https://evil.com?.example.com",
        "https://evil.com\\.example.com",
        "https://\uff41.example.com",  # full-width letter
        "https://a.\uff45xample.com",
        "https://*.example.com",  # a literal star
        "https://a*.example.com",
        "https://-a.example.com",
        "https://a..example.com",
        "https://.example.com",
        "https://a.example.com.",
        "https://example.com",
        "https://a.example.com:443x",
        "https://a.example.com:0",
        "https://a.example.com:99999",
        "https://a.example.com/",
        "https://a.example.com ",
        " https://a.example.com",
        "https://a.example.com\x00",
        "http://a.example.com",
        "https://a.example.com:8443",
        "https://shop.test.evil",
        "https://xshop.test",
        "null",
        "",
        None,
    ],
)
def test_hostile_request_origins_match_nothing(origin):
    assert origin_in(ALLOWED, origin) is False


@pytest.mark.parametrize(
    "origin",
    [
        "https://a.example.com",
        "https://a.b.example.com",
        "https://xn--bcher-kva.example.com",
        "https://A.Example.COM",
        "https://a.example.com:443",
        "https://shop.test",
        "http://localhost:8000",
    ],
)
def test_real_browser_origins_match(origin):
    assert origin_in(ALLOWED, origin) is True


@pytest.mark.parametrize(
    ("configured", "stored"),
    [
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://\uff45xample.com", "https://example.com"),  # full-width folds (IDNA)
        ("HTTPS://Shop.Example:443/", "https://shop.example"),
        ("https://*.Example.com:8443", "https://*.example.com:8443"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_configured_origins_are_normalised_to_idna(configured, stored):
    assert str(parse_allowed_origin(configured)) == stored


@pytest.mark.parametrize(
    "configured",
    [
        "https://*.com.*",
        "https://a.*.example.com",
        "https://*",
        "https://*.com",
        "https://evil.com/.example.com",
        "https://user@example.com",
        "ftp://example.com",
        "https://exa mple.com",
        "https://example.com:99999",
        "https://",
    ],
)
def test_invalid_configured_origins_are_refused(configured):
    with pytest.raises(OriginError):
        parse_allowed_origin(configured)


def test_site_api_stores_idna_and_refuses_bad_wildcards(client, admin):
    from tests.conftest import site_payload

    created = client.post(
        "/api/v1/sites",
        json=site_payload(allowed_origins=["https://bücher.example", "https://*.shop.example"]),
        headers=admin,
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["allowed_origins"] == [
        "https://xn--bcher-kva.example",
        "https://*.shop.example",
    ]
    refused = client.post(
        "/api/v1/sites",
        json=site_payload("other", allowed_origins=["https://a.*.example.com"]),
        headers=admin,
    )
    assert refused.status_code == 422


def test_consent_from_a_spoofed_wildcard_origin_is_refused(client, admin):
    from tests.api.test_consents import event
    from tests.conftest import site_payload

    client.post(
        "/api/v1/sites",
        json=site_payload(allowed_origins=["https://*.example.com"]),
        headers=admin,
    )
    url = "/api/v1/sites/news-example/consents"
    spoofed = client.post(url, json=event(), headers={"Origin": "https://evil.com/.example.com"})
    assert spoofed.status_code == 403
    assert "Access-Control-Allow-Origin" not in spoofed.headers
    real = client.post(url, json=event(), headers={"Origin": "https://www.example.com"})
    assert real.status_code == 201
