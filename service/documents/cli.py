"""``consentry documents``: policies as code (publish a Markdown file, list, diff)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..commands import FeatureGroup
from ..database import read_only_command
from ..ledger.vocabulary import DOCUMENT_KINDS
from . import service


def split_title(markdown: str) -> tuple[str, str]:
    """A leading ``# Heading`` is the title; the rest is the body."""
    first, _, rest = markdown.lstrip("\ufeff\n").partition("\n")
    if first.startswith("# "):
        return first[2:].strip(), rest
    return "", markdown


def parse_when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter("use ISO 8601, e.g. 2026-12-01T00:00:00Z") from error
    if when.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-12-01T00:00:00Z or +01:00")
    return when


@click.group("documents", cls=FeatureGroup, help="Versioned legal documents (policies as code).")
def documents_cli() -> None:
    pass


@documents_cli.command("publish")
@click.argument("site")
@click.argument("kind", type=click.Choice(DOCUMENT_KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--locale", default=None, help="Locale of the text (default: the site's).")
@click.option("--title", default=None, help="Title (default: the file's leading '# ' heading).")
@click.option("--material", is_flag=True, help="Visitors must agree again.")
@click.option("--summary", default="", help="What changed, in a sentence.")
@click.option("--effective-at", default=None, help="ISO 8601 with time zone; default: now.")
@with_appcontext
def publish_command(site, kind, file, locale, title, material, summary, effective_at) -> None:
    """Publish FILE (Markdown) as the next version of SITE's KIND document, unless the latest
    published version already has exactly this text."""
    from ..sites.service import get_site

    locale = locale or get_site(site).default_locale
    heading, body = split_title(file.read_text(encoding="utf-8"))
    title = title or heading or service.KIND_TITLES[kind]
    state, created = service.publish_text(
        site,
        kind,
        {locale: {"title": title, "body": body}},
        default_locale=locale,
        material=material,
        summary=summary,
        effective_at=parse_when(effective_at),
    )
    doc = state.document
    if created:
        click.echo(
            f"published {site} {kind} version {doc.version} ({state.status}), "
            f"sha256 {doc.content_sha256}"
        )
    else:
        click.echo(f"unchanged: {site} {kind} version {doc.version} already has this text")


@documents_cli.command("list")
@click.argument("site")
@with_appcontext
@read_only_command
def list_command(site: str) -> None:
    """Every version of every document of SITE, drafts included."""
    rows = [state for kind in DOCUMENT_KINDS for state in service.list_versions(site, kind, True)]
    click.echo("kind\tversion\tstatus\teffective_at\tmaterial\tsha256\tsummary")
    for state in rows:
        doc = state.document
        effective = f"{doc.effective_at:%Y-%m-%dT%H:%MZ}" if doc.effective_at else "-"
        click.echo(
            f"{doc.kind}\t{doc.version}\t{state.status}\t{effective}\t"
            f"{'yes' if doc.material else 'no'}\t{doc.content_sha256[:12]}\t{doc.summary}"
        )


@documents_cli.command("diff")
@click.argument("site")
@click.argument("kind", type=click.Choice(DOCUMENT_KINDS))
@click.argument("new", type=int)
@click.argument("old", type=int)
@click.option("--locale", default=None)
@with_appcontext
@read_only_command
def diff_command(site: str, kind: str, new: int, old: int, locale: str | None) -> None:
    """What changed from version OLD to version NEW, block by block."""
    diff = service.diff_versions(site, kind, new, old, include_drafts=True, locale=locale)
    click.echo(f"--- {kind} version {old}\n+++ {kind} version {new}")
    if diff["title"]["before"] != diff["title"]["after"]:
        click.echo(f"- # {diff['title']['before']}\n+ # {diff['title']['after']}")
    for change in diff["changes"]:
        click.echo(f"@@ {change['op']}")
        for block in change["before"]:
            click.echo("\n".join("- " + line for line in block.split("\n")))
        for block in change["after"]:
            click.echo("\n".join("+ " + line for line in block.split("\n")))
    if not diff["changes"]:
        click.echo("(no change in the text)")
