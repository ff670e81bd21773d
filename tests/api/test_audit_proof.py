"""Proof bundles and the offline verifier: a saved bundle or export verifies with no database,
and tampering with any part of it is detected."""

from __future__ import annotations

import copy
import json

import pytest

from service.audit.offline import verify_bundle, verify_export, verify_file
from tests.helpers.audit import BASE, SITE, accept, recording_site, reject
from tests.helpers.isolation import WEB_STACK, run_without


@pytest.fixture
def record(client, admin, make_site):
    return recording_site(client, admin, make_site)


@pytest.fixture
def bundle(app, client, admin, record) -> dict:
    app.config["CHECKPOINT_EVERY"] = 1000
    record(**accept("s_alice_0001"))
    record(**accept("s_bob_00001"))
    record.publish(body="Version two of the policy.")
    record(**reject("s_alice_0001"))
    for n in range(4):
        record(subject=f"s_other_{n:04d}")
    response = client.get(f"{BASE}/subjects/s_alice_0001/proof", headers=admin)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_bundle_holds_the_subjects_history_documents_and_proofs(bundle, record):
    assert bundle["site"] == SITE and bundle["subject"] == "s_alice_0001"
    assert [r["seq"] for r in bundle["records"]] == [1, 3]
    assert {r["action"] for r in bundle["records"]} == {"accept_all", "reject_all"}
    assert set(bundle["documents"]) == {"privacy:1", "privacy:2"}
    second = bundle["documents"]["privacy:2"]
    assert second["sha256"] == record.documents["privacy"]["sha256"]
    assert "Version two of the policy." in second["texts"]["en"]["body"]
    assert bundle["checkpoint"]["tree_size"] == 7
    assert all(r["inclusion_proof"]["tree_size"] == 7 for r in bundle["records"])
    # "r" * 64 was never served as a banner config: nothing to show of it.
    assert bundle["banner_revisions"] == [{"revision": "r" * 64, "seqs": [1, 3], "config": None}]
    assert bundle["verification"]["ok"] is True
    assert bundle["verification"]["checked"]["receipts"] == 2
    assert "s_bob_00001" not in json.dumps(bundle)


