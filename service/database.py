"""Engine set-up: durable SQLite settings, and write transactions that lock early.

SQLite: WAL (readers never block the writer), ``synchronous=FULL`` (a committed consent survives a
power cut) and foreign keys on. pysqlite's own transaction handling is switched off so that we emit
``BEGIN`` ourselves; a unit of work that must be serialised (appending to a site's ledger) asks for
``BEGIN IMMEDIATE`` with :func:`write_transaction`, which takes the write lock before reading the
chain head, so two workers can never both read the same head.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine

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


def durability_settings() -> dict[str, str]:
    """The settings that make a commit durable, read back from the database."""
    if db.engine.dialect.name == "sqlite":
        return {
            "journal_mode": db.session.execute(text("PRAGMA journal_mode")).scalar_one(),
            "synchronous": str(db.session.execute(text("PRAGMA synchronous")).scalar_one()),
        }
    return {
        "fsync": db.session.execute(text("SHOW fsync")).scalar_one(),
        "synchronous_commit": db.session.execute(text("SHOW synchronous_commit")).scalar_one(),
    }


def init_app(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
