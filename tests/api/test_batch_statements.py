"""PostgreSQL batches put values into the statements' text as literals (psycopg's quoting):
what the database stores from them is exactly the values, however awkward."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text

from service.consents.writer import RECORD_COLUMNS, BatchStatement, Statements
from service.database import Compiled, direct_connections
from service.extensions import db

AWKWARD = [
    "plain",
    'it\'s "quoted"',
    "back\\slash \\x00 and $1 and %s and %(id)s",
    "'); DROP TABLE consent_records; --",
    "unicode: é ü ß 同意 🍪",
    "line\nbreak\ttab",
]


@pytest.fixture
def postgresql(app, backend, make_site):
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL only")
    make_site()
    return direct_connections.get(db.engine)


def record(subject: str, body: bytes) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "site_id": "news-example",
        "seq": 1,
        "subject": subject,
        "action": "custom",
        "method": "banner",
        "gpc": False,
        "documents": {"privacy": {"version": 1, "sha256": subject}},
        "choices": {"analytics": True, subject: False},
        "recorded_at": datetime(2026, 11, 29, 1, 2, 3, 456789, tzinfo=UTC),
        "client_event_id": str(uuid.uuid4()),
        "request_sha256": "0" * 64,
        "body": body,
        "entry_hash": "1" * 64,
        "prev_hash": "2" * 64,
        "kid": "kid",
        "signature": "sig",
        "region": "US-CA",
        "mode": "opt-out",
    }


@pytest.mark.parametrize("subject", AWKWARD)
@pytest.mark.parametrize("prepared", [False, True])
def test_a_rendered_insert_stores_exactly_its_values(postgresql, subject, prepared):
    statements = Statements(db.engine.dialect, prepare=prepared)
    insert = statements.insert_records
    values = record(subject, subject.encode() + bytes(range(256)))
    if prepared:
        postgresql.execute(insert.prepare)
    literal = psycopg.adapt.Transformer(postgresql).as_literal
    postgresql.execute(insert.render(values, literal), prepare=False)
    columns = ", ".join(RECORD_COLUMNS)
    stored = db.session.execute(text(f"SELECT {columns} FROM consent_records")).one()
    assert dict(zip(RECORD_COLUMNS, stored, strict=True)) == values


def test_rendering_matches_psycopgs_own_client_side_binding(postgresql):
    """The same text as psycopg's ClientCursor.mogrify, NULLs included."""
    statements = Statements(db.engine.dialect)
    values = record(AWKWARD[2], b"\x00\xff") | {"subject": None}
    compiled: Compiled = statements.insert_records.compiled
    expected = psycopg.ClientCursor(postgresql).mogrify(compiled.sql, compiled.params(values))
    literal = psycopg.adapt.Transformer(postgresql).as_literal
    assert statements.insert_records.render(values, literal).decode() == expected


def test_a_prepared_statement_is_executed_with_its_values_in_order(postgresql):
    statement = BatchStatement(
        Compiled(text("SELECT :b || :a || :b"), db.engine.dialect), "consentry_probe"
    )
    assert statement.prepare == "PREPARE consentry_probe AS SELECT $1 || $2 || $1"
    postgresql.execute(statement.prepare)
    literal = psycopg.adapt.Transformer(postgresql).as_literal
    query = statement.render({"a": "x", "b": "y'"}, literal)
    assert query == b"EXECUTE consentry_probe('y''', 'x')"
    assert postgresql.execute(query, prepare=False).fetchone() == ("y'xy'",)
