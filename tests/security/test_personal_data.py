"""Personal data at rest and in exports: private SQLite files, formula-safe CSV cells."""

from __future__ import annotations

import csv
import io
import os
import stat
from datetime import timedelta

import pytest

from service import create_app
from service.audit.cli import exported_entries
from service.audit.erasure import apply_retention
from service.audit.export import spreadsheet_text
from service.audit.offline import verify_text
from service.consents.models import ConsentRecord
from service.extensions import db
from service.timeutil import utcnow
from tests.helpers.audit import BASE, SITE, accept, recording_site


def test_sqlite_files_are_created_owner_only(tmp_path):
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        upgrade()
    files = [p for p in tmp_path.iterdir() if p.name.startswith("consentry.db")]
    assert {p.name for p in files} >= {"consentry.db", "consentry.db-wal"}
    for path in files:
        if path.name.endswith(".lock"):
            continue
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path.name


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+2", "'+1+2"),
        ("-2+3+cmd", "'-2+3+cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("s_visitor_0001", "s_visitor_0001"),
        ("", ""),
    ],
)
def test_spreadsheet_cells_never_start_a_formula(value, shown):
    assert spreadsheet_text(value) == shown


def test_csv_export_neutralises_a_formula_subject(client, admin, make_site):
    recorder = recording_site(client, admin, make_site)
    recorder(**accept("-1-2-3-4-cmd"))
    recorder(**accept("s_visitor_0002"))
    response = client.get(f"{BASE}/export?format=csv", headers=admin)
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["subject"] for row in rows] == ["'-1-2-3-4-cmd", "s_visitor_0002"]
    assert all(row["body"].startswith("{") for row in rows)  # the signed bytes, unchanged


def test_verify_bundle_on_a_csv_export_names_the_format_to_use(client, admin, make_site):
    recorder = recording_site(client, admin, make_site)
    recorder(**accept("s_visitor_0001"))
    text = client.get(f"{BASE}/export?format=csv", headers=admin).get_data(as_text=True)
    report = verify_text(text)
    assert not report.ok
    message = report.to_dict()["problems"][0]["message"]
    assert "CSV export cannot be verified" in message and "format=ndjson" in message
    assert "Expecting value" not in message


@pytest.mark.parametrize(
    ("lines", "total", "entries"),
    [(0, 10, 0), (1, 10, 0), (2, 10, 1), (11, 10, 10), (12, 10, 10), (13, 10, 10), (1, 0, 0)],
)
def test_the_export_progress_bar_counts_entries_only(lines, total, entries):
    """Header and end lines are not entries: the bar used to end at 12/10."""
    assert exported_entries(lines, total) == entries


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "iso27560"])
def test_the_export_progress_bar_ends_at_the_number_of_entries(
    runner, client, admin, make_site, monkeypatch, tmp_path, fmt
):
    import click

    recorder = recording_site(client, admin, make_site)
    for n in range(10):
        recorder(**accept(f"s_visitor_{n:04}"))
    bars = []

    class Bar:
        def __init__(self, length, **_options):
            self.length, self.pos = length, 0
            bars.append(self)

        def __enter__(self):
            return self

        def __exit__(self, *_exc):
            return False

        def update(self, steps):
            self.pos += steps

    monkeypatch.setattr(click, "progressbar", Bar)
    out = tmp_path / f"export.{fmt}"
    result = runner.invoke(args=["export", SITE, "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [(bar.pos, bar.length) for bar in bars] == [(10, 10)]


def request_hashes(subject: str | None = None) -> list[str | None]:
    table = ConsentRecord.__table__
    query = db.select(table.c.request_sha256).order_by(table.c.seq)
    if subject is not None:
        query = query.where(table.c.subject == subject)
    return list(db.session.execute(query).scalars())


def erase_by_request(client, admin, subject: str) -> None:
    assert client.post(f"{BASE}/subjects/{subject}/erase", headers=admin).status_code == 200


def erase_by_retention(client, admin, subject: str) -> None:
    apply_retention("news-example", now=utcnow() + timedelta(days=10_000))


@pytest.mark.parametrize("erase", [erase_by_request, erase_by_retention])
def test_an_erased_subject_leaves_neither_the_sqlite_file_nor_its_wal(
    backend, app, client, admin, make_site, erase
):
    if backend.name != "sqlite":
        pytest.skip("SQLite files only")
    subject = "s_erase_me_7f3a9c"
    recorder = recording_site(client, admin, make_site)
    for _ in range(3):
        recorder(**accept(subject))
    hashes = request_hashes(subject)  # each confirms a guessed subject: they must go too
    assert len(hashes) == 3 and all(hashes)
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    erase(client, admin, subject)
    for name in (path, path + "-wal"):
        if os.path.exists(name):
            with open(name, "rb") as handle:
                content = handle.read()
            assert subject.encode() not in content, name
            assert not any(value.encode() in content for value in hashes), name
    assert not os.path.exists(path + "-wal") or os.path.getsize(path + "-wal") == 0


def test_erasure_and_retention_clear_the_request_hash(app, client, admin, make_site):
    """``request_sha256`` hashes the request, subject included: it is personal data."""
    recorder = recording_site(client, admin, make_site)
    for subject in ("s_alice_0001", "s_bob_00001", "s_alice_0001"):
        recorder(**accept(subject))
    assert client.post(f"{BASE}/subjects/s_alice_0001/erase", headers=admin).status_code == 200
    hashes = request_hashes()
    assert hashes[0] is None and hashes[2] is None and hashes[1] is not None
    apply_retention("news-example", now=utcnow() + timedelta(days=10_000))
    assert request_hashes() == [None, None, None]
    report = client.get(f"{BASE}/ledger/verify", headers=admin).get_json()
    assert report["ok"] is True, report["problems"]


def test_an_erased_event_sent_again_is_answered_409_not_500(client, admin, make_site):
    """A retry of an erased event has no request hash left to compare with."""
    from tests.helpers.consents import ORIGIN, event

    recorder = recording_site(client, admin, make_site)
    sent = event(subject="s_alice_0001", documents=recorder.documents)
    first = client.post(f"{BASE}/consents", json=sent, headers={"Origin": ORIGIN})
    assert first.status_code == 201
    assert client.post(f"{BASE}/subjects/s_alice_0001/erase", headers=admin).status_code == 200
    again = client.post(f"{BASE}/consents", json=sent, headers={"Origin": ORIGIN})
    assert again.status_code == 409, again.get_json()
