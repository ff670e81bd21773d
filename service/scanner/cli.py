"""``consentry scan SITE``: scan the site's pages, print the verdict, store the signed report."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .browser import VisitSettings
from .scan import DEFAULT_MAX_PAGES, DEFAULT_TIMEOUT, ScanOptions, phases_for

VERDICT_COLOURS = {"clean": "green", "warn": "yellow", "fail": "red"}


def region_settings(region: str | None) -> VisitSettings:
    """Pass ``--region`` as the service takes it: ``?region=`` on the banner request (honoured in
    development and testing) and the first trusted region header source that
    ``CONSENTRY_REGION_HEADERS`` names (a full code in one header, or country and subdivision in a
    pair); the service reads those only from its trusted proxies, so elsewhere they are harmless."""
    if not region:
        return VisitSettings()
    from ..jurisdictions.resolution import parse_region_headers

    sources = parse_region_headers(current_app.config.get("REGION_HEADERS") or [])
    headers = {}
    if sources:
        source = sources[0]
        country, _sep, subdivision = region.partition("-")
        if source.subdivision is None:
            headers[source.country] = region
        else:
            headers[source.country] = country
            if subdivision:
                headers[source.subdivision] = subdivision
    return VisitSettings(headers=headers, banner_params={"region": region})


def _checked_region(region: str | None) -> str | None:
    from ..jurisdictions.regions import normalise_region

    if region is None:
        return None
    checked = normalise_region(region)
    if checked is None:
        raise click.BadParameter(
            f"{region!r} is not an ISO 3166 country or subdivision (DE, US-CA)."
        )
    return checked


@click.command("scan")
@click.argument("site")
@click.option("--url", "urls", multiple=True, help="Start URL (repeat; default: first origin).")
@click.option("--max-pages", default=DEFAULT_MAX_PAGES, show_default=True, type=click.IntRange(1))
@click.option("--region", default=None, help="Visit as from a region (EU, DE, US-CA, ...).")
@click.option(
    "--timeout",
    default=DEFAULT_TIMEOUT,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds; no new visit starts after it.",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the readable report here.",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the signed report (JSON with its JWS) here.",
)
@click.option("--apply", "apply", is_flag=True, help="Propose declarations for what was seen.")
@click.option("--yes", is_flag=True, help="With --apply: save the proposal without asking.")
@with_appcontext
def scan_command(site, urls, max_pages, region, timeout, html_file, json_file, apply, yes):
    """Open SITE's pages in headless Chromium with no choice, after Reject all and after Accept
    all; print what they did; sign and store the report."""
    from . import service
    from .browser import BrowserMissing

    region = _checked_region(region)
    options = ScanOptions(list(urls), max_pages, timeout, region, region_settings(region))
    phases = len(phases_for(service.site_config(site)))
    try:
        with click.progressbar(
            length=max_pages * phases,
            label="Scanning",
            item_show_func=lambda item: item,
            file=sys.stderr,
        ) as bar:
            completed = service.scan_site(site, options, lambda url, phase: _step(bar, url, phase))
            bar.update(bar.length - bar.pos)
    except BrowserMissing as error:
        raise click.ClickException(str(error)) from error
    _print_report(completed)
    _write_files(completed, html_file, json_file)
    if apply:
        _apply(site, completed.report, yes)


def _step(bar, url: str, phase: str) -> None:
    bar.update(1, f"{phase:<6} {url}")


def _print_report(completed) -> None:
    from . import service

    report, row = completed.report, completed.row
    if report["stopped"]:
        click.secho(f"Stopped early ({report['stopped']}): the report is partial.", fg="yellow")
    for item in report["refused"]:
        click.secho(f"refused {item['url']}: {item['reason']}", fg="yellow")
    for page in report["pages"]:
        click.echo(f"{page['url']}: ", nl=False)
        click.secho(page["verdict"], fg=VERDICT_COLOURS[page["verdict"]], nl=False)
        click.echo(f" ({page['error']})" if page["error"] else "")
    for finding in report["findings"]:
        where = " ".join(filter(None, [finding["page"], finding["phase"]]))
        click.echo(
            f"  {finding['id']} [{finding['severity']}] {finding['type']}: "
            f"{finding['message']}" + (f" ({where})" if where else "")
        )
    click.echo("Cookies:")
    for cookie in report["cookies"]:
        database = cookie["database"]
        known = f"; database: {database['platform']} ({database['category']})" if database else ""
        declared = "declared" if cookie["declared"] else "not declared"
        category = cookie["category"] or cookie["kind"] or "unclassified"
        click.echo(f"  {cookie['name']} ({cookie['domain']}): {category}, {declared}{known}")
    verdict = report["summary"]["verdict"]
    click.echo(f"Verdict for {report['site']}: ", nl=False)
    click.secho(verdict, fg=VERDICT_COLOURS[verdict], bold=True)
    service.verify_report(service.report_jws(row))
    click.echo(f"Report {row.id} stored, signed with key {row.kid} (signature verified).")


def _write_files(completed, html_file: Path | None, json_file: Path | None) -> None:
    import json

    from . import service

    if html_file is not None:
        html_file.write_text(service.render_report_html(completed.row), encoding="utf-8")
        click.echo(f"HTML report: {html_file}")
    if json_file is not None:
        detail = service.report_detail(completed.row)
        detail["created_at"] = detail["created_at"].isoformat()
        json_file.write_text(json.dumps(detail, indent=2, ensure_ascii=False), encoding="utf-8")
        click.echo(f"JSON report: {json_file}")


def _apply(site: str, report: dict, yes: bool) -> None:
    from ..errors import DomainError
    from ..sites.service import get_site
    from .apply import apply_proposal, propose, render_diff

    categories = list(get_site(site).categories)
    proposal = propose(categories, report)
    for name in proposal.unplaced:
        click.echo(f"Not classified, declare it by hand: {name}")
    if proposal.empty:
        click.echo("Nothing to declare: every classified cookie seen is declared.")
        return
    click.echo(render_diff(site, categories, proposal.categories))
    if not yes and not click.confirm("Apply these declarations?", default=False):
        click.echo("Not applied.")
        return
    try:
        apply_proposal(site, proposal)
    except DomainError as error:  # the API's validation or the compliance linter refused it
        rules = error.details.get("rules") or []
        lines = [f"  {rule['id']} ({rule['severity']}): {rule['message']}" for rule in rules]
        raise click.ClickException("\n".join([f"Not applied: {error.message}", *lines])) from error
    click.echo(f"Applied: {len(proposal.added)} declaration(s) added.")
