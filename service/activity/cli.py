"""``consentry activity``: list and verify the activity log."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from . import service


@click.group("activity", help="The hash-chained log of admin actions.")
def activity_cli() -> None:
    pass


@activity_cli.command("verify")
@with_appcontext
def verify_command() -> None:
    """Verify the whole activity log; exit status 1 when anything is wrong."""
    report = service.verify_activity()
    for problem in report.problems:
        click.echo(f"FAIL {problem}")
    click.echo(f"{'OK' if report.ok else 'FAILED'}: {report.entries} entries, head {report.head}")
    sys.exit(0 if report.ok else 1)


@activity_cli.command("list")
@click.option("--site", default=None)
@click.option("--limit", default=50, type=click.IntRange(1, 1000))
@with_appcontext
def list_command(site: str | None, limit: int) -> None:
    """The newest entries first."""
    for row in service.query_activity(site=site, limit=limit).items:
        click.echo(
            f"{row.seq}\t{service.describe_time(row.at)}\t{row.actor}\t{row.action}\t"
            f"{row.object}\t{row.site_id or '*'}"
        )
