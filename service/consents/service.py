"""Consent rules and the ledger append.

``prepare_event`` (called by :mod:`.recording`) checks an event against the site (origin,
categories, current documents), then ``append_prepared`` appends it: the append takes the site's
write lock (SQLite ``BEGIN IMMEDIATE``; PostgreSQL a row lock on ``ledger_heads``), re-checks
idempotency under the lock, builds the canonical body, chains it, signs it, extends the Merkle
frontier and cuts a checkpoint when one is due, all in one transaction, together with the appends
the worker has waiting for the same site. The writing itself is :class:`.writer.LedgerWriter`'s.
Nothing here ever updates or deletes an entry.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import islice
from typing import Any

from flask import current_app
from sqlalchemy import Row

from ..crypto.jws import (
    InvalidReceipt,
    attach_signature,
    detached_signature,
    sign_compact,
    verify_compact,
)
from ..documents.banner import read_config_version
from ..documents.service import current_documents, next_scheduled_at
from ..errors import Conflict, DomainError, Forbidden, NotFound, Unprocessable
from ..extensions import db
from ..jurisdictions.regions import RegionRule, mode_for, site_rules
from ..ledger.canonical import canonical_json, parse_canonical
from ..ledger.chain import EntryTemplate, entry_hash, format_timestamp, user_ref
from ..ledger.checkpoint import Checkpoint as SignedCheckpoint
from ..ledger.checkpoint import sign_checkpoint
from ..ledger.erasure import VISIBLE_COLUMNS, ErasureStatement
from ..ledger.merkle import MerkleAccumulator, MerkleTree
from ..ledger.verify import StoredEntry, VerificationReport, verify_ledger
from ..signing import keyring, make_subject_token
from ..sites.service import get_site, origin_allowed
from ..timeutil import as_utc, utcnow
from .head import add_problems, head_problems
from .identity import check_server_caller, subject_proven, subject_token_required
from .models import Checkpoint, ConsentRecord, Erasure
from .outcomes import Recorded, Replayed
from .useragent import coarse_user_agent
from .writer import (
    EventRecordedBefore,
    HeadState,
    LockedHead,
    end_session_transaction,
    ledger_writer,
)

# Columns that copy a body field; verification checks each against the body.
DENORMALISED = (
    "subject",
    "action",
    "method",
    "gpc",
    "choices",
    "documents",
    "recorded_at",
    "client_event_id",
)


class DocumentsOutdated(DomainError, status=409, code="documents_outdated"): ...


# Fields of a request that are not the event: a retry may carry them or not.
NOT_THE_EVENT = ("subject_token",)


def request_fingerprint(site_id: str, event: dict[str, Any]) -> str:
    """HMAC-SHA256 of the normalised event, keyed with the site's pepper (``pepper_for``): equal
    for a retry, different for another event. Keyed, so that whoever reads the database without
    the pepper cannot test a guess of what a visitor sent (an email as ``user_id``, an erased
    subject) against it."""
    normalised = {
        k: (str(v) if isinstance(v, uuid.UUID) else v)
        for k, v in event.items()
        if k not in NOT_THE_EVENT
    }
    return hmac.new(pepper_for(site_id), canonical_json(normalised), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SiteContext:
    """What recording a consent needs of a site, cached per process (see ``site_context``)."""

    id: str
    allowed_origins: list[str]
    categories: list[dict[str, Any]]
    document_refs: dict[str, dict[str, Any]]
    config_version: int
    expires_at: datetime | None
    region_rules: tuple[RegionRule, ...] = ()
    default_mode: str = "opt-in"
    token_max_age: int = 0  # seconds a subject token is valid (the site's consent lifetime)

    def mode_for(self, region: str | None) -> str:
        """The banner mode a visitor from ``region`` is shown (jurisdictions)."""
        return mode_for(self.region_rules, self.default_mode, region)


class SiteChanged(Exception):
    """The site or its documents changed since its context was cached: reload and try again."""


def site_context(site_id: str, refresh: bool = False, at: datetime | None = None) -> SiteContext:
    """The site's origins, categories and current documents, cached per process.

    The hot path reads nothing to validate the cache up front: the append's locking read returns
    ``sites.config_version`` (bumped by every change to the site or its documents), and an append
    made with an older context is abandoned and made again (:class:`SiteChanged`). A context also
    expires when the next scheduled document version takes effect. A context ``at`` a past
    moment (history seeded by ``make demo``, in time order) is kept apart, for the moments up
    to the next document change after it."""
    if at is not None:
        history = current_app.extensions.setdefault("consentry_history_contexts", {})
        since, context = history.get(site_id, (None, None))
        current = (
            context is not None
            and not refresh
            and since <= at
            and (context.expires_at is None or at < context.expires_at)
        )
        if not current:
            context = load_site_context(site_id, at)
            history[site_id] = (at, context)
        return context
    contexts = current_app.extensions.setdefault("consentry_site_contexts", {})
    now = utcnow()
    context = contexts.get(site_id)
    expired = context is not None and context.expires_at is not None and now >= context.expires_at
    if refresh or context is None or expired:
        context = load_site_context(site_id, now)
        contexts[site_id] = context
    return context


def load_site_context(site_id: str, now: datetime) -> SiteContext:
    site = get_site(site_id)  # the version is read first: the data can only be newer
    return SiteContext(
        id=site.id,
        allowed_origins=list(site.allowed_origins),
        categories=list(site.categories),
        document_refs=current_document_refs(site_id, now),
        config_version=site.config_version,
        expires_at=next_scheduled_at(site_id, now),
        region_rules=tuple(site_rules(site)),
        default_mode=site.mode,
        token_max_age=site.consent_lifetime_days * 86_400,
    )


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """The headers of a consent POST that matter (None: not sent)."""

    origin: str | None = None
    user_agent: str | None = None
    idempotency_key: str | None = None
    authorization: str | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """An event that passed every check, ready to be appended: the site context it was checked
    against, the event and the request it came with, and its entry item (:func:`entry_item`)."""

    site: SiteContext
    event: dict[str, Any]
    origin: str | None
    user_agent: str | None
    region: str | None
    item: dict[str, Any]


def prepare_event(
    site_id: str,
    event: dict[str, Any],
    request: ConsentRequest,
    region: str | None = None,
) -> Prepared:
    """Check ``event`` (already parsed by ``ConsentEventSchema``) and who sent it against the
    site; raises the :class:`DomainError` to answer when it is refused. A request without
    ``Origin`` needs an API key with ``consents:write``; an event for a subject with records
    needs its subject token (:mod:`.identity`). An ``Idempotency-Key``, when given, must name
    the event's ``client_event_id``. ``region`` is where the request came from (trusted headers
    only, never the body; None: unknown); the entry records it with the mode the site's rules
    give it."""
    key = request.idempotency_key
    if key is not None and key.strip().lower() != str(event["client_event_id"]):
        raise Unprocessable(
            "Idempotency-Key must equal client_event_id.",
            {"fields": {"Idempotency-Key": ["does not match client_event_id"]}},
        )
    site = site_context(site_id)
    if request.origin is None:
        check_server_caller(site.id, request.authorization)
    return prepare_with(site, event, request.origin, request.user_agent, region)


def prepare_with(
    site: SiteContext,
    event: dict[str, Any],
    origin: str | None,
    user_agent: str | None,
    region: str | None,
) -> Prepared:
    """The event checked against ``site``; a refusal by a cached context is answered only once
    that context is known to be current."""
    while True:
        try:
            choices = check_event(site, event, origin)
            break
        except DomainError:
            prepare = current_app.config["PREPARED_STATEMENTS"]
            if read_config_version(db.engine, site.id, prepare) == site.config_version:
                raise
            site = site_context(site.id, refresh=True)
    fingerprint = request_fingerprint(site.id, event)
    mode = site.mode_for(region)
    item = entry_item(site.id, event, choices, fingerprint, user_agent, region, mode)
    return Prepared(site, event, origin, user_agent, region, item)


def append_prepared(prepared: Prepared) -> Recorded | Replayed:
    """Append a prepared event to the ledger; when the site changed since its context was
    cached, check the event again against the new one first (which may refuse it). Without its
    subject's token, the event is refused under the lock if its subject has other records."""
    unproven = not subject_proven(prepared.site, prepared.event)
    while True:
        try:
            documents = prepared.event["documents"]
            return append_entry(prepared.site, documents, prepared.item, unproven)
        except SiteChanged:
            site = site_context(prepared.site.id, refresh=True)
            prepared = prepare_with(
                site, prepared.event, prepared.origin, prepared.user_agent, prepared.region
            )


