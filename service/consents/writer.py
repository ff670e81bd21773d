"""The ledger writer: lock a site's head, append entries and checkpoints, move the head.

Every append runs in one transaction on the thread's direct connection
(:class:`service.database.DirectConnections`) with statements compiled once per dialect
(:class:`service.database.Compiled`), because the consent POST is the service's hottest write:
the ORM's unit of work, the pool checkout and SQLAlchemy's per-statement work cost several times
the SQL itself. On PostgreSQL an append takes two round trips, where the ORM path took eight:
``BEGIN`` and the locking read go out together, and so do the inserts, the head update and
``COMMIT``, each batch as one simple query (:class:`LedgerTransaction`).

On PostgreSQL an append also releases its lock before its WAL flush (:data:`FLUSH_WAL`), so the
next append to the site does not wait for the disk; the consent is answered only once the flush
is done.

The site's write lock is SQLite's ``BEGIN IMMEDIATE`` (queued on a lock file, ``AppendQueue``) or
a PostgreSQL row lock on ``ledger_heads``, so appends from every worker and every machine form
one chain.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from flask import Flask, current_app
from sqlalchemy import UniqueConstraint, bindparam, exists, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.sql.elements import TextClause

from ..database import (
    LOST_PREPARED,
    BatchStatement,
    Compiled,
    begin_write,
    direct_connections,
)
from ..extensions import db
from ..ledger.chain import GENESIS_HASH
from ..ledger.vocabulary import DOCUMENT_KINDS
from ..sites.service import CONFIG_VERSION, CONFIG_VERSION_PREPARED_AS
from .group import GroupCommit, Item, Result
from .models import Checkpoint, ConsentRecord, LedgerHead, VersionSpan

RECORDS = ConsentRecord.__table__
HEADS = LedgerHead.__table__
CHECKPOINTS = Checkpoint.__table__

# A ledger holds an event once: what an insert of an event recorded before runs into.
EVENT_ONCE = next(
    constraint
    for constraint in RECORDS.constraints
    if isinstance(constraint, UniqueConstraint)
    and [column.name for column in constraint.columns] == ["site_id", "client_event_id"]
)
HEAD_FIELDS = ("seq", "head_hash", "frontier", "last_checkpoint_size", "last_checkpoint_at")
RECORD_COLUMNS = tuple(column.key for column in RECORDS.columns if column.key != "redacted_at")
CHECKPOINT_COLUMNS = ("site_id", "tree_size", "root_hash", "timestamp", "kid", "signature")

# Early lock release (PostgreSQL). An append commits with ``synchronous_commit`` off, which frees
# the site's row lock as soon as the commit record is in the WAL buffers, and then, in the same
# round trip, runs this statement in a transaction of its own: its transactional WAL message
# makes it a writing transaction, so its commit flushes the WAL (synchronously, to standbys as
# configured) up to itself, and with it the append's commit record, which precedes it. WAL is
# flushed in order, so after a crash the chain is still a prefix of what was appended, and no
# consent is answered before it is durable. Appends that write a checkpoint commit synchronously:
# a checkpoint is published, and must never vanish.
RELEASE_AT_COMMIT = "SET LOCAL synchronous_commit TO off"
FLUSH_WAL = "SELECT pg_logical_emit_message(true, 'consentry', 'flush')"
_can_flush_wal: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()

# PostgreSQL: the append's statements that read a row by its primary key or insert one, prepared
# on the server once per connection (``PREPARED_STATEMENTS``): parsing and planning them was most
# of their server time (docs/performance.md). They read ``sites`` and ``ledger_heads`` (a row per
# site); a generic plan made while such a table had a few rows (a scan of them) is replaced when
# autovacuum next analyzes it, which the table's own inserts and updates bring. Not ``earlier``:
# a generic plan of it made while consent_records was small scans the table until the next
# ANALYZE.
PREPARED_AS = {
    "lock": "consentry_lock",
    "config_version": CONFIG_VERSION_PREPARED_AS,  # the banner's probe prepares it too
    "insert_records": "consentry_insert_records",
    "save_head": "consentry_save_head",
    "subject_probe": "consentry_subject_probe",
}


# Whether a subject has entries besides an event's (:mod:`.identity`); sent with the locking
# read, prepared (PREPARED_AS): planning it was a measurable share of a first consent, and its
# equality on (site_id, subject) keeps an index plan (a plan made while the table was small is
# replaced when autovacuum analyzes it, as for the other prepared statements).
SUBJECT_PROBE = select(
    exists().where(
        RECORDS.c.site_id == bindparam("site_id"),
        RECORDS.c.subject == bindparam("subject"),
        RECORDS.c.client_event_id != bindparam("client_event_id"),
    )
)


def merge_version_spans(dialect: Dialect) -> TextClause:
    """Widen the site's :class:`.models.VersionSpan` rows by the entries ``(after, through]``:
    run when an append cuts a checkpoint, over the entries since the one before (at most
    ``CHECKPOINT_EVERY``, read through the seq index), so it costs the appends nothing between
    checkpoints. Hand-written because the JSON path and the two-value min and max are the
    dialects' own; the kinds are our constants."""
    if dialect.name == "postgresql":
        version = "CAST(r.documents -> kinds.kind ->> 'version' AS INTEGER)"
        least, greatest = "LEAST", "GREATEST"
    else:
        version = "CAST(json_extract(r.documents, '$.' || kinds.kind || '.version') AS INTEGER)"
        least, greatest = "min", "max"
    kinds = ", ".join(f"('{kind}')" for kind in DOCUMENT_KINDS)
    spans = VersionSpan.__tablename__
    return text(
        f"WITH kinds(kind) AS (VALUES {kinds}), "
        f"named AS (SELECT kinds.kind AS kind, {version} AS version, r.seq AS seq "
        f"FROM {RECORDS.name} AS r, kinds "
        "WHERE r.site_id = :site_id AND r.seq > :after AND r.seq <= :through) "
        f"INSERT INTO {spans} (site_id, kind, version, first_seq, last_seq) "
        "SELECT :site_id, kind, version, min(seq), max(seq) FROM named "
        "WHERE version IS NOT NULL GROUP BY kind, version "
        "ON CONFLICT (site_id, kind, version) DO UPDATE SET "
        f"first_seq = {least}({spans}.first_seq, excluded.first_seq), "
        f"last_seq = {greatest}({spans}.last_seq, excluded.last_seq)"
    )


