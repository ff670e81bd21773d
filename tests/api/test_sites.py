from __future__ import annotations

import json

import pytest

from tests.helpers.sites import site_payload


def test_create_site_applies_defaults_and_normalises_origins(client, admin):
    payload = site_payload(
        allowed_origins=["HTTPS://News.Example.com:443", "http://localhost:8000"]
    )
    response = client.post("/api/v1/sites", json=payload, headers=admin)
    assert response.status_code == 201
    body = response.get_json()
    assert body["allowed_origins"] == ["https://news.example.com", "http://localhost:8000"]
    assert body["mode"] == "opt-in"
    assert body["honour_gpc"] is True
    assert body["consent_lifetime_days"] == 180
    assert [c["id"] for c in body["categories"]] == ["necessary", "analytics", "marketing"]
    assert body["categories"][0]["required"] is True


def test_created_site_can_be_read_listed_and_patched(client, admin, make_site):
    make_site("news-example")
    make_site("shop-example")
    listed = client.get("/api/v1/sites", headers=admin).get_json()
    assert [s["id"] for s in listed["items"]] == ["news-example", "shop-example"]

    response = client.patch(
        "/api/v1/sites/news-example", json={"mode": "notice", "name": "Renamed"}, headers=admin
    )
    assert response.status_code == 200
    fetched = client.get("/api/v1/sites/news-example", headers=admin).get_json()
    assert fetched["mode"] == "notice"
    assert fetched["name"] == "Renamed"
    assert fetched["allowed_origins"] == ["https://news.example.com", "http://localhost:8000"]


def test_duplicate_site_is_a_conflict(client, admin, make_site):
    make_site("news-example")
    response = client.post("/api/v1/sites", json=site_payload("news-example"), headers=admin)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    "origin",
    [
        "news.example.com",
        "ftp://news.example.com",
        "https://news.example.com/path",
        "https://news.example.com/?q=1",
        "https://user@news.example.com",
        "https://*",
        "https://*.com",
        "https://ex*ample.com",
        "https://news.example.com:99999",
        "https://-bad.example.com",
        "",
        "https://" + "a" * 300 + ".com",
    ],
)
def test_invalid_origins_are_refused(client, admin, origin):
    response = client.post(
        "/api/v1/sites", json=site_payload(allowed_origins=[origin]), headers=admin
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert "allowed_origins" in error["details"]["fields"]


def test_wildcard_subdomain_origin_is_accepted(client, admin):
    response = client.post(
        "/api/v1/sites",
        json=site_payload(allowed_origins=["https://*.example.com"]),
        headers=admin,
    )
    assert response.status_code == 201
    assert response.get_json()["allowed_origins"] == ["https://*.example.com"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "Bad Slug"}, "id"),
        ({"mode": "sneaky"}, "mode"),
        ({"consent_lifetime_days": 0}, "consent_lifetime_days"),
        ({"consent_lifetime_days": "long"}, "consent_lifetime_days"),
        ({"default_locale": "english!"}, "default_locale"),
        ({"default_locale": "en-" + "-".join(["abcdefgh"] * 5)}, "default_locale"),
        ({"categories": []}, "categories"),
        ({"categories": [{"id": "a", "title": "A"}, {"id": "a", "title": "B"}]}, "categories"),
        ({"name": ""}, "name"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_site_fields_answer_422_naming_the_field(client, admin, changes, field):
    response = client.post("/api/v1/sites", json=site_payload(**changes), headers=admin)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]["fields"]


def test_consent_mode_must_name_known_categories(client, admin, make_site):
    make_site()
    response = client.patch(
        "/api/v1/sites/news-example",
        json={"consent_mode": {"enabled": True, "mapping": {"ad_storage": ["nope"]}}},
        headers=admin,
    )
    assert response.status_code == 422
    assert "consent_mode" in response.get_json()["error"]["details"]["fields"]


def test_patch_cannot_change_the_id(client, admin, make_site):
    make_site()
    response = client.patch("/api/v1/sites/news-example", json={"id": "other"}, headers=admin)
    assert response.status_code == 422
    assert client.get("/api/v1/sites/news-example", headers=admin).status_code == 200


def test_patched_categories_get_their_defaults_as_on_create(client, admin, make_site):
    categories = make_site()["categories"] + [{"id": "social", "title": "Social"}]
    response = client.patch(
        "/api/v1/sites/news-example", json={"categories": categories}, headers=admin
    )
    assert response.status_code == 200, response.get_json()
    social = response.get_json()["categories"][-1]
    assert social["required"] is False and social["cookies"] == [] and social["description"] == ""


def test_unknown_site_is_404(client, admin):
    response = client.get("/api/v1/sites/nope", headers=admin)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


SENSITIVE = {"id": "location", "title": "Precise location", "sensitive": True}


def test_a_category_may_be_marked_sensitive(client, admin, make_site):
    categories = make_site()["categories"] + [SENSITIVE]
    response = client.patch(
        "/api/v1/sites/news-example", json={"categories": categories}, headers=admin
    )
    assert response.status_code == 200, response.get_json()
    flags = {c["id"]: c["sensitive"] for c in response.get_json()["categories"]}
    assert flags == {"necessary": False, "analytics": False, "marketing": False, "location": True}


@pytest.mark.parametrize(
    "category",
    [
        SENSITIVE | {"sensitive": "very"},
        SENSITIVE | {"sensitive": [True]},
        # a visitor could not limit what a required category does
        SENSITIVE | {"required": True},
    ],
)
def test_a_bad_sensitive_flag_is_refused(client, admin, category):
    payload = site_payload(
        categories=[{"id": "necessary", "title": "N", "required": True}, category]
    )
    response = client.post("/api/v1/sites", json=payload, headers=admin)
    assert response.status_code == 422
    fields = response.get_json()["error"]["details"]["fields"]
    assert "sensitive" in fields["categories"]["1"]


def test_the_site_example_of_api_md_is_accepted_with_every_consent_mode_v2_signal(client, admin):
    """docs/api.md's example is a body the API takes as written; its Consent Mode mapping names
    ad_user_data and ad_personalization (a partial mapping is refused: docs say so)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs/api.md").read_text(encoding="utf-8")
    block = text.split("POST /api/v1/sites\n", 1)[1].split("```", 1)[0]
    body = json.loads(block[block.index("{") :])
    mapping = body["consent_mode"]["mapping"]
    assert {"ad_storage", "analytics_storage", "ad_user_data", "ad_personalization"} <= set(mapping)
    assert client.post("/api/v1/sites", json=body, headers=admin).status_code == 201
    partial = {**body, "id": "partial-mode"}
    partial["consent_mode"] = {"enabled": True, "mapping": {"ad_storage": ["marketing"]}}
    refused = client.post("/api/v1/sites", json=partial, headers=admin)
    assert refused.status_code == 422
    assert "consent-mode-v2-signal-missing" in json.dumps(refused.get_json())
