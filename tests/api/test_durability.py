"""Durability is asserted at start-up and on each new connection; a database that is down at
start-up or restarted later does not need a manual step."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from service import create_app
from service.consents.service import verify_site_ledger
from service.consents.writer import FLUSH_WAL, RELEASE_AT_COMMIT
from service.database import DurabilityError, durability_problems, durability_settings
from service.extensions import db
from tests.helpers.consents import ORIGIN, event


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


class BatchSpy:
    """The thread's direct connection, recording each batch of statements it is sent."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.batches: list[str] = []

    def execute(self, query, *args, **kwargs):
        self.batches.append(query.decode() if isinstance(query, bytes) else query)
        return self.connection.execute(query, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.connection, name)


@pytest.fixture
def batches(app, backend, monkeypatch):
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL only")
    from service.consents import writer
    from service.database import direct_connections

    spy = BatchSpy(direct_connections.get(db.engine))
    monkeypatch.setattr(direct_connections, "get", lambda engine: spy)
    writer._can_flush_wal.clear()
    return spy.batches


@pytest.fixture
def post(client, make_site, batches):
    make_site()
    return lambda body: client.post(
        "/api/v1/sites/news-example/consents", json=body, headers={"Origin": ORIGIN}
    )


def test_postgres_append_frees_its_lock_at_commit_and_answers_after_the_wal_flush(post, batches):
    assert post(event()).status_code == 201  # the site's first entry writes a checkpoint
    (write,) = [batch for batch in batches if "EXECUTE consentry_insert_records(" in batch]
    assert RELEASE_AT_COMMIT not in write and write.endswith("; COMMIT")  # synchronous
    batches.clear()

    assert post(event()).status_code == 201
    lock, write = batches
    assert lock.startswith("BEGIN; EXECUTE consentry_lock(")
    assert write.startswith(RELEASE_AT_COMMIT + "; EXECUTE consentry_insert_records(")
    assert write.endswith(f"; COMMIT; {FLUSH_WAL}")  # one round trip; answered after it


def test_postgres_append_runs_statements_prepared_once_per_connection(post, batches):
    body = event()
    for answer in (post(event()), post(body), post(event()), post(body)):
        assert answer.status_code == 201
    prepares = [batch for batch in batches if "PREPARE" in batch]
    # The append's statements, once, the probe for a subject's records (a first consent) with
    # them; it goes out with the locking read.
    assert len(prepares) == 1 and "FOR UPDATE" in prepares[0]
    assert "PREPARE consentry_subject_probe" in prepares[0]
    names = {
        row[0] for row in db.session.execute(text("SELECT name FROM pg_prepared_statements")).all()
    }  # the session's own connection prepares nothing of the ledger's
    assert not {name for name in names if name.startswith("consentry_")}
    locks = [batch for batch in batches if "EXECUTE consentry_lock(" in batch]
    lookups = [
        batch for batch in locks if f"client_event_id = '{body['client_event_id']}'" in batch
    ]
    # New events are not looked up; the replay is, with its values in the statement, planned
    # for them each time: the best plan depends on the size of consent_records.
    assert len(lookups) == 1 and f"client_event_id = '{body['client_event_id']}'" in lookups[0]


def test_postgres_banner_probe_and_ledger_share_one_prepared_version_read(post, batches, client):
    for _ in range(2):
        assert client.get("/api/v1/sites/news-example/banner").status_code == 200
        assert post(event()).status_code == 201
    prepares = [batch for batch in batches if "PREPARE consentry_config_version AS" in batch]
    assert len(prepares) == 1  # by the first banner request; the ledger's batches use it too
    probes = [batch for batch in batches if batch.startswith("EXECUTE consentry_config_version(")]
    assert len(probes) >= 2 and set(probes) == {"EXECUTE consentry_config_version('news-example')"}
    locks = [batch for batch in batches if "EXECUTE consentry_lock(" in batch]
    assert len(locks) == 3 and all("EXECUTE consentry_config_version(" in lock for lock in locks)


def test_postgres_statements_are_sent_whole_when_preparing_is_off(post, batches, app, client):
    app.config["PREPARED_STATEMENTS"] = False
    for _ in range(2):
        assert client.get("/api/v1/sites/news-example/banner").status_code == 200
        assert post(event()).status_code == 201
    assert not any("PREPARE" in batch or "EXECUTE" in batch for batch in batches)
    writes = [batch for batch in batches if "INSERT INTO consent_records" in batch]
    assert len(writes) == 2