@dataclass(frozen=True)
class PastEvent:
    """An event of the past (``make demo``'s month): what the POST would carry, and its time."""

    event: dict[str, Any]  # parsed by ConsentEventSchema
    origin: str | None
    user_agent: str | None
    at: datetime
    region: str | None = None  # where the visitor was (None: unknown), as a CDN header says


def record_history(site_id: str, events: Iterable[PastEvent], group_size: int = 500) -> int:
    """Record past events in time order, each checked and chained as the consent POST does it
    (``check_event``, ``entry_item``, then ``append_group`` with the documents checked under
    the lock), in groups as concurrent POSTs form them; returns how many were new (an event
    recorded before is answered from the ledger, so a repeated run adds nothing)."""
    recorded, iterator = 0, iter(events)
    while batch := list(islice(iterator, group_size)):
        group = []
        for past in batch:
            site = site_context(site_id, at=past.at)
            choices = check_event(site, past.event, past.origin)
            fingerprint = request_fingerprint(site.id, past.event)
            region = past.region
            item = entry_item(
                site.id,
                past.event,
                choices,
                fingerprint,
                past.user_agent,
                region,
                site.mode_for(region),
            )
            pending = PendingAppend(site, past.event["documents"], item | {"recorded_at": past.at})
            group.append(pending)
        end_session_transaction()
        for result in append_group(group):
            if isinstance(result, NotAppended) and result.reason != RECORDED_BEFORE:
                raise result.error or SiteChanged()
            recorded += isinstance(result, Appended)
    return recorded


