"""Offline verification of a proof bundle or an NDJSON export: no database, no network, only the
JWKS inside the file. Uses the ledger and crypto packages alone (no Flask app, no session).

A proof bundle is checked record by record: the body hashes to ``entry_hash``; the body is
canonical JSON naming the bundle's site and subject; the fields shown equal the signed ones; the
receipt is a valid JWS over exactly that body; the inclusion proof leads to the checkpoint's root;
the checkpoint is signed; every document the body names is in the bundle with the same SHA-256,
and its texts hash to it.

An export is checked as a chain: every body hash and receipt signature, every link, gapless seqs,
and the end line's count. An export starting at seq 1 is also checked against its checkpoints
(Merkle roots) and its erasure log (every redacted entry named by a signed entry, with what it
still shows as signed), through :func:`service.ledger.verify.verify_ledger`; a range that starts
later is a chain segment whose checkpoints can only be checked for their signatures.

    consentry verify-bundle FILE          (or: python -m service.audit.offline FILE)
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..crypto.jws import InvalidReceipt, attach_signature, verify_compact
from ..crypto.keys import KeyRingError, public_keys_from_jwks
from ..documents.digest import content_sha256
from ..ledger.canonical import CanonicalJSONError, parse_canonical
from ..ledger.checkpoint import Checkpoint, verify_checkpoint
from ..ledger.erasure import ErasureStatement, statement_from_dict
from ..ledger.merkle import verify_inclusion
from ..ledger.verify import StoredEntry, verify_ledger

COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
SHOWN_FIELDS = ("action", "choices", "documents", "method", "gpc")
SELF_SIGNED_NOTE = (
    "keys taken from the file itself: this proves the file is consistent, not who signed it; "
    "compare with the site's published JWKS"
)


@dataclass(frozen=True)
class Finding:
    where: str
    code: str
    message: str


@dataclass
class OfflineReport:
    """What was checked and what failed; ``ok`` only when nothing failed."""

    kind: str
    checked: dict[str, int] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, where: str, code: str, message: str) -> None:
        self.problems.append(Finding(where, code, message))

    def count(self, what: str) -> None:
        self.checked[what] = self.checked.get(what, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}


def _key_set(jwks: Any, label: str, report: OfflineReport) -> dict[str, Any] | None:
    try:
        return public_keys_from_jwks(jwks)
    except KeyRingError as error:
        report.add("jwks", "bad_jwks", f"{label} is unusable: {error}")
        return None


def _keys(
    file_jwks: Any, site_jwks: Any | None, report: OfflineReport
) -> Callable[[str], Any] | None:
    """The keys to check with: the site's JWKS when given (the file's keys must be among them),
    otherwise the JWKS inside the file, which proves consistency but not who signed."""
    if site_jwks is None:
        if file_jwks is None:
            report.add("jwks", "no_jwks", "no JWKS: give the site's JWKS to check signatures")
            return None
        keys = _key_set(file_jwks, "the JWKS in the file", report)
        if keys is not None:
            report.notes.append(SELF_SIGNED_NOTE)
        return None if keys is None else keys.get
    keys = _key_set(site_jwks, "the site's JWKS", report)
    if keys is None:
        return None
    if file_jwks is not None:
        in_file = _key_set(file_jwks, "the JWKS in the file", report)
        for kid in in_file or {}:
            if kid not in keys:
                message = f"key {kid} in the file is not in the site's JWKS"
                report.add("jwks", "unknown_key", message)
    return keys.get


def _checkpoint(data: Any, lookup: Callable[[str], Any], report: OfflineReport):
    try:
        checkpoint = Checkpoint(**data)
    except TypeError:
        checkpoint = None
    if checkpoint is None or type(checkpoint.kid) is not str:
        report.add("checkpoint", "bad_checkpoint", "checkpoint is missing or malformed")
        return None
    report.count("checkpoints")
    if not verify_checkpoint(checkpoint, lookup):
        report.add(
            f"checkpoint {checkpoint.tree_size}",
            "checkpoint_bad_signature",
            "checkpoint signature is not valid for the key it names",
        )
        return None
    return checkpoint


# Proof bundles ------------------------------------------------------------------------------------


def verify_bundle(bundle: dict[str, Any], site_jwks: Any | None = None) -> OfflineReport:
    """Check a proof bundle (the JSON of ``GET .../subjects/{subject}/proof``)."""
    report = OfflineReport("bundle")
    lookup = _keys(bundle.get("jwks"), site_jwks, report)
    if lookup is None:
        return report
    checkpoint = _checkpoint(bundle.get("checkpoint"), lookup, report)
    if checkpoint is not None and checkpoint.site != bundle.get("site"):
        report.add("checkpoint", "wrong_site", f"checkpoint is for site {checkpoint.site!r}")
    documents = bundle.get("documents")
    documents = documents if isinstance(documents, dict) else {}
    for key, doc in documents.items():
        report.count("documents")
        if not isinstance(doc, dict):
            report.add(key, "document_missing", "the document version is not in the bundle")
        elif _document_hash(doc) != doc.get("sha256"):
            report.add(key, "document_hash_mismatch", "the texts do not hash to the sha256 given")
    records = bundle.get("records")
    for record in records if isinstance(records, list) else []:
        if isinstance(record, dict):
            _verify_record(record, bundle, documents, checkpoint, lookup, report)
        else:
            report.add("records", "bad_record", "a record is not a JSON object")
    if not records:
        report.add("records", "no_records", "the bundle holds no records")
    _check_listed_records(bundle, records, report)
    return report


def _check_listed_records(bundle: dict[str, Any], records: Any, report: OfflineReport) -> None:
    """Each seq that ``banner_revisions`` lists must be a record of the bundle: a record dropped
    from the file alone is seen (the list is not signed; the site's ledger is the full answer)."""
    present = {r.get("seq") for r in records if isinstance(r, dict)} if records else set()
    listed = bundle.get("banner_revisions")
    for revision in listed if isinstance(listed, list) else []:
        seqs = revision.get("seqs") if isinstance(revision, dict) else None
        for seq in seqs if isinstance(seqs, list) else []:
            if type(seq) is int and seq not in present:
                message = f"seq {seq} is listed in banner_revisions but its record is missing"
                report.add("records", "record_missing", message)


def _document_hash(doc: dict[str, Any]) -> str | None:
    try:
        return content_sha256(doc["kind"], doc["texts"])
    except (KeyError, TypeError, AttributeError, ValueError):
        return None


def _unreadable(error: CanonicalJSONError) -> str:
    """Why bytes are not canonical JSON, in words the browser verifier can say too."""
    text = str(error)
    if text.startswith("floats are not allowed"):
        reason = "floats are not allowed"
    elif text.startswith("not valid JSON") or text.endswith(" is not allowed"):
        reason = "not valid JSON"  # NaN and Infinity are not JSON, whatever Python reads
    else:
        reason = "JSON is valid but not in canonical form"
    return f"body is not canonical JSON: {reason}"


def _signed_body(body: bytes, where: str, report: OfflineReport) -> dict[str, Any] | None:
    try:
        signed_body = parse_canonical(body)
    except CanonicalJSONError as error:
        report.add(where, "body_unreadable", _unreadable(error))
        return None
    if not isinstance(signed_body, dict):
        report.add(where, "body_unreadable", "body is not a JSON object")
        return None
    return signed_body


def _verify_record(
    record: dict[str, Any],
    bundle: dict[str, Any],
    documents: dict[str, Any],
    checkpoint: Checkpoint | None,
    lookup: Callable[[str], Any],
    report: OfflineReport,
) -> None:
    where = f"seq {record.get('seq')}"
    report.count("records")
    body = str(record.get("body", "")).encode("utf-8")
    if hashlib.sha256(body).hexdigest() != record.get("entry_hash"):
        report.add(where, "entry_hash_mismatch", "body does not hash to entry_hash")
    signed_body = _signed_body(body, where, report)
    if signed_body is None:
        return
    expected = {
        "site": bundle.get("site"),
        "subject": bundle.get("subject"),
        "seq": record.get("seq"),
        "id": record.get("id"),
    }
    expected |= {name: record.get(name) for name in SHOWN_FIELDS}
    for name, value in expected.items():
        if signed_body.get(name) != value:
            report.add(where, "field_mismatch", f"{name!r} shown differs from the signed body")
    report.count("receipts")
    try:
        if verify_compact(str(record.get("receipt")), lookup) != body:
            report.add(where, "receipt_mismatch", "receipt is signed over another body")
    except InvalidReceipt as error:
        report.add(where, "bad_receipt", f"receipt does not verify: {error.message}")
    agreed = signed_body.get("documents")
    for kind, ref in (agreed if isinstance(agreed, dict) else {}).items():
        ref = ref if isinstance(ref, dict) else {}
        doc = documents.get(f"{kind}:{ref.get('version')}")
        if not isinstance(doc, dict) or doc.get("sha256") != ref.get("sha256"):
            report.add(
                where,
                "document_mismatch",
                f"{kind} version {ref.get('version')} agreed to is not in the bundle as signed",
            )
    if checkpoint is not None:
        report.count("inclusion_proofs")
        if not _included(record, checkpoint):
            message = "inclusion proof does not lead to the checkpoint root"
            report.add(where, "not_included", message)


def _included(record: dict[str, Any], checkpoint: Checkpoint) -> bool:
    proof = record.get("inclusion_proof")
    proof = proof if isinstance(proof, dict) else {}
    try:
        path = [bytes.fromhex(node) for node in proof.get("path", [])]
        return (
            proof.get("leaf_index") == record.get("seq", 0) - 1
            and proof.get("tree_size") == checkpoint.tree_size
            and verify_inclusion(
                bytes.fromhex(str(record.get("entry_hash"))),
                proof["leaf_index"],
                checkpoint.tree_size,
                path,
                bytes.fromhex(checkpoint.root_hash),
            )
        )
    except (KeyError, TypeError, ValueError):
        return False


# Receipts -----------------------------------------------------------------------------------------


def verify_receipt(token: str, site_jwks: Any | None) -> OfflineReport:
    """Check one receipt (compact JWS) with the site's JWKS: signature, header and signed body."""
    report = OfflineReport("receipt")
    if site_jwks is None:
        report.add("jwks", "no_jwks", "a receipt is checked with the site's JWKS: give it")
        return report
    lookup = _keys(None, site_jwks, report)
    if lookup is None:
        return report
    report.count("receipts")
    try:
        body = verify_compact(token.strip(), lookup)
    except InvalidReceipt as error:
        report.add("receipt", "bad_receipt", f"receipt does not verify: {error.message}")
        return report
    _signed_body(body, "receipt", report)
    return report


# Exports ------------------------------------------------------------------------------------------


def verify_export(lines: Iterable[str], site_jwks: Any | None = None) -> OfflineReport:
    """Check an NDJSON export (header, entry lines, end line), streaming: constant memory."""
    report = OfflineReport("export")
    iterator = iter(lines)
    try:
        header = json.loads(next(iterator))
    except (StopIteration, ValueError):
        header = None
    if not isinstance(header, dict) or header.get("type") != "header":
        report.add("line 1", "bad_header", "the first line is not an export header")
        return report
    lookup = _keys(header.get("jwks"), site_jwks, report)
    if lookup is None:
        return report
    checkpoints = []
    for data in header.get("checkpoints") or []:
        checkpoint = _checkpoint(data, lookup, report)
        if checkpoint is not None:
            checkpoints.append(checkpoint)
    state: dict[str, Any] = {"end": None, "last_seq": None, "entries": 0}
    entries = _entries(iterator, state, report)
    first_seq = header.get("first_seq", 1)
    if first_seq == 1:
        erasures = _erasures(header.get("erasures"), header.get("last_seq"), report)
        ledger = verify_ledger(
            entries,
            checkpoints,
            public_keys=lookup,
            check_signatures=True,
            erasures=erasures,
            site=header.get("site"),
        )
        for problem in ledger.problems:
            report.add(f"seq {problem.seq}", problem.code, problem.message)
        if ledger.problem_count > len(ledger.problems):
            report.notes.append(f"{ledger.problem_count} ledger problems, first ones listed")
        report.checked["checkpoints_matched"] = ledger.checkpoints_checked
    else:
        report.notes.append(
            f"chain segment from seq {first_seq}: links, hashes and signatures are checked; "
            "Merkle roots need the entries from seq 1"
        )
        _verify_segment(entries, first_seq, lookup, report)
    report.checked["entries"] = state["entries"]
    if state["end"] is None:
        report.add("end", "truncated_file", "the file has no end line: it was cut off")
    elif state["end"] != state["entries"]:
        report.add("end", "count_mismatch", "the end line counts another number of entries")
    last = header.get("last_seq")
    if state["entries"] and state["last_seq"] != last:
        report.add("end", "count_mismatch", f"header says the last seq is {last}")
    return report


def _erasures(data: Any, last: Any, report: OfflineReport) -> list[ErasureStatement]:
    """The erasure log in the header; entries that name seqs past the file's ``last`` seq
    (erasures made after the export was cut) are for rows the file does not hold: left out."""
    statements = []
    for item in data if isinstance(data, list) else []:
        statement = statement_from_dict(item)
        if statement is None:
            report.add("header", "bad_erasure", "an erasure-log entry is malformed")
        else:
            statements.append(statement)
    if statements:
        report.checked["erasures"] = len(statements)
    if type(last) is not int:
        return statements
    return [s for s in statements if all(pair[1] <= last for pair in s.seqs)]


def _entries(lines: Iterator[str], state: dict[str, Any], report: OfflineReport):
    for number, line in enumerate(lines, 2):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            report.add(f"line {number}", "bad_line", "line is not a JSON object")
            continue
        if data.get("type") == "end":
            state["end"] = data.get("entries")
            continue
        if state["end"] is not None:
            report.add(f"line {number}", "after_end", "entries after the end line")
        if type(data.get("seq")) is not int:
            report.add(f"line {number}", "bad_line", "entry has no integer seq")
            continue
        body = data.get("body")
        state["entries"] += 1
        state["last_seq"] = data.get("seq")
        shown = data.get("record")  # what a redacted entry still shows
        yield StoredEntry(
            seq=data.get("seq"),
            id=data.get("id"),
            body=body.encode("utf-8") if isinstance(body, str) else None,
            entry_hash=data.get("entry_hash"),
            prev_hash=data.get("prev_hash"),
            kid=data.get("kid"),
            signature=data.get("signature"),
            columns=shown if isinstance(shown, dict) and body is None else {},
            redacted=bool(data.get("redacted")),
        )


def _verify_segment(
    entries: Iterable[StoredEntry],
    first_seq: int,
    lookup: Callable[[str], Any],
    report: OfflineReport,
) -> None:
    expected, previous = first_seq, None
    for entry in entries:
        where = f"seq {entry.seq}"
        if entry.seq != expected:
            report.add(where, "missing_seq", f"expected seq {expected}")
        expected = (entry.seq if isinstance(entry.seq, int) else expected) + 1
        if previous is not None and entry.prev_hash != previous:
            report.add(where, "broken_link", "prev_hash is not the previous entry's hash")
        previous = entry.entry_hash
        if entry.body is None:
            continue
        if hashlib.sha256(entry.body).hexdigest() != entry.entry_hash:
            report.add(where, "entry_hash_mismatch", "body does not hash to entry_hash")
        doc = _signed_body(entry.body, where, report)
        if doc is None:
            continue
        for name in ("seq", "id", "kid", "prev_hash"):
            if doc.get(name) != getattr(entry, name):
                report.add(where, "column_mismatch", f"{name} differs from the body")
        try:
            verify_compact(attach_signature(entry.body, entry.kid, entry.signature or ""), lookup)
        except InvalidReceipt as error:
            report.add(where, "bad_signature", error.message)


# The start of a CSV export's header row (service.audit.service.CSV_COLUMNS).
CSV_HEADER = "seq,id,recorded_at,"


# Files --------------------------------------------------------------------------------------------


def verify_file(path: str | Path, site_jwks: Any | None = None) -> OfflineReport:
    """Check a saved proof bundle (JSON), NDJSON export or receipt (compact JWS), telling them
    apart by their first line."""
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
        try:
            head = json.loads(first)
        except ValueError:
            head = None
        if isinstance(head, dict) and head.get("type") == "header":
            handle.seek(0)
            return verify_export(handle, site_jwks)
        handle.seek(0)
        return verify_text(handle.read(), site_jwks)


def verify_text(text: str, site_jwks: Any | None = None) -> OfflineReport:
    """Check a bundle, an export or a receipt given as text (what the browser verifier reads)."""
    first = text.split("\n", 1)[0]
    try:
        head = json.loads(first)
    except ValueError:
        head = None
    if isinstance(head, dict) and head.get("type") == "header":
        return verify_export(text.split("\n"), site_jwks)
    if COMPACT_JWS.fullmatch(text.strip()):
        return verify_receipt(text, site_jwks)
    try:
        bundle = json.loads(text)
    except ValueError:
        bundle = None
    if first.startswith(CSV_HEADER):
        report = OfflineReport("unknown")
        report.add(
            "file",
            "unreadable",
            "a CSV export cannot be verified (spreadsheets change its cells): export with "
            "format=ndjson and verify that file",
        )
        return report
    if not isinstance(bundle, dict) or "records" not in bundle:
        report = OfflineReport("unknown")
        report.add("file", "unreadable", "neither a proof bundle, an export nor a receipt")
        return report
    return verify_bundle(bundle, site_jwks)


def load_jwks(source: str) -> Any:
    """The JWKS in a file, or at an http(s) URL."""
    if source.startswith(("https://", "http://")):
        with urllib.request.urlopen(source, timeout=10) as response:
            return json.load(response)
    return json.loads(Path(source).read_text(encoding="utf-8"))


def format_report(report: OfflineReport) -> str:
    checked = ", ".join(f"{count} {name}" for name, count in report.checked.items())
    lines = [f"{report.kind}: {'OK' if report.ok else 'FAILED'} ({checked or 'nothing checked'})"]
    lines += [f"  note: {note}" for note in report.notes]
    lines += [f"  {item.where}: {item.code}: {item.message}" for item in report.problems[:100]]
    if len(report.problems) > 100:
        lines.append(f"  ... and {len(report.problems) - 100} more problems")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    site_jwks = None
    if len(args) == 3 and args[1] == "--jwks":
        site_jwks, args = load_jwks(args[2]), args[:1]
    if len(args) != 1:
        print("usage: python -m service.audit.offline FILE [--jwks FILE_OR_URL]", file=sys.stderr)
        return 2
    report = verify_file(args[0], site_jwks)
    print(format_report(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
