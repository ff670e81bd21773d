"""Finding 3: a tail deleted after the newest checkpoint is reported, from the head, and from
receipts presented to verification (kept off the machine) when the head was rewritten too."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from service.consents.service import cut_checkpoint
from service.extensions import db
from tests.api.test_ledger import (  # noqa: F401 (fixtures)
    drop_append_only_triggers,
    record,
    verify,
)


@pytest.fixture
def eight_entries_checkpoint_at_six(app, client, admin, record):  # noqa: F811
    receipts = []
    for n in range(8):
        receipts.append(record(subject=f"s_visitor_{n:04d}"))
        if n == 5:
            assert cut_checkpoint("news-example").tree_size == 6
    assert verify(client, admin)["ok"] is True
    return receipts


def delete_tail_after_six(lift_triggers) -> None:
    """The attacker's first step: lift the triggers and delete the entries after seq 6."""
    lift_triggers()
    db.session.execute(text("DELETE FROM consent_records WHERE seq > 6"))


def test_a_tail_deleted_after_the_newest_checkpoint_is_reported(
    client,
    admin,
    eight_entries_checkpoint_at_six,
    drop_append_only_triggers,  # noqa: F811
):
    delete_tail_after_six(drop_append_only_triggers)
    db.session.commit()
    report = verify(client, admin)
    assert report["ok"] is False
    assert report["first_bad_seq"] == 7
    assert any(p["code"] == "truncated" and "7..8" in p["message"] for p in report["problems"])


def test_a_tail_deleted_with_the_head_moved_back_is_reported(
    client,
    admin,
    eight_entries_checkpoint_at_six,
    drop_append_only_triggers,  # noqa: F811
):
    """The review's attack: DELETE ... WHERE seq > 6 and UPDATE ledger_heads SET seq = 6."""
    delete_tail_after_six(drop_append_only_triggers)
    db.session.execute(text("UPDATE ledger_heads SET seq = 6"))
    db.session.commit()
    report = verify(client, admin)
    assert report["ok"] is False
    assert report["first_bad_seq"] == 6
    assert {p["code"] for p in report["problems"]} == {"head_mismatch"}


def test_a_head_ahead_of_an_intact_ledger_is_reported(
    client, admin, eight_entries_checkpoint_at_six
):
    db.session.execute(text("UPDATE ledger_heads SET seq = 9"))
    db.session.commit()
    report = verify(client, admin)
    assert report["ok"] is False and report["first_bad_seq"] == 9


def test_an_untouched_ledger_and_head_verify(client, admin, eight_entries_checkpoint_at_six):
    report = verify(client, admin)
    assert report["ok"] is True and report["tree_size"] == 8


def test_the_consoles_integrity_run_reports_a_deleted_tail_too(
    app,
    eight_entries_checkpoint_at_six,
    drop_append_only_triggers,  # noqa: F811
):
    """The console's run and the API's verification are one function (the head check too)."""
    from service.console.integrity import VerificationRun, verify_site

    delete_tail_after_six(drop_append_only_triggers)
    db.session.commit()
    result = verify_site("news-example", VerificationRun("news-example", total=8), actor="test")
    assert result["ledger_ok"] is False


# Receipts kept elsewhere -------------------------------------------------------------------------


def rewind_head_to(seq: int) -> None:
    """What a careful operator does after deleting the tail: the head as it was at ``seq``."""
    from service.consents.models import ConsentRecord, LedgerHead
    from service.ledger.merkle import MerkleAccumulator

    hashes = db.session.execute(
        db.select(ConsentRecord.entry_hash)
        .where(ConsentRecord.seq <= seq)
        .order_by(ConsentRecord.seq)
    ).scalars()
    tree = MerkleAccumulator()
    for value in hashes:
        tree.append(bytes.fromhex(value))
    db.session.execute(
        LedgerHead.__table__.update().values(
            seq=seq,
            head_hash=value,
            frontier=[node.hex() for node in tree.stack],
            last_checkpoint_size=seq,
        )
    )


