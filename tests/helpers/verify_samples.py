"""Good and tampered files for the verifiers: a proof bundle, an NDJSON export and a receipt made
by the real service, and one edit of each kind that `consentry verify-bundle` and `/verify` must
name. Shared by the parity test (Python against the browser verifier under Node) and the
browser tests of `/verify`."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from dataclasses import dataclass
from typing import Any

from service.crypto.keys import generate_signing_key, public_jwk

ACCEPT = {"necessary": True, "analytics": True, "marketing": True}
REJECT = {"necessary": True, "analytics": False, "marketing": False}
CUSTOM = {"necessary": True, "analytics": True, "marketing": False}
SUBJECT = "s_verify_alice"


@dataclass(frozen=True)
class Case:
    """A file's text, the site JWKS given beside it (or None) and the code it must be named by
    (None: it verifies)."""

    text: str
    jwks: dict[str, Any] | None
    code: str | None


@dataclass
class Samples:
    jwks: dict[str, Any]
    bundle: dict[str, Any]
    export: str
    receipt: str

    def cases(self) -> dict[str, Case]:
        other_jwks = {"keys": [public_jwk(generate_signing_key().public_key)]}
        return {
            "bundle": Case(json.dumps(self.bundle), self.jwks, None),
            "bundle, keys from the file": Case(json.dumps(self.bundle), None, None),
            **{name: Case(text, self.jwks, code) for name, (text, code) in self._bundles()},
            "bundle signed by other keys": Case(json.dumps(self.bundle), other_jwks, "unknown_key"),
            "export": Case(self.export, self.jwks, None),
            **{name: Case(text, self.jwks, code) for name, (text, code) in self._exports()},
            "receipt": Case(self.receipt, self.jwks, None),
            "receipt, edited payload": Case(_edit_payload(self.receipt), self.jwks, "bad_receipt"),
            "receipt, other keys": Case(self.receipt, other_jwks, "bad_receipt"),
            "receipt without a JWKS": Case(self.receipt, None, "no_jwks"),
            "neither": Case("hello, auditor", self.jwks, "unreadable"),
        }

    def _bundles(self):
        def edited_byte(b):
            record = b["records"][0]
            record["body"] = _edit_byte(record["body"])

        def removed_record(b):
            del b["records"][1]

        def bad_signature(b):
            record = b["records"][0]
            head, _, signature = record["receipt"].rpartition(".")
            record["receipt"] = f"{head}.{_flip(signature)}"

        def wrong_inclusion_proof(b):
            b["records"][0]["inclusion_proof"]["path"][0] = "1" * 64

        def forged_checkpoint(b):
            b["checkpoint"]["root_hash"] = "2" * 64

        for name, change, code in [
            ("edited byte", edited_byte, "entry_hash_mismatch"),
            ("removed record", removed_record, "record_missing"),
            ("bad signature", bad_signature, "bad_receipt"),
            ("wrong inclusion proof", wrong_inclusion_proof, "not_included"),
            ("forged checkpoint", forged_checkpoint, "checkpoint_bad_signature"),
        ]:
            bundle = copy.deepcopy(self.bundle)
            change(bundle)
            yield f"bundle, {name}", (json.dumps(bundle), code)

    def _exports(self):
        lines = self.export.rstrip("\n").split("\n")
        # An entry that is not the first and not redacted (the ledger may hold other tests' too).
        at = next(i for i, line in enumerate(lines[2:], 2) if '"redacted":false' in line)
        entry = json.loads(lines[at])

        def replaced(**fields):
            out = list(lines)
            out[at] = json.dumps({**entry, **fields})
            return "\n".join(out) + "\n"

        edited = replaced(body=_edit_byte(entry["body"]))
        yield "export, edited byte", (edited, "entry_hash_mismatch")
        removed = "\n".join(lines[:at] + lines[at + 1 :]) + "\n"
        yield "export, removed record", (removed, "missing_seq")
        signature = _flip(entry["signature"])
        yield "export, bad signature", (replaced(signature=signature), "bad_signature")
        yield "export, cut off", ("\n".join(lines[:-1]) + "\n", "truncated_file")
        yield from self._erasures(lines)

    def _erasures(self, lines):
        """The last erasure (the samples' own: the ledger may hold other tests' entries and
        erasures before it): its redacted line and its signed erasure-log entry in the header."""
        header = json.loads(lines[0])
        last = len(header["erasures"]) - 1
        ((seq, _to),) = header["erasures"][last]["seqs"]
        at = next(i for i, line in enumerate(lines[1:], 1) if json.loads(line).get("seq") == seq)
        redacted = json.loads(lines[at])
        assert redacted["redacted"] is True

        def changed(header_change=None, record_change=None):
            out = list(lines)
            new_header = copy.deepcopy(header)
            if header_change:
                header_change(new_header)
            out[0] = json.dumps(new_header)
            if record_change:
                record = {**redacted["record"], **record_change}
                out[at] = json.dumps({**redacted, "record": record})
            return "\n".join(out) + "\n"

        def unsign(h):
            h["erasures"][last].update(signature=None, kid=None)

        unlogged = changed(lambda h: h.update(erasures=[]))
        yield "export, redaction not logged", (unlogged, "redaction_unlogged")
        yield (
            "export, redacted entry changed",
            (
                changed(record_change={"action": "accept_all"}),
                "erasure_mismatch",
            ),
        )
        yield "export, erasure unsigned", (changed(unsign), "redaction_unsigned")
        edited = changed(lambda h: h["erasures"][last].update(seqs=[[seq - 1, seq]], records=2))
        yield "export, erasure edited", (edited, "erasure_bad_signature")


def _edit_byte(body: str) -> str:
    """The body with one character of its client_event_id changed: still canonical JSON."""
    at = body.index('"client_event_id":"') + len('"client_event_id":"')
    return body[:at] + ("a" if body[at] != "a" else "b") + body[at + 1 :]


def _flip(signature: str) -> str:
    """The signature with one byte changed (still 64 bytes of canonical base64url)."""
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[0] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def _edit_payload(receipt: str) -> str:
    head, payload, signature = receipt.split(".")
    body = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    edited = base64.urlsafe_b64encode(_edit_byte(body).encode()).rstrip(b"=").decode()
    return f"{head}.{edited}.{signature}"


def make_samples(client, admin: dict[str, str], site: str, origin: str, documents) -> Samples:
    """Record a few consents on ``site`` over HTTP, erase one visitor (the last of them), and
    fetch the files an auditor would keep."""
    base = f"/api/v1/sites/{site}"
    receipts, tokens = [], {}  # a subject's later consents carry its token
    for subject, action, choices in [
        (SUBJECT, "accept_all", ACCEPT),
        ("s_verify_bob", "accept_all", ACCEPT),
        (SUBJECT, "custom", CUSTOM),
        ("s_verify_carol", "reject_all", REJECT),
    ]:
        event = {
            "subject": subject,
            "client_event_id": str(uuid.uuid4()),
            "action": action,
            "choices": choices,
            "documents": documents,
            "revision": "r" * 64,
            "method": "banner",
            "gpc": False,
            "locale": "en",
            "page": "https://news.example.com/article/1",
        }
        if subject in tokens:
            event["subject_token"] = tokens[subject]
        response = client.post(f"{base}/consents", json=event, headers={"Origin": origin})
        assert response.status_code == 201, response.get_json()
        receipts.append(response.get_json()["receipt"])
        tokens[subject] = response.get_json()["subject_token"]
    erased = client.post(f"{base}/subjects/s_verify_carol/erase", headers=admin)
    assert erased.status_code == 200, erased.get_json()
    bundle = client.get(f"{base}/subjects/{SUBJECT}/proof", headers=admin)
    assert bundle.status_code == 200, bundle.get_json()
    export = client.get(f"{base}/export?format=ndjson", headers=admin)
    assert export.status_code == 200
    jwks = client.get("/.well-known/jwks.json").get_json()
    return Samples(jwks, bundle.get_json(), export.get_data(as_text=True), receipts[0])
