"""Findings 1 and 2: the tables that prove things (checkpoints, the erasure log) are append-only
like the ledger, and on PostgreSQL no proving table can be emptied with TRUNCATE."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from service.consents.service import cut_checkpoint
from service.extensions import db
from tests.api.test_consents import ORIGIN, event

SITE = "news-example"


@pytest.fixture
def ledger_with_proofs(client, make_site, admin):
    """Three consents, a checkpoint over them and an erasure log entry."""
    make_site()
    for n in range(3):
        response = client.post(
            f"/api/v1/sites/{SITE}/consents",
            json=event(subject=f"s_visitor_{n:04d}"),
            headers={"Origin": ORIGIN},
        )
        assert response.status_code == 201
    assert cut_checkpoint(SITE) is not None
    erased = client.post(f"/api/v1/sites/{SITE}/subjects/s_visitor_0001/erase", headers=admin)
    assert erased.status_code == 200, erased.get_json()


def count(table: str) -> int:
    return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE checkpoints SET tree_size = 2",
        "UPDATE checkpoints SET root_hash = upper(root_hash)",
        "DELETE FROM checkpoints",
        "UPDATE erasures SET redacted_seqs = '[]'",
        "UPDATE erasures SET reason = 'retention'",
        "DELETE FROM erasures",
    ],
)
def test_checkpoints_and_erasure_log_refuse_update_and_delete(ledger_with_proofs, statement):
    before = (count("checkpoints"), count("erasures"))
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert (count("checkpoints"), count("erasures")) == before
    assert min(before) >= 1


@pytest.mark.parametrize("table", ["consent_records", "checkpoints", "erasures", "ledger_heads"])
def test_postgresql_refuses_truncate_of_proving_tables(backend, ledger_with_proofs, table):
    if backend.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (its DELETE is refused by the row triggers)")
    before = count(table)
    with pytest.raises(DatabaseError, match="TRUNCATE is refused"):
        db.session.execute(text(f"TRUNCATE {table} CASCADE"))
    db.session.rollback()
    assert count(table) == before > 0


def test_postgresql_refuses_truncate_cascading_from_sites(backend, ledger_with_proofs):
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL only")
    with pytest.raises(DatabaseError, match="TRUNCATE is refused"):
        db.session.execute(text("TRUNCATE sites CASCADE"))
    db.session.rollback()
    assert count("consent_records") == 3
