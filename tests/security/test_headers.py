"""Security headers on every kind of answer: JSON (Flask and both fast paths), error pages, the
proof bundle's HTML, Swagger UI, hosted policy pages, the widget; no-store on personal answers."""

from __future__ import annotations

import pytest

from tests.helpers.audit import BASE, SITE, accept, recording_site


@pytest.fixture
def recorded(client, admin, make_site):
    recorder = recording_site(client, admin, make_site)
    return recorder(**accept("s_visitor_0001"))


def assert_hardened(response, *, html: bool) -> str:
    policy = response.headers.get("Content-Security-Policy", "")
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == "no-referrer"
    assert "frame-ancestors" in policy
    assert "default-src 'none'" in policy
    if html:
        assert "unsafe-inline" not in policy.split("script-src")[-1].split(";")[0]
    return policy


def test_json_answers_from_flask_and_fast_paths(client, recorded, admin):
    banner = client.get(f"{BASE}/banner", headers={"Origin": "https://news.example.com"})
    banner_hit = client.get(f"{BASE}/banner", headers={"Origin": "https://news.example.com"})
    answers = {
        "api": client.get("/api/v1/sites", headers=admin),
        "banner miss": banner,
        "banner hit (fast path)": banner_hit,
        "openapi": client.get("/api/openapi.json"),
        "jwks": client.get("/.well-known/jwks.json"),
        "json 404": client.get("/api/v1/nowhere"),
        "json 401": client.get("/api/v1/sites"),
    }
    for name, response in answers.items():
        policy = assert_hardened(response, html=False)
        assert "sandbox" in policy, name


def test_consent_post_from_the_fast_path_is_hardened_and_not_stored(client, make_site):
    from tests.api.test_consents import ORIGIN, event

    make_site()
    response = client.post(f"{BASE}/consents", json=event(), headers={"Origin": ORIGIN})
    assert response.status_code == 201
    assert_hardened(response, html=False)
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/nowhere", "/p/no-site/privacy"])
def test_html_error_pages_carry_a_strict_policy(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 404 and response.mimetype == "text/html"
    policy = assert_hardened(response, html=True)
    assert "script-src" not in policy  # default-src 'none' refuses every script


def test_proof_bundle_html_is_hardened_and_not_stored(client, recorded, admin):
    response = client.get(f"{BASE}/subjects/s_visitor_0001/proof?format=html", headers=admin)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert_hardened(response, html=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_swagger_ui_page_has_a_policy_without_inline_script(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert_hardened(page, html=True)
    assert b"<script>" not in page.data  # started from a file, not inline
    assert client.get("/api/docs/swagger-ui-bundle.js").status_code == 200


def test_policy_pages_may_be_framed_only_by_the_sites_origins(client, recorded):
    response = client.get(f"/p/{SITE}/privacy")
    assert response.status_code == 200
    policy = assert_hardened(response, html=True)
    ancestors = policy.split("frame-ancestors")[1].split(";")[0].split()
    assert ancestors == ["'self'", "https://news.example.com", "http://localhost:8000"]
    assert response.headers["Cache-Control"] == "public, max-age=300"  # its own choice is kept


@pytest.mark.parametrize(
    "path",
    [
        "/consents",
        "/consents?subject=s_visitor_0001",
        "/export",
        "/export?format=csv",
        "/subjects/s_visitor_0001/proof",
        "/stats",
        "/ledger/verify",
    ],
)
def test_audit_export_proof_and_subject_answers_are_never_stored(client, recorded, admin, path):
    response = client.get(BASE + path, headers=admin)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"


def test_subject_history_and_record_proof_are_never_stored(client, recorded, admin):
    history = client.get(
        f"{BASE}/subjects/me/consents",
        headers={"Authorization": f"Bearer {recorded['subject_token']}"},
    )
    proof = client.get(f"{BASE}/consents/{recorded['id']}/proof", headers=admin)
    erase = client.post(f"{BASE}/subjects/s_visitor_0001/erase", headers=admin)
    for response in (history, proof, erase):
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"


def test_widget_sends_one_date_header_at_most(client):
    """The server adds Date; an application Date (from make_conditional) made it two."""
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers.getlist("Date") == []
    assert response.headers["Cache-Control"].startswith("public")
    assert_hardened(response, html=False)


@pytest.mark.parametrize("origin", ["https://news.example.com", "https://anyone.example"])
def test_unknown_site_banner_404_is_readable_from_any_origin(client, origin):
    response = client.get("/api/v1/sites/no-such-site/banner", headers={"Origin": origin})
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.get_json()["error"]["code"] == "not_found"


def test_a_known_site_never_answers_a_foreign_origin_with_cors(client, make_site):
    make_site()
    response = client.get(
        "/api/v1/sites/news-example/banner", headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
