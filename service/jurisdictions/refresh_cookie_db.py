"""Refresh the vendored Open Cookie Database from a newer CSV.

    python -m service.jurisdictions.refresh_cookie_db NEW.csv --source "commit abc123 (2027-01-10)"

The new file must have the database's columns and at least half as many entries as the current
one (a truncated download is refused). It replaces the vendored CSV atomically, rewrites the
source line of its ``SOURCE.md`` and prints how many entries were added, removed and
changed, so the refresh can be reviewed as one commit.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .cookiedb import DATA_DIR, DATABASE_FILE, CookieEntry, read_entries

SOURCE_NOTE = DATA_DIR / "SOURCE.md"
_SOURCE_LINE = re.compile(r"^- Copied from: .*?(?=^- )", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class RefreshSummary:
    before: int
    after: int
    added: int
    removed: int
    changed: int


def compare(old: list[CookieEntry], new: list[CookieEntry]) -> RefreshSummary:
    """Count entries added, removed and changed, keyed by the database's ID (name when blank)."""
    old_by_id = {entry.id or entry.name: entry for entry in old}
    new_by_id = {entry.id or entry.name: entry for entry in new}
    common = old_by_id.keys() & new_by_id.keys()
    return RefreshSummary(
        before=len(old),
        after=len(new),
        added=len(new_by_id.keys() - old_by_id.keys()),
        removed=len(old_by_id.keys() - new_by_id.keys()),
        changed=sum(1 for key in common if old_by_id[key] != new_by_id[key]),
    )


def refresh(new_csv: Path, source: str, target: Path = DATABASE_FILE) -> RefreshSummary:
    """Check ``new_csv`` and install it as the vendored database; raise ValueError if unfit."""
    new_entries = read_entries(new_csv)
    old_entries = read_entries(target) if target.exists() else []
    if len(new_entries) < len(old_entries) // 2:
        raise ValueError(
            f"{new_csv} has {len(new_entries)} entries, fewer than half of the current "
            f"{len(old_entries)}: refusing what looks like a truncated file"
        )
    summary = compare(old_entries, new_entries)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".csv")
    os.close(handle)
    shutil.copyfile(new_csv, temporary)
    os.replace(temporary, target)
    note = target.parent / SOURCE_NOTE.name
    if note.exists():
        text = note.read_text(encoding="utf-8")
        line = f"- Copied from: {source}, file `open-cookie-database.csv`, unchanged.\n"
        note.write_text(_SOURCE_LINE.sub(line, text, count=1), encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", type=Path, help="the newer open-cookie-database.csv")
    parser.add_argument(
        "--source", required=True, help='where it comes from, e.g. "commit abc123 (2027-01-10)"'
    )
    args = parser.parse_args(argv)
    try:
        summary = refresh(args.csv, args.source)
    except (OSError, ValueError) as error:
        print(f"refresh refused: {error}", file=sys.stderr)
        return 1
    print(
        f"{summary.before} -> {summary.after} entries: {summary.added} added, "
        f"{summary.removed} removed, {summary.changed} changed"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