def known_site(site_id: str) -> SiteContext | None:
    """The site's cached context, or None when there is no such site (for a refusal's CORS)."""
    try:
        return site_context(site_id)
    except NotFound:
        return None


def check_event(site: SiteContext, event: dict[str, Any], origin: str | None) -> dict[str, bool]:
    """The event's origin and choices checked against the site; the complete choices."""
    # Browsers always send Origin on a cross-site POST; a page of another site is refused even for
    # a "simple" text/plain request that CORS would not have preflighted.
    if origin is not None and not origin_allowed(site, origin):
        raise Forbidden(f"Origin {origin} is not allowed to record consent for this site.")
    return check_choices(site, event["action"], event["choices"])


def check_opt_out(site: SiteContext, action: str, choices: dict[str, bool]) -> None:
    """``opt_out`` refuses every category that sells or shares personal data."""
    if action != "opt_out":
        return
    kept = [c["id"] for c in site.categories if c.get("sale_or_sharing") and choices.get(c["id"])]
    if kept:
        raise Unprocessable(
            "opt_out must refuse every sale_or_sharing category.", {"fields": {"choices": kept}}
        )


def check_choices(site: SiteContext, action: str, choices: dict[str, bool]) -> dict[str, bool]:
    """Known categories only; required ones granted; the action agrees with the choices.
    Categories left out are recorded as refused, so every entry names every category."""
    categories = {category["id"]: category for category in site.categories}
    unknown = sorted(set(choices) - set(categories))
    if unknown:
        raise Unprocessable(
            "The choices name categories this site does not have.",
            {"fields": {"choices": [f"Unknown categories: {unknown}"]}},
        )
    complete = {cid: bool(choices.get(cid, False)) for cid in categories}
    for cid, category in categories.items():
        if category["required"]:
            if cid in choices and not choices[cid]:
                raise Unprocessable(
                    f"The category '{cid}' is required and cannot be refused.",
                    {"fields": {"choices": [f"'{cid}' must be true"]}},
                )
            complete[cid] = True
    optional = [cid for cid, category in categories.items() if not category["required"]]
    granted = [cid for cid in optional if complete[cid]]
    if action == "accept_all" and len(granted) != len(optional):
        raise Unprocessable("accept_all must grant every category.", {"fields": {"choices": []}})
    check_opt_out(site, action, complete)
    if action in ("reject_all", "withdraw") and granted:
        raise Unprocessable(
            f"{action} must refuse every optional category.", {"fields": {"choices": granted}}
        )
    return complete