def test_postgres_prepared_statements_outlive_rollbacks_on_their_connection(
    app, backend, client, make_site
):
    """A replay rolls back. psycopg, left to prepare statements itself (the banner's version
    probe, on the same connection, after five runs), would then deallocate every prepared
    statement of the connection, and the next append would fail on it."""
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL only")
    from service.database import direct_connections

    make_site()
    body = event()
    post = lambda body: client.post(  # noqa: E731
        "/api/v1/sites/news-example/consents", json=body, headers={"Origin": ORIGIN}
    )
    assert post(body).status_code == 201
    connection = direct_connections.get(db.engine)
    for _ in range(6):
        assert client.get("/api/v1/sites/news-example/banner").status_code == 200
    assert post(body).get_json()["seq"] == 1  # the replay's transaction is rolled back
    assert post(event()).get_json()["seq"] == 2
    assert direct_connections.get(db.engine) is connection  # never failed, never replaced


def test_postgres_append_recovers_when_the_prepared_statements_are_gone(
    app, backend, client, make_site
):
    """As behind a proxy that hands the session another server connection: the append that
    meets it drops the connection and runs again on a new one (the ledger writer)."""
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL only")
    from service.database import direct_connections

    make_site()
    post = lambda: client.post(  # noqa: E731
        "/api/v1/sites/news-example/consents", json=event(), headers={"Origin": ORIGIN}
    )
    assert post().status_code == 201
    first = direct_connections.get(db.engine)
    first.execute("DEALLOCATE ALL")
    answer = post()
    assert answer.status_code == 201 and answer.get_json()["seq"] == 2
    assert direct_connections.get(db.engine) is not first
    assert post().get_json()["seq"] == 3
    report = verify_site_ledger("news-example")
    assert report.ok and report.checked == 3


def test_postgres_flush_after_an_early_released_commit_makes_it_durable(app, backend):
    """The write batch's shape, on its own: a commit that frees its locks before its WAL flush,
    then the flushing statement in the same simple query."""
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL only")
    from service.database import direct_connections

    connection = direct_connections.get(db.engine)
    connection.execute("CREATE TABLE wal_probe (x int)")
    try:
        for _ in range(20):
            cursor = connection.execute(
                f"BEGIN; {RELEASE_AT_COMMIT}; INSERT INTO wal_probe VALUES (1); COMMIT; "
                f"SELECT pg_current_wal_insert_lsn()::text; {FLUSH_WAL}"
            )
            for _ in range(4):
                cursor.nextset()
            after_commit = cursor.fetchone()[0]
            flushed = connection.execute(
                "SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn", (after_commit,)
            ).fetchone()[0]
            assert flushed
    finally:
        connection.execute("DROP TABLE wal_probe")


def test_postgres_replay_waits_for_the_flush_of_the_entry_it_answers_with(post, batches):
    first, body = post(event()), event()
    assert post(body).status_code == 201
    batches.clear()
    again = post(body)
    assert again.status_code == 201 and again.get_json()["seq"] == first.get_json()["seq"] + 1
    # The try without the lookup ran into the entry and was rolled back; the one with it answers
    # after the flush.
    lookup = [index for index, batch in enumerate(batches) if "FROM consent_records" in batch]
    assert batches[lookup[0] + 1 :] == [FLUSH_WAL]
    count = db.session.execute(text("SELECT count(*) FROM consent_records")).scalar_one()
    assert count == 2


@pytest.mark.parametrize("why", ["turned off", "flush refused"])
def test_postgres_append_commits_synchronously_without_early_release(
    post, batches, app, monkeypatch, why
):
    from service.consents import writer

    if why == "turned off":
        app.config["EARLY_LOCK_RELEASE"] = False
    else:  # as for a role without EXECUTE on the function: the trial statement fails
        monkeypatch.setattr(writer, "FLUSH_WAL", "SELECT consentry_no_such_function()")
    for _ in range(3):
        assert post(event()).status_code == 201
    writes = [batch for batch in batches if "COMMIT" in batch]
    assert len(writes) == 3 and all(batch.endswith("; COMMIT") for batch in writes)
    assert not any(RELEASE_AT_COMMIT in batch for batch in batches)


def test_postgres_a_flush_that_fails_after_the_commit_is_answered_by_the_retry(
    post, batches, app, monkeypatch
):
    """The commit is in, its flush failed (a connection lost between the two): the request fails,
    the widget sends the event again, and the retry answers with the entry that was kept."""
    from service.consents import writer

    assert post(event()).status_code == 201  # the site's first entry (and checkpoint)
    body = event()
    with monkeypatch.context() as broken:
        broken.setattr(writer, "FLUSH_WAL", "SELECT consentry_no_such_function()")
        failed = post(body)
    assert failed.status_code >= 500
    retry = post(body)
    assert retry.status_code == 201 and retry.get_json()["seq"] == 2
    again = post(body).get_json()  # and the same answer every time after
    assert {k: v for k, v in again.items() if k != "subject_token"} == {
        k: v for k, v in retry.get_json().items() if k != "subject_token"
    }
    count = db.session.execute(text("SELECT count(*) FROM consent_records")).scalar_one()
    assert count == 2