# What a transaction meets on a connection that is dead or has lost its prepared statements.
RECONNECT = (psycopg.OperationalError, *LOST_PREPARED)


class EventRecordedBefore(Exception):
    """An entry's insert ran into one recorded before for the same event (:data:`EVENT_ONCE`);
    its transaction is rolled back."""


def recorded_before(error: Exception) -> bool:
    """Whether a failed insert is that of an event the site's ledger holds already."""
    if isinstance(error, psycopg.errors.UniqueViolation):
        return error.diag.constraint_name == EVENT_ONCE.name
    columns = ", ".join(f"{RECORDS.name}.{column.name}" for column in EVENT_ONCE.columns)
    return isinstance(error, sqlite3.IntegrityError) and str(error) == (
        f"UNIQUE constraint failed: {columns}"
    )


@dataclass
class HeadState:
    """A site's ledger head as read under its lock: the last entry and the Merkle frontier."""

    site_id: str
    seq: int
    head_hash: str
    frontier: list[str]
    last_checkpoint_size: int
    last_checkpoint_at: datetime | None


@dataclass(frozen=True)
class LockedHead:
    """What the locking read answers besides the head: the site's ``config_version`` now (to
    check the cached site context against), by ``client_event_id``, the ids of the entries
    already recorded for the events asked about (idempotency checked under the lock), and the
    events asked about whose subject has other entries (:mod:`.identity`)."""

    head: HeadState
    config_version: int
    earlier: dict[str, str]
    subject_has_records: frozenset[str] = frozenset()


