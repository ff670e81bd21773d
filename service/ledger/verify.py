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

Rows without a body are checked against the signed erasure log, and receipts presented to the
verifier against the rows they sign (``service.ledger.evidence``): a redaction nobody logged, a
redacted row whose visible columns changed, and an entry that a receipt proves and the table lacks
are reported.

Memory stays constant in the ledger's size: the Merkle tree is kept as its O(log n) subtree roots,
and the evidence is walked along with the rows.
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
from service.ledger.erasure import ErasureStatement
from service.ledger.evidence import ErasureCheck, ReceiptCheck, ReceiptFinding
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
    ``redacted``; a redacted row's ``columns`` are what it still shows
    (``service.ledger.erasure.VISIBLE_COLUMNS``), checked against the erasure log.
    ``signature`` is the base64url detached signature of the entry's receipt.
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
    erasures_checked: int = 0
    receipts: list[ReceiptFinding] = field(default_factory=list)

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
    erasures: Sequence[ErasureStatement] = (),
    receipts: Sequence[str] = (),
    site: str | None = None,
) -> VerificationReport:
    """Verify a site's ledger rows (in seq order, starting at seq 1) against its checkpoints,
    its erasure log (every row without a body must be named by a signed entry) and any
    ``receipts`` presented (compact JWS each: the entry it signs must be in the table).

    ``public_keys`` (a kid lookup such as ``KeyRing.public_key``, or a kid -> key mapping) is
    required when checkpoints, erasures or receipts are given or ``check_signatures`` is set: a
    check we cannot do is an error, never a silent pass. ``site``, when given, is the site the
    erasures and receipts must be for.
    """
    lookup = _lookup(public_keys)
    if lookup is None and (checkpoints or check_signatures or erasures or receipts):
        raise ValueError("public_keys is required to check signed checkpoints or evidence")
    walk = _LedgerWalk(checkpoints, lookup or _no_keys, check_signatures, max_problems)
    walk.take_evidence(erasures, receipts, site)
    walk.settle_checkpoints()  # checkpoints of the empty tree
    for entry in entries:
        walk.check(entry)
    walk.check_checkpoints_past_the_end()
    walk.check_evidence_past_the_end(site)
    return walk.report()


