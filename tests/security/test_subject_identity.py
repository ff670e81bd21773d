"""Only a subject's own visitor can add to its records; only a browser of the site or a key
holder can record at all. The review's finding: knowing a subject id was enough to add records
in that visitor's name (a POST without ``Origin`` was accepted and answered with a fresh
``subject_token``). On both databases, through the fast path and through the Flask view."""

from __future__ import annotations

import json
import threading
import time

import pytest

from service.consents.models import ConsentRecord
from service.consents.writer import SUBJECT_PROBE
from service.database import Compiled
from service.extensions import db
from tests.helpers.consents import ORIGIN, event
from tests.helpers.visitor import plain_client

URL = "/api/v1/sites/news-example/consents"
ADAPTERS = {"fast path": "", "flask view": "?region=FR"}  # a query string goes to Flask


@pytest.fixture(params=list(ADAPTERS))
def adapter(request) -> str:
    return ADAPTERS[request.param]


@pytest.fixture
def site(app, make_site):
    make_site()
    return plain_client(app)


def post(client, body, adapter="", **headers):
    return client.post(URL + adapter, json=body, headers=headers)


def count(subject: str) -> int:
    query = db.select(db.func.count()).where(
        ConsentRecord.site_id == "news-example", ConsentRecord.subject == subject
    )
    return db.session.execute(query).scalar_one()


def same_recording(one, other) -> bool:
    """Two answers give the same recording (a token is made afresh, with its own time)."""
    keep = ("id", "seq", "recorded_at", "receipt")
    return {k: one.get_json()[k] for k in keep} == {k: other.get_json()[k] for k in keep}


def refused_for_token(answer) -> None:
    assert answer.status_code == 403, answer.get_json()
    error = answer.get_json()["error"]
    assert error["code"] == "subject_token_required"
    assert set(error) == {"code", "message", "details"}
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN  # the widget can read it


def test_a_subject_with_records_needs_its_token(site, adapter):
    first = post(site, event(subject="s_visitor_0001"), adapter, Origin=ORIGIN)
    assert first.status_code == 201
    token = first.get_json()["subject_token"]
    refused_for_token(post(site, event(subject="s_visitor_0001"), adapter, Origin=ORIGIN))
    assert count("s_visitor_0001") == 1
    second = post(
        site, event(subject="s_visitor_0001", subject_token=token), adapter, Origin=ORIGIN
    )
    assert second.status_code == 201
    assert second.get_json()["subject_token"]
    assert count("s_visitor_0001") == 2


def test_another_subjects_or_sites_token_or_a_forged_one_is_refused(site, make_site, adapter):
    make_site("other-site")
    mine = post(site, event(subject="s_visitor_0001"), adapter, Origin=ORIGIN)
    theirs = post(site, event(subject="s_attacker_01"), adapter, Origin=ORIGIN)
    elsewhere = site.post(
        "/api/v1/sites/other-site/consents",
        json=event(subject="s_visitor_0001"),
        headers={"Origin": ORIGIN},
    )
    assert {mine.status_code, theirs.status_code, elsewhere.status_code} == {201}
    token = mine.get_json()["subject_token"]
    for wrong in (
        theirs.get_json()["subject_token"],
        elsewhere.get_json()["subject_token"],
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "not-a-token",
    ):
        body = event(subject="s_visitor_0001", subject_token=wrong)
        refused_for_token(post(site, body, adapter, Origin=ORIGIN))
    assert count("s_visitor_0001") == 1


def test_an_expired_token_is_refused(site, app, monkeypatch):
    first = post(site, event(subject="s_visitor_0001"), Origin=ORIGIN)
    token = first.get_json()["subject_token"]
    later = time.time() + 181 * 86_400  # past the site's consent lifetime (180 days)
    monkeypatch.setattr(time, "time", lambda: later)
    body = event(subject="s_visitor_0001", subject_token=token)
    refused_for_token(post(site, body, Origin=ORIGIN))


def test_a_retry_of_the_first_event_without_its_token_gets_the_first_answer(site, adapter):
    """The answer to a subject's first consent was lost: its retry has no token yet."""
    body = event(subject="s_visitor_0001")
    first = post(site, body, adapter, Origin=ORIGIN)
    again = post(site, body, adapter, Origin=ORIGIN)
    assert (first.status_code, again.status_code) == (201, 201)
    assert same_recording(again, first)
    assert count("s_visitor_0001") == 1
    # The same id with another event is no way in either.
    changed = dict(body, action="reject_all", choices={"analytics": False, "marketing": False})
    reused = post(site, changed, adapter, Origin=ORIGIN)
    assert reused.status_code == 422
    assert reused.get_json()["error"]["details"]["code"] == "idempotency_key_reused"
    assert count("s_visitor_0001") == 1


def test_a_token_does_not_change_what_a_retry_is(site):
    first = post(site, event(subject="s_visitor_0001"), Origin=ORIGIN)
    token = first.get_json()["subject_token"]
    body = event(subject="s_visitor_0001")
    sent = post(site, body | {"subject_token": token}, Origin=ORIGIN)
    retried = post(site, body | {"subject_token": token}, Origin=ORIGIN)
    assert same_recording(retried, sent)
    stored = db.session.execute(
        db.select(ConsentRecord.body).where(ConsentRecord.id == sent.get_json()["id"])
    ).scalar_one()
    assert token.encode() not in stored and b"subject_token" not in stored  # never stored


