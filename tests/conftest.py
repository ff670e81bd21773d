"""Fixtures: an app on a fresh database per test, on SQLite and on PostgreSQL.

The schema is built once per backend with the real Alembic migrations; each test then starts from
empty tables (SQLite: a copy of the migrated file; PostgreSQL: the tables are truncated).
PostgreSQL comes from ``CONSENTRY_TEST_POSTGRES_URL``; without it being reachable, its tests are
skipped with a message, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.extensions import db
from tests.helpers.apps import BACKENDS, Backend, app_on, migrate, postgres_test_url
from tests.helpers.sites import site_payload


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory) -> Iterator[Backend]:
    folder = tmp_path_factory.mktemp(f"{request.param}-template")
    if request.param == "sqlite":
        template = folder / "template.db"
        url = f"sqlite:///{template}"
    else:
        template = None
        url = postgres_test_url()
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(folder), "DATABASE_URL": url})
    migrate(app)
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        db.engine.dispose()
    yield Backend(request.param, url, template, tables)


@pytest.fixture
def app(backend: Backend, tmp_path: Path) -> Iterator[Flask]:
    with app_on(backend, tmp_path) as app:
        yield app


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


@pytest.fixture
def make_site(client: FlaskClient, admin):
    def make(site_id: str = "news-example", **overrides) -> dict:
        response = client.post(
            "/api/v1/sites", json=site_payload(site_id, **overrides), headers=admin
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make
