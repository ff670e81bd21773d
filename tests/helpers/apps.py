"""Apps for tests: migrated databases, this worker's PostgreSQL database, a rate-limited app."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from service import create_app
from service.extensions import db
from tests.helpers.visitor import VisitorClient

POSTGRES_URL = os.environ.get(
    "CONSENTRY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def postgres_test_url() -> str:
    """Create (fresh) this worker's own database next to the configured one."""
    base = POSTGRES_URL.rsplit("/", 1)[0]
    # Named for the checkout too, so two checkouts (git worktrees) can run their suites at once.
    checkout = hashlib.sha256(str(Path(__file__).resolve().parents[1]).encode()).hexdigest()[:8]
    name = f"consentry_test_{checkout}_{_worker()}"
    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (required under CI=true)")
        pytest.skip(message + " (set CONSENTRY_TEST_POSTGRES_URL; required in CI)")
    return f"{base}/{name}"


def migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


@dataclass
class Backend:
    name: str
    database_url: str
    template: Path | None = None  # SQLite: the migrated file copied for each test
    tables: list[str] = field(default_factory=list)


@contextlib.contextmanager
def app_on(backend: Backend, tmp_path: Path, **config: Any) -> Iterator[Flask]:
    """An app on a fresh database of ``backend`` (SQLite: a copy of the migrated file;
    PostgreSQL: this worker's database, its tables emptied), inside its app context."""
    if backend.name == "sqlite":
        database = tmp_path / "consentry.db"
        shutil.copyfile(backend.template, database)
        url = f"sqlite:///{database}"
    else:
        url = backend.database_url
    settings = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": url,
        "RATELIMIT_ENABLED": False,
    }
    app = create_app(settings | config)
    app.test_client_class = VisitorClient  # keeps subject tokens as the widget does
    with app.app_context():
        if backend.name == "postgresql":
            names = ", ".join(f'"{name}"' for name in backend.tables)
            # The proving tables refuse TRUNCATE (migration 0009); a superuser's replica role
            # skips triggers for this reset only.
            db.session.execute(text("SET LOCAL session_replication_role = replica"))
            db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            db.session.commit()
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


@contextlib.contextmanager
def rate_limited_app(
    backend: Backend, tmp_path: Path, storage_uri: str, limit: str = "3 per minute"
) -> Iterator[tuple[Flask, FlaskClient, dict[str, str]]]:
    """An app on a fresh database of ``backend`` with the rate limiter on (the ``app`` fixture
    turns it off), inside its app context: the app, a client, and an all-scopes key's headers."""
    from service.auth.service import SCOPES, create_api_key

    config = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": storage_uri}
    with app_on(backend, tmp_path, CONSENT_RATE_LIMIT=limit, **config) as app:
        _key, plaintext = create_api_key(SCOPES)
        yield app, app.test_client(), {"Authorization": f"Bearer {plaintext}"}
