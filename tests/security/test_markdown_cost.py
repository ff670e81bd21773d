"""Markdown costs once: a version's HTML is rendered when it is published and stored (a published
version never changes), so an anonymous GET of its page renders nothing; Markdown input is
bounded in size (413) and nesting (422) wherever a draft is written or published."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from service.documents import content
from service.documents.models import DocumentVersion
from service.extensions import db
from tests.helpers.documents import VERSIONS, draft, draft_and_publish, texts

SITE = "news-example"
URL = VERSIONS.format(site=SITE, kind="privacy")


@pytest.fixture
def site(make_site):
    return make_site(SITE)


@pytest.fixture
def no_rendering(monkeypatch):
    """From here on, any Markdown rendering fails the test."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("Markdown rendered while serving a published version")

    monkeypatch.setattr(content._markdown, "render", refuse)


def stored_version(version: int) -> DocumentVersion:
    return db.session.execute(
        db.select(DocumentVersion).where(DocumentVersion.version == version)
    ).scalar_one()


def assert_envelope(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


def test_published_pages_and_versions_are_served_without_rendering(client, admin, site, request):
    draft_and_publish(client, admin, body="We keep *little*.\n\nOnly [this](https://a.example).")
    draft_and_publish(client, admin, body="We keep *nothing*.\n\nOnly [this](https://a.example).")
    request.getfixturevalue("no_rendering")

    page = client.get(f"/p/{SITE}/privacy")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "<em>nothing</em>" in body
    assert "What changed since version 1" in body
    assert "<del><p>We keep <em>little</em>.</p>\n</del>" in body
    assert "<ins><p>We keep <em>nothing</em>.</p>\n</ins>" in body
    first = client.get(f"/p/{SITE}/privacy/v/1").get_data(as_text=True)
    assert "<em>little</em>" in first and "What changed" not in first
    for path in (f"{URL}/2", f"/api/v1/sites/{SITE}/documents/privacy"):
        answer = client.get(path)
        assert answer.status_code == 200
        assert "<em>nothing</em>" in answer.get_json()["html"]


def test_the_stored_html_is_that_of_the_publication_per_locale(client, admin, site):
    both = {
        "en": {"title": "Privacy", "body": "One **en**."},
        "fr": {"title": "Confidentialité", "body": "Un **fr**."},
    }
    version = draft(client, admin, texts=both)["version"]
    client.post(f"{URL}/{version}/publish", json={}, headers=admin)
    rendered = stored_version(version).rendered
    assert rendered["previous"] is None
    assert rendered["locales"]["fr"] == {"html": "<p>Un <strong>fr</strong>.</p>\n", "diff": None}
    page = client.get(f"/p/{SITE}/privacy?locale=fr").get_data(as_text=True)
    assert "<strong>fr</strong>" in page


def test_the_stored_html_cannot_be_changed_in_the_database(client, admin, site):
    draft_and_publish(client, admin)
    with pytest.raises(Exception, match="immutable"):
        db.session.execute(text("UPDATE document_versions SET rendered = NULL"))
    db.session.rollback()


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ("[" * 250_000, 413, "at most 150000 characters"),
        ("[" * 9 + "x", 422, "9 '[' open at once"),
        ("[" * 5000 + "x" + "]" * 10, 422, "'[' open at once"),
        ("> " * 9 + "deep", 422, "nested 9 deep"),
        ("- " * 9 + "deep", 422, "nested 9 deep"),
        ("\n".join("  " * n + "- item" for n in range(12)), 422, "nested"),
    ],
)
def test_markdown_beyond_the_bounds_is_refused(client, admin, site, body, status, says):
    response = client.post(URL, json={"texts": texts(body)}, headers=admin)
    error = assert_envelope(response, status)
    assert says in str(error), error
    assert list(error["details"]["fields"]["texts"]) == ["en"]
    assert client.get(URL, headers=admin).get_json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        "> > > - [a [nested] label](https://a.example) and \\[" * 20,
        "[" * 8 + "x" + "]" * 8 + " \\[" * 5000,
        "- a\n  - b\n    - c\n      - d\n",
        "| a | b |\n|---|---|\n| [x](https://a.example) | y |\n" * 50,
    ],
)
def test_markdown_within_the_bounds_is_accepted(client, admin, site, body):
    response = client.post(URL, json={"texts": texts(body)}, headers=admin)
    assert response.status_code == 201, response.get_json()


def test_editing_a_draft_beyond_the_bounds_is_refused(client, admin, site):
    version = draft(client, admin)["version"]
    response = client.patch(f"{URL}/{version}", json={"texts": texts("[" * 20)}, headers=admin)
    assert_envelope(response, 422)


def test_a_draft_saved_before_the_bounds_is_refused_at_publication(client, admin, site):
    version = draft(client, admin)["version"]
    stored_version(version).texts = {"en": {"title": "Old", "body": "[" * 100}}
    db.session.commit()
    response = client.post(f"{URL}/{version}/publish", json={}, headers=admin)
    assert_envelope(response, 422)
    assert client.get(f"{URL}/{version}", headers=admin).get_json()["status"] == "draft"


def test_the_cli_refuses_markdown_beyond_the_bounds_in_one_line(runner, site, tmp_path):
    policy = tmp_path / "privacy.md"
    policy.write_text("# Privacy\n\n" + "[" * 250_000, encoding="utf-8")
    result = runner.invoke(args=["documents", "publish", SITE, "privacy", str(policy)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: A document body may have at most 150000 characters.")
    assert result.output.count("\n") == 1
    policy.write_text("# Privacy\n\n" + "> " * 20 + "deep", encoding="utf-8")
    result = runner.invoke(args=["documents", "publish", SITE, "privacy", str(policy)])
    assert result.exit_code == 1 and "nested too deeply" in result.output


def test_the_size_bound_is_configurable(app, client, admin, site):
    app.config["DOCUMENT_MAX_MARKDOWN_CHARS"] = 10
    error = assert_envelope(client.post(URL, json={"texts": texts("x" * 11)}, headers=admin), 413)
    assert "at most 10 characters" in error["message"]


def test_the_migration_renders_versions_published_before_it(app, client, admin, site):
    """Versions published before migration 0013 get the HTML a publication stores."""
    from flask_migrate import downgrade, upgrade

    draft_and_publish(client, admin, body="We keep *little*.")
    draft_and_publish(client, admin, body="We keep *nothing*.")
    draft(client, admin)
    published = {n: stored_version(n).rendered for n in (1, 2)}
    assert published[2]["previous"] == 1
    db.session.remove()
    downgrade(revision="0012")
    upgrade()
    db.session.remove()
    assert {n: stored_version(n).rendered for n in (1, 2, 3)} == {**published, 3: None}
    page = client.get(f"/p/{SITE}/privacy").get_data(as_text=True)
    assert "<ins><p>We keep <em>nothing</em>.</p>\n</ins>" in page
