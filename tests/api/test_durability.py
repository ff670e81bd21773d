"""Durability is asserted at start-up and on each new connection; a database that is down at
start-up or restarted later does not need a manual step."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from service import create_app
from service.database import DurabilityError, durability_problems, durability_settings
from service.extensions import db


def postgres_options(options: str) -> dict:
    return {"pool_pre_ping": True, "connect_args": {"options": options}}


@pytest.mark.parametrize(
    ("dialect", "settings", "problems"),
    [
        ("sqlite", {"journal_mode": "wal", "synchronous": "2"}, []),
        ("sqlite", {"journal_mode": "wal", "synchronous": "3"}, []),
        ("sqlite", {"journal_mode": "delete", "synchronous": "2"}, ["journal_mode"]),
        ("sqlite", {"journal_mode": "wal", "synchronous": "1"}, ["synchronous"]),
        ("postgresql", {"fsync": "on", "synchronous_commit": "on"}, []),
        ("postgresql", {"fsync": "on", "synchronous_commit": "local"}, []),
        ("postgresql", {"fsync": "off", "synchronous_commit": "on"}, ["fsync"]),
        ("postgresql", {"fsync": "on", "synchronous_commit": "off"}, ["synchronous_commit"]),
    ],
)
def test_durability_problems_name_each_unsafe_setting(dialect, settings, problems):
    found = durability_problems(dialect, settings)
    assert [p.split(" ")[0] for p in found] == problems


def test_postgres_session_without_synchronous_commit_is_refused_at_start(backend, tmp_path):
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL only")
    config = {
        "INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": backend.database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": postgres_options("-c synchronous_commit=off"),
    }
    with pytest.raises(DurabilityError, match="synchronous_commit is off"):
        create_app(config)


def test_the_check_can_be_switched_off_explicitly(backend, tmp_path):
    if backend.name == "postgresql":
        url = backend.database_url
        options = postgres_options("-c synchronous_commit=off")
        expected = {"synchronous_commit": "off"}
    else:
        url = "sqlite://"  # in memory: no WAL
        options = {}
        expected = {"journal_mode": "memory"}
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": url,
            "SQLALCHEMY_ENGINE_OPTIONS": options,
            "CHECK_DURABILITY": False,
        }
    )
    with app.app_context():
        assert expected.items() <= durability_settings().items()
        db.session.remove()
        db.engine.dispose()


def test_sqlite_without_wal_is_refused_at_start(tmp_path):
    # An in-memory database cannot use WAL: commits would not survive anything.
    with pytest.raises(DurabilityError, match="journal_mode is memory"):
        create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://"})


def test_service_starts_while_the_database_is_down_and_reports_it(tmp_path):
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=2",
        }
    )
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
    # Every endpoint that needs the database answers 503 + Retry-After, never a 500.
    for method, url in [
        ("GET", "/api/v1/sites/news-example/banner"),
        ("POST", "/api/v1/sites/news-example/consents"),
        ("GET", "/p/news-example/privacy"),
    ]:
        answer = client.open(
            url,
            method=method,
            json={} if method == "POST" else None,
            headers={"Accept": "application/json"},
        )
        assert answer.status_code in (503, 422), (url, answer.status_code)
        if answer.status_code == 503:
            assert answer.headers["Retry-After"] == "5"


def test_pooled_connections_cut_by_the_server_are_replaced(app, backend, client):
    """What a PostgreSQL restart does to a worker's pool: pool_pre_ping replaces the dead
    connections and the next request succeeds with no manual step."""
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL only")
    assert client.get("/healthz").status_code == 200
    db.session.remove()  # the connection goes back to the pool
    name = db.engine.url.database
    with psycopg.connect(backend.database_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone()[0]
    assert killed >= 1
    assert client.get("/healthz").status_code == 200
    assert db.session.execute(text("SHOW synchronous_commit")).scalar_one() == "on"


def test_postgres_plans_each_statement_for_its_values(app, backend):
    """A generic plan made while a table was nearly empty would be kept by each connection."""
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL only")
    from service.database import direct_connections

    assert db.session.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"
    direct = direct_connections.get(db.engine)
    assert direct.execute("SHOW plan_cache_mode").fetchone()[0] == "force_custom_plan"
