"""The ledger's head against its table: entries the head covers and the table lacks.

A tail deleted after the newest checkpoint leaves the chain intact; what still says how long the
ledger was is the head row (``ledger_heads``: seq, last entry hash, Merkle frontier), updated by
every append. Verification compares it with what the table holds, so a deletion is reported
unless whoever deleted also rewrote the head consistently; that last case is what checkpoints
and receipts kept off the machine catch (docs/security.md).
"""

from __future__ import annotations

from ..extensions import db
from ..ledger.merkle import MerkleAccumulator
from ..ledger.verify import Problem, VerificationReport
from .models import ConsentRecord, LedgerHead


def head_problems(site_id: str, report: VerificationReport) -> list[Problem]:
    """What the head says that the verified table (``report``) does not hold."""
    head = db.session.get(LedgerHead, site_id)
    size = report.tree_size
    if head is None:
        return [Problem(1, "head_missing", "the ledger has entries but no head")] if size else []
    if head.seq > size:
        return [
            Problem(
                size + 1,
                "truncated",
                f"the head covers {head.seq} entries, the ledger holds {size}: "
                f"seq {size + 1}..{head.seq} missing",
            )
        ]
    if head.seq < size:
        return [Problem(head.seq + 1, "head_behind", f"the head covers {head.seq} of {size}")]
    if size == 0:
        return []
    last_hash = db.session.execute(
        db.select(ConsentRecord.entry_hash).where(
            ConsentRecord.site_id == site_id, ConsentRecord.seq == size
        )
    ).scalar_one_or_none()
    problems = []
    if last_hash != head.head_hash:
        problems.append(Problem(size, "head_mismatch", "the head's hash is not the last entry's"))
    try:
        frontier = [bytes.fromhex(node) for node in head.frontier]
        root = MerkleAccumulator.restore(head.seq, frontier).root().hex()
    except ValueError:
        root = None
    if root != report.root_hash:
        problems.append(Problem(size, "head_mismatch", "the head's Merkle frontier differs"))
    return problems


def add_problems(report: VerificationReport, problems: list[Problem], limit: int = 100) -> None:
    """Fold ``problems`` into ``report`` as the verifier would have."""
    if not problems:
        return
    report.ok = False
    report.problem_count += len(problems)
    report.problems.extend(problems[: max(limit - len(report.problems), 0)])
    seqs = [problem.seq for problem in problems]
    if report.first_bad_seq is not None:
        seqs.append(report.first_bad_seq)
    report.first_bad_seq = min(seqs)