def current_document_refs(site_id: str, now: datetime) -> dict[str, dict[str, Any]]:
    """``{kind: {version, sha256}}`` of every document in force now, the banner text included:
    what a consent must name (the widget sends the config's documents and banner_document)."""
    return {
        kind: {"version": version.version, "sha256": version.content_sha256}
        for kind, version in current_documents(site_id, now).items()
    }


def documents_outdated(site: SiteContext) -> DocumentsOutdated:
    """An event must name exactly the documents in force now; otherwise the visitor saw an older
    text and must be asked again (409 with the current versions)."""
    return DocumentsOutdated(
        "The documents shown are not the current versions: ask the visitor again.",
        {"current": site.document_refs},
    )


RECORDS = ConsentRecord.__table__


def find_event(site_id: str, client_event_id: str) -> Row | None:
    """The entry an earlier request made for this event, if any (a Core row: hot path)."""
    return db.session.execute(
        db.select(RECORDS).where(
            RECORDS.c.site_id == site_id, RECORDS.c.client_event_id == client_event_id
        )
    ).one_or_none()


def replay(record: Row, fingerprint: str) -> dict[str, Any]:
    # An erased event has no request hash left to tell a retry from another event.
    if record.body is None:
        raise Conflict("This event was recorded and has since been erased.", {"id": record.id})
    if not hmac.compare_digest(record.request_sha256, fingerprint):
        raise Unprocessable(
            "This client_event_id (Idempotency-Key) was already used for a different event.",
            {"code": "idempotency_key_reused", "id": record.id},
        )
    return receipt_response(record._mapping)


def receipt_response(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "seq": record["seq"],
        "recorded_at": format_timestamp(as_utc(record["recorded_at"])),
        "receipt": attach_signature(record["body"], record["kid"], record["signature"]),
        "subject_token": make_subject_token(record["site_id"], record["subject"]),
    }


def accumulator(head: HeadState) -> MerkleAccumulator:
    return MerkleAccumulator.restore(head.seq, [bytes.fromhex(node) for node in head.frontier])


def pepper_for(site_id: str) -> bytes:
    """Per-site pepper derived from the service pepper: one leaked site pepper reveals nothing
    about another site's users."""
    return site_pepper(current_app.config["PEPPER"], site_id)


