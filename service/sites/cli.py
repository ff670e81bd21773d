"""``consentry lint SITE`` (the compliance rules, as the API runs them on every change) and
``consentry sites``: create, list and update sites from the command line, checked by the API's own
schema and compliance rules. Settings come as a JSON object (a file, or ``-`` for stdin), as
``--set NAME=VALUE`` and as flags for the common ones, later ones winning."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from marshmallow import Schema, ValidationError

from ..commands import FeatureGroup
from ..database import read_only_command
from ..errors import DomainError, MalformedJSON, Unprocessable, invalid_request
from ..jurisdictions.regions import MODES
from . import service
from .compliance import lint_site
from .schemas import SITE_SETTINGS, SiteCreateSchema, SiteSchema, SiteSettingsSchema
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


site_schema = SiteSchema()
create_schema = SiteCreateSchema()
update_schema = SiteSettingsSchema(partial=SITE_SETTINGS)

SETTING_OPTIONS = [
    click.option("--json", "json_source", default=None, metavar="FILE",
                 help="The settings as a JSON object (the API's body), from FILE or - (stdin)."),
    click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE",
                 help="One setting; VALUE is JSON (a plain string may go unquoted). Repeatable."),
    click.option("--name", default=None, help="The site's name."),
    click.option("--origin", "allowed_origins", multiple=True,
                 help="An allowed origin (https://example.com); repeat for several."),
    click.option("--default-mode", type=click.Choice(MODES), default=None,
                 help="The mode where no region rule applies."),
    click.option("--default-locale", default=None, help="A language tag: en, fr-CA."),
    click.option("--consent-lifetime-days", type=int, default=None),
    click.option("--retention-days", type=int, default=None),
    click.option("--cookie-domain", default=None, help="Share consent across its subdomains."),
]  # fmt: skip


def setting_options(command):
    for option in reversed(SETTING_OPTIONS):
        command = option(command)
    return command


def settings_from(json_source: str | None, assignments: tuple[str, ...], **flags: Any) -> dict:
    """The JSON object, then each ``--set``, then the flags."""
    data: dict[str, Any] = {}
    if json_source is not None:
        data = parse_object(read_source(json_source))
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        if not equals or not name.strip():
            raise MalformedJSON(f"--set takes NAME=VALUE, not '{assignment[:60]}'.")
        try:
            data[name.strip()] = json.loads(value)
        except ValueError:
            data[name.strip()] = value
    origins = flags.pop("allowed_origins")
    if origins:
        data["allowed_origins"] = list(origins)
    return data | {name: value for name, value in flags.items() if value is not None}


def read_source(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MalformedJSON(f"Cannot read {source}: {error}") from None


def parse_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise MalformedJSON(f"--json is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise MalformedJSON("--json must hold a JSON object of settings.")
    return data


def load(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise invalid_request(error) from None


def show(site) -> None:
    """The site as the API answers it, and the compliance warnings its settings draw."""
    click.echo(json.dumps(site_schema.dump(site), indent=2, ensure_ascii=False))
    for finding in lint_site(site):
        if finding.severity == "warning":
            click.echo(f"warning: {finding.id}: {finding.message}", err=True)


@click.group("sites", cls=FeatureGroup, help="Sites: their origins, categories and settings.")
def sites_cli() -> None:
    pass


@sites_cli.command("create")
@click.argument("site_id", metavar="SITE", required=False)
@setting_options
@with_appcontext
def create_command(site_id: str | None, json_source, assignments, **flags) -> None:
    """Create SITE (or the JSON's "id"), as POST /api/v1/sites does; print it as JSON."""
    data = settings_from(json_source, assignments, **flags)
    if site_id is not None:
        data["id"] = site_id
    site = service.create_site(load(create_schema, data))
    show(site)


@sites_cli.command("update")
@click.argument("site_id", metavar="SITE")
@setting_options
@with_appcontext
def update_command(site_id: str, json_source, assignments, **flags) -> None:
    """Change SITE's settings, as PATCH /api/v1/sites/SITE does; print it as JSON."""
    changes = settings_from(json_source, assignments, **flags)
    if not changes:
        raise Unprocessable("Give the settings to change: --json, --set or a flag.")
    show(service.update_site(site_id, load(update_schema, changes)))


@sites_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Every setting, as the API answers.")
@with_appcontext
@read_only_command
def list_command(as_json: bool) -> None:
    """Every site: id, default mode, default locale, allowed origins, name."""
    sites = service.list_sites()
    if as_json:
        click.echo(json.dumps(site_schema.dump(sites, many=True), indent=2, ensure_ascii=False))
        return
    click.echo("id\tmode\tlocale\torigins\tname")
    for site in sites:
        click.echo(
            f"{site.id}\t{site.mode}\t{site.default_locale}\t{','.join(site.allowed_origins)}"
            f"\t{site.name}"
        )
