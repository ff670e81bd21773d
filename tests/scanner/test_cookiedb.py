"""The vendored Open Cookie Database: loading, matching rules, host classes, the refresh script."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from service.jurisdictions import cookiedb
from service.jurisdictions.cookiedb import (
    COLUMNS,
    category_kind,
    classify,
    classify_host,
    kinds_agree,
)
from service.jurisdictions.refresh_cookie_db import main as refresh_main
from service.jurisdictions.refresh_cookie_db import refresh


def test_vendored_database_ships_with_its_licence_and_source_note():
    assert (cookiedb.DATA_DIR / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert "Apache" in (cookiedb.DATA_DIR / "SOURCE.md").read_text()
    assert len(cookiedb.database().entries) > 2000


@pytest.mark.parametrize(
    ("name", "domain", "platform", "kind", "match"),
    [
        ("_ga", "news.example", "Google Analytics", "analytics", "exact"),
        ("_ga_X1Y2Z3", None, "Google Analytics", "analytics", "prefix"),
        ("_gid", ".news.example", "Google Analytics", "analytics", "exact"),
        ("IDE", ".doubleclick.net", "DoubleClick/Google Marketing", "marketing", "exact"),
        # Filed under facebook.com, but the pixel sets it on the visited site.
        ("_fbp", ".news.example", "Facebook", "marketing", "exact"),
    ],
)
def test_known_cookies_are_classified(name, domain, platform, kind, match):
    found = classify(name, domain)
    assert found is not None
    assert (found.entry.platform, found.entry.kind, found.match) == (platform, kind, match)
    assert found.as_dict()["category"] == kind


def test_an_entry_bound_to_another_domain_does_not_claim_a_sites_own_cookie():
    # The database's "sessionid" is Instagram's, on instagram.com.
    assert classify("sessionid", "news.example") is None
    assert classify("sessionid", "www.instagram.com").entry.platform == "Instagram"


def test_unknown_names_are_not_classified():
    assert classify("consentry", "news.example") is None
    assert classify("", None) is None


def test_the_longest_prefix_wins():
    database = cookiedb.CookieDatabase(
        [_entry("a", "_x", True, "Analytics"), _entry("b", "_x_long", True, "Marketing")]
    )
    assert database.classify("_x_long_1").entry.id == "b"
    assert database.classify("_x_other").entry.id == "a"
    assert database.classify("x_long") is None


def test_hosts_are_classified_by_the_most_specific_database_domain():
    assert classify_host("www.google-analytics.com").category == "analytics"
    assert classify_host("stats.g.doubleclick.net").category == "marketing"
    assert classify_host("cdn.unknown-host.example") is None
    assert classify_host("com") is None


@pytest.mark.parametrize(
    ("category", "kind"),
    [
        ({"id": "necessary", "required": True}, "necessary"),
        ({"id": "stats", "title": "Audience measurement"}, "analytics"),
        ({"id": "ads", "title": "Personalised advertising"}, "marketing"),
        ({"id": "prefs", "title": "Your preferences"}, "functional"),
        ({"id": "other", "title": "Other", "sale_or_sharing": True}, "marketing"),
        ({"id": "misc", "title": "Miscellaneous"}, None),
    ],
)
def test_site_categories_map_to_kinds(category, kind):
    assert category_kind(category) == kind


def test_necessary_declaration_of_a_functional_cookie_agrees_but_not_the_reverse():
    assert kinds_agree("necessary", "functional")
    assert not kinds_agree("functional", "necessary")
    assert not kinds_agree("necessary", "marketing")


def _entry(entry_id, name, wildcard, category, domains=()):
    return cookiedb.CookieEntry(
        entry_id, "P", category, name, tuple(domains), "", "", "", "", wildcard
    )


def _write_csv(path: Path, rows: list[dict[str, str]], columns=COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _row(entry_id: str, name: str, category: str = "Analytics") -> dict[str, str]:
    return {column: "" for column in COLUMNS} | {
        "ID": entry_id,
        "Platform": "Example",
        "Category": category,
        "Cookie / Data Key name": name,
        "Wildcard match": "0",
    }


def test_refresh_installs_a_newer_csv_and_reports_the_changes(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    target = _write_csv(data / "open-cookie-database.csv", [_row("1", "a"), _row("2", "b")])
    shutil.copy(cookiedb.DATA_DIR / "SOURCE.md", data / "SOURCE.md")
    newer = _write_csv(
        tmp_path / "new.csv", [_row("1", "a", "Marketing"), _row("3", "c"), _row("4", "d")]
    )
    summary = refresh(newer, "commit feed (2027-01-01)", target)
    assert (summary.before, summary.after) == (2, 3)
    assert (summary.added, summary.removed, summary.changed) == (2, 1, 1)
    assert [entry.name for entry in cookiedb.read_entries(target)] == ["a", "c", "d"]
    note = (data / "SOURCE.md").read_text()
    assert "commit feed (2027-01-01)" in note
    assert "Licence: Apache" in note


def test_refresh_refuses_wrong_columns_and_truncated_files(tmp_path, capsys):
    target = _write_csv(tmp_path / "db.csv", [_row(str(i), f"n{i}") for i in range(10)])
    wrong = _write_csv(tmp_path / "wrong.csv", [{"name": "x"}], columns=("name",))
    with pytest.raises(ValueError, match="missing columns"):
        refresh(wrong, "x", target)
    short = _write_csv(tmp_path / "short.csv", [_row("1", "n1")])
    with pytest.raises(ValueError, match="truncated"):
        refresh(short, "x", target)
    assert len(cookiedb.read_entries(target)) == 10
    assert refresh_main([str(wrong), "--source", "x"]) == 1
    assert "refresh refused" in capsys.readouterr().err
