"""``consentry lint SITE``: the compliance rules, as the API runs them on every change."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from ..errors import DomainError
from .compliance import lint_site
from .service import get_site


@click.command("lint")
@click.argument("site")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@with_appcontext
def lint_command(site: str, as_json: bool) -> None:
    """Check SITE against the compliance rules; exit status 1 when a rule fails (an error)."""
    try:
        findings = lint_site(get_site(site))
    except DomainError as error:
        raise click.ClickException(error.message) from None
    errors = [finding for finding in findings if finding.severity == "error"]
    if as_json:
        report = {"site": site, "ok": not errors, "rules": [f.to_dict() for f in findings]}
        click.echo(json.dumps(report, indent=2))
    else:
        for finding in findings:
            click.echo(f"{finding.severity.upper():7} {finding.id}: {finding.message}")
            click.echo(f"        source: {finding.citation}")
        warnings = len(findings) - len(errors)
        click.echo(f"{site}: {len(errors)} errors, {warnings} warnings")
    if errors:
        raise SystemExit(1)
