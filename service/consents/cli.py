"""``consentry ledger``: checkpoints and verification of the consent ledger."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..commands import FeatureGroup
from ..database import read_only_command
from ..sites.service import list_sites
from .service import cut_checkpoint, verify_site_ledger


@click.group("ledger", cls=FeatureGroup, help="Checkpoints and verification of the consent ledger.")
def ledger_cli() -> None:
    pass


@ledger_cli.command("checkpoint")
@click.argument("site", required=False)
@with_appcontext
def checkpoint_command(site: str | None) -> None:
    """Cut a signed checkpoint now (for SITE, or for every site)."""
    for site_id in [site] if site else [s.id for s in list_sites()]:
        row = cut_checkpoint(site_id)
        if row is None:
            click.echo(f"{site_id}: empty ledger, no checkpoint")
        else:
            click.echo(f"{site_id}: tree_size {row.tree_size} root {row.root_hash}")


def read_receipts(path: Path) -> list[str]:
    """Receipts from a file: a JSON list (of receipts, or of consent answers with a
    ``receipt``), or one receipt per line."""
    text = path.read_text(encoding="utf-8")
    try:
        items = json.loads(text)
    except ValueError:
        return [line.strip() for line in text.splitlines() if line.strip()]
    if not isinstance(items, list):
        raise click.BadParameter("a JSON file of receipts holds a list", param_hint="--receipts")
    return [item.get("receipt") if isinstance(item, dict) else item for item in items]


@ledger_cli.command("verify")
@click.argument("site")
@click.option("--signatures", is_flag=True, help="Also check every entry's Ed25519 signature.")
@click.option(
    "--receipts",
    "receipts_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Receipts kept elsewhere (one per line, or a JSON list): each entry must be in the table.",
)
@with_appcontext
@read_only_command
def verify_command(site: str, signatures: bool, receipts_file: Path | None) -> None:
    """Verify SITE's whole ledger (chain, checkpoints, erasure log, head, and the receipts
    given); exit status 1 when anything is wrong."""
    receipts = read_receipts(receipts_file) if receipts_file else []
    report = verify_site_ledger(site, check_signatures=signatures, receipts=receipts)
    click.echo(
        f"{site}: {'OK' if report.ok else 'FAILED'}; {report.checked} entries, "
        f"{report.checkpoints_checked} checkpoints, {report.erasures_checked} erasures checked"
    )
    if receipts:
        matched = sum(finding.status == "matches" for finding in report.receipts)
        click.echo(f"  receipts: {matched} of {len(receipts)} match their entries")
    for finding in report.receipts:
        if finding.status in ("invalid", "other_site"):
            click.echo(f"  receipt {finding.index}: {finding.status}: {finding.message}")
    for problem in report.problems:
        click.echo(f"  seq {problem.seq}: {problem.code}: {problem.message}")
    if not report.ok:
        raise SystemExit(1)
