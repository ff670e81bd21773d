"""Finding 4: a redaction is valid only with a signed erasure-log entry that names its seq and the
digest of what it still shows. A row cleared by hand, a redacted row whose columns were changed
afterwards, and a log entry written by hand are reported by every verifier: the API, ``consentry
ledger verify`` and the offline verifier of an export. The database allows exactly one UPDATE:
the redaction that also clears ``request_sha256``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from service.consents.models import ConsentRecord, Erasure
from service.extensions import db
from service.timeutil import utcnow
from tests.api.test_ledger import (  # noqa: F401 (fixtures)
    drop_append_only_triggers,
    record,
)
from tests.helpers.consents import verify

SITE = "news-example"
BASE = f"/api/v1/sites/{SITE}"
RECORDS = ConsentRecord.__table__
# The redaction as the triggers allow it: what erasure does, minus its signed log entry.
SILENT_REDACTION = (
    "UPDATE consent_records SET body = NULL, subject = NULL, request_sha256 = NULL, "
    "redacted_at = CURRENT_TIMESTAMP WHERE seq = 2"
)


@pytest.fixture
def three_entries(record):  # noqa: F811
    return [record(subject=f"s_visitor_{n:04d}") for n in range(3)]


def codes(report: dict) -> set[str]:
    return {problem["code"] for problem in report["problems"]}


def erase(client, admin, subject: str) -> dict:
    response = client.post(f"{BASE}/subjects/{subject}/erase", headers=admin)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_silent_redaction_is_reported_by_the_api_and_the_cli(
    client, admin, runner, three_entries
):
    assert verify(client, admin)["ok"] is True
    db.session.execute(text(SILENT_REDACTION))
    db.session.commit()
    report = verify(client, admin)
    assert report["ok"] is False and report["first_bad_seq"] == 2
    assert codes(report) == {"redaction_unlogged"}
    result = runner.invoke(args=["ledger", "verify", SITE])
    assert result.exit_code == 1
    assert "seq 2: redaction_unlogged" in result.output


def test_the_review_statement_is_refused_and_reported_even_without_triggers(
    client,
    admin,
    three_entries,
    drop_append_only_triggers,  # noqa: F811
):
    """The review's exact statement: it keeps the request hash, which the triggers refuse;
    with the triggers dropped, verification still names the row."""
    statement = (
        "UPDATE consent_records SET body = NULL, subject = NULL, "
        "redacted_at = CURRENT_TIMESTAMP WHERE seq = 2"
    )
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    drop_append_only_triggers()
    db.session.execute(text(statement))
    db.session.commit()
    report = verify(client, admin)
    assert report["first_bad_seq"] == 2 and codes(report) == {"redaction_unlogged"}


def test_an_erasure_is_signed_once_for_all_its_rows_and_verifies(client, admin, record):  # noqa: F811
    for subject in ("s_alice_0001", "s_bob_00001", "s_alice_0001", "s_alice_0001"):
        record(subject=subject)
    assert erase(client, admin, "s_alice_0001")["redacted_seqs"] == [1, 3, 4]
    entry = db.session.execute(db.select(Erasure)).scalar_one()
    assert entry.redacted_seqs == [[1, 1], [3, 4]] and entry.records_redacted == 3
    assert entry.signature and entry.kid and len(entry.visible_sha256) == 64
    report = verify(client, admin)
    assert report["ok"] is True, report["problems"]
    assert report["redacted_seqs"] == [1, 3, 4] and report["erasures_checked"] == 1


@pytest.mark.parametrize(
    "change",
    [
        {"action": "reject_all"},
        {"choices": {"necessary": True, "analytics": False, "marketing": False}},
        {"recorded_at": utcnow() - timedelta(days=3)},
        {"documents": {"privacy": {"version": 9, "sha256": "0" * 64}}},
        {"region": "US-CA"},
        {"client_event_id": "00000000-0000-4000-8000-000000000000"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_redacted_row_that_shows_other_than_the_erasure_signed_is_reported(
    client,
    admin,
    three_entries,
    drop_append_only_triggers,  # noqa: F811
    change,
):
    erase(client, admin, "s_visitor_0001")
    drop_append_only_triggers()
    db.session.execute(RECORDS.update().where(RECORDS.c.seq == 2).values(**change))
    db.session.commit()
    report = verify(client, admin)
    assert report["ok"] is False and report["first_bad_seq"] == 2
    assert codes(report) == {"erasure_mismatch"}


def test_a_column_changed_before_the_erasure_stays_reported_after_it(
    client,
    admin,
    three_entries,
    drop_append_only_triggers,  # noqa: F811
):
    """The erasure signs what the body says, not the columns: it cannot launder an edit."""
    drop_append_only_triggers()
    db.session.execute(RECORDS.update().where(RECORDS.c.seq == 2).values(action="accept_all"))
    db.session.commit()
    assert codes(verify(client, admin)) == {"column_mismatch"}
    erase(client, admin, "s_visitor_0001")
    report = verify(client, admin)
    assert codes(report) == {"erasure_mismatch"} and report["first_bad_seq"] == 2


def unsigned_entry(seqs: list[list[int]]) -> Erasure:
    """A log entry as migration 0014 leaves older ones, or as someone writes it by hand."""
    count = sum(last - first + 1 for first, last in seqs)
    return Erasure(
        site_id=SITE,
        reason="request",
        subject_hmac=None,
        records_redacted=count,
        redacted_seqs=seqs,
        erased_at=utcnow(),
    )


def test_an_erasure_entry_written_by_hand_is_reported_not_trusted(client, admin, three_entries):
    db.session.execute(text(SILENT_REDACTION))
    db.session.add(unsigned_entry([[2, 2]]))
    db.session.commit()
    report = verify(client, admin)
    assert report["ok"] is False and report["first_bad_seq"] == 2
    assert codes(report) == {"redaction_unsigned"}


def test_a_signed_entry_copied_to_cover_another_row_is_reported(client, admin, three_entries):
    erase(client, admin, "s_visitor_0000")
    signed = db.session.execute(db.select(Erasure)).scalar_one()
    db.session.execute(text(SILENT_REDACTION))
    copy = unsigned_entry([[1, 2]])
    copy.visible_sha256, copy.kid, copy.signature = (
        signed.visible_sha256,
        signed.kid,
        signed.signature,
    )
    db.session.add(copy)
    db.session.commit()
    report = verify(client, admin)
    assert "erasure_bad_signature" in codes(report) and report["first_bad_seq"] == 1


def test_erasures_signed_before_a_key_rotation_still_verify(client, admin, runner, three_entries):
    erase(client, admin, "s_visitor_0000")
    assert runner.invoke(args=["keys", "rotate-signing"]).exit_code == 0
    erase(client, admin, "s_visitor_0002")
    kids = db.session.execute(db.select(Erasure.kid).order_by(Erasure.id)).scalars().all()
    assert len(set(kids)) == 2
    report = verify(client, admin)
    assert report["ok"] is True and report["erasures_checked"] == 2, report["problems"]


def test_retention_over_many_rows_is_one_signed_entry(
    app,
    client,
    admin,
    record,  # noqa: F811
    runner,
    monkeypatch,
):
    import service.consents.service as consents

    long_ago = utcnow() - timedelta(days=400)
    monkeypatch.setattr(consents, "utcnow", lambda: long_ago)
    for n in range(40):
        record(subject=f"s_visitor_{n:04d}")
    monkeypatch.undo()
    record(subject="s_visitor_recent")
    client.patch(BASE, json={"retention_days": 365}, headers=admin)
    result = runner.invoke(args=["retention", "apply", "--site", SITE])
    assert result.exit_code == 0 and "redacted 40 records" in result.output
    entry = db.session.execute(db.select(Erasure)).scalar_one()
    assert entry.reason == "retention" and entry.redacted_seqs == [[1, 40]]
    report = verify(client, admin)
    assert report["ok"] is True, report["problems"]
    assert len(report["redacted_seqs"]) == 40


def test_an_export_verified_offline_reports_a_silent_redaction(
    client, admin, runner, three_entries, tmp_path
):
    erase(client, admin, "s_visitor_0000")
    db.session.execute(text(SILENT_REDACTION))
    db.session.commit()
    export = client.get(f"{BASE}/export", headers=admin).get_data(as_text=True)
    path = tmp_path / "export.ndjson"
    path.write_text(export)
    result = runner.invoke(args=["verify-bundle", str(path)])
    assert result.exit_code == 1
    assert "seq 2: redaction_unlogged" in result.output
    assert "seq 1" not in result.output  # the signed erasure of seq 1 holds offline too


def test_an_export_verified_offline_reports_a_changed_redacted_row(
    client,
    admin,
    runner,
    three_entries,
    tmp_path,
    drop_append_only_triggers,  # noqa: F811
):
    erase(client, admin, "s_visitor_0001")
    drop_append_only_triggers()
    db.session.execute(RECORDS.update().where(RECORDS.c.seq == 2).values(action="reject_all"))
    db.session.commit()
    path = tmp_path / "export.ndjson"
    path.write_text(client.get(f"{BASE}/export", headers=admin).get_data(as_text=True))
    result = runner.invoke(args=["verify-bundle", str(path)])
    assert result.exit_code == 1 and "seq 2: erasure_mismatch" in result.output


# The one UPDATE the database allows ---------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        # A redaction that keeps the request hash (it would confirm a guessed subject).
        "UPDATE consent_records SET body = NULL, subject = NULL, "
        "redacted_at = CURRENT_TIMESTAMP WHERE seq = 2",
        # A redaction that also moves the visitor to another region or mode.
        "UPDATE consent_records SET body = NULL, subject = NULL, request_sha256 = NULL, "
        "redacted_at = CURRENT_TIMESTAMP, region = 'FR' WHERE seq = 2",
        "UPDATE consent_records SET body = NULL, subject = NULL, request_sha256 = NULL, "
        "redacted_at = CURRENT_TIMESTAMP, mode = 'notice' WHERE seq = 2",
        # The request hash cleared, or changed, outside a redaction.
        "UPDATE consent_records SET request_sha256 = NULL WHERE seq = 2",
        "UPDATE consent_records SET request_sha256 = 'x' WHERE seq = 2",
    ],
)
def test_the_triggers_allow_only_a_redaction_that_clears_the_request_hash(three_entries, statement):
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    row = db.session.execute(db.select(RECORDS).where(RECORDS.c.seq == 2)).one()
    assert row.body is not None and row.request_sha256 is not None


def test_a_redacted_row_cannot_be_redacted_again(client, admin, three_entries):
    erase(client, admin, "s_visitor_0001")
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(
            text(
                "UPDATE consent_records SET body = NULL, subject = NULL, request_sha256 = NULL, "
                "redacted_at = CURRENT_TIMESTAMP WHERE seq = 2"
            )
        )
    db.session.rollback()


# Erasures logged before entries were signed (migration 0014) -------------------------------------


def test_erasures_from_before_signing_are_reported_and_their_request_hashes_cleared(
    app, client, admin, three_entries
):
    """Down to 0013, an erasure as it was made then (no signature, request hash kept), and up
    again: the migration clears the hash, and verification names the unsigned entry."""
    from flask_migrate import downgrade, upgrade

    db.session.commit()
    db.session.remove()
    downgrade(revision="0013")
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE consent_records SET body = NULL, subject = NULL, "
                "redacted_at = CURRENT_TIMESTAMP WHERE seq = 3"
            )
        )
        connection.execute(
            text(
                "INSERT INTO erasures (site_id, reason, subject_hmac, records_redacted, "
                "redacted_seqs, erased_at) VALUES "
                "('news-example', 'request', NULL, 1, '[[3, 3]]', CURRENT_TIMESTAMP)"
            )
        )
    db.engine.dispose()
    upgrade()
    db.engine.dispose()
    hashes = db.session.execute(
        db.select(RECORDS.c.request_sha256).order_by(RECORDS.c.seq)
    ).scalars()
    assert [value is None for value in hashes] == [False, False, True]
    report = verify(client, admin)
    assert report["ok"] is False and report["first_bad_seq"] == 3
    assert codes(report) == {"redaction_unsigned"}
    erase(client, admin, "s_visitor_0000")  # new erasures are signed and verify
    assert codes(verify(client, admin)) == {"redaction_unsigned"}
