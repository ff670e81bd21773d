"""Full verification of a site's ledger, streamed in seq order, in one pass.

What is checked, per row: the body hashes to ``entry_hash``; the body links to the previous
entry (``prev_hash``); the row's seq, id, kid, prev_hash and denormalised columns equal the body;
seqs run 1, 2, 3, ... without gaps or repeats; optionally, the entry's Ed25519 receipt signature.
Across rows: the Merkle root at each checkpoint's tree size equals the signed root, every
checkpoint's signature is valid, and no checkpoint covers more entries than exist.

Redacted rows (erasure) have no body: their stored ``entry_hash`` is trusted for the chain link
and the Merkle tree. A redacted row that was forged still breaks the next link or a checkpoint.

How ``first_bad_seq`` is named: a row-level problem names its row (a missing row names the first
missing seq). A rewritten history, where every hash was recomputed, can only be seen against a
signed checkpoint, and a root says *that* its range changed, not *where*: such a problem names the
first seq after the last checkpoint that verified, i.e. the earliest entry no valid checkpoint
vouches for. With ``check_signatures=True`` the rewritten entry itself is named, since its receipt
signature cannot be forged.

Memory stays constant: the Merkle tree is kept as its O(log n) subtree roots.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from service.crypto.jws import InvalidReceipt, attach_signature, verify_compact
from service.ledger.chain import FORMAT_VERSION, GENESIS_HASH
from service.ledger.checkpoint import Checkpoint, verify_checkpoint
from service.ledger.merkle import MerkleAccumulator

PublicKeys = Callable[[str], Ed25519PublicKey | None] | Mapping[str, Ed25519PublicKey]

_HEX64 = re.compile(r"[0-9a-f]{64}")
_MISSING = object()
_sha256 = hashlib.sha256


@dataclass(slots=True)
class StoredEntry:
    """One ledger row as the database holds it.

    ``columns`` are the denormalised copies of body fields kept for querying (subject, action,
    method, recorded_at, ...); each must equal the body's value. ``body`` is None only when
    ``redacted``. ``signature`` is the base64url detached signature of the entry's receipt.
    """

    seq: int
    id: str
    body: bytes | None
    entry_hash: str
    prev_hash: str
    kid: str
    signature: str | None = None
    columns: Mapping[str, object] = field(default_factory=dict)
    redacted: bool = False


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: the seq it names, a stable code and a human message."""

    seq: int
    code: str
    message: str


@dataclass
class VerificationReport:
    """The outcome of ``verify_ledger``; ``problems`` keeps at most ``max_problems`` findings."""

    ok: bool
    checked: int
    first_bad_seq: int | None
    problems: list[Problem]
    problem_count: int = 0
    redacted_seqs: list[int] = field(default_factory=list)
    checkpoints_checked: int = 0
    tree_size: int = 0
    root_hash: str = ""

    def to_dict(self) -> dict[str, object]:
        """Plain dict for the JSON API."""
        return asdict(self)


def _same_value(body_value: object, column_value: object) -> bool:
    # Databases hand back typed values; compare them in the body's spelling.
    if isinstance(column_value, datetime):
        moment = column_value if column_value.tzinfo else column_value.replace(tzinfo=UTC)
        return body_value == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(column_value, uuid.UUID):
        return body_value == str(column_value)
    return False


