"""What tests do to the database behind the service's back: re-create the ledger's triggers,
move records back in time (as a data migration would)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from sqlalchemy import text, update

import service
from service.consents.models import ConsentRecord
from service.extensions import db


def ledger_migration():
    # The migration that made the ledger's triggers as they are now.
    path = Path(service.__file__).parent / "migrations/versions/0014_signed_erasures.py"
    spec = importlib.util.spec_from_file_location("ledger_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def backdate(app, seqs, moment) -> None:
    """Move records back in time around the append-only triggers, in one transaction on one
    connection (as a data migration would)."""
    db.session.commit()
    postgres = db.engine.dialect.name == "postgresql"
    with db.engine.begin() as connection:
        if postgres:
            connection.execute(text("ALTER TABLE consent_records DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER consent_records_append_only_update"))
        connection.execute(
            update(ConsentRecord).where(ConsentRecord.seq.in_(seqs)).values(recorded_at=moment)
        )
        if postgres:
            connection.execute(text("ALTER TABLE consent_records ENABLE TRIGGER USER"))
        else:
            connection.execute(text(ledger_migration().SQLITE_TRIGGERS[1]))
    db.session.expire_all()


def redis_url() -> str:
    """The test Redis (``CONSENTRY_TEST_REDIS_URL``), emptied; skipped when it does not answer,
    failed under ``CI=true``."""
    import pytest
    import redis

    url = os.environ.get("CONSENTRY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI=true: {error}")
        pytest.skip(f"Redis not reachable at {url}")
    redis.Redis.from_url(url).flushdb()
    return url