def test_an_erased_subject_starts_again_without_a_token(site, admin):
    assert post(site, event(subject="s_visitor_0001"), Origin=ORIGIN).status_code == 201
    erased = site.post("/api/v1/sites/news-example/subjects/s_visitor_0001/erase", headers=admin)
    assert erased.status_code == 200, erased.get_json()
    assert post(site, event(subject="s_visitor_0001"), Origin=ORIGIN).status_code == 201


def test_a_request_without_origin_needs_a_consents_write_key(site, keys, make_site):
    make_site("other-site")
    body = event(subject="s_server_0001")
    anonymous = post(site, body)
    assert anonymous.status_code == 401
    assert "consents:write" in anonymous.get_json()["error"]["message"]
    assert post(site, body, Authorization="Bearer csk_forged").status_code == 401
    reader = keys("audit:read")
    assert post(site, body, **reader).status_code == 403
    assert post(site, body, **keys("consents:write", site="other-site")).status_code == 404
    writer = keys("consents:write", site="news-example")
    assert count("s_server_0001") == 0
    first = post(site, body, **writer)
    assert first.status_code == 201, first.get_json()
    # The server's later consents for its subject carry the token too.
    without_token = post(site, event(subject="s_server_0001"), **writer)
    assert without_token.status_code == 403
    assert without_token.get_json()["error"]["code"] == "subject_token_required"
    token = first.get_json()["subject_token"]
    later = post(site, event(subject="s_server_0001", subject_token=token), **writer)
    assert later.status_code == 201


def test_a_key_does_not_replace_an_allowed_origin(site, keys):
    writer = keys("consents:write")
    answer = post(site, event(), Origin="https://evil.example", **writer)
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "forbidden"


def test_the_subject_lookup_is_served_by_an_index(site, backend):
    compiled = Compiled(SUBJECT_PROBE, db.engine.dialect)
    values = {"site_id": "news-example", "subject": "s_visitor_0001", "client_event_id": "x"}
    connection = db.session.connection()
    if backend.name == "sqlite":
        plan = connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + compiled.sql, compiled.params(values)
        ).all()
        detail = " ".join(str(row[-1]) for row in plan)
        assert "USING INDEX ix_consent_records_site_subject" in detail, detail
    else:
        # An empty table is scanned whatever its indexes: ask whether an index can serve it.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = (
            connection.exec_driver_sql("EXPLAIN " + compiled.sql, compiled.params(values))
            .scalars()
            .all()
        )
        assert any("ix_consent_records_site_subject" in line for line in plan), plan


def test_two_first_consents_of_one_new_subject_in_one_group_record_one():
    """The probe runs under the lock, before the group's inserts: an event earlier in the same
    group counts as the subject's record (across groups, the lock orders them)."""
    from types import SimpleNamespace

    from service.consents.service import UNPROVEN, PendingAppend, sort_group
    from service.consents.writer import HeadState, LockedHead
    from service.ledger.chain import GENESIS_HASH

    site = SimpleNamespace(config_version=1, document_refs={})

    def pending(event_id: str, subject: str, unproven: bool = True) -> PendingAppend:
        item = {"client_event_id": event_id, "subject": subject}
        return PendingAppend(site, {}, item, unproven)

    head = HeadState("news-example", 0, GENESIS_HASH, [], 0, None)
    group = [pending("a", "s_new"), pending("b", "s_new"), pending("c", "s_other")]
    group.append(pending("d", "s_new", unproven=False))  # with its token: allowed
    verdicts = sort_group(group, LockedHead(head, 1, {}))
    assert verdicts[0] is None and verdicts[2] is None and verdicts[3] is None
    assert verdicts[1].reason == UNPROVEN
    assert verdicts[1].error.code == "subject_token_required"
    # A subject the locking read found with records is refused at once.
    found = LockedHead(head, 1, {}, frozenset({"a"}))
    assert sort_group([pending("a", "s_new")], found)[0].reason == UNPROVEN


def test_two_first_consents_of_one_new_subject_in_two_transactions_record_one(
    app, site, monkeypatch
):
    """Across groups the head's lock orders them: the second, blocked on the lock while the first
    appends, must see the first's entry once it gets the lock. (On PostgreSQL that is why the
    probe is a statement after the locking read: a probe inside it would read the snapshot taken
    before the wait, and both would pass.)"""
    from service.consents import service
    from service.consents.recording import check_consent
    from service.consents.service import UNPROVEN, Appended, PendingAppend

    # The head exists: the two wait on its row lock (a first append waits on the head's insert).
    assert post(site, event(subject="s_before_0001"), Origin=ORIGIN).status_code == 201
    headers = {"Origin": ORIGIN}
    with app.app_context():
        bodies = [json.dumps(event(subject="s_raced_0001")).encode() for _ in range(2)]
        prepared = [check_consent("news-example", body, headers) for body in bodies]
    first_locked = threading.Event()
    chain_entries = service.chain_entries

    def slow_first(head, items):
        """The first append holds the head's lock a while before it writes."""
        if threading.current_thread().name == "first":
            first_locked.set()
            time.sleep(0.5)
        return chain_entries(head, items)

    monkeypatch.setattr(service, "chain_entries", slow_first)
    results = {}

    def append(name: str, one) -> None:
        if name == "second":
            assert first_locked.wait(10)
        with app.app_context():
            pending = PendingAppend(one.site, one.event["documents"], one.item, True)
            results[name] = service.append_group([pending])[0]

    threads = [
        threading.Thread(target=append, args=(name, one), name=name)
        for name, one in zip(("first", "second"), prepared, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert isinstance(results["first"], Appended)
    assert results["second"].reason == UNPROVEN, results["second"]
    with app.app_context():
        assert count("s_raced_0001") == 1
