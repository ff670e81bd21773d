"""Engine set-up: durable SQLite settings, and write transactions that lock early.

SQLite: WAL (readers never block the writer), ``synchronous=FULL`` (a committed consent survives a
power cut) and foreign keys on. pysqlite's own transaction handling is switched off so that we emit
``BEGIN`` ourselves (SQLAlchemy's documented pysqlite recipe): every transaction starts with
``BEGIN IMMEDIATE``, which takes the database's write lock before its first read, so writers
queue on ``busy_timeout`` instead of failing when a stale read snapshot cannot be upgraded
(``SQLITE_BUSY_SNAPSHOT``). Work that only reads starts with a plain ``BEGIN`` and never blocks
a writer: GET, HEAD and OPTIONS requests, and blocks run under :func:`read_only`. A unit of work
that must write in such a context asks for ``BEGIN IMMEDIATE`` with :func:`write_transaction`.
The ledger append takes the lock the same way on the thread's direct connection
(:class:`DirectConnections`, :func:`begin_write`). See docs/operations.md, "Concurrent writes".

At start-up and on every new connection the durability settings are read back
(:func:`check_durability`): the service refuses to run on a database that could lose a committed
consent (SQLite not in WAL or below ``synchronous=FULL``; PostgreSQL with ``fsync`` or
``synchronous_commit`` off) unless ``CHECK_DURABILITY`` is false. See docs/operations.md.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import psycopg
from flask import Flask, current_app, g, has_app_context, has_request_context, request
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql import ClauseElement

from .extensions import db

IMMEDIATE = "consentry_begin_immediate"  # execution option: this transaction writes
# Set in ``g`` (the app context, whose lifetime is the ORM session's): its transactions only read.
READ_ONLY = "consentry_read_only"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The SQLite busy handler's wait for the write lock, in milliseconds (docs/operations.md).
BUSY_TIMEOUT_MS = 30_000


def create_private_file(path: str | None) -> None:
    """Create the SQLite file owner-only (0600) before SQLite would create it with the umask's
    0644: it holds personal data. SQLite gives its -wal and -shm files the same permissions."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    # An existing file is left as it is; a missing folder is SQLite's to report.
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def checkpoint_wal(engine: Engine) -> None:
    """SQLite: copy the write-ahead log into the database file and empty it, so that page images
    written before an erasure (which still hold what it removed) leave the disk. Best effort: a
    reader still holding an old snapshot keeps the log until the next checkpoint."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        raw.close()


def configure_sqlite(engine: Engine) -> None:
    create_private_file(engine.url.database)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Erased personal data must not linger in freed pages of the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        writes = begins_write(connection)
        connection.info[READ_ONLY] = not writes
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def begins_write(connection: Connection) -> bool:
    """Whether the transaction starting on ``connection`` may write: unless it was asked for as a
    write (:func:`write_transaction`), everything but read-only work is taken to write."""
    return bool(connection.get_execution_options().get(IMMEDIATE)) or not in_read_only_context()


def in_read_only_context() -> bool:
    return has_app_context() and g.get(READ_ONLY, False)


@contextlib.contextmanager
def read_only() -> Iterator[None]:
    """Transactions begun inside only read: on SQLite a plain ``BEGIN``, which never holds up a
    writer (long reads: verification, exports, listings). Ends the session's open transaction
    first, so the block starts a fresh one."""
    end_transaction()
    previous = g.get(READ_ONLY, False)
    setattr(g, READ_ONLY, True)
    try:
        yield
    finally:
        end_read_only_transaction()
        setattr(g, READ_ONLY, previous)


def read_only_command(command: Callable) -> Callable:
    """Run a CLI command's body under :func:`read_only` (put it below ``@with_appcontext``)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        with read_only():
            return command(*args, **kwargs)

    return run


def end_transaction() -> None:
    """Commit the session's open transaction, if any (a request without one gets none)."""
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()


def end_read_only_transaction() -> None:
    """End the session's transaction if it began read-only: it must not outlive the read-only
    work (a test's app context, and its session, outlive each request)."""
    if db.session.registry.has():
        session = db.session()
        if session.in_transaction() and session.connection().info.get(READ_ONLY):
            session.commit()


class WriteInReadOnlyTransaction(RuntimeError):
    """A read-only transaction (plain ``BEGIN`` on SQLite) tried to write: under contention it
    would fail at once instead of queueing. Start the unit of work with :func:`write_transaction`.
    """


def complain_of_write(what: str) -> None:
    """A write in read-only work: an error under ``TESTING`` (so the suites find every one), a
    warning otherwise (the write still goes through unless another writer holds the lock)."""
    where = f"{request.method} {request.path}" if has_request_context() else "outside a request"
    message = f"{what} in a read-only transaction ({where}): start it with write_transaction()"
    if current_app.config.get("TESTING"):
        raise WriteInReadOnlyTransaction(message)
    current_app.logger.warning(message)