class Statements:
    """The append's statements, compiled for one dialect."""

    def __init__(self, dialect: Dialect, prepare: bool = False) -> None:
        # Three plain lookups plan faster on PostgreSQL than one join with a subquery; they go
        # in one round trip all the same.
        lock = (
            select(*(HEADS.c[name] for name in HEAD_FIELDS))
            .where(HEADS.c.site_id == bindparam("site_id"))
            .with_for_update()  # SQLite: BEGIN IMMEDIATE already holds the lock
        )
        earlier = select(RECORDS.c.id).where(
            RECORDS.c.site_id == bindparam("site_id"),
            RECORDS.c.client_event_id == bindparam("client_event_id"),
        )
        dialect_insert = pg_insert if dialect.name == "postgresql" else sqlite_insert
        self.lock = Compiled(lock, dialect)
        self.config_version = Compiled(CONFIG_VERSION, dialect)
        self.earlier = Compiled(earlier, dialect)
        self.subject_probe = Compiled(SUBJECT_PROBE, dialect)
        self.create_head = Compiled(
            dialect_insert(HEADS).on_conflict_do_nothing(), dialect, ["site_id", *HEAD_FIELDS]
        )
        self.insert_records = Compiled(insert(RECORDS), dialect, RECORD_COLUMNS)
        self.insert_checkpoints = Compiled(insert(CHECKPOINTS), dialect, CHECKPOINT_COLUMNS)
        self.merge_version_spans = Compiled(merge_version_spans(dialect), dialect)
        self.save_head = Compiled(
            update(HEADS).where(HEADS.c.site_id == bindparam("head_site_id")),
            dialect,
            HEAD_FIELDS,
        )
        self.prepared: list[BatchStatement] = []
        if dialect.name == "postgresql":  # every statement goes out in a batch
            for name, compiled in list(vars(self).items()):
                if isinstance(compiled, Compiled):
                    prepared_as = PREPARED_AS.get(name) if prepare else None
                    setattr(self, name, BatchStatement(compiled, prepared_as))
            self.prepared = [getattr(self, name) for name in PREPARED_AS if prepare]


Step = tuple[Compiled | BatchStatement | str, Mapping[str, Any] | None]