@lru_cache(maxsize=1024)
def site_pepper(pepper: str, site_id: str) -> bytes:
    # Every consent asks for it twice (request hash, user reference): derived once per site.
    return hmac.new(pepper.encode(), f"site-pepper:{site_id}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class PendingAppend:
    """One validated event waiting for its group: the site context it was checked against, the
    documents it names and its entry item (:func:`entry_item`)."""

    site: SiteContext
    documents: dict[str, dict[str, Any]]
    item: dict[str, Any]
    unproven_subject: bool = False  # no valid subject token: refused if the subject has records


@dataclass(frozen=True, slots=True)
class Appended:
    """The append was made: the stored row."""

    row: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NotAppended:
    """The append was not made: the event was recorded before (answer with that first
    recording), the site changed since its context was cached (reload it and try again), the
    documents are outdated or the subject's token is missing (``error``)."""

    reason: str  # RECORDED_BEFORE, SITE_CHANGED, OUTDATED or UNPROVEN
    error: DomainError | None = None


RECORDED_BEFORE, SITE_CHANGED, OUTDATED = "recorded_before", "site_changed", "outdated"
UNPROVEN = "subject_unproven"
AppendResult = Appended | NotAppended


def append_entry(
    site: SiteContext,
    documents: dict[str, dict[str, Any]],
    item: dict[str, Any],
    unproven_subject: bool = False,
) -> Recorded | Replayed:
    """Append one validated event under the site's write lock, in a group with the appends the
    worker has waiting for the same site (:class:`.writer.LedgerWriter`); the receipt of the
    event's first recording when it was recorded before (idempotency, checked under the lock)."""
    writer = ledger_writer()
    pending = PendingAppend(site, documents, item, unproven_subject)
    result = writer.append_in_group(site.id, pending, append_group)
    if isinstance(result, Appended):
        return Recorded(receipt_response(result.row), site)
    if result.reason == RECORDED_BEFORE:
        earlier = find_event(site.id, item["client_event_id"])
        return Replayed(replay(earlier, item["request_sha256"]), site)
    if result.reason == SITE_CHANGED:
        raise SiteChanged()
    raise result.error


def append_group(group: Sequence[PendingAppend]) -> list[AppendResult]:
    """Append a group of events for one site in one transaction under its lock; one result each,
    in order.

    The first try does not look the events up: nearly every one is new, and the ledger's
    unique (site, client_event_id) refuses the insert of one recorded before, which rolls the
    try back. That try, or one that would refuse an event (which may be a retry of one
    recorded before, owed its first answer), gives way to a second try with the lookup. A
    retry costs one more transaction; the lookup was a large share of PostgreSQL's work per
    append (docs/performance.md)."""
    try:
        return append_group_once(group, look_up=False)
    except (EventRecordedBefore, LookUpFirst):
        return append_group_once(group, look_up=True)


class LookUpFirst(Exception):
    """A try without the idempotency lookup would refuse an event: look it up first."""


def append_group_once(group: Sequence[PendingAppend], look_up: bool) -> list[AppendResult]:
    site_id = group[0].site.id
    event_ids = [pending.item["client_event_id"] for pending in group] if look_up else []
    unproven = [
        (pending.item["subject"], pending.item["client_event_id"])
        for pending in group
        if pending.unproven_subject
    ]
    with ledger_writer().transaction() as ledger:
        locked = ledger.lock(site_id, event_ids, unproven)
        verdicts = sort_group(group, locked)
        # An event refused for its token is refused even as a retry: no lookup needed.
        if not look_up and any(v and v.reason not in (RECORDED_BEFORE, UNPROVEN) for v in verdicts):
            raise LookUpFirst()
        accepted = [
            pending.item
            for pending, verdict in zip(group, verdicts, strict=True)
            if verdict is None
        ]
        if accepted:
            rows, checkpoints = chain_entries(locked.head, accepted)
            ledger.write(locked.head, rows, checkpoints)
            appended = iter(rows)
            return [verdict or Appended(next(appended)) for verdict in verdicts]
        if locked.earlier:
            ledger.flush_before_answering()
        return verdicts  # type: ignore[return-value]  (all NotAppended)


def sort_group(group: Sequence[PendingAppend], locked: LockedHead) -> list[NotAppended | None]:
    """Which of the group cannot be appended, and why (None: append it). The same event twice
    in one group is appended once; the second is answered with the first. An event without its
    subject's token is refused when the subject has records, or gets one earlier in the group."""
    seen = set(locked.earlier)
    subjects = set()  # of the events appended by this group: they have records once it commits
    verdicts: list[NotAppended | None] = []
    for pending in group:
        event_id, subject = pending.item["client_event_id"], pending.item["subject"]
        if pending.unproven_subject and (
            event_id in locked.subject_has_records or subject in subjects
        ):
            verdicts.append(NotAppended(UNPROVEN, subject_token_required()))
        elif event_id in seen:
            verdicts.append(NotAppended(RECORDED_BEFORE))
        elif pending.site.config_version != locked.config_version:
            verdicts.append(NotAppended(SITE_CHANGED))
        elif pending.documents != pending.site.document_refs:
            verdicts.append(NotAppended(OUTDATED, documents_outdated(pending.site)))
        else:
            verdicts.append(None)
            seen.add(event_id)
            subjects.add(subject)
    return verdicts


def entry_item(
    site_id: str,
    event: dict[str, Any],
    choices: dict[str, bool],
    fingerprint: str,
    user_agent: str | None,
    region: str | None = None,
    mode: str | None = None,
) -> dict[str, Any]:
    """What an entry records of an event, before it gets its place in the chain (JSON-ready),
    with its body's template and its id made ahead of the append lock. A live event records the
    visitor's ``region`` and the banner's ``mode``, as do past events (the demo's month); imports
    (``bulk``) may know neither."""
    item = {
        "subject": event["subject"],
        "action": event["action"],
        "choices": choices,
        "documents": event["documents"],
        "revision": event["revision"],
        "method": event["method"],
        "gpc": event["gpc"],
        "locale": event["locale"],
        "page": event["page"],
        "user_agent": coarse_user_agent(user_agent),
        "user_ref": user_reference(site_id, event.get("user_id")),
        "client_event_id": str(event["client_event_id"]),
        "request_sha256": fingerprint,
        "region": region,
        "mode": mode,
    }
    return item | {"template": entry_template(site_id, item), "id": str(uuid.uuid4())}


def entry_template(site_id: str, item: dict[str, Any]) -> EntryTemplate:
    fields = {"site": site_id, **{name: item[name] for name in ITEM_BODY_FIELDS}}
    if item.get("mode") is not None:  # live events; imports may not know where they came from
        fields |= {"region": item.get("region"), "mode": item["mode"]}
    return EntryTemplate(fields)


def chain_entries(
    head: HeadState, items: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Give ``items`` their places after ``head``: canonical body, hash chain, Ed25519
    signature, Merkle frontier, and checkpoints when due. Returns the ``consent_records`` and
    ``checkpoints`` rows to insert; the caller holds the site's write lock and writes them. An
    item may carry its own ``recorded_at`` (imports); otherwise it is now."""
    signer = keyring().current
    tree = accumulator(head)
    rows, checkpoints = [], []
    for item in items:
        historical = item.get("recorded_at") is not None
        moment = item["recorded_at"] if historical else utcnow()
        # Live appends come prepared (entry_item); imports are prepared here.
        template = item.get("template") or entry_template(head.site_id, item)
        seq, record_id = head.seq + 1, item.get("id") or str(uuid.uuid4())
        body = template.body(
            id=record_id,
            seq=seq,
            prev_hash=head.head_hash,
            recorded_at=format_timestamp(moment),
            kid=signer.kid,
        )
        digest = entry_hash(body)
        rows.append(
            {
                "id": record_id,
                "site_id": head.site_id,
                "seq": seq,
                **{name: item[name] for name in ITEM_COLUMNS},
                "region": item.get("region"),
                "mode": item.get("mode"),
                "recorded_at": moment,
                "body": body,
                "entry_hash": digest,
                "prev_hash": head.head_hash,
                "kid": signer.kid,
                "signature": detached_signature(sign_compact(body, signer)),
            }
        )
        tree.append(bytes.fromhex(digest))
        head.seq, head.head_hash = seq, digest
        if checkpoint_due(head, moment, by_time=not historical):
            checkpoints.append(add_checkpoint(head, tree, moment))
    head.frontier = [node.hex() for node in tree.stack]
    return rows, checkpoints


ITEM_BODY_FIELDS = (
    "subject", "action", "choices", "documents", "revision", "method", "gpc", "locale", "page",
    "user_agent", "user_ref", "client_event_id",
)  # fmt: skip
ITEM_COLUMNS = (
    "subject", "action", "method", "gpc", "choices", "documents", "client_event_id",
    "request_sha256",
)  # fmt: skip


def user_reference(site_id: str, user_id: str | None) -> str | None:
    if user_id is None:
        return None
    return user_ref(pepper_for(site_id), user_id)


def checkpoint_due(head: HeadState, now, by_time: bool = True) -> bool:
    """Every ``CHECKPOINT_EVERY`` entries; for live appends (``by_time``) also the first entry
    and after ``CHECKPOINT_SECONDS`` of activity. Imports with historical times count only."""
    pending = head.seq - head.last_checkpoint_size
    if pending <= 0:
        return False
    if pending >= current_app.config["CHECKPOINT_EVERY"]:
        return True
    if not by_time:
        return False
    last = head.last_checkpoint_at
    interval = timedelta(seconds=current_app.config["CHECKPOINT_SECONDS"])
    return last is None or now - as_utc(last) >= interval


def add_checkpoint(head: HeadState, tree: MerkleAccumulator, now) -> dict[str, Any]:
    """Sign a checkpoint over the head's tree; returns its ``checkpoints`` row."""
    signed = sign_checkpoint(head.site_id, head.seq, tree.root(), now, keyring().current)
    head.last_checkpoint_size, head.last_checkpoint_at = head.seq, now
    return {
        "site_id": head.site_id,
        "tree_size": signed.tree_size,
        "root_hash": signed.root_hash,
        "timestamp": signed.timestamp,
        "kid": signed.kid,
        "signature": signed.signature,
    }


def cut_checkpoint(site_id: str) -> Checkpoint | None:
    """Sign a checkpoint over everything recorded so far (None when nothing is recorded)."""
    get_site(site_id)
    with ledger_writer().transaction() as ledger:
        head = ledger.lock(site_id).head
        if head.seq > head.last_checkpoint_size:
            ledger.write(head, [], [add_checkpoint(head, accumulator(head), utcnow())])
    return latest_checkpoint(site_id)


def latest_checkpoint(site_id: str) -> Checkpoint | None:
    return db.session.execute(
        db.select(Checkpoint)
        .where(Checkpoint.site_id == site_id)
        .order_by(Checkpoint.tree_size.desc())
        .limit(1)
    ).scalar_one_or_none()


def latest_signed_checkpoint(site_id: str) -> dict[str, Any]:
    """The public latest tree head of a site; 404 for an unknown site or an empty ledger."""
    get_site(site_id)
    row = latest_checkpoint(site_id)
    if row is None:
        raise NotFound("This site has no checkpoint yet.")
    return signed(row).to_dict()


def signed(row: Checkpoint) -> SignedCheckpoint:
    return SignedCheckpoint(
        row.site_id, row.tree_size, row.root_hash, row.timestamp, row.kid, row.signature
    )


def get_record(site_id: str, record_id: str) -> ConsentRecord:
    record = db.session.execute(
        db.select(ConsentRecord).where(
            ConsentRecord.site_id == site_id, ConsentRecord.id == record_id
        )
    ).scalar_one_or_none()
    if record is None:
        raise NotFound(f"No consent record '{record_id}' for this site.")
    return record


def leaf_hashes(site_id: str, tree_size: int) -> list[bytes]:
    rows = db.session.execute(
        db.select(ConsentRecord.entry_hash)
        .where(ConsentRecord.site_id == site_id, ConsentRecord.seq <= tree_size)
        .order_by(ConsentRecord.seq)
        .execution_options(yield_per=10_000)
    ).scalars()
    return [bytes.fromhex(value) for value in rows]


def inclusion_proof(site_id: str, record_id: str) -> dict[str, Any]:
    """The record's RFC 6962 inclusion proof against the latest checkpoint (one is cut first if
    the record is newer than every checkpoint)."""
    record = get_record(site_id, record_id)
    checkpoint = latest_checkpoint(site_id)
    if checkpoint is None or checkpoint.tree_size < record.seq:
        checkpoint = cut_checkpoint(site_id)
    tree = MerkleTree(leaf_hashes(site_id, checkpoint.tree_size))
    return {
        "id": record.id,
        "seq": record.seq,
        "leaf_index": record.seq - 1,
        "entry_hash": record.entry_hash,
        "inclusion_proof": [node.hex() for node in tree.inclusion_proof(record.seq - 1)],
        "checkpoint": signed(checkpoint).to_dict(),
    }


def verify_receipt(receipt: str) -> dict[str, Any]:
    """Anyone's check of a receipt: valid signature by a published key, and the consent inside."""
    try:
        payload = verify_compact(receipt, keyring().public_key)
        consent = parse_canonical(payload)
    except (InvalidReceipt, ValueError) as error:
        reason = error.reason if isinstance(error, InvalidReceipt) else "bad_payload"
        return {"valid": False, "kid": None, "reason": reason, "consent": None}
    # The body names the key that signed it; verify_compact checked it is the header's kid.
    return {"valid": True, "kid": consent.get("kid"), "reason": None, "consent": consent}


def denormalised_columns(row: Any) -> dict[str, Any]:
    """The columns verification compares with the body; region and mode only on entries that
    record them (older entries have neither)."""
    columns = {name: getattr(row, name) for name in DENORMALISED}
    if row.mode is not None:
        columns |= {"region": row.region, "mode": row.mode}
    return columns


def visible_columns(row: Any) -> dict[str, Any]:
    """What a redacted row still shows, checked against its signed erasure-log entry."""
    return {name: getattr(row, name) for name in VISIBLE_COLUMNS}


def stored_entries(site_id: str) -> Iterator[StoredEntry]:
    rows = db.session.execute(
        db.select(ConsentRecord)
        .where(ConsentRecord.site_id == site_id)
        .order_by(ConsentRecord.seq)
        .execution_options(yield_per=5_000)
    ).scalars()
    for row in rows:
        redacted = row.redacted_at is not None
        yield StoredEntry(
            seq=row.seq,
            id=row.id,
            body=row.body,
            entry_hash=row.entry_hash,
            prev_hash=row.prev_hash,
            kid=row.kid,
            signature=row.signature,
            columns=visible_columns(row) if redacted else denormalised_columns(row),
            redacted=redacted,
        )


def erasure_statement(row: Erasure) -> ErasureStatement:
    """An erasure-log row as the statement its signature covers (unsigned before 0014)."""
    return ErasureStatement(
        site=row.site_id,
        erased_at=format_timestamp(as_utc(row.erased_at)),
        reason=row.reason,
        subject_hmac=row.subject_hmac,
        seqs=row.redacted_seqs,
        records=row.records_redacted,
        visible_sha256=row.visible_sha256,
        kid=row.kid,
        signature=row.signature,
    )


def erasure_log(site_id: str) -> list[ErasureStatement]:
    """The site's erasure log, oldest first."""
    rows = db.session.execute(
        db.select(Erasure).where(Erasure.site_id == site_id).order_by(Erasure.id)
    ).scalars()
    return [erasure_statement(row) for row in rows]


def site_checkpoints(site_id: str) -> list[SignedCheckpoint]:
    rows = db.session.execute(db.select(Checkpoint).where(Checkpoint.site_id == site_id))
    return [signed(row) for row in rows.scalars()]


def verify_site_ledger(
    site_id: str,
    check_signatures: bool = False,
    entries: Iterable[StoredEntry] | None = None,
    receipts: Sequence[str] = (),
) -> VerificationReport:
    """Full verification of a site's ledger against all its checkpoints, its erasure log, its
    head, and the ``receipts`` presented (each entry a valid receipt signs must be in the
    table). ``entries``: the site's :func:`stored_entries`, when the caller follows their
    progress."""
    get_site(site_id)
    report = verify_ledger(
        stored_entries(site_id) if entries is None else entries,
        site_checkpoints(site_id),
        public_keys=keyring().public_key,
        check_signatures=check_signatures,
        erasures=erasure_log(site_id),
        receipts=receipts,
        site=site_id,
    )
    add_problems(report, head_problems(site_id, report))
    return report
