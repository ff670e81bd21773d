"""Engine set-up: durable SQLite settings, and write transactions that lock early.

SQLite: WAL (readers never block the writer), ``synchronous=FULL`` (a committed consent survives a
power cut) and foreign keys on. pysqlite's own transaction handling is switched off so that we emit
``BEGIN`` ourselves; a unit of work that must be serialised (appending to a site's ledger) asks for
``BEGIN IMMEDIATE`` with :func:`write_transaction`, which takes the write lock before reading the
chain head, so two workers can never both read the same head.

At start-up and on every new connection the durability settings are read back
(:func:`check_durability`): the service refuses to run on a database that could lose a committed
consent (SQLite not in WAL or below ``synchronous=FULL``; PostgreSQL with ``fsync`` or
``synchronous_commit`` off) unless ``CHECK_DURABILITY`` is false. See docs/operations.md.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from .extensions import db

IMMEDIATE = "consentry_begin_immediate"


def configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(IMMEDIATE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def write_transaction() -> Connection:
    """Start the session's transaction as a write transaction (call before any read in it).

    On SQLite this is ``BEGIN IMMEDIATE``; on PostgreSQL it is a normal transaction and callers take
    row or advisory locks for what they serialise.
    """
    if db.session().in_transaction():
        db.session.commit()
    return db.session.connection(execution_options={IMMEDIATE: True})


class DurabilityError(RuntimeError):
    """The database would not keep a committed consent through a crash or power cut."""


def read_durability_settings(dialect: str, scalar: Callable[[str], object]) -> dict[str, str]:
    """The settings that make a commit durable, read with ``scalar(sql)``."""
    if dialect == "sqlite":
        return {
            "journal_mode": str(scalar("PRAGMA journal_mode")).lower(),
            "synchronous": str(scalar("PRAGMA synchronous")),
        }
    return {
        "fsync": str(scalar("SHOW fsync")),
        "synchronous_commit": str(scalar("SHOW synchronous_commit")),
    }


def durability_settings() -> dict[str, str]:
    """The settings that make a commit durable, read back from the database."""
    return read_durability_settings(
        db.engine.dialect.name, lambda sql: db.session.execute(text(sql)).scalar_one()
    )


def durability_problems(dialect: str, settings: dict[str, str]) -> list[str]:
    """What in ``settings`` could lose a committed consent (empty when durable)."""
    if dialect == "sqlite":
        problems = []
        if settings["journal_mode"] != "wal":
            problems.append(f"journal_mode is {settings['journal_mode']}, not wal")
        if int(settings["synchronous"]) < 2:  # 2 = FULL, 3 = EXTRA
            problems.append(f"synchronous is {settings['synchronous']}, not FULL (2)")
        return problems
    problems = []
    if settings["fsync"] != "on":
        problems.append(f"fsync is {settings['fsync']}, not on")
    if settings["synchronous_commit"] == "off":  # local, remote_write, on, remote_apply: durable
        problems.append("synchronous_commit is off")
    return problems


def check_durability(engine: Engine) -> None:
    """Check every new connection: a connection that could lose commits raises DurabilityError
    (so does the request that opened it)."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()

        def scalar(sql: str) -> object:
            cursor.execute(sql)
            return cursor.fetchone()[0]

        try:
            settings = read_durability_settings(engine.dialect.name, scalar)
        finally:
            cursor.close()
            if engine.dialect.name != "sqlite":
                dbapi_connection.rollback()  # leave the new connection outside a transaction
        problems = durability_problems(engine.dialect.name, settings)
        if problems:
            raise DurabilityError(
                "The database could lose committed consents: "
                + "; ".join(problems)
                + " (set CONSENTRY_CHECK_DURABILITY=false to run anyway; see docs/operations.md)"
            )


def check_at_start(app: Flask, engine: Engine) -> None:
    """Refuse to start on a database that is not durable; a database that is down now is only
    logged (the service starts, /healthz answers 503, and each new connection is checked)."""
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        app.logger.warning("Database unreachable at start-up; durability checked later: %s", error)


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            configure_sqlite(engine)
        if app.config["CHECK_DURABILITY"]:
            check_durability(engine)
            check_at_start(app, engine)
