"""The activity log: one record per admin action from API, console or CLI; append-only; chained."""

from __future__ import annotations

from itertools import pairwise

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from service.activity.models import ActivityEntry
from service.activity.service import query_activity, record, verify_activity
from service.extensions import db


def actions() -> list[str]:
    return [e.action for e in reversed(query_activity(limit=500).items)]


def test_api_admin_actions_are_recorded_with_the_key_as_actor(client, admin, make_site):
    make_site("news-example")
    response = client.patch("/api/v1/sites/news-example", json={"name": "Renamed"}, headers=admin)
    assert response.status_code == 200
    entries = query_activity(action="site.changed").items
    assert len(entries) == 1
    assert entries[0].actor.startswith("key:")
    assert entries[0].object == "site:news-example"
    assert entries[0].details == {"fields": ["name"]}


def test_every_kind_of_change_is_recorded(client, admin, make_site):
    make_site("news-example")
    base = "/api/v1/sites/news-example/documents/privacy/versions"
    texts = {"en": {"title": "Privacy", "body": "We keep little."}}
    assert client.post(base, json={"texts": texts}, headers=admin).status_code == 201
    texts["en"]["body"] = "We keep very little."
    assert client.patch(base + "/1", json={"texts": texts}, headers=admin).status_code == 200
    assert client.post(base + "/1/publish", json={}, headers=admin).status_code == 200
    assert client.get("/api/v1/sites/news-example/export", headers=admin).status_code == 200
    seen = actions()
    for expected in (
        "key.created",
        "site.created",
        "draft.created",
        "draft.edited",
        "version.published",
        "export.made",
    ):
        assert expected in seen, seen


def test_cli_actions_are_recorded_as_cli(runner, app):
    result = runner.invoke(args=["keys", "create", "--scope", "audit:read"])
    assert result.exit_code == 0
    entry = query_activity(action="key.created").items[0]
    assert entry.actor == "cli"


def test_the_log_is_a_verified_chain(app):
    for n in range(5):
        record("user.changed", f"user:{n}@example.com")
    report = verify_activity()
    assert report.ok and report.entries == 5
    rows = list(db.session.execute(db.select(ActivityEntry).order_by(ActivityEntry.seq)).scalars())
    assert rows[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.entry_hash for a, b in pairwise(rows))


def test_the_database_refuses_edits_and_deletions(app):
    record("user.changed", "user:a@example.com")
    for statement in (
        "UPDATE activity_log SET actor = 'someone else'",
        "DELETE FROM activity_log",
    ):
        with pytest.raises(DatabaseError):
            db.session.execute(text(statement))
            db.session.commit()
        db.session.rollback()
    assert verify_activity().ok


def test_verification_names_a_changed_or_missing_entry(app):
    for n in range(3):
        record("user.changed", f"user:{n}@example.com")
    rows = list(db.session.execute(db.select(ActivityEntry).order_by(ActivityEntry.seq)).scalars())
    db.session.expunge_all()
    rows[1].actor = "user:mallory@example.com"
    report = verify_activity(iter(rows))
    assert not report.ok
    assert "entry 2 was changed after it was written" in report.problems
    report = verify_activity(iter([rows[0], rows[2]]))
    assert "entry 2 is missing (found 3 next)" in report.problems


def test_unknown_action_is_a_programming_error(app):
    with pytest.raises(ValueError):
        record("made.up", "x")


def test_console_activity_page_filters(signed_in, client, admin, make_site):
    make_site("news-example")
    owner = signed_in("owner")
    page = owner.get("/console/activity?action=site.created").get_data(as_text=True)
    assert "site:news-example" in page
    assert "key.created" not in page.split("<tbody>")[1]
    bad = owner.get("/console/activity?action=nope&from=yesterday")
    assert bad.status_code == 422
    assert owner.get("/console/activity?before=abc").status_code == 422


def test_site_bound_auditor_sees_only_their_site(signed_in, make_site):
    make_site("a-site")
    make_site("b-site")
    page = signed_in("auditor", site="a-site").get("/console/activity").get_data(as_text=True)
    assert "site:a-site" in page and "site:b-site" not in page