def session_reads_only(session: Session) -> bool:
    """Whether the session's open transaction began read-only (SQLite's plain ``BEGIN``). A
    session with no transaction yet is not: the write starts it, with nothing read before."""
    if not has_app_context() or not session.in_transaction():
        return False
    return bool(session.connection().info.get(READ_ONLY))


@event.listens_for(db.session, "before_flush")
def check_flush(session: Session, _context, _instances) -> None:
    if (session.new or session.dirty or session.deleted) and session_reads_only(session):
        complain_of_write("An ORM flush")


@event.listens_for(db.session, "do_orm_execute")
def check_statement(state: ORMExecuteState) -> None:
    writes = state.is_insert or state.is_update or state.is_delete
    if writes and session_reads_only(state.session):
        complain_of_write("A write statement")


def mark_read_only_requests(app: Flask) -> None:
    """GET, HEAD and OPTIONS requests only read: their transactions start with a plain BEGIN.
    Whatever the request leaves open ends with it: its locks are released (what removing the
    session does, except where a test's app context and session outlive the request)."""

    @app.before_request
    def mark_read_only() -> None:
        if request.method in READ_ONLY_METHODS:
            setattr(g, READ_ONLY, True)

    @app.teardown_request
    def end_request_transaction(_error: BaseException | None) -> None:
        g.pop(READ_ONLY, None)
        if db.session.registry.has():
            db.session.rollback()  # what was not committed is not kept, as after remove()


def configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        # psycopg prepares a statement run five times, and PostgreSQL may then keep one generic
        # plan for it: planned while a table was nearly empty, that plan can scan it in full
        # for the life of the connection (the ledger's locking read slowed with every append
        # until measured). A plan for the actual values and current statistics each time.
        dbapi_connection.execute("SET plan_cache_mode = force_custom_plan")
        dbapi_connection.commit()
        # And no statement prepared by psycopg at all: a pooled connection becomes a thread's
        # direct connection (DirectConnections), where psycopg, holding statements of its own,
        # would answer the first rolled-back append with DEALLOCATE ALL, ours included.
        dbapi_connection.prepare_threshold = None


def write_transaction() -> Connection:
    """Start the session's transaction as a write transaction (call before any read in it),
    even in read-only work (a GET that must write, a command under :func:`read_only`).

    On SQLite this is ``BEGIN IMMEDIATE``; on PostgreSQL it is a normal transaction and callers take
    row or advisory locks for what they serialise.
    """
    if db.session().in_transaction():
        db.session.commit()
    return db.session.connection(execution_options={IMMEDIATE: True})


class DirectConnections:
    """One DB-API connection per thread and engine, kept outside the pool, in autocommit mode:
    whoever uses it opens and ends its own transactions with explicit statements.

    The two hottest paths run on it (the banner's version probe and the ledger append): they skip
    the ORM session, the pool checkout with its pre-ping round trip, and SQLAlchemy's
    per-statement work. A connection that fails is dropped; the next call opens a new one, which
    goes through the pool's connect events (SQLite pragmas, the durability check).
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, engine: Engine) -> Any:
        local = self._local
        if getattr(local, "engine", None) is not engine:
            self.discard()
            pooled = engine.raw_connection()
            pooled.detach()  # ours for the life of the thread
            connection = pooled.dbapi_connection
            if engine.dialect.name == "postgresql":
                connection.autocommit = True  # nothing left open between requests
                # No automatic preparing by psycopg: on a rollback it deallocates every prepared
                # statement of the connection, ours (:meth:`prepare`) included.
                connection.prepare_threshold = None
            local.connection, local.engine, local.prepared = connection, engine, set()
        return local.connection

    def holds(self, engine: Engine) -> bool:
        """Whether this thread has a connection to ``engine`` open (not dropped)."""
        local = self._local
        return getattr(local, "engine", None) is engine and local.connection is not None

    def prepare(self, engine: Engine, statements: Iterable[BatchStatement]) -> None:
        """Prepare, on the thread's connection, those of ``statements`` that are to be prepared
        and are not yet (PostgreSQL). Its plan cache may then choose one generic plan for each,
        where the service's other connections plan every execution afresh
        (``configure_postgresql``): give only statements whose plan cannot go stale."""
        connection, prepared = self.get(engine), self._local.prepared
        missing = [s for s in statements if s.prepare and s.name not in prepared]
        if missing:
            prepare = [statement.prepare for statement in missing]
            connection.execute("; ".join(["SET plan_cache_mode = auto", *prepare]))
            prepared.update(statement.name for statement in missing)

    def query(
        self, engine: Engine, statement: Compiled | BatchStatement, values: Mapping[str, Any]
    ) -> Any:
        """Run one statement on the thread's connection, outside any transaction; its cursor."""
        connection = self.get(engine)
        if isinstance(statement, BatchStatement):
            self.prepare(engine, [statement])
            literal = psycopg.adapt.Transformer(connection).as_literal
            return connection.execute(statement.render(values, literal), prepare=False)
        return connection.execute(statement.sql, statement.params(values))

    def rollback(self) -> None:
        """End whatever transaction the thread's connection has open; a connection that cannot
        roll back is dropped."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            return
        try:
            connection.rollback()
        except Exception:
            self.discard()

    def discard(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.engine = self._local.connection = None
        self._local.prepared = set()
        if connection is not None:
            with contextlib.suppress(Exception):  # already broken: nothing more to release
                connection.close()


direct_connections = DirectConnections()


def begin_write(engine: Engine) -> str:
    """The statement that starts a write transaction on a direct connection: SQLite takes the
    database's write lock at once, so two writers never both read the same ledger head."""
    return "BEGIN IMMEDIATE" if engine.dialect.name == "sqlite" else "BEGIN"