class _LedgerWalk:
    """The state of one verification pass: the chain link expected next, the Merkle frontier,
    the checkpoints still to reach, and the findings. ``check`` takes the rows in seq order."""

    __slots__ = (
        "after_gap",
        "check_signatures",
        "checked",
        "checkpoints_checked",
        "erasures",
        "expected_seq",
        "findings",
        "first_problem_after_good",
        "last_good_size",
        "last_seq",
        "link_computed",
        "link_stored",
        "lookup",
        "next_checkpoint",
        "pending",
        "receipt_findings",
        "receipts",
        "redacted_seqs",
        "site",
        "tree",
        "watch_from",
    )  # fmt: skip

    def __init__(
        self,
        checkpoints: Sequence[Checkpoint],
        lookup: Callable[[str], Ed25519PublicKey | None],
        check_signatures: bool,
        max_problems: int,
    ) -> None:
        self.findings = _Findings(max_problems)
        self.lookup = lookup
        self.check_signatures = check_signatures
        self.pending = sorted(checkpoints, key=lambda cp: cp.tree_size)
        self.next_checkpoint = 0
        self.last_good_size = 0  # entries 1..last_good_size are vouched for by a checkpoint
        self.first_problem_after_good: int | None = None
        self.checkpoints_checked = 0
        self.redacted_seqs: list[int] = []
        self.tree = MerkleAccumulator()
        self.site: str | None = None
        self.expected_seq = 1
        self.last_seq = 0
        # The next body must link to the previous row's hash: stored or recomputed. Accepting
        # either stops one edited row from also flagging its innocent successor.
        self.link_stored = self.link_computed = GENESIS_HASH
        self.after_gap = False
        self.checked = 0
        self.take_evidence((), (), None)

    def take_evidence(
        self, erasures: Sequence[ErasureStatement], receipts: Sequence[str], site: str | None
    ) -> None:
        """The erasure log and the receipts to walk along with the rows."""
        self.erasures = ErasureCheck(erasures, self.findings.add)
        self.receipts = ReceiptCheck(receipts, site, self.lookup, self.findings.add)
        self.receipt_findings: list[ReceiptFinding] = []
        self.watch_from = min(self.erasures.watch_from, self.receipts.watch_from)

    def problem(self, seq: int, code: str, message: str) -> None:
        """A finding about a row: it also marks where unvouched history starts."""
        self.findings.add(seq, code, message)
        first = self.first_problem_after_good
        if first is None or seq < first:
            self.first_problem_after_good = seq

    def check(self, entry: StoredEntry) -> None:
        """One row: its place in the sequence, its body (or redaction), its link, its leaf."""
        self.checked += 1
        seq, body = entry.seq, entry.body
        if seq != self.expected_seq and not self._in_sequence(seq):
            return
        if body is None:
            linked, digest = self._check_redacted(entry)
            computed = entry.entry_hash
        else:
            digest = _sha256(body).digest()
            computed = digest.hex()
            if computed != entry.entry_hash:
                self.problem(
                    seq, "entry_hash_mismatch", "body does not hash to the stored entry_hash"
                )
            linked = self._check_body(entry, body)
        if not self.after_gap and linked != self.link_stored and linked != self.link_computed:
            self.problem(
                seq, "broken_link", f"prev_hash does not match the entry hash of seq {seq - 1}"
            )
        self.after_gap = False
        if body is None or seq >= self.watch_from:
            self._check_evidence(seq, entry, body is None)
        self.link_stored, self.link_computed = entry.entry_hash, computed
        self.tree.append_leaf_hash(_sha256(b"\x00" + digest).digest())
        self.last_seq = seq
        self.expected_seq = seq + 1
        if self.next_checkpoint < len(self.pending):
            self.settle_checkpoints()

    def _check_evidence(self, seq: int, entry: StoredEntry, redacted: bool) -> None:
        """The erasure log and the receipts that name this row (rarely any)."""
        erasures, receipts = self.erasures, self.receipts
        if redacted or seq >= erasures.watch_from:
            erasures.check(seq, entry, redacted)
        if seq >= receipts.watch_from:
            receipts.check(seq, entry)
        self.watch_from = min(erasures.watch_from, receipts.watch_from)

    def check_evidence_past_the_end(self, site: str | None) -> None:
        """Erasure-log entries settled; receipts of entries beyond the last row."""
        self.erasures.finish(site or self.site, self.lookup)
        self.receipt_findings = self.receipts.finish(self.tree.size)

    def _in_sequence(self, seq: int) -> bool:
        """Whether the row takes its turn (a repeated or earlier seq is reported and skipped);
        a gap before it is reported."""
        expected = self.expected_seq
        if seq < expected:
            code = "duplicate_seq" if seq == self.last_seq else "out_of_order"
            self.problem(seq, code, f"seq {seq} comes again after seq {self.last_seq}")
            return False
        if seq > expected:
            gap = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
            self.problem(expected, "missing_seq", f"seq {gap} missing before seq {seq}")
            self.after_gap = True
        return True

    def _check_redacted(self, entry: StoredEntry) -> tuple[str, bytes]:
        """A row without a body: its stored hash stands in for the chain and the tree."""
        seq, stored_hash = entry.seq, entry.entry_hash
        well_formed = type(stored_hash) is str and _HEX64.fullmatch(stored_hash) is not None
        if not entry.redacted:
            self.problem(seq, "missing_body", "row has no body but is not marked redacted")
        elif not well_formed:
            self.problem(seq, "bad_entry_hash", "redacted row has no valid entry_hash")
        else:
            self.redacted_seqs.append(seq)
        return entry.prev_hash, bytes.fromhex(stored_hash) if well_formed else bytes(32)

    def _check_body(self, entry: StoredEntry, body: bytes) -> str | None:
        """The body's fields against the row's own columns and its denormalised copies, then
        its receipt signature; returns the ``prev_hash`` the body links to."""
        seq = entry.seq
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if type(doc) is dict:
            linked = doc.get("prev_hash")
            if (
                doc.get("v") != FORMAT_VERSION
                or doc.get("seq") != seq
                or doc.get("id") != str(entry.id)
                or doc.get("kid") != entry.kid
                or linked != entry.prev_hash
            ):
                self._report_row_mismatch(entry, doc)
            site = doc.get("site")
            if site != self.site:
                if self.site is None:
                    self.site = site
                else:
                    self.problem(
                        seq, "wrong_site", f"entry of site {site!r} in ledger of {self.site!r}"
                    )
            for name, value in entry.columns.items():
                body_value = doc.get(name, _MISSING)
                if body_value != value and not _same_value(body_value, value):
                    self.problem(seq, "column_mismatch", f"column {name!r} differs from the body")
        else:
            self.problem(seq, "body_unreadable", "body is not a JSON object")
            linked = entry.prev_hash
        if self.check_signatures:
            _check_entry_signature(entry, body, self.lookup, self.problem)
        return linked

    def _report_row_mismatch(self, entry: StoredEntry, doc: dict) -> None:
        """Which of the row's own fields (format, seq, id, kid, prev_hash) the body contradicts."""
        seq, problem = entry.seq, self.problem
        if doc.get("v") != FORMAT_VERSION:
            problem(seq, "unknown_version", f"body format v={doc.get('v')!r}")
        if doc.get("seq") != seq:
            problem(seq, "column_mismatch", f"row seq {seq}, body seq {doc.get('seq')!r}")
        if doc.get("id") != str(entry.id):
            problem(seq, "column_mismatch", "row id differs from body id")
        if doc.get("kid") != entry.kid:
            problem(seq, "column_mismatch", "row kid differs from body kid")
        if doc.get("prev_hash") != entry.prev_hash:
            problem(seq, "column_mismatch", "row prev_hash differs from body prev_hash")

    def settle_checkpoints(self) -> None:
        """Compare every checkpoint whose tree size the stream has just reached."""
        pending, size = self.pending, self.tree.size
        while (
            self.next_checkpoint < len(pending) and pending[self.next_checkpoint].tree_size == size
        ):
            self._settle(pending[self.next_checkpoint])
            self.next_checkpoint += 1

    def _settle(self, cp: Checkpoint) -> None:
        self.checkpoints_checked += 1
        blame = self.first_problem_after_good or self.last_good_size + 1
        if cp.site != self.site and self.site is not None:
            self.findings.add(blame, "checkpoint_wrong_site", f"checkpoint is for site {cp.site!r}")
        elif not verify_checkpoint(cp, self.lookup):
            self.findings.add(blame, "checkpoint_bad_signature", _bad_signature(cp))
        elif self.tree.root().hex() != cp.root_hash:
            self.findings.add(
                blame,
                "checkpoint_mismatch",
                f"Merkle root of entries 1..{cp.tree_size} differs from the signed "
                f"checkpoint of {cp.timestamp}: entries after seq {self.last_good_size} "
                "were changed",
            )
        else:
            self.last_good_size = cp.tree_size
            self.first_problem_after_good = None

    def check_checkpoints_past_the_end(self) -> None:
        """Valid checkpoints beyond the end prove rows were removed from the tail."""
        for cp in self.pending[self.next_checkpoint :]:
            self.checkpoints_checked += 1
            if verify_checkpoint(cp, self.lookup):
                self.findings.add(
                    self.last_seq + 1,
                    "truncated",
                    f"checkpoint covers {cp.tree_size} entries, the ledger holds {self.tree.size}",
                )
            else:
                blame = self.first_problem_after_good or self.last_good_size + 1
                self.findings.add(blame, "checkpoint_bad_signature", _bad_signature(cp))

    def report(self) -> VerificationReport:
        findings = self.findings
        return VerificationReport(
            ok=findings.count == 0,
            checked=self.checked,
            first_bad_seq=findings.first_seq,
            problems=findings.items,
            problem_count=findings.count,
            redacted_seqs=self.redacted_seqs,
            checkpoints_checked=self.checkpoints_checked,
            tree_size=self.tree.size,
            root_hash=self.tree.root().hex(),
            erasures_checked=len(self.erasures.erasures),
            receipts=self.receipt_findings,
        )


def _bad_signature(cp: Checkpoint) -> str:
    return f"checkpoint at tree size {cp.tree_size} has no valid signature (kid {cp.kid})"


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
