"""The browser verifier says what `consentry verify-bundle` says: the same good and tampered
files go through service/audit/offline.py and through service/verify/static/verifier.js (under
Node, whose WebCrypto has Ed25519 like Chromium's), and the reports must be equal: kind, counts,
every problem's place, code and message, notes, and the printed text."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from service.audit.offline import format_report, verify_text
from tests.helpers.audit import recording_site
from tests.helpers.verify_samples import Case, make_samples

HARNESS = Path(__file__).with_name("run_verifier.mjs")
NODE = shutil.which("node")


def run_browser_verifier(cases) -> list[dict]:
    payload = json.dumps([{"text": case.text, "jwks": case.jwks} for case in cases])
    result = subprocess.run(
        [NODE, str(HARNESS)], input=payload, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def samples_cases(app, client, admin, make_site):
    record = recording_site(client, admin, make_site)
    samples = make_samples(
        client, admin, "news-example", "https://news.example.com", record.documents
    )
    return samples.cases() | odd_cases(samples)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def odd_cases(samples) -> dict[str, Case]:
    """Malformed files, where each verifier's own parsing could word things differently."""

    def bundle(change) -> str:
        copy = json.loads(json.dumps(samples.bundle))
        change(copy)
        return json.dumps(copy)

    def body(text):
        return lambda b: b["records"][0].update(body=text)

    head, payload, signature = samples.receipt.split(".")
    lines = samples.export.rstrip("\n").split("\n")
    jwks = samples.jwks
    cases = {
        "body not JSON": bundle(body("{nope")),
        "body with a float": bundle(body('{"a":1.5}')),
        "body not canonical": bundle(body('{"b":1, "a":2}')),
        "body a list": bundle(body("[1,2]")),
        "body null": bundle(body(None)),
        "record not an object": bundle(lambda b: b["records"].append("seq 9")),
        "checkpoint missing a field": bundle(lambda b: b["checkpoint"].pop("kid")),
        "file keys with a bad x": bundle(lambda b: b["jwks"]["keys"][0].update(x="@@")),
        "file keys with a short x": bundle(lambda b: b["jwks"]["keys"][0].update(x="AAAA")),
        "file keys with another kid": bundle(lambda b: b["jwks"]["keys"][0].update(kid="k1")),
        "proof path not hex": bundle(
            lambda b: b["records"][0]["inclusion_proof"].update(path=["zz"])
        ),
        "document texts edited": bundle(
            lambda b: next(iter(b["documents"].values()))["texts"]["en"].update(body="x\r\n ")
        ),
        "bundle receipt not base64": bundle(
            lambda b: b["records"][0].update(receipt=f"{head}.{payload}.{signature[:-2]}**")
        ),
        "bundle receipt padded": bundle(
            lambda b: b["records"][0].update(receipt=f"{head}=.{payload}.{signature}")
        ),
        "bundle receipt non-canonical base64": bundle(
            lambda b: b["records"][0].update(receipt=f"{head}.{payload}.{signature[:-1]}B")
        ),
        "receipt alg none": ".".join([_b64(b'{"alg":"none"}'), payload, signature]),
        "receipt padded": ".".join([head + "=", payload, signature]),
        "receipt header not JSON": ".".join([_b64(b"{alg"), payload, signature]),
        "receipt bad base64": ".".join([head, payload, signature[:-2] + "*"]),
        "receipt short signature": ".".join([head, payload, signature[:20]]),
        "receipt with crit": ".".join(
            [
                _b64(b'{"alg":"EdDSA","crit":["x"],"kid":"k","typ":"consentry-receipt+jws"}'),
                payload,
                signature,
            ]
        ),
        "export with a bad line": "\n".join([*lines[:2], "[1]", "{oops", *lines[2:]]) + "\n",
        "export entry after the end": "\n".join([*lines, lines[1]]) + "\n",
        "export without a header": "\n".join(lines[1:]) + "\n",
        "export with malformed erasure entries": "\n".join(
            [
                json.dumps(
                    json.loads(lines[0])
                    | {"erasures": [{"site": 1}, "x", {**json.loads(lines[0])["erasures"][0]}]}
                ),
                *lines[1:],
            ]
        )
        + "\n",
        "export with an erasure of another site": "\n".join(
            [
                json.dumps(
                    json.loads(lines[0])
                    | {"erasures": [json.loads(lines[0])["erasures"][0] | {"site": "other"}]}
                ),
                *lines[1:],
            ]
        )
        + "\n",
        "export segment": "\n".join(
            [json.dumps(json.loads(lines[0]) | {"first_seq": 2}), *lines[2:]]
        )
        + "\n",
    }
    return {f"odd: {name}": Case(text, jwks, "?") for name, text in cases.items()}


@pytest.mark.skipif(NODE is None, reason="node is needed to run the browser verifier")
def test_python_and_browser_verifiers_give_the_same_reports(samples_cases):
    names = list(samples_cases)
    browser = run_browser_verifier(samples_cases.values())
    for name, case, theirs in zip(names, samples_cases.values(), browser, strict=True):
        ours = verify_text(case.text, case.jwks)
        assert theirs["report"] == ours.to_dict(), name
        assert theirs["text"] == format_report(ours), name
        codes = {problem.code for problem in ours.problems}
        if case.code == "?":
            continue  # an odd file: only the two reports must agree
        if case.code is None:
            assert ours.ok, (name, ours.problems)
        else:
            assert case.code in codes, (name, ours.problems)
