"""What a failed ledger insert means: an event recorded before (answered as a replay), or
anything else (raised as it is); either way nothing of the try is kept."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from service.consents.models import ConsentRecord
from service.consents.writer import RECORD_COLUMNS, EventRecordedBefore, ledger_writer
from service.extensions import db
from tests.helpers.consents import ORIGIN, event


@pytest.fixture
def recorded(client, make_site) -> None:
    """The demo site with one consent in its ledger."""
    make_site()
    answer = client.post(
        "/api/v1/sites/news-example/consents", json=event(), headers={"Origin": ORIGIN}
    )
    assert answer.status_code == 201


def stored_record() -> dict:
    records = ConsentRecord.__table__
    row = db.session.execute(db.select(*(records.c[name] for name in RECORD_COLUMNS))).one()
    return dict(zip(RECORD_COLUMNS, row, strict=True))


def ledger_state() -> tuple:
    db.session.rollback()  # a fresh snapshot (SQLite)
    count = db.session.execute(text("SELECT count(*) FROM consent_records")).scalar_one()
    head = db.session.execute(text("SELECT seq, head_hash FROM ledger_heads")).one()
    return count, tuple(head)


def write_again(changes: dict) -> None:
    record = stored_record() | {"id": str(uuid.uuid4())} | changes
    with ledger_writer().transaction() as ledger:
        head = ledger.lock("news-example").head
        head.seq, head.head_hash = head.seq + 1, "f" * 64
        ledger.write(head, [record | {"seq": changes.get("seq", head.seq)}], [])


def test_an_insert_of_an_event_recorded_before_is_told_apart_and_rolled_back(app, recorded):
    before = ledger_state()
    with pytest.raises(EventRecordedBefore):
        write_again({})  # the same client_event_id at the next place in the chain
    assert ledger_state() == before


def test_any_other_failed_insert_is_raised_as_it_is_and_rolled_back(app, recorded):
    before = ledger_state()
    with pytest.raises(Exception) as raised:
        write_again({"client_event_id": str(uuid.uuid4()), "seq": 1})  # a place already taken
    assert not isinstance(raised.value, EventRecordedBefore)
    assert "seq" in str(raised.value)
    assert ledger_state() == before