class LedgerTransaction:
    """One write transaction on a site's ledger (:meth:`LedgerWriter.transaction`): ``lock``
    first, then ``write``, which commits. A transaction that does not write is rolled back.

    Each of the two is one batch of statements. On PostgreSQL a batch is rendered client side
    (:class:`BatchStatement`) and sent as one simple query: one round trip, with half the client
    work of the same statements in psycopg's pipeline mode (measured; docs/performance.md).
    """

    def __init__(
        self, engine: Engine, connection: Any, statements: Statements, early_release: bool = False
    ):
        self.connection = connection
        self.statements = statements
        self.begin = begin_write(engine)
        self.early_release = early_release
        postgresql = engine.dialect.name == "postgresql"
        self.literal = psycopg.adapt.Transformer(connection).as_literal if postgresql else None
        self.begun = False
        self.flush_on_exit = False
        # The head's checkpoint as locked: what the version spans cover before this write.
        self.checkpointed_through: int | None = None

    def _run(self, steps: list[Step], fetch: bool = False) -> list[Any]:
        """Run ``steps`` in order, after ``BEGIN`` in the transaction's first batch. ``fetch``:
        every step is a query, and the first row of each (or None) is returned."""
        begin = [] if self.begun else [(self.begin, None)]
        self.begun = True
        if self.literal is None:  # SQLite runs in process: no round trips to save
            rendered = [
                (step.sql, step.params(values)) if isinstance(step, Compiled) else (step, ())
                for step, values in begin + steps
            ]
            cursors = [self.connection.execute(sql, params) for sql, params in rendered]
            return [cursor.fetchone() for cursor in cursors[len(begin) :]] if fetch else []
        query = b"; ".join(self._render(step, values) for step, values in begin + steps)
        cursor = self.connection.execute(query, prepare=False)  # no parameters: simple query
        if not fetch:
            return []
        if begin:
            cursor.nextset()
        rows = [cursor.fetchone()]
        while cursor.nextset():
            rows.append(cursor.fetchone())
        return rows

    def _render(self, step: BatchStatement | str, values: Mapping[str, Any] | None) -> bytes:
        return step.render(values, self.literal) if values is not None else step.encode()

    def lock(
        self,
        site_id: str,
        client_event_ids: Sequence[str] = (),
        subjects: Sequence[tuple[str, str]] = (),
    ) -> LockedHead:
        """Lock the site's head (creating it on the site's first append), and look up which of
        ``client_event_ids`` are recorded already and which ``subjects`` (subject,
        client_event_id) have entries besides that event's, in the same round trip."""
        locked = self._read_locked(site_id, client_event_ids, subjects)
        if locked is None:
            new_head = {"site_id": site_id, "seq": 0, "head_hash": GENESIS_HASH, "frontier": []}
            new_head |= {"last_checkpoint_size": 0, "last_checkpoint_at": None}
            self._run([(self.statements.create_head, new_head)])
            locked = self._read_locked(site_id, client_event_ids, subjects)
        self.checkpointed_through = locked.head.last_checkpoint_size
        return locked

    def _read_locked(
        self, site_id: str, client_event_ids: Sequence[str], subjects: Sequence[tuple[str, str]]
    ) -> LockedHead | None:
        statements = self.statements
        steps: list[Step] = [
            (statements.lock, {"site_id": site_id}),
            (statements.config_version, {"site_id": site_id}),
        ]
        steps += [
            (statements.earlier, {"site_id": site_id, "client_event_id": event_id})
            for event_id in client_event_ids
        ]
        steps += [
            (statements.subject_probe, {"site_id": site_id, "subject": s, "client_event_id": e})
            for s, e in subjects
        ]
        locked, (config_version,), *found = self._run(steps, fetch=True)
        if locked is None:
            return None
        head = HeadState(site_id, *statements.lock.row(locked))
        found_earlier, probed = found[: len(client_event_ids)], found[len(client_event_ids) :]
        pairs = zip(client_event_ids, found_earlier, strict=True)
        earlier = {event_id: ids[0] for event_id, ids in pairs if ids}
        with_records = frozenset(
            event_id for (_, event_id), (has,) in zip(subjects, probed, strict=True) if has
        )
        return LockedHead(head, config_version, earlier, with_records)

    def write(
        self, head: HeadState, records: list[dict[str, Any]], checkpoints: list[dict[str, Any]]
    ) -> None:
        """Insert ``records`` and ``checkpoints``, move the head and commit; with early lock
        release (no checkpoint), commit first and then wait for the WAL flush. Raises
        :class:`EventRecordedBefore` when a record's event is in the ledger already."""
        statements = self.statements
        head_values = {name: getattr(head, name) for name in HEAD_FIELDS}
        head_values["head_site_id"] = head.site_id
        release_early = self.early_release and not checkpoints
        steps: list[Step] = [(RELEASE_AT_COMMIT, None)] if release_early else []
        steps += [(statements.insert_records, record) for record in records]
        steps += [(statements.insert_checkpoints, checkpoint) for checkpoint in checkpoints]
        if checkpoints:
            if self.checkpointed_through is None:
                raise RuntimeError("A write that cuts a checkpoint needs the head's lock first.")
            covered = {"after": self.checkpointed_through, "through": head.last_checkpoint_size}
            steps.append((statements.merge_version_spans, {"site_id": head.site_id, **covered}))
        steps += [(statements.save_head, head_values), ("COMMIT", None)]
        if release_early:
            steps.append((FLUSH_WAL, None))
        try:
            self._run(steps)
        except (psycopg.errors.UniqueViolation, sqlite3.IntegrityError) as error:
            if recorded_before(error):
                raise EventRecordedBefore("The ledger holds an entry for this event.") from error
            raise

    def flush_before_answering(self) -> None:
        """Flush the WAL once this transaction has ended: a replay answers with an entry that
        an early-released append may have committed without its flush yet."""
        self.flush_on_exit = self.early_release


class AppendQueue:
    """SQLite: a lock file beside the database queues the appenders of every process.

    ``BEGIN IMMEDIATE`` alone would serialise them too, but SQLite's busy handler makes a waiting
    writer sleep 1, 2, 5, 10... ms between retries, so two workers spend much of their time
    asleep while the lock is free; the kernel wakes an ``flock`` waiter the moment the holder
    lets go. PostgreSQL needs nothing of the kind: its row lock wakes waiters itself.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    @contextlib.contextmanager
    def held(self, engine: Engine) -> Iterator[None]:
        path = engine.url.database
        if engine.dialect.name != "sqlite" or not path or path == ":memory:":
            yield
            return
        descriptor = self._descriptor(path)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)

    def _descriptor(self, database: str) -> int:
        """This thread's own descriptor (flock excludes between descriptors, not threads)."""
        descriptors = self._local.__dict__.setdefault("descriptors", {})
        if database not in descriptors:
            descriptors[database] = os.open(
                f"{database}-append.lock", os.O_RDWR | os.O_CREAT, 0o600
            )
        return descriptors[database]


append_queue = AppendQueue()


