"""What a concurrent run must have left behind, read back from the database and the API."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func

from tests.concurrency.workload import (
    CONTESTED,
    SHARED,
    Answer,
    HttpClient,
    Ledger,
    justified_conflict,
    sha_of,
)


def database_state(app) -> dict[str, Any]:
    """The rows the checks compare with what the clients were told."""
    from service.auth.models import ApiKey
    from service.consents.models import ConsentRecord, Erasure
    from service.documents.models import DocumentVersion
    from service.extensions import db
    from service.sites.models import Site

    with app.app_context():
        versions = db.session.execute(
            db.select(DocumentVersion).where(DocumentVersion.site_id == SHARED)
        ).scalars()
        columns = (ConsentRecord.id, ConsentRecord.site_id, ConsentRecord.seq)
        records = db.session.execute(db.select(*columns)).all()
        erasures = db.session.execute(
            db.select(Erasure.site_id, Erasure.subject_hmac).where(Erasure.reason == "request")
        ).all()
        state = {
            "versions": {
                (row.kind, row.version): {
                    "status": row.status,
                    "sha": row.content_sha256,
                    "published_at": row.published_at,
                }
                for row in versions
            },
            "records": records,
            "erasures": Counter((site, digest) for site, digest in erasures),
            "keys": dict(db.session.execute(db.select(ApiKey.id, ApiKey.revoked_at)).all()),
            "sites": set(db.session.execute(db.select(Site.id)).scalars()),
        }
        rows = db.session.execute(
            db.select(ConsentRecord.site_id, ConsentRecord.subject, func.count())
            .where(ConsentRecord.subject.is_not(None))
            .group_by(ConsentRecord.site_id, ConsentRecord.subject)
        ).all()
        state["subject_records"] = {(site, subject): count for site, subject, count in rows}
        db.session.remove()
        db.engine.dispose()
    return state


def erasure_digests(app, erased: dict[str, str]) -> dict[str, str]:
    from service.audit.erasure import subject_hmac

    with app.app_context():
        return {subject: subject_hmac(site, subject) for subject, site in erased.items()}


def answer_problems(answers: list[Answer], versions: dict) -> tuple[list[str], Counter]:
    """5xx answers, unjustified 409s and other unexpected statuses."""
    problems, conflicts = [], Counter()
    expected = {
        "create_site": {201},
        "create_contested": {201},
        "draft_shared": {201},
        "draft_own": {201},
        "delete_own": {204},
        "publish": {200},
        "publish_own": {200},
        "edit": {200},
        "rename_shared": {200},
        "categories_own": {200},
        "consent": {201},
        "erase": {200},
        "audit_read": {200},
        "proof": {200},
    }
    for answer in answers:
        if answer.status in expected[answer.op]:
            continue
        if answer.status == 409:
            justified = justified_conflict(answer, versions)
            conflicts[answer.op, "justified" if justified else "unjustified"] += 1
            if justified:
                continue
        what = f"{answer.op} {answer.detail or ''}"
        problems.append(f"{what} answered {answer.status}: {answer.body}")
    return problems, conflicts


def document_problems(ledger: Ledger, versions: dict) -> list[str]:
    """Every acknowledged draft and publication present once, numbers without gap or repeat,
    publications in version order."""
    problems = []
    for kind in {kind for kind, _ in versions}:
        numbers = sorted(version for k, version in versions if k == kind)
        acknowledged = [d for d in ledger.drafts if d.kind == kind]
        acknowledged += [v for v in ledger.cli_versions if v[0] == kind]
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(f"{kind}: version numbers {numbers} are not 1..N")
        if len(numbers) != len(acknowledged):
            problems.append(f"{kind}: {len(numbers)} versions for {len(acknowledged)} acknowledged")
        published = sorted(
            (row["published_at"], version)
            for (k, version), row in versions.items()
            if k == kind and row["status"] == "published"
        )
        order = [version for _at, version in published]
        if order != sorted(order):
            problems.append(f"{kind}: published out of version order: {order}")
    for draft in ledger.drafts:
        row = versions.get((draft.kind, draft.version))
        key = (draft.kind, draft.version)
        if row is None:
            problems.append(f"acknowledged draft {key} is missing")
        elif row["status"] == "published":
            if ledger.published.get(key) != row["sha"]:
                problems.append(f"{key} is published with content no client was answered")
        elif row["sha"] != sha_of(draft.kind, draft.marker):
            problems.append(f"draft {key} does not hold its last acknowledged text")
    twice = Counter(
        (a.detail["kind"], a.detail["version"])
        for a in ledger.answers
        if a.op == "publish" and a.status == 200
    )
    problems += [f"{key} was answered as published {n} times" for key, n in twice.items() if n > 1]
    for key, sha in ledger.published.items():
        row = versions.get(key)
        if row is None or row["status"] != "published" or row["sha"] != sha:
            problems.append(f"acknowledged publication {key} is not in the database as answered")
    return problems


def ledger_problems(ledger: Ledger, state: dict, digests: dict[str, str]) -> list[str]:
    """Every acknowledged consent once, sequences without gaps, erasures done and logged once,
    keys, sites."""
    problems = []
    ids = Counter(record_id for record_id, _site, _seq in state["records"])
    for record_id in ledger.receipts:
        if ids[record_id] != 1:
            problems.append(f"consent {record_id} is stored {ids[record_id]} times")
    seqs: dict[str, list[int]] = {}
    for _id, site, seq in state["records"]:
        seqs.setdefault(site, []).append(seq)
    for site, numbers in seqs.items():
        if sorted(numbers) != list(range(1, len(numbers) + 1)):
            problems.append(f"{site}: ledger sequence has gaps or repeats")
    for subject, site in ledger.erased.items():
        if state["subject_records"].get((site, subject)):
            problems.append(f"erased subject {subject} still has records in clear")
        logged = state["erasures"][site, digests[subject]]
        if logged != 1:
            problems.append(f"erasure of {subject} logged {logged} times")
    for key_id in ledger.keys_created:
        if key_id not in state["keys"]:
            problems.append(f"created key {key_id} is missing")
    for key_id in ledger.keys_revoked:
        if state["keys"].get(key_id) is None:
            problems.append(f"revoked key {key_id} is not revoked")
    if ledger.contested_created != 1 or CONTESTED not in state["sites"]:
        problems.append(f"the contested site was created {ledger.contested_created} times")
    return problems


def cli_problems(ledger: Ledger) -> list[str]:
    return [
        f"consentry {' '.join(args)} exited {status}: {output}"
        for args, status, output in ledger.cli
        if status != 0
    ]


def verification_problems(http: HttpClient, sites: set[str]) -> list[str]:
    """Every site's ledger verifies through the API (chain, copies, checkpoints)."""
    problems = []
    for site in sorted(sites):
        status, report = http.call("GET", f"/api/v1/sites/{site}/ledger/verify")
        if status != 200 or not report.get("ok"):
            problems.append(f"{site}: ledger verification {status} {report}")
    return problems
