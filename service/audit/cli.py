"""``consentry export``, ``verify-bundle``, ``retention apply`` and ``subjects erase``."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..commands import FeatureCommand, FeatureGroup
from ..database import read_only_command
from . import erasure, export, offline
from .schemas import ExportQuerySchema


def parse_range(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    from marshmallow import ValidationError

    raw = {key: value for key, value in (("from", start), ("to", end)) if value is not None}
    try:
        parsed = ExportQuerySchema().load(raw)
    except ValidationError as error:
        raise click.BadParameter(str(error.messages)) from None
    return parsed["start"], parsed["end"]


@click.command("export", cls=FeatureCommand)
@click.argument("site")
@click.option("--format", "fmt", type=click.Choice(["ndjson", "csv", "iso27560"]), default="ndjson")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--from", "start", default=None, help="ISO date or date-time (included).")
@click.option("--to", "end", default=None, help="ISO date (included) or date-time (excluded).")
@with_appcontext
@read_only_command
def export_command(site: str, fmt: str, out: Path, start: str | None, end: str | None) -> None:
    """Write SITE's ledger (or a time range) to OUT, streamed; a progress bar on a terminal."""
    begin, finish = parse_range(start, end)
    plan = export.plan_export(site, begin, finish)
    total = max(plan.last_seq - plan.first_seq + 1, 0)
    if fmt == "iso27560":
        from flask import current_app

        from .records import export_iso27560

        # Notices and the receipt page are named under CONSENTRY_PUBLIC_URL (relative without).
        chunks = export_iso27560(plan, (current_app.config.get("PUBLIC_URL") or "").rstrip("/"))
        header_lines = 0  # one record per line, nothing before them
    else:
        chunks = export.export_ndjson(plan) if fmt == "ndjson" else export.export_csv(plan)
        header_lines = 1
    with (
        out.open("w", encoding="utf-8", newline="") as handle,
        click.progressbar(
            length=total, label=f"exporting {site}", file=sys.stderr, show_pos=True
        ) as bar,
    ):
        lines = 0
        for chunk in chunks:
            handle.write(chunk)
            lines += chunk.count("\n")
            bar.update(exported_entries(lines, total, header_lines) - bar.pos)
    click.echo(f"{site}: {total} entries (seq {plan.first_seq}..{plan.last_seq}) to {out}")


def exported_entries(lines: int, total: int, header_lines: int = 1) -> int:
    """Entries written once ``lines`` lines are: the header lines are not, nor what follows
    the last entry (checkpoint and end lines), so the bar ends at ``total``."""
    return min(max(lines - header_lines, 0), total)


@click.command("verify-bundle", cls=FeatureCommand)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--jwks",
    "jwks_source",
    default=None,
    help="The site's JWKS (file or URL): the keys to trust. Needed for a receipt.",
)
def verify_bundle_command(file: Path, jwks_source: str | None) -> None:
    """Check a proof bundle, NDJSON export or receipt offline: exit 1 if not OK.

    Without --jwks the keys come from the file itself (no network)."""
    try:
        site_jwks = offline.load_jwks(jwks_source) if jwks_source else None
    except (OSError, ValueError) as error:
        raise click.BadParameter(f"cannot read the JWKS: {error}", param_hint="--jwks") from None
    report = offline.verify_file(file, site_jwks)
    click.echo(offline.format_report(report))
    if not report.ok:
        raise SystemExit(1)


@click.group(
    "retention", cls=FeatureGroup, help="Redact records older than each site's retention_days."
)
def retention_cli() -> None:
    pass


@retention_cli.command("apply")
@click.option("--site", default=None, help="Only this site (default: every site).")
@click.option("--dry-run", is_flag=True, help="Count what would be redacted; change nothing.")
@with_appcontext
def retention_apply_command(site: str | None, dry_run: bool) -> None:
    """Redact (body and subject cleared, hashes kept) every record past its site's retention."""
    results = erasure.apply_retention(site, dry_run=dry_run)
    verb = "would redact" if dry_run else "redacted"
    for result in results:
        click.echo(
            f"{result['site']}: {verb} {result['records']} records before {result['cutoff']}"
        )


@click.group("subjects", cls=FeatureGroup, help="A visitor's records: erasure.")
def subjects_cli() -> None:
    pass


@subjects_cli.command("erase")
@click.argument("site")
@click.argument("subject")
@click.option("--reason", required=True, help="Why (the request's reference): kept in the log.")
@with_appcontext
def erase_subject_command(site: str, subject: str, reason: str) -> None:
    """Redact SUBJECT's personal fields in every record of SITE, as the API's erasure does
    (hashes kept: the ledger still verifies); recorded in the activity log with the reason."""
    result = erasure.erase_subject(site, subject, reason)
    if result["already_erased"]:
        click.echo(f"{site}: subject already erased on {result['erased_at']}; nothing left")
        return
    click.echo(
        f"{site}: erased the subject from {result['records_redacted']} records "
        f"(seq {', '.join(map(str, result['redacted_seqs']))})"
    )