def test_saved_bundle_verifies_offline_with_the_cli(bundle, runner, tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    result = runner.invoke(args=["verify-bundle", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("bundle: OK")


def _edit_body(b):
    body = json.loads(b["records"][0]["body"])
    body["choices"]["marketing"] = False
    b["records"][0]["body"] = json.dumps(body, sort_keys=True, separators=(",", ":"))


TAMPERS = {
    "body": (_edit_body, "entry_hash_mismatch"),
    "shown choices": (
        lambda b: b["records"][0]["choices"].update(marketing=False),
        "field_mismatch",
    ),
    "receipt signature": (
        lambda b: b["records"][0].update(receipt=b["records"][0]["receipt"][:-4] + "AAAA"),
        "bad_receipt",
    ),
    "entry hash": (lambda b: b["records"][1].update(entry_hash="0" * 64), "entry_hash_mismatch"),
    "inclusion path": (
        lambda b: b["records"][0]["inclusion_proof"]["path"].__setitem__(0, "1" * 64),
        "not_included",
    ),
    "checkpoint root": (
        lambda b: b["checkpoint"].update(root_hash="2" * 64),
        "checkpoint_bad_signature",
    ),
    "document text": (
        lambda b: b["documents"]["privacy:1"]["texts"]["en"].update(body="We sell everything."),
        "document_hash_mismatch",
    ),
    "document dropped": (lambda b: b["documents"].pop("privacy:2"), "document_mismatch"),
    "jwks swapped": (
        lambda b: b["jwks"]["keys"][0].update(x="11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
        "bad_jwks",
    ),
    "subject": (lambda b: b.update(subject="s_someone_else"), "field_mismatch"),
}


@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_tampering_a_saved_bundle_is_detected(bundle, tamper, runner, tmp_path):
    change, code = TAMPERS[tamper]
    tampered = copy.deepcopy(bundle)
    change(tampered)
    report = verify_bundle(tampered)
    assert report.ok is False
    assert code in {problem.code for problem in report.problems}, report.problems
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(tampered))
    result = runner.invoke(args=["verify-bundle", str(path)])
    assert result.exit_code == 1 and "FAILED" in result.output


def test_proof_bundle_as_printable_html(client, admin, bundle):
    response = client.get(f"{BASE}/subjects/s_alice_0001/proof?format=html", headers=admin)
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Proof of consent" in page and "All checks passed" in page
    assert "Version two of the policy." in page
    assert "<script" not in page
    assert 'href="http://localhost/verify"' in page and "/.well-known/jwks.json" in page
    by_accept = client.get(
        f"{BASE}/subjects/s_alice_0001/proof", headers={**admin, "Accept": "text/html"}
    )
    assert by_accept.mimetype == "text/html"


def test_proof_of_unknown_or_erased_subject_is_404(client, admin, bundle):
    assert client.get(f"{BASE}/subjects/s_nobody_001/proof", headers=admin).status_code == 404
    client.post(f"{BASE}/subjects/s_alice_0001/erase", headers=admin)
    response = client.get(f"{BASE}/subjects/s_alice_0001/proof", headers=admin)
    assert response.status_code == 404
    assert client.get(f"{BASE}/subjects/s_bob_00001/proof", headers=admin).status_code == 200


def test_proof_bad_format_is_422(client, admin, bundle):
    response = client.get(f"{BASE}/subjects/s_alice_0001/proof?format=pdf", headers=admin)
    assert response.status_code == 422


# Exports verified offline -------------------------------------------------------------------------


def export_lines(client, admin, **params) -> list[str]:
    response = client.get(f"{BASE}/export", query_string=params, headers=admin)
    assert response.status_code == 200
    return response.get_data(as_text=True).splitlines()


def test_full_export_verifies_against_its_checkpoints(client, admin, bundle):
    report = verify_export(export_lines(client, admin))
    assert report.ok, report.problems
    assert report.checked["entries"] == 7 and report.checked["checkpoints_matched"] >= 1


def _entry_edit(index, **changes):
    def edit(lines):
        data = json.loads(lines[index])
        data.update(changes)
        lines[index] = json.dumps(data)

    return edit


def _body_edit(lines):
    data = json.loads(lines[5])  # seq 5: a "custom" event of another subject
    data["body"] = data["body"].replace('"custom"', '"accept_all"')
    lines[5] = json.dumps(data)


EXPORT_TAMPERS = {
    "edited body": (_body_edit, "entry_hash_mismatch"),
    "deleted entry": (lambda lines: lines.pop(3), "missing_seq"),
    "cut-off file": (lambda lines: lines.pop(), "truncated_file"),
    "forged signature": (_entry_edit(1, signature="A" * 86), "bad_signature"),
    "swapped entries": (
        lambda lines: lines.__setitem__(slice(2, 4), [lines[3], lines[2]]),
        "out_of_order",
    ),
}


@pytest.mark.parametrize("tamper", list(EXPORT_TAMPERS))
def test_tampering_an_export_is_detected(client, admin, bundle, tamper):
    lines = export_lines(client, admin)
    change, code = EXPORT_TAMPERS[tamper]
    change(lines)
    report = verify_export(lines)
    assert report.ok is False
    assert code in {problem.code for problem in report.problems}, report.problems


def test_rewritten_history_is_caught_by_the_checkpoint(client, admin, bundle):
    """Every hash and link recomputed after an edit: only the signed root can tell."""
    import hashlib

    lines = export_lines(client, admin)
    prev = None
    for index in range(1, len(lines) - 1):
        data = json.loads(lines[index])
        body = json.loads(data["body"])
        if index == 5:
            body["action"] = "accept_all"  # was "custom"
        if prev is not None:
            body["prev_hash"] = data["prev_hash"] = prev
        data["body"] = json.dumps(body, sort_keys=True, separators=(",", ":"))
        data["entry_hash"] = prev = hashlib.sha256(data["body"].encode()).hexdigest()
        lines[index] = json.dumps(data)
    codes = {problem.code for problem in verify_export(lines).problems}
    assert "checkpoint_mismatch" in codes and "bad_signature" in codes


def test_range_export_verifies_as_a_chain_segment(app, client, admin, bundle, tmp_path):
    from datetime import timedelta

    from service.timeutil import utcnow
    from tests.helpers.storage import backdate

    backdate(app, [1, 2], utcnow() - timedelta(days=2))
    lines = export_lines(client, admin, **{"from": utcnow().date().isoformat()})
    assert json.loads(lines[0])["first_seq"] == 3
    path = tmp_path / "segment.ndjson"
    path.write_text("\n".join(lines) + "\n")
    report = verify_file(path)
    assert report.ok, report.problems
    assert any("chain segment from seq 3" in note for note in report.notes)
    data = json.loads(lines[3])
    data["prev_hash"] = "f" * 64
    lines[3] = json.dumps(data)
    broken = verify_export(lines)
    assert {"broken_link", "column_mismatch"} <= {problem.code for problem in broken.problems}


def test_verify_bundle_refuses_unreadable_files(runner, tmp_path, app):
    path = tmp_path / "junk.json"
    path.write_text("this is not json")
    result = runner.invoke(args=["verify-bundle", str(path)])
    assert result.exit_code == 1 and "unreadable" in result.output


def test_offline_verifier_runs_as_a_plain_script(bundle, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    done = subprocess.run(
        [sys.executable, "-m", "service.audit.offline", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("bundle: OK")


VERIFY_FILES = """
import sys
from service.audit.offline import main

codes = [main([path]) for path in sys.argv[1:]]
loaded = [name for name in ("flask", "sqlalchemy", "nh3", "markdown_it") if name in sys.modules]
print("codes:", codes, "loaded:", loaded)
"""


def test_offline_verifier_runs_without_the_web_stack(client, admin, bundle, tmp_path):
    """A bundle and an export verify (and a tampered bundle fails) in a process where Flask,
    SQLAlchemy, nh3 and markdown-it cannot be imported."""
    good, export, bad = tmp_path / "bundle.json", tmp_path / "export.ndjson", tmp_path / "bad.json"
    good.write_text(json.dumps(bundle))
    export.write_text("\n".join(export_lines(client, admin)) + "\n")
    tampered = copy.deepcopy(bundle)
    TAMPERS["document text"][0](tampered)  # the check that needs the documents' digest
    bad.write_text(json.dumps(tampered))
    done = run_without(WEB_STACK, VERIFY_FILES, str(good), str(export), str(bad))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "codes: [0, 0, 1] loaded: []"
