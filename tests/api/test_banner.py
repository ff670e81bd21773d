"""The banner config: shape, locale, revision, ETag/304, CORS and cache invalidation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service import create_app
from service.extensions import db
from service.timeutil import isoformat, utcnow
from tests.helpers.documents import clock, draft, draft_and_publish, publish

__all__ = ["clock"]

BANNER = "/api/v1/sites/news-example/banner"


@pytest.fixture
def site(make_site):
    return make_site("news-example")


def banner_texts(client, admin, locales: dict[str, tuple[str, str]], **labels):
    payload = {
        "texts": {
            locale: {"title": title, "body": body, **({"labels": labels} if labels else {})}
            for locale, (title, body) in locales.items()
        }
    }
    return draft_and_publish_payload(client, admin, "banner", payload)


def draft_and_publish_payload(client, admin, kind, payload):
    version = draft(client, admin, kind, **payload)["version"]
    return publish(client, admin, version, kind)


def test_banner_config_has_everything_the_widget_needs(client, admin, site):
    draft_and_publish(client, admin, "privacy", summary="First")
    draft_and_publish(client, admin, "terms")
    response = client.get(BANNER)
    assert response.status_code == 200
    config = response.get_json()
    assert set(config) == {
        "site", "mode", "locale", "dir", "texts", "categories", "documents", "banner_document",
        "gpc", "consent_mode", "consent_lifetime_days", "theme", "cookie_domain", "revision",
        "region", "controller", "receipt_url", "first_layer",
    }  # fmt: skip
    assert config["site"] == "news-example"
    assert config["mode"] == "opt-in"
    assert (config["locale"], config["dir"]) == ("en", "ltr")
    assert config["texts"]["accept_all"] == "Accept all"
    assert set(config["texts"]) >= {"title", "description", "reject_all", "settings", "save"}
    assert [c["id"] for c in config["categories"]] == ["necessary", "analytics", "marketing"]
    assert config["categories"][2]["sale_or_sharing"] is True
    assert all("cookies" in c for c in config["categories"])
    privacy, terms = config["documents"]
    assert (privacy["kind"], privacy["version"], terms["kind"]) == ("privacy", 1, "terms")
    assert privacy["title"] == "Privacy Policy"
    assert privacy["url"] == "http://localhost/p/news-example/privacy"
    assert privacy["material"] is True
    assert privacy["last_material_version"] == 1
    assert privacy["summary"] == "First"
    assert privacy["published_at"].endswith("Z")
    assert privacy["diff_url"] is None
    assert len(privacy["sha256"]) == 64
    # No trusted region header: an unknown region, which may be one whose law requires GPC.
    assert (config["region"], config["gpc"]) == (None, {"honour": True, "required": True})
    assert config["consent_mode"]["mapping"]["ad_storage"] == ["marketing"]
    assert config["consent_lifetime_days"] == 180
    assert len(config["revision"]) == 64


def test_last_material_version_ignores_later_non_material_versions(client, admin, site):
    draft_and_publish(client, admin)
    draft_and_publish(client, admin, body="Two.", material=True)
    draft_and_publish(client, admin, body="Three.", material=False, summary="Typo")
    (privacy,) = client.get(BANNER).get_json()["documents"]
    assert (privacy["version"], privacy["material"], privacy["last_material_version"]) == (
        3,
        False,
        2,
    )
    assert privacy["diff_url"] == "http://localhost/p/news-example/privacy/v/3#changes"


def test_site_policy_urls_replace_the_hosted_pages(client, admin, site):
    draft_and_publish(client, admin)
    client.patch(
        "/api/v1/sites/news-example",
        json={"policy_urls": {"privacy": "https://news.example.com/privacy"}},
        headers=admin,
    )
    (privacy,) = client.get(BANNER).get_json()["documents"]
    assert privacy["url"] == "https://news.example.com/privacy"


@pytest.mark.parametrize(
    ("locale", "expected", "title"),
    [
        ("fr-CA", "fr", "Vos données"),
        ("fr", "fr", "Vos données"),
        ("ar", "ar", "خصوصيتك"),
        ("it", "en", "Your data"),
        (None, "en", "Your data"),
    ],
)
def test_texts_in_the_best_matching_locale(client, admin, site, locale, expected, title):
    banner_texts(
        client,
        admin,
        {"en": ("Your data", "We use cookies."), "fr": ("Vos données", "Des cookies."),
         "ar": ("خصوصيتك", "نستخدم ملفات.")},
    )  # fmt: skip
    config = client.get(BANNER, query_string={"locale": locale} if locale else {}).get_json()
    assert config["locale"] == expected
    assert config["texts"]["title"] == title
    assert config["dir"] == ("rtl" if expected == "ar" else "ltr")
    assert config["banner_document"]["version"] == 1
    if expected == "fr":
        assert config["texts"]["accept_all"] == "Tout accepter"  # built-in label


def test_built_in_texts_without_a_banner_document(client, site):
    config = client.get(BANNER, query_string={"locale": "de-AT"}).get_json()
    assert config["locale"] == "de"
    assert config["texts"]["reject_all"] == "Alle ablehnen"
    assert config["banner_document"] is None


def test_banner_document_labels_override_the_built_in_ones(client, admin, site):
    banner_texts(client, admin, {"en": ("Hi", "Cookies.")}, accept_all="Yes please")
    texts = client.get(BANNER).get_json()["texts"]
    assert (texts["accept_all"], texts["reject_all"]) == ("Yes please", "Reject all")


@pytest.mark.parametrize("locale", ["english!", "x" * 36, "en_US", "<b>"])
def test_malformed_locale_is_422(client, site, locale):
    response = client.get(BANNER, query_string={"locale": locale})
    assert response.status_code == 422
    assert "locale" in response.get_json()["error"]["details"]["fields"]


def test_unknown_site_is_404(client):
    assert client.get("/api/v1/sites/nope/banner").status_code == 404


def test_etag_and_cache_control_and_304(client, site):
    response = client.get(BANNER)
    revision = response.get_json()["revision"]
    assert response.headers["ETag"] == f'"{revision}"'
    assert response.headers["Cache-Control"] == "public, max-age=60, stale-while-revalidate=600"
    again = client.get(BANNER, headers={"If-None-Match": f'"{revision}"'})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == f'"{revision}"'
    assert client.get(BANNER, headers={"If-None-Match": '"other"'}).status_code == 200


def test_cors_answers_only_the_sites_allowed_origins(client, site):
    allowed = client.get(BANNER, headers={"Origin": "https://news.example.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://news.example.com"
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    other = client.get(BANNER, headers={"Origin": "https://evil.example"})
    assert other.status_code == 200
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Origin" in other.headers["Vary"]
    document = client.get(
        "/api/v1/sites/news-example/documents/privacy/versions",
        headers={"Origin": "https://news.example.com"},
    )
    assert document.headers["Access-Control-Allow-Origin"] == "https://news.example.com"


def test_revision_changes_with_anything_the_banner_shows(client, admin, site):
    revisions = [client.get(BANNER).get_json()["revision"]]
    draft_and_publish(client, admin)
    revisions.append(client.get(BANNER).get_json()["revision"])
    client.patch("/api/v1/sites/news-example", json={"consent_lifetime_days": 90}, headers=admin)
    revisions.append(client.get(BANNER).get_json()["revision"])
    banner_texts(client, admin, {"en": ("Hi", "Cookies.")})
    revisions.append(client.get(BANNER).get_json()["revision"])
    assert len(set(revisions)) == 4
    # and stays the same when nothing changed
    assert client.get(BANNER).get_json()["revision"] == revisions[-1]


def test_a_draft_does_not_change_the_revision(client, admin, site):
    before = client.get(BANNER).get_json()["revision"]
    draft(client, admin)
    assert client.get(BANNER).get_json()["revision"] == before


def test_second_app_on_the_same_database_sees_changes_made_through_the_first(
    app, client, admin, site, tmp_path
):
    other = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "second"),
            "DATABASE_URL": app.config["DATABASE_URL"],
            "RATELIMIT_ENABLED": False,
        }
    )
    other_client = other.test_client()
    try:
        first = other_client.get(BANNER).get_json()["revision"]
        assert other_client.get(BANNER).get_json()["revision"] == first  # from its cache

        draft_and_publish(client, admin)  # through app A
        second = other_client.get(BANNER).get_json()
        assert second["revision"] != first
        assert second["documents"][0]["version"] == 1

        client.patch("/api/v1/sites/news-example", json={"mode": "notice"}, headers=admin)
        third = other_client.get(BANNER + "?region=BR").get_json()
        assert third["mode"] == "notice"
        assert third["revision"] != second["revision"]
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_cached_config_expires_when_a_scheduled_version_takes_effect(client, admin, site, clock):
    draft_and_publish(client, admin)
    when = utcnow() + timedelta(hours=2)
    draft_and_publish(client, admin, body="Later.", material=True, effective_at=isoformat(when))
    before = client.get(BANNER).get_json()
    assert before["documents"][0]["version"] == 1
    assert client.get(BANNER).get_json()["revision"] == before["revision"]

    clock.advance(timedelta(hours=2, seconds=1))  # no write to the database in between
    after = client.get(BANNER).get_json()
    assert after["documents"][0]["version"] == 2
    assert after["documents"][0]["last_material_version"] == 2
    assert after["revision"] != before["revision"]


def test_cache_entry_is_served_without_rebuilding(app, client, site, monkeypatch):
    from service.documents import banner

    client.get(BANNER)
    calls = []
    monkeypatch.setattr(banner, "build_entry", lambda *a: calls.append(a))
    assert client.get(BANNER).status_code == 200
    assert calls == []


def test_document_versions_url_uses_the_site_slug(client, admin, site):
    draft_and_publish(client, admin, "cookies")
    (cookies,) = client.get(BANNER).get_json()["documents"]
    assert cookies["url"].endswith("/p/news-example/cookies")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "https://news.example.com"},
        {"Origin": "https://evil.example"},
    ],
)
def test_cache_hit_answers_exactly_like_the_first_request(client, admin, site, headers):
    draft_and_publish(client, admin)
    miss = client.get(BANNER + "?locale=fr", headers=headers)  # built by the Flask view
    hit = client.get(BANNER + "?locale=fr", headers=headers)  # answered by the fast path
    assert hit.status_code == miss.status_code == 200
    assert hit.data == miss.data
    for name in (
        "ETag", "Cache-Control", "Content-Type", "Vary",
        "Access-Control-Allow-Origin", "Access-Control-Expose-Headers",
    ):  # fmt: skip
        assert hit.headers.get(name) == miss.headers.get(name), name
    revision = hit.get_json()["revision"]
    not_modified = client.get(BANNER + "?locale=fr", headers={"If-None-Match": f'"{revision}"'})
    assert not_modified.status_code == 304


def test_fast_path_leaves_errors_to_flask(client, site):
    client.get(BANNER)
    assert client.get(BANNER + "?locale=<x>").status_code == 422
    assert client.get("/api/v1/sites/nope/banner").status_code == 404
    assert client.post(BANNER).status_code == 405
