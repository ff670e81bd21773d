"""Finding 3: a tail deleted after the newest checkpoint is reported, from the head."""

from __future__ import annotations

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


def test_a_tail_deleted_after_the_newest_checkpoint_is_reported(
    client,
    admin,
    eight_entries_checkpoint_at_six,
    drop_append_only_triggers,  # noqa: F811
):
    drop_append_only_triggers()
    db.session.execute(text("DELETE FROM consent_records WHERE seq > 6"))
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
    drop_append_only_triggers()
    db.session.execute(text("DELETE FROM consent_records WHERE seq > 6"))
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

    drop_append_only_triggers()
    db.session.execute(text("DELETE FROM consent_records WHERE seq > 6"))
    db.session.commit()
    result = verify_site("news-example", VerificationRun("news-example", total=8), actor="test")
    assert result["ledger_ok"] is False