class _Findings:
    """Collects problems, remembers the earliest seq, caps how many are kept."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[Problem] = []
        self.count = 0
        self.first_seq: int | None = None

    def add(self, seq: int, code: str, message: str) -> None:
        self.count += 1
        if self.first_seq is None or seq < self.first_seq:
            self.first_seq = seq
        if len(self.items) < self.limit:
            self.items.append(Problem(seq, code, message))


def _no_keys(kid: str) -> Ed25519PublicKey | None:
    return None


def _lookup(public_keys: PublicKeys | None) -> Callable[[str], Ed25519PublicKey | None] | None:
    if public_keys is None or callable(public_keys):
        return public_keys
    return public_keys.get


def verify_ledger(
    entries: Iterable[StoredEntry],
    checkpoints: Sequence[Checkpoint] = (),
    public_keys: PublicKeys | None = None,
    check_signatures: bool = False,
    max_problems: int = 100,
) -> VerificationReport:
    """Verify a site's ledger rows (in seq order, starting at seq 1) against its checkpoints.

    ``public_keys`` (a kid lookup such as ``KeyRing.public_key``, or a kid -> key mapping) is
    required when checkpoints are given or ``check_signatures`` is set: a check we cannot do is
    an error, never a silent pass.
    """
    maybe_lookup = _lookup(public_keys)
    if maybe_lookup is None and (checkpoints or check_signatures):
        raise ValueError("public_keys is required to check checkpoints or signatures")
    lookup = maybe_lookup or _no_keys
    findings = _Findings(max_problems)
    pending = sorted(checkpoints, key=lambda cp: cp.tree_size)
    next_cp = 0
    last_good_size = 0  # entries 1..last_good_size are vouched for by a valid checkpoint
    first_problem_after_good: int | None = None
    checkpoints_checked = 0
    redacted_seqs: list[int] = []
    acc = MerkleAccumulator()
    site: str | None = None

    def settle_checkpoints() -> None:
        # Compare every checkpoint whose tree size the stream has just reached.
        nonlocal next_cp, last_good_size, first_problem_after_good, checkpoints_checked
        while next_cp < len(pending) and pending[next_cp].tree_size == acc.size:
            cp = pending[next_cp]
            next_cp += 1
            checkpoints_checked += 1
            blame = first_problem_after_good or last_good_size + 1
            if cp.site != site and site is not None:
                findings.add(blame, "checkpoint_wrong_site", f"checkpoint is for site {cp.site!r}")
            elif not verify_checkpoint(cp, lookup):
                findings.add(
                    blame,
                    "checkpoint_bad_signature",
                    f"checkpoint at tree size {cp.tree_size} has no valid signature (kid {cp.kid})",
                )
            elif acc.root().hex() != cp.root_hash:
                findings.add(
                    blame,
                    "checkpoint_mismatch",
                    f"Merkle root of entries 1..{cp.tree_size} differs from the signed "
                    f"checkpoint of {cp.timestamp}: entries after seq {last_good_size} "
                    "were changed",
                )
            else:
                last_good_size = cp.tree_size
                first_problem_after_good = None

    def problem(seq: int, code: str, message: str) -> None:
        nonlocal first_problem_after_good
        findings.add(seq, code, message)
        if first_problem_after_good is None or seq < first_problem_after_good:
            first_problem_after_good = seq

    settle_checkpoints()  # checkpoints of the empty tree
    expected_seq = 1
    last_seq = 0
    # The next body must link to the previous row's hash: stored or recomputed. Accepting either
    # stops one edited row from also flagging its innocent successor.
    link_stored = link_computed = GENESIS_HASH
    after_gap = False
    checked = 0
    loads = json.loads

    for entry in entries:
        checked += 1
        seq = entry.seq
        if seq < expected_seq:
            code = "duplicate_seq" if seq == last_seq else "out_of_order"
            problem(seq, code, f"seq {seq} comes again after seq {last_seq}")
            continue
        if seq > expected_seq:
            gap = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}..{seq - 1}"
            problem(expected_seq, "missing_seq", f"seq {gap} missing before seq {seq}")
            after_gap = True
        body = entry.body
        stored_hash = entry.entry_hash

        if body is None:
            well_formed = type(stored_hash) is str and _HEX64.fullmatch(stored_hash) is not None
            if not entry.redacted:
                problem(seq, "missing_body", "row has no body but is not marked redacted")
            elif not well_formed:
                problem(seq, "bad_entry_hash", "redacted row has no valid entry_hash")
            else:
                redacted_seqs.append(seq)
            linked = entry.prev_hash
            digest = bytes.fromhex(stored_hash) if well_formed else bytes(32)
            computed = stored_hash
        else:
            digest = _sha256(body).digest()
            computed = digest.hex()
            if computed != stored_hash:
                problem(seq, "entry_hash_mismatch", "body does not hash to the stored entry_hash")
            try:
                doc = loads(body)
            except ValueError:
                doc = None
            if type(doc) is not dict:
                problem(seq, "body_unreadable", "body is not a JSON object")
                linked = entry.prev_hash
            else:
                linked = doc.get("prev_hash")
                if doc.get("v") != FORMAT_VERSION:
                    problem(seq, "unknown_version", f"body format v={doc.get('v')!r}")
                if doc.get("seq") != seq:
                    problem(seq, "column_mismatch", f"row seq {seq}, body seq {doc.get('seq')!r}")
                if doc.get("id") != str(entry.id):
                    problem(seq, "column_mismatch", "row id differs from body id")
                if doc.get("kid") != entry.kid:
                    problem(seq, "column_mismatch", "row kid differs from body kid")
                if linked != entry.prev_hash:
                    problem(seq, "column_mismatch", "row prev_hash differs from body prev_hash")
                body_site = doc.get("site")
                if site is None:
                    site = body_site
                elif body_site != site:
                    problem(seq, "wrong_site", f"entry of site {body_site!r} in ledger of {site!r}")
                for name, value in entry.columns.items():
                    body_value = doc.get(name, _MISSING)
                    if body_value != value and not _same_value(body_value, value):
                        problem(seq, "column_mismatch", f"column {name!r} differs from the body")
            if check_signatures:
                _check_entry_signature(entry, body, lookup, problem)

        if not after_gap and linked != link_stored and linked != link_computed:
            problem(seq, "broken_link", f"prev_hash does not match the entry hash of seq {seq - 1}")
        after_gap = False
        link_stored, link_computed = stored_hash, computed
        acc.append_leaf_hash(_sha256(b"\x00" + digest).digest())
        last_seq = seq
        expected_seq = seq + 1
        settle_checkpoints()

    # Valid checkpoints beyond the end prove rows were removed from the tail.
    for cp in pending[next_cp:]:
        checkpoints_checked += 1
        if verify_checkpoint(cp, lookup):
            findings.add(
                last_seq + 1,
                "truncated",
                f"checkpoint covers {cp.tree_size} entries, the ledger holds {acc.size}",
            )
        else:
            findings.add(
                first_problem_after_good or last_good_size + 1,
                "checkpoint_bad_signature",
                f"checkpoint at tree size {cp.tree_size} has no valid signature (kid {cp.kid})",
            )

    return VerificationReport(
        ok=findings.count == 0,
        checked=checked,
        first_bad_seq=findings.first_seq,
        problems=findings.items,
        problem_count=findings.count,
        redacted_seqs=redacted_seqs,
        checkpoints_checked=checkpoints_checked,
        tree_size=acc.size,
        root_hash=acc.root().hex(),
    )


def _check_entry_signature(
    entry: StoredEntry,
    body: bytes,
    lookup: Callable[[str], Ed25519PublicKey | None],
    problem: Callable[[int, str, str], None],
) -> None:
    if not entry.signature:
        problem(entry.seq, "signature_missing", "entry has no receipt signature")
        return
    try:
        verify_compact(attach_signature(body, entry.kid, entry.signature), lookup)
    except InvalidReceipt as exc:
        problem(entry.seq, "bad_signature", f"receipt signature invalid: {exc.message}")
