"""Document versions through the API: drafts, publishing, immutability, scheduling, diff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.extensions import db
from service.timeutil import isoformat, utcnow
from tests.helpers.documents import VERSIONS, clock, draft, draft_and_publish, publish, texts

__all__ = ["clock"]  # the fixture, imported for the tests below

URL = VERSIONS.format(site="news-example", kind="privacy")


@pytest.fixture
def site(make_site):
    return make_site("news-example")


def test_draft_gets_the_next_version_and_a_content_hash(client, admin, site):
    first = draft(client, admin)
    assert first["version"] == 1
    assert first["status"] == "draft"
    assert first["current"] is False
    assert len(first["content_sha256"]) == 64
    assert first["default_locale"] == "en"
    assert "<p>We collect little.</p>" in first["html"]
    assert draft(client, admin)["version"] == 2


def test_published_version_becomes_current_and_first_version_is_material(client, admin, site):
    draft(client, admin)
    body = publish(client, admin, 1, summary="First version")
    assert body["status"] == "published"
    assert body["current"] is True
    assert body["material"] is True
    assert body["summary"] == "First version"
    current = client.get("/api/v1/sites/news-example/documents/privacy")
    assert current.status_code == 200
    assert current.get_json()["version"] == 1


def test_new_version_supersedes_the_old_one(client, admin, site):
    draft_and_publish(client, admin)
    draft_and_publish(client, admin, body="We collect a bit more.", material=True, summary="More")
    listed = client.get(URL).get_json()["items"]
    assert [(v["version"], v["status"], v["current"]) for v in listed] == [
        (2, "published", True),
        (1, "superseded", False),
    ]
    assert client.get("/api/v1/sites/news-example/documents/privacy").get_json()["version"] == 2


def test_draft_can_be_edited_and_deleted(client, admin, site):
    created = draft(client, admin)
    response = client.patch(URL + "/1", json={"texts": texts("Edited.", "Privacy")}, headers=admin)
    assert response.status_code == 200
    assert response.get_json()["body"] == "Edited."
    assert response.get_json()["content_sha256"] != created["content_sha256"]
    assert client.delete(URL + "/1", headers=admin).status_code == 204
    assert client.get(URL + "/1", headers=admin).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("patch", "/1", {"texts": {"en": {"title": "New", "body": "Changed"}}}),
        ("delete", "/1", None),
        ("post", "/1/publish", {}),
    ],
)
def test_published_version_cannot_be_changed_deleted_or_republished(
    client, admin, site, method, path, payload
):
    published = draft_and_publish(client, admin)
    response = getattr(client, method)(URL + path, json=payload, headers=admin)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"
    after = client.get(URL + "/1").get_json()
    assert after["content_sha256"] == published["content_sha256"]
    assert after["body"] == published["body"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE document_versions SET texts = :texts WHERE version = 1",
        "UPDATE document_versions SET content_sha256 = 'x', summary = 'y' WHERE version = 1",
        "UPDATE document_versions SET status = 'draft' WHERE version = 1",
        "DELETE FROM document_versions WHERE version = 1",
    ],
)
def test_database_refuses_to_change_or_delete_a_published_version(client, admin, site, statement):
    published = draft_and_publish(client, admin)
    with pytest.raises(DBAPIError) as caught:
        db.session.execute(text(statement), {"texts": '{"en": {"title": "x", "body": "y"}}'})
        db.session.commit()
    db.session.rollback()
    assert "immutable" in str(caught.value) or "cannot be deleted" in str(caught.value)
    after = client.get(URL + "/1").get_json()
    assert after["content_sha256"] == published["content_sha256"]


def test_database_allows_editing_a_draft(client, admin, site):
    draft(client, admin)
    db.session.execute(text("UPDATE document_versions SET summary = 'ok' WHERE version = 1"))
    db.session.execute(text("DELETE FROM document_versions WHERE version = 1"))
    db.session.commit()
    assert client.get(URL + "/1", headers=admin).status_code == 404


def test_an_older_draft_cannot_be_published_after_a_newer_version(client, admin, site):
    draft(client, admin)
    draft(client, admin)
    publish(client, admin, 2)
    response = client.post(URL + "/1/publish", json={}, headers=admin)
    assert response.status_code == 409
    assert response.get_json()["error"]["details"]["latest_published"] == 2


def test_scheduled_version_becomes_current_at_its_time_without_a_job(client, admin, site, clock):
    draft_and_publish(client, admin)
    when = utcnow() + timedelta(days=7)
    scheduled = draft_and_publish(
        client, admin, body="New rules.", effective_at=isoformat(when), summary="Next week"
    )
    assert scheduled["status"] == "scheduled"
    assert scheduled["current"] is False
    current = "/api/v1/sites/news-example/documents/privacy"
    assert client.get(current).get_json()["version"] == 1

    clock.advance(timedelta(days=7, seconds=1))
    assert client.get(current).get_json()["version"] == 2
    statuses = {v["version"]: v["status"] for v in client.get(URL).get_json()["items"]}
    assert statuses == {2: "published", 1: "superseded"}


def test_publication_cannot_be_backdated(client, admin, site):
    draft(client, admin)
    past = isoformat(utcnow() - timedelta(days=1))
    response = client.post(URL + "/1/publish", json={"effective_at": past}, headers=admin)
    assert response.status_code == 422
    assert "effective_at" in response.get_json()["error"]["details"]["fields"]


def test_diff_returns_structured_changes_and_html(client, admin, site):
    draft_and_publish(client, admin, body="Intro.\n\nOld clause.\n\nEnd.")
    draft_and_publish(client, admin, body="Intro.\n\nNew clause.\n\nEnd.\n\nAppendix.")
    response = client.get(URL + "/2/diff?against=1", headers=admin)
    assert response.status_code == 200
    body = response.get_json()
    assert body["from_version"] == 1
    assert body["to_version"] == 2
    assert body["changes"] == [
        {"op": "changed", "before": ["Old clause."], "after": ["New clause."]},
        {"op": "added", "before": [], "after": ["Appendix."]},
    ]
    assert "<del><p>Old clause.</p>" in body["html"]
    assert "<ins><p>Appendix.</p>" in body["html"]
    # without "against": the previous version
    assert client.get(URL + "/2/diff", headers=admin).get_json()["changes"] == body["changes"]


def test_diff_needs_a_key(client, admin, site):
    draft_and_publish(client, admin)
    assert client.get(URL + "/1/diff?against=1").status_code == 401


def test_drafts_are_hidden_from_the_public(client, admin, site):
    draft_and_publish(client, admin)
    draft(client, admin)
    assert [v["version"] for v in client.get(URL).get_json()["items"]] == [1]
    assert [v["version"] for v in client.get(URL, headers=admin).get_json()["items"]] == [2, 1]
    assert client.get(URL + "/2").status_code == 404
    assert client.get(URL + "/2", headers=admin).status_code == 200
    assert client.get(URL, headers={"Authorization": "Bearer csk_wrong"}).status_code == 401


def test_public_version_in_the_best_locale(client, admin, site):
    payload = {
        "texts": {
            "en": {"title": "Privacy Policy", "body": "English."},
            "fr": {"title": "Politique de confidentialité", "body": "Français."},
        }
    }
    draft(client, admin, **payload)
    publish(client, admin, 1)
    current = "/api/v1/sites/news-example/documents/privacy"
    for locale, expected in [("fr-CA", "fr"), ("fr", "fr"), ("de", "en"), (None, "en")]:
        query = {"locale": locale} if locale else {}
        body = client.get(current, query_string=query).get_json()
        assert body["locale"] == expected
    assert client.get(URL + "/1?locale=fr").get_json()["html"] == "<p>Français.</p>\n"


def test_unknown_site_or_kind_or_version_is_404(client, admin, site):
    draft_and_publish(client, admin)
    for path in [
        "/api/v1/sites/nope/documents/privacy",
        "/api/v1/sites/news-example/documents/faq",
        "/api/v1/sites/news-example/documents/faq/versions",
        "/api/v1/sites/news-example/documents/privacy/versions/9",
        "/api/v1/sites/news-example/documents/terms",
    ]:
        assert client.get(path).status_code == 404, path
    response = client.post(
        "/api/v1/sites/news-example/documents/faq/versions", json={"texts": texts()}, headers=admin
    )
    assert response.status_code == 404
    response = client.post(
        "/api/v1/sites/nope/documents/privacy/versions", json={"texts": texts()}, headers=admin
    )
    assert response.status_code == 404


def test_key_of_another_site_gets_404_and_wrong_scope_403(client, admin, make_site, keys):
    make_site("news-example")
    make_site("shop-example")
    other = keys("documents:publish", site="shop-example")
    response = client.post(URL, json={"texts": texts()}, headers=other)
    assert response.status_code == 404
    response = client.post(URL, json={"texts": texts()}, headers=keys("audit:read"))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "texts"),
        ({"texts": {}}, "texts"),
        ({"texts": {"en": {"title": "T", "body": ""}}}, "texts"),
        ({"texts": {"en": {"title": "", "body": "B"}}}, "texts"),
        ({"texts": {"en": {"title": "T"}}}, "texts"),
        ({"texts": {"english!": {"title": "T", "body": "B"}}}, "texts"),
        ({"texts": {"en": {"title": "T", "body": "B", "labels": {"nope": "x"}}}}, "texts"),
        ({"texts": {"en": {"title": "T", "body": "B"}}, "default_locale": "xx!"}, "default_locale"),
        ({"texts": {"fr": {"title": "T", "body": "B"}}}, "default_locale"),
        ({"texts": "not a dict"}, "texts"),
        ({"texts": texts(), "unexpected": 1}, "unexpected"),
    ],
)
def test_bad_draft_input_is_422_naming_the_field(client, admin, site, payload, field):
    response = client.post(URL, json=payload, headers=admin)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["details"]["fields"]


def test_whitespace_only_body_is_422(client, admin, site):
    response = client.post(URL, json={"texts": texts(" \r\n  \n")}, headers=admin)
    assert response.status_code == 422


def test_labels_are_for_the_banner_only(client, admin, site):
    labelled = {"en": {"title": "T", "body": "B", "labels": {"accept_all": "OK"}}}
    assert client.post(URL, json={"texts": labelled}, headers=admin).status_code == 422
    banner_url = VERSIONS.format(site="news-example", kind="banner")
    assert client.post(banner_url, json={"texts": labelled}, headers=admin).status_code == 201


@pytest.mark.parametrize(
    "payload",
    [
        {"effective_at": "tomorrow"},
        {"effective_at": "2030-01-01T00:00:00"},  # no time zone
        {"material": "perhaps"},
        {"summary": "x" * 1001},
    ],
)
def test_bad_publish_input_is_422(client, admin, site, payload):
    draft(client, admin)
    assert client.post(URL + "/1/publish", json=payload, headers=admin).status_code == 422


@pytest.mark.parametrize("query", ["locale=english!", "locale=" + "a" * 40, "locale=<script>"])
def test_bad_locale_is_422(client, admin, site, query):
    draft_and_publish(client, admin)
    response = client.get("/api/v1/sites/news-example/documents/privacy?" + query)
    assert response.status_code == 422


def test_long_policy_is_accepted_beyond_the_general_body_limit(client, admin, site):
    body = ("A clause of a long policy, repeated. " * 40 + "\n\n") * 80  # ~120 KB
    response = client.post(URL, json={"texts": texts(body)}, headers=admin)
    assert response.status_code == 201


def test_oversized_document_is_413(app, client, admin, site):
    app.config["DOCUMENT_MAX_CONTENT_LENGTH"] = 10_000
    response = client.post(URL, json={"texts": texts("x" * 20_000)}, headers=admin)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    response = client.post(URL, json={"texts": texts("x" * 9_000)}, headers=admin)
    assert response.status_code == 201


def test_publishing_bumps_the_site_config_version(client, admin, site):
    from service.sites.models import Site

    before = db.session.get(Site, "news-example").config_version
    draft_and_publish(client, admin)
    db.session.expire_all()
    assert db.session.get(Site, "news-example").config_version == before + 1
