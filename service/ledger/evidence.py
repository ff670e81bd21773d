"""What verification checks the table against besides its own rows: the signed erasure log, and
receipts presented to it. Both are walked along with the rows (in seq order), so memory stays
proportional to the evidence, not to the ledger.

- Every row without a body must be named by an erasure-log entry, and every entry's signature
  and visible digest must hold (``service.ledger.erasure``).
- Every valid receipt presented names an entry (seq and body hash) that the table must hold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from service.crypto.jws import InvalidReceipt, verify_compact
from service.ledger.canonical import CanonicalJSONError, parse_canonical
from service.ledger.erasure import (
    ErasureStatement,
    VisibleDigest,
    verify_erasure,
    visible_from_row,
)

Lookup = Callable[[str], Ed25519PublicKey | None]
Report = Callable[[int, str, str], None]
NEVER = float("inf")


@dataclass
class _Erasure:
    statement: ErasureStatement
    first_seq: int
    digest: VisibleDigest


class ErasureCheck:
    """Rows without a body against the erasure log. ``watch_from``: the next seq the walk must
    show it (any row without a body is shown too)."""

    def __init__(self, statements: Sequence[ErasureStatement], report: Report) -> None:
        self.report = report
        self.erasures = [
            _Erasure(s, min((first for first, _ in _pairs(s.seqs)), default=1), VisibleDigest())
            for s in statements
        ]
        # (first, last, erasure) of every range, by first seq; ``open``: those around the row.
        self.ranges = sorted(
            (first, last, index)
            for index, erasure in enumerate(self.erasures)
            for first, last in _pairs(erasure.statement.seqs)
        )
        self.next_range = 0
        self.open: list[tuple[int, int]] = []
        self.watch_from: float = self.ranges[0][0] if self.ranges else NEVER

    def check(self, seq: int, entry, redacted: bool) -> None:
        """One row (a ``StoredEntry``) at ``seq``, ``redacted`` when it has no body."""
        ranges = self.ranges
        while self.next_range < len(ranges) and ranges[self.next_range][0] <= seq:
            _first, last, index = ranges[self.next_range]
            self.open.append((last, index))
            self.next_range += 1
        self.open = [pair for pair in self.open if pair[0] >= seq]
        if self.open:
            self.watch_from = seq + 1
        else:
            following = self.next_range < len(ranges)
            self.watch_from = ranges[self.next_range][0] if following else NEVER
        if redacted:
            self._redacted(seq, entry)
        elif self.open:
            erased_at = self.erasures[self.open[0][1]].statement.erased_at
            message = f"the erasure of {erased_at} names seq {seq}, which still has its body"
            self.report(seq, "erasure_not_redacted", message)

    def _redacted(self, seq: int, entry) -> None:
        if not self.open:
            message = f"seq {seq} was redacted, but no erasure-log entry names it"
            self.report(seq, "redaction_unlogged", message)
            return
        visible = visible_from_row(
            seq, entry.id, entry.entry_hash, entry.prev_hash, entry.kid, entry.signature,
            entry.columns,
        )  # fmt: skip
        for _last, index in self.open:
            self.erasures[index].digest.add(visible)

    def finish(self, site: str | None, lookup: Lookup) -> None:
        """Each entry of the log: signed by a published key, for this site, and the visible
        parts of the rows it names as it signed them."""
        for erasure in self.erasures:
            statement, seq = erasure.statement, erasure.first_seq
            what = f"the erasure of {statement.erased_at} ({_seqs(statement.seqs)})"
            if not statement.signed:
                message = f"{what} is not signed (logged before migration 0014 or by hand)"
                self.report(seq, "redaction_unsigned", message)
            elif not verify_erasure(statement, lookup):
                self.report(seq, "erasure_bad_signature", f"{what} has no valid signature")
            elif site is not None and statement.site != site:
                self.report(seq, "erasure_wrong_site", f"{what} is for site {statement.site!r}")
            elif (
                erasure.digest.count != statement.records
                or erasure.digest.hexdigest() != statement.visible_sha256
            ):
                message = f"what the table shows of {_seqs(statement.seqs)} differs from {what}"
                self.report(seq, "erasure_mismatch", message)


def _pairs(ranges: object) -> list[tuple[int, int]]:
    """The well-formed ``[first, last]`` ranges of a log entry (one written by hand may hold
    anything; its signature, if any, then fails)."""
    if not isinstance(ranges, list):
        return []
    return [
        (pair[0], pair[1])
        for pair in ranges
        if isinstance(pair, list) and len(pair) == 2 and all(type(n) is int for n in pair)
    ]


def _seqs(ranges: list[list[int]]) -> str:
    ranges = _pairs(ranges)
    shown = ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in ranges[:5])
    return f"seq {shown}{', ...' if len(ranges) > 5 else ''}"


@dataclass(frozen=True, slots=True)
class ReceiptFinding:
    """What became of one receipt presented (``index``: its place in the list): ``matches``,
    ``missing`` or ``differs`` (the last two are ledger problems), ``invalid`` (not signed by a
    published key: no evidence of anything) or ``other_site``."""

    index: int
    seq: int | None
    status: str
    message: str


@dataclass(frozen=True, slots=True)
class _Receipt:
    seq: int
    index: int
    id: object
    entry_hash: str


class ReceiptCheck:
    """Receipts presented to verification against the rows they name."""

    def __init__(
        self, tokens: Sequence[str], site: str | None, lookup: Lookup, report: Report
    ) -> None:
        self.report = report
        self.findings: list[ReceiptFinding] = []
        pending = []
        for index, token in enumerate(tokens):
            receipt = self._read(index, token, site, lookup)
            if receipt is not None:
                pending.append(receipt)
        self.pending = sorted(pending, key=lambda r: (r.seq, r.index))
        self.position = 0
        self.watch_from: float = self.pending[0].seq if self.pending else NEVER

    def _read(self, index: int, token: str, site: str | None, lookup: Lookup) -> _Receipt | None:
        try:
            body = verify_compact(token.strip() if isinstance(token, str) else token, lookup)
            doc = parse_canonical(body)
        except (InvalidReceipt, CanonicalJSONError) as error:
            message = error.message if isinstance(error, InvalidReceipt) else str(error)
            self.findings.append(ReceiptFinding(index, None, "invalid", message))
            return None
        seq = doc.get("seq") if isinstance(doc, dict) else None
        if type(seq) is not int or seq < 1:
            self.findings.append(ReceiptFinding(index, None, "invalid", "the body has no seq"))
            return None
        if site is not None and doc.get("site") != site:
            message = f"the receipt is for site {doc.get('site')!r}"
            self.findings.append(ReceiptFinding(index, seq, "other_site", message))
            return None
        return _Receipt(seq, index, doc.get("id"), hashlib.sha256(body).hexdigest())

    def check(self, seq: int, entry) -> None:
        """The row at ``seq``: receipts for seqs before it name rows the table lacks."""
        pending = self.pending
        while self.position < len(pending) and pending[self.position].seq <= seq:
            receipt = pending[self.position]
            self.position += 1
            if receipt.seq < seq:
                self._missing(receipt, f"seq {receipt.seq} is not in the table")
            elif receipt.entry_hash != entry.entry_hash or receipt.id != str(entry.id):
                message = f"receipt {receipt.index} signs another entry at seq {seq}"
                self.findings.append(ReceiptFinding(receipt.index, seq, "differs", message))
                self.report(seq, "receipt_differs", message)
            else:
                self.findings.append(ReceiptFinding(receipt.index, seq, "matches", ""))
        more = self.position < len(pending)
        self.watch_from = pending[self.position].seq if more else NEVER

    def _missing(self, receipt: _Receipt, why: str) -> None:
        message = f"receipt {receipt.index} signs seq {receipt.seq}: {why}"
        self.findings.append(ReceiptFinding(receipt.index, receipt.seq, "missing", message))
        self.report(receipt.seq, "receipt_entry_missing", message)

    def finish(self, size: int) -> list[ReceiptFinding]:
        """Receipts beyond the last row; the findings in the order the receipts came."""
        for receipt in self.pending[self.position :]:
            self._missing(receipt, f"the table ends at seq {size}")
        self.position = len(self.pending)
        return sorted(self.findings, key=lambda finding: finding.index)
