"""Writers queue instead of failing: SQLite write transactions start with BEGIN IMMEDIATE, and a
document's versions change under its lock. Each race is forced: another thread of the same process
(its own app context, session and connection) holds its transaction open while a request runs."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from flask import Flask

from service.database import READ_ONLY, WriteInReadOnlyTransaction, read_only
from service.extensions import db
from tests.helpers.documents import VERSIONS, draft, texts
from tests.helpers.sites import site_payload

HOLD = 0.5  # how long the other thread keeps its transaction open once it has read


@contextmanager
def held_transaction(
    app: Flask, first: Callable[[], object], then: Callable[[object], None]
) -> Iterator[dict]:
    """In another thread: run ``first`` (its reads and locks), keep the transaction open for
    ``HOLD`` seconds, run ``then`` with what ``first`` returned, and commit. The block runs while
    the transaction is open; the thread's error, if any, is in ``outcome["error"]``."""
    outcome: dict = {}
    opened = threading.Event()

    def work() -> None:
        with app.app_context():
            try:
                value = first()
                opened.set()
                time.sleep(HOLD)
                then(value)
                db.session.commit()
            except Exception as error:  # reported to the test, which asserts on it
                outcome["error"] = error
                db.session.rollback()
            finally:
                opened.set()
                db.session.remove()

    thread = threading.Thread(target=work)
    thread.start()
    assert opened.wait(30)
    try:
        yield outcome
    finally:
        thread.join(60)


@pytest.fixture
def site(make_site):
    return make_site("news-example")


def test_concurrent_drafts_get_consecutive_numbers(app, client, admin, site):
    from service.documents.service import _add_draft, lock_document

    def first():
        lock_document("news-example", "privacy")

    def then(_value):
        _add_draft("news-example", "privacy", texts("Held draft."), "en")

    with held_transaction(app, first, then) as outcome:
        second = draft(client, admin)  # waits for the held draft, then takes the next number
    assert "error" not in outcome, outcome
    assert second["version"] == 2
    listed = client.get(VERSIONS.format(site="news-example", kind="privacy"), headers=admin)
    assert sorted(v["version"] for v in listed.get_json()["items"]) == [1, 2]


def test_publishing_a_version_twice_at_once_publishes_it_once(app, client, admin, site):
    from service.documents.models import DocumentVersion
    from service.documents.service import _publish, lock_document

    version = draft(client, admin)["version"]

    def first():
        lock_document("news-example", "privacy")
        return db.session.execute(
            db.select(DocumentVersion).where(DocumentVersion.version == version)
        ).scalar_one()

    def then(doc):
        _publish(doc, False, "held", None)

    url = VERSIONS.format(site="news-example", kind="privacy") + f"/{version}/publish"
    with held_transaction(app, first, then) as outcome:
        second = client.post(url, json={}, headers=admin)
    assert "error" not in outcome, outcome
    assert second.status_code == 409, second.get_json()
    assert second.get_json()["error"]["details"] == {"version": version, "status": "published"}


def test_editing_a_draft_while_it_is_published_is_409(app, client, admin, site):
    from service.documents.models import DocumentVersion
    from service.documents.service import _publish, lock_document

    version = draft(client, admin)["version"]

    def first():
        lock_document("news-example", "privacy")
        return db.session.execute(
            db.select(DocumentVersion).where(DocumentVersion.version == version)
        ).scalar_one()

    url = VERSIONS.format(site="news-example", kind="privacy") + f"/{version}"
    with held_transaction(app, first, lambda doc: _publish(doc, False, "", None)) as outcome:
        edit = client.patch(url, json={"texts": texts("Too late.")}, headers=admin)
    assert "error" not in outcome, outcome
    assert edit.status_code == 409, edit.get_json()
    published = client.get(url, headers=admin).get_json()
    assert published["status"] == "published" and "Too late." not in published["body"]


def test_creating_a_site_that_is_being_created_is_409(app, client, admin):
    from service.sites.models import Site

    def first():
        empty = {"categories": [], "consent_mode": {}, "policy_urls": {}}
        db.session.add(Site(**site_payload("racing"), **empty))
        db.session.flush()

    with held_transaction(app, first, lambda _value: None) as outcome:
        second = client.post("/api/v1/sites", json=site_payload("racing"), headers=admin)
    assert "error" not in outcome, outcome
    assert second.status_code == 409, second.get_json()
    assert second.get_json()["error"]["code"] == "conflict"


def test_a_site_update_is_checked_against_the_update_before_it(app, client, admin, site):
    """The held update removes the 'marketing' category; the request, which maps Consent Mode to
    it, waits for it and is then refused (422) instead of leaving the site inconsistent."""
    from service.sites.service import get_site

    def first():
        return get_site("news-example", lock=True)

    def then(held_site):
        held_site.categories = [c for c in held_site.categories if c["id"] != "marketing"]

    mapping = {"consent_mode": {"enabled": True, "mapping": {"ad_storage": ["marketing"]}}}
    with held_transaction(app, first, then) as outcome:
        second = client.patch("/api/v1/sites/news-example", json=mapping, headers=admin)
    assert "error" not in outcome, outcome
    assert second.status_code == 422, second.get_json()


