"""Fixtures: an app on a fresh database per test, on SQLite and on PostgreSQL.

The schema is built once per backend with the real Alembic migrations; each test then starts from
empty tables (SQLite: a copy of the migrated file; PostgreSQL: the tables are truncated).
PostgreSQL comes from ``CONSENTRY_TEST_POSTGRES_URL``; without it being reachable, its tests are
skipped with a message, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from service import create_app
from service.extensions import db

POSTGRES_URL = os.environ.get(
    "CONSENTRY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _postgres_test_url() -> str:
    """Create (fresh) this worker's own database next to the configured one."""
    base = POSTGRES_URL.rsplit("/", 1)[0]
    # Named for the checkout too, so two checkouts (git worktrees) can run their suites at once.
    checkout = hashlib.sha256(str(Path(__file__).resolve().parent).encode()).hexdigest()[:8]
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


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory) -> Iterator[Backend]:
    folder = tmp_path_factory.mktemp(f"{request.param}-template")
    if request.param == "sqlite":
        template = folder / "template.db"
        url = f"sqlite:///{template}"
    else:
        template = None
        url = _postgres_test_url()
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(folder), "DATABASE_URL": url})
    migrate(app)
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        db.engine.dispose()
    yield Backend(request.param, url, template, tables)


@pytest.fixture
def app(backend: Backend, tmp_path: Path) -> Iterator[Flask]:
    if backend.name == "sqlite":
        database = tmp_path / "consentry.db"
        shutil.copyfile(backend.template, database)
        url = f"sqlite:///{database}"
    else:
        url = backend.database_url
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": url,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        if backend.name == "postgresql":
            names = ", ".join(f'"{name}"' for name in backend.tables)
            db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def keys(app: Flask):
    """Create API keys: ``keys("audit:read", site="a")`` returns request headers for that key."""
    from service.auth.service import create_api_key

    def make(*scopes: str, site: str | None = None) -> dict[str, str]:
        _key, plaintext = create_api_key(scopes, site)
        return {"Authorization": f"Bearer {plaintext}"}

    return make


@pytest.fixture
def admin(keys) -> dict[str, str]:
    """Headers of an all-sites key with every scope."""
    from service.auth.service import SCOPES

    return keys(*SCOPES)


def site_payload(site_id: str = "news-example", **overrides) -> dict:
    payload = {
        "id": site_id,
        "name": "The Daily Example",
        "allowed_origins": ["https://news.example.com", "http://localhost:8000"],
    }
    payload.update(overrides)
    return payload


@contextlib.contextmanager
def rate_limited_app(
    tmp_path: Path, storage_uri: str, limit: str = "3 per minute"
) -> Iterator[tuple[Flask, FlaskClient, dict[str, str]]]:
    """An app on its own SQLite file with the rate limiter on (the ``app`` fixture turns it off),
    inside its app context: the app, a client, and an all-scopes key's headers."""
    from service.auth.service import SCOPES, create_api_key

    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path}/limited.db",
            "RATELIMIT_STORAGE_URI": storage_uri,
            "CONSENT_RATE_LIMIT": limit,
        }
    )
    migrate(app)
    with app.app_context():
        _key, plaintext = create_api_key(SCOPES)
        try:
            yield app, app.test_client(), {"Authorization": f"Bearer {plaintext}"}
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def make_site(client: FlaskClient, admin):
    def make(site_id: str = "news-example", **overrides) -> dict:
        response = client.post(
            "/api/v1/sites", json=site_payload(site_id, **overrides), headers=admin
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make