class Compiled:
    """A Core statement compiled once for a dialect, with its values processed for a DB-API
    connection (:meth:`params`) and its result rows read back (:meth:`row`).

    Values go through the columns' own type processors (JSON, timestamps, JSONB), so what this
    stores and reads is exactly what the ORM stores and reads; only SQLAlchemy's per-execution
    work (cache keys, execution contexts, result objects) is skipped.
    """

    def __init__(
        self, statement: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        self.sql = compiled.string
        self.positional = compiled.positiontup  # qmark (SQLite): the names in order
        self.processors = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        columns = getattr(statement, "selected_columns", ())
        self.result_processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]

    def params(self, values: Mapping[str, Any]) -> Any:
        processed = {
            name: (process(values[name]) if process else values[name])
            for name, process in self.processors.items()
        }
        if self.positional is not None:
            return tuple(processed[name] for name in self.positional)
        return processed

    def row(self, raw: Sequence[Any] | None) -> list[Any] | None:
        if raw is None:
            return None
        return [
            process(value) if process else value
            for process, value in zip(self.result_processors, raw, strict=True)
        ]


PLACEHOLDER = re.compile(r"%\((\w+)\)s")  # psycopg's named parameters, as SQLAlchemy renders them
# What a connection whose prepared statements are gone (or stale after a migration) raises.
LOST_PREPARED = (psycopg.errors.InvalidSqlStatementName, psycopg.errors.FeatureNotSupported)


class BatchStatement:
    """A compiled statement as a PostgreSQL batch sends it: its text with the values put in as
    literals by psycopg's own quoting (what its ``ClientCursor`` does, without re-reading the
    query and the parameters each time); or, ``prepared_as`` a name, ``EXECUTE name(values)``
    of the statement prepared once per connection (:meth:`DirectConnections.prepare`). Reads
    rows back as :class:`Compiled` does."""

    def __init__(self, compiled: Compiled, prepared_as: str | None = None) -> None:
        self.compiled = compiled
        self.name, self.prepare = prepared_as, None
        sql = compiled.sql
        if prepared_as:
            names = list(dict.fromkeys(PLACEHOLDER.findall(sql)))
            numbers = {name: f"${number}" for number, name in enumerate(names, 1)}
            self.prepare = f"PREPARE {prepared_as} AS " + PLACEHOLDER.sub(
                lambda match: numbers[match[1]], sql
            )
            sql = f"EXECUTE {prepared_as}(" + ", ".join(f"%({name})s" for name in names) + ")"
        pieces = PLACEHOLDER.split(sql)  # text, name, text, name, ..., text
        self.texts = [piece.encode() for piece in pieces[0::2]]
        self.names = pieces[1::2]

    def render(self, values: Mapping[str, Any], literal: Callable[[Any], bytes]) -> bytes:
        params = self.compiled.params(values)
        parts = [self.texts[0]]
        for name, after in zip(self.names, self.texts[1:], strict=True):
            value = params[name]
            parts += (b"NULL" if value is None else literal(value), after)
        return b"".join(parts)

    def row(self, raw: Sequence[Any] | None) -> list[Any] | None:
        return self.compiled.row(raw)


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
    mark_read_only_requests(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            configure_sqlite(engine)
        elif engine.dialect.name == "postgresql":
            configure_postgresql(engine)
        if app.config["CHECK_DURABILITY"]:
            check_durability(engine)
            check_at_start(app, engine)