def test_revoking_a_key_twice_at_once_is_409_once(app):
    from service.auth.models import ApiKey
    from service.auth.service import create_api_key, revoke_api_key
    from service.errors import Conflict
    from service.timeutil import utcnow

    key, _plaintext = create_api_key(["audit:read"])

    def first():
        return db.session.get(ApiKey, key.id, with_for_update=True)

    def then(held_key):
        held_key.revoked_at = utcnow()

    with held_transaction(app, first, then) as outcome, pytest.raises(Conflict):
        revoke_api_key(key.id)
    assert "error" not in outcome, outcome


# SQLite: how transactions begin.


def sqlite_only(app: Flask) -> str:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL has no database-wide write lock")
    return db.engine.url.database


def write_lock_is_free(path: str) -> bool:
    """Whether another connection can take the write lock at once (no busy wait)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
        return False
    finally:
        other.close()


def test_a_write_transaction_takes_the_lock_at_its_first_read(app, site):
    path = sqlite_only(app)
    with app.test_request_context("/api/v1/sites/news-example", method="PATCH"):
        app.preprocess_request()
        db.session.execute(db.select(1)).scalar_one()
        assert not write_lock_is_free(path)
        db.session.rollback()
    assert write_lock_is_free(path)


def test_a_get_request_reads_without_the_write_lock(app, site):
    path = sqlite_only(app)
    with app.test_request_context("/api/v1/sites/news-example", method="GET"):
        app.preprocess_request()
        db.session.execute(db.select(1)).scalar_one()
        assert db.session.connection().info[READ_ONLY]
        assert write_lock_is_free(path)


def test_a_write_in_a_read_only_request_is_an_error_under_testing(app, site):
    from service.sites.service import get_site

    sqlite_only(app)
    with app.test_request_context("/api/v1/sites/news-example", method="GET"):
        app.preprocess_request()
        get_site("news-example").name = "Renamed in a GET"
        with pytest.raises(WriteInReadOnlyTransaction, match="GET /api/v1/sites/news-example"):
            db.session.flush()
        db.session.rollback()


def test_write_transaction_lets_read_only_work_write(app, site):
    from service.database import write_transaction
    from service.sites.service import get_site

    sqlite_only(app)
    with read_only():
        get_site("news-example")
        write_transaction()
        get_site("news-example").name = "Renamed on purpose"
        db.session.commit()
    assert get_site("news-example").name == "Renamed on purpose"


def test_read_only_work_leaves_writers_free(app, site):
    from service.sites.service import get_site

    path = sqlite_only(app)
    with read_only():
        get_site("news-example")
        assert write_lock_is_free(path)
    get_site("news-example")  # outside: a write transaction again
    assert not write_lock_is_free(path)
    db.session.rollback()


def test_a_writer_that_read_first_queues_instead_of_failing(app, client, admin, site):
    """The failure of issue 15: a deferred transaction read, another writer committed, and the
    upgrade of the stale snapshot was refused at once (503). Now the other writer waits."""
    from service.sites.service import get_site

    sqlite_only(app)

    def then(held_site):
        held_site.name = "Renamed by the held transaction"

    with held_transaction(app, lambda: get_site("news-example"), then) as outcome:
        second = client.patch(
            "/api/v1/sites/news-example", json={"consent_lifetime_days": 150}, headers=admin
        )
    assert "error" not in outcome, outcome
    assert second.status_code == 200, second.get_json()
    final = client.get("/api/v1/sites/news-example", headers=admin).get_json()
    assert final["name"] == "Renamed by the held transaction"
    assert final["consent_lifetime_days"] == 150


def test_the_migration_gives_existing_documents_their_lock_row(tmp_path):
    """Documents with versions from before the ``documents`` table get their row (SQLite: the
    migration's SQL is plain and the same on PostgreSQL)."""
    from importlib import import_module

    from flask_migrate import upgrade
    from sqlalchemy import text

    from service import create_app

    migration = import_module("service.migrations.versions.0011_document_locks")
    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": url})
    with app.app_context():
        upgrade(revision=migration.down_revision)
        now = "2026-01-01 00:00:00"
        db.session.execute(
            text(
                "INSERT INTO sites (id, name, allowed_origins, mode, categories, default_locale,"
                " honour_gpc, consent_lifetime_days, retention_days, consent_mode, policy_urls,"
                " created_at, updated_at) VALUES ('old', 'Old', '[]', 'opt-in', '[]', 'en', 1,"
                " 180, 365, '{}', '{}', :now, :now)"
            ),
            {"now": now},
        )
        for version in (1, 2):
            db.session.execute(
                text(
                    "INSERT INTO document_versions (site_id, kind, version, texts, default_locale,"
                    " content_sha256, material, summary, status, created_at, updated_at)"
                    " VALUES ('old', 'terms', :version, '{}', 'en', :sha, 0, '', 'draft', :now,"
                    " :now)"
                ),
                {"version": version, "sha": "0" * 64, "now": now},
            )
        db.session.commit()
        upgrade(revision=migration.revision)
        rows = db.session.execute(text("SELECT site_id, kind FROM documents")).all()
        db.session.remove()
        db.engine.dispose()
    assert rows == [("old", "terms")]