def end_session_transaction() -> None:
    """Commit the ORM session's open transaction, if any: on SQLite its snapshot would hide what
    the direct connection commits from the session's later reads. (A request without a session
    does not get one here.)"""
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()


def can_flush_wal(connection: Any) -> bool:
    """Whether :data:`FLUSH_WAL` runs on this connection, tried once per connection: it needs
    ``EXECUTE`` on the function (everyone has it by default) and a primary, not a standby.
    Where it cannot run, appends commit synchronously instead."""
    allowed = _can_flush_wal.get(connection)
    if allowed is None:
        try:
            connection.execute(FLUSH_WAL)
            allowed = True
        except psycopg.Error:
            if connection.broken:
                raise  # the connection, not the statement: the request fails as for any query
            allowed = False
        _can_flush_wal[connection] = allowed
    return allowed


class LedgerWriter:
    """The one way into the ledger's tables: every append, checkpoint and import goes through
    :meth:`transaction` (or, for live consents, :meth:`append_in_group`).

    It owns what makes writing fast and safe, so the rest of the code does not see it: the
    thread's direct connection (:class:`service.database.DirectConnections`), the statements
    compiled once per dialect and prepared once per connection, the SQLite lock-file queue
    (:class:`AppendQueue`), PostgreSQL's early lock release and the group commit
    (:class:`.group.GroupCommit`). ``PREPARED_STATEMENTS`` and ``EARLY_LOCK_RELEASE`` are read
    from the app's configuration at each transaction.
    """

    def __init__(self) -> None:
        self._groups: GroupCommit = GroupCommit()
        self._statements: dict[tuple[str, bool], Statements] = {}

    def append_in_group(
        self, site_id: str, item: Item, run: Callable[[Sequence[Item]], Sequence[Result]]
    ) -> Result:
        """``run`` ``item`` with the other appends this worker has waiting for the site, in one
        transaction (``run`` opens it with :meth:`transaction`); ``item``'s own result."""
        end_session_transaction()  # its snapshot could predate the entry a replay reads
        return self._groups.submit(site_id, item, lambda group: self._run_reconnecting(run, group))

    @staticmethod
    def _run_reconnecting(run: Callable[[Sequence[Item]], Sequence[Result]], group):
        """``run(group)``, once more on a new connection when the thread's direct connection
        turned out dead or without its prepared statements (a PostgreSQL restart, a proxy that
        changed server connections): the transaction then dropped the connection. Safe to run
        again: an event whose commit did get through is answered with that first recording."""
        try:
            return run(group)
        except RECONNECT:
            if direct_connections.holds(db.engine):
                raise  # the connection is fine: the statement itself failed
            return run(group)

    @contextlib.contextmanager
    def transaction(self, engine: Engine | None = None) -> Iterator[LedgerTransaction]:
        """A write transaction on the thread's direct connection; rolled back unless it wrote,
        and when the block raises. The ORM session's transaction is ended first
        (:func:`end_session_transaction`)."""
        engine = engine or db.engine
        end_session_transaction()
        postgresql = engine.dialect.name == "postgresql"
        config = current_app.config
        prepare = postgresql and config["PREPARED_STATEMENTS"]
        statements = self._statements_for(engine.dialect, prepare)
        connection = direct_connections.get(engine)
        with append_queue.held(engine):
            try:
                direct_connections.prepare(engine, statements.prepared)
                early_release = (
                    postgresql and config["EARLY_LOCK_RELEASE"] and can_flush_wal(connection)
                )
                transaction = LedgerTransaction(engine, connection, statements, early_release)
                yield transaction
            except LOST_PREPARED:
                # A new connection prepares the statements anew (``append_in_group`` retries).
                direct_connections.discard()
                raise
            finally:
                direct_connections.rollback()  # nothing to do after a commit
            if transaction.flush_on_exit:
                connection.execute(FLUSH_WAL)

    def _statements_for(self, dialect: Dialect, prepare: bool) -> Statements:
        statements = self._statements.get((dialect.name, prepare))
        if statements is None:
            statements = self._statements[dialect.name, prepare] = Statements(dialect, prepare)
        return statements


def ledger_writer() -> LedgerWriter:
    """The app's ledger writer (:func:`init_app`)."""
    return current_app.extensions["consentry_ledger_writer"]


def init_app(app: Flask) -> None:
    app.extensions["consentry_ledger_writer"] = LedgerWriter()