def verify_with(client, admin, receipts, **extra) -> dict:
    response = client.post(
        "/api/v1/sites/news-example/ledger/verify",
        json={"receipts": receipts, **extra},
        headers=admin,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_tail_deleted_with_a_consistent_head_is_reported_from_receipts(
    client,
    admin,
    runner,
    tmp_path,
    eight_entries_checkpoint_at_six,
    drop_append_only_triggers,  # noqa: F811
):
    """The database alone cannot see this one; the visitors' receipts can."""
    answers = eight_entries_checkpoint_at_six
    delete_tail_after_six(drop_append_only_triggers)
    rewind_head_to(6)
    db.session.commit()
    assert verify(client, admin)["ok"] is True  # what off-machine evidence is for
    receipts = [answer["receipt"] for answer in answers]
    report = verify_with(client, admin, receipts)
    assert report["ok"] is False and report["first_bad_seq"] == 7
    assert {p["code"] for p in report["problems"]} == {"receipt_entry_missing"}
    assert [(r["seq"], r["status"]) for r in report["receipts"]] == [
        *((seq, "matches") for seq in range(1, 7)),
        (7, "missing"),
        (8, "missing"),
    ]
    path = tmp_path / "receipts.json"
    path.write_text(json.dumps(answers))  # the consent answers, as a site might keep them
    result = runner.invoke(args=["ledger", "verify", "news-example", "--receipts", str(path)])
    assert result.exit_code == 1
    assert "receipts: 6 of 8 match" in result.output
    assert "seq 8: receipt_entry_missing" in result.output


def test_a_receipts_file_of_one_receipt_per_line_is_read(
    runner, tmp_path, eight_entries_checkpoint_at_six
):
    path = tmp_path / "receipts.txt"
    lines = [answer["receipt"] for answer in eight_entries_checkpoint_at_six[:3]]
    path.write_text("\n".join([*lines, "", "not-a-receipt"]) + "\n")
    result = runner.invoke(args=["ledger", "verify", "news-example", "--receipts", str(path)])
    assert result.exit_code == 0, result.output
    assert "receipts: 3 of 4 match" in result.output and "receipt 3: invalid" in result.output


def test_a_receipt_of_a_replaced_entry_is_reported(
    client,
    admin,
    eight_entries_checkpoint_at_six,
    drop_append_only_triggers,  # noqa: F811
):
    answers = eight_entries_checkpoint_at_six
    drop_append_only_triggers()
    db.session.execute(
        text("UPDATE consent_records SET entry_hash = :value WHERE seq = 8"), {"value": "ab" * 32}
    )
    db.session.commit()
    report = verify_with(client, admin, [answers[7]["receipt"]])
    assert report["receipts"][0]["status"] == "differs"
    assert "receipt_differs" in {p["code"] for p in report["problems"]}


@pytest.mark.parametrize(
    "body",
    [
        {"receipts": "eyJ..."},
        {"receipts": [1, 2]},
        {"receipts": [""]},
        {"receipts": ["x"] * 10_001},
        {"signatures": "yes"},
        {"receipts": [], "unknown": 1},
    ],
)
def test_verify_with_receipts_refuses_bad_input(
    client, admin, eight_entries_checkpoint_at_six, body
):
    response = client.post("/api/v1/sites/news-example/ledger/verify", json=body, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"


def test_verify_with_receipts_needs_audit_read(client, keys, eight_entries_checkpoint_at_six):
    response = client.post(
        "/api/v1/sites/news-example/ledger/verify",
        json={"receipts": []},
        headers=keys("documents:publish", site="news-example"),
    )
    assert response.status_code == 403


# The tail window --------------------------------------------------------------------------------


def test_checkpoints_are_cut_after_a_minute_of_activity(app, record):  # noqa: F811
    """What the head alone vouches for is at most a minute (or 256 entries) of the tail."""
    from service.consents.models import LedgerHead
    from service.consents.service import latest_checkpoint
    from service.timeutil import utcnow

    record()
    assert latest_checkpoint("news-example").tree_size == 1  # the first entry cuts one
    record(subject="s_visitor_0002")
    assert latest_checkpoint("news-example").tree_size == 1
    db.session.execute(
        LedgerHead.__table__.update().values(last_checkpoint_at=utcnow() - timedelta(seconds=61))
    )
    db.session.commit()
    record(subject="s_visitor_0003")
    assert latest_checkpoint("news-example").tree_size == 3


def test_checkpoints_are_cut_every_256_entries_at_most(app):
    from service.consents.service import checkpoint_due
    from service.consents.writer import HeadState
    from service.timeutil import utcnow

    now = utcnow()
    head = HeadState("news-example", 255, "0" * 64, [], 0, now)
    assert not checkpoint_due(head, now)
    head.seq = 256
    assert checkpoint_due(head, now)
