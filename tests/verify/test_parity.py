"""The browser verifier says what `consentry verify-bundle` says: the same good and tampered
files go through service/audit/offline.py and through service/verify/static/verifier.js (under
Node, whose WebCrypto has Ed25519 like Chromium's), and the reports must be equal: kind, counts,
every problem's place, code and message, notes, and the printed text."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from service.audit.offline import format_report, verify_text
from tests.audit_helpers import recording_site
from tests.verify_samples import make_samples

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
    return samples.cases()


@pytest.mark.skipif(NODE is None, reason="node is needed to run the browser verifier")
def test_python_and_browser_verifiers_give_the_same_reports(samples_cases):
    names = list(samples_cases)
    browser = run_browser_verifier(samples_cases.values())
    for name, case, theirs in zip(names, samples_cases.values(), browser, strict=True):
        ours = verify_text(case.text, case.jwks)
        assert theirs["report"] == ours.to_dict(), name
        assert theirs["text"] == format_report(ours), name
        codes = {problem.code for problem in ours.problems}
        if case.code is None:
            assert ours.ok, (name, ours.problems)
        else:
            assert case.code in codes, (name, ours.problems)
