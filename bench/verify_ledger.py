"""Benchmark: full ledger verification (hash chain, columns, Merkle roots at checkpoints).

Builds N realistic entries in memory (not timed), then times ``verify_ledger`` without per-entry
signature checks. Bar (DESIGN.md section 6): 1,000,000 entries in <= 20 s. ``--redacted F``
redacts the oldest fraction F of the entries first, as one retention run does (one signed
erasure-log entry that verification checks every redacted row against).

    PYTHONPATH=. python bench/verify_ledger.py --n 1000000 [--redacted 0.3]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import statistics
import sys
import time

from service.crypto.keys import KeyRing, generate_signing_key
from service.ledger.chain import GENESIS_HASH, build_entry_body
from service.ledger.checkpoint import sign_checkpoint
from service.ledger.merkle import MerkleAccumulator
from service.ledger.verify import StoredEntry, verify_ledger
from tests.helpers.ledger import COLUMNS, Ledger, entry_fields, erase

BAR_SECONDS_PER_MILLION = 20.0


def build(n: int, ring: KeyRing, checkpoint_every: int):
    """Return (entries, checkpoints) of a clean ledger of ``n`` entries."""
    key = ring.current
    entries: list[StoredEntry] = []
    checkpoints = []
    acc = MerkleAccumulator()
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        fields = entry_fields(seq, prev, key)
        body = build_entry_body(**fields)
        digest = hashlib.sha256(body).digest()
        entry_hash = digest.hex()
        entries.append(
            StoredEntry(
                seq=seq,
                id=fields["id"],
                body=body,
                entry_hash=entry_hash,
                prev_hash=prev,
                kid=key.kid,
                signature=None,
                columns={name: fields[name] for name in COLUMNS},
            )
        )
        acc.append(digest)
        if seq % checkpoint_every == 0 or seq == n:
            checkpoints.append(
                sign_checkpoint("news-example", seq, acc.root(), "2026-11-28T19:00:00.000000Z", key)
            )
        prev = entry_hash
    return entries, checkpoints


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="entries (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=None, help="timed runs (default 5, 1 at 1M+)")
    parser.add_argument("--checkpoint-every", type=int, default=10_000)
    parser.add_argument("--redacted", type=float, default=0.0, help="oldest fraction redacted")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.n >= 1_000_000 else 5)

    ring = KeyRing(generate_signing_key())
    started = time.perf_counter()
    entries, checkpoints = build(args.n, ring, args.checkpoint_every)
    erasures = []
    if args.redacted > 0:
        ledger = Ledger(ring, entries, checkpoints)
        erasures = [erase(ledger, list(range(1, int(args.n * args.redacted) + 1)), "retention")]
    body_bytes = sum(len(e.body or b"") for e in entries) / max(args.n, 1)
    print(
        f"built {args.n:,} entries ({body_bytes:.0f} B body avg), {len(checkpoints)} checkpoints "
        f"in {time.perf_counter() - started:.1f} s"
    )

    timings = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        report = verify_ledger(entries, checkpoints, public_keys=ring.public_key, erasures=erasures)
        timings.append(time.perf_counter() - started)
        if not report.ok:
            print("verification FAILED on a clean ledger:", report.problems[:3])
            return 1
    seconds = statistics.median(timings)
    rate = args.n / seconds if seconds else float("inf")
    projected = 1_000_000 / rate if rate else 0.0
    summary = {"n": args.n, "runs": runs, "median_s": round(seconds, 3)}
    print(json.dumps(summary | ({"redacted": args.redacted} if erasures else {})))
    print(f"verify_ledger: {seconds:.2f} s median of {runs}, {rate:,.0f} entries/s")
    verdict = "MET" if projected <= BAR_SECONDS_PER_MILLION else "NOT MET"
    print(
        f"bar: 1,000,000 entries <= {BAR_SECONDS_PER_MILLION:.0f} s; "
        f"at this rate 1,000,000 take {projected:.1f} s "
        f"({projected / BAR_SECONDS_PER_MILLION:.0%} of the bar): {verdict}"
    )
    return 0 if verdict == "MET" else 2


if __name__ == "__main__":
    sys.exit(main())
