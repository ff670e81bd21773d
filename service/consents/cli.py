"""``consentry ledger``: checkpoints and verification of the consent ledger."""

from __future__ import annotations

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


@ledger_cli.command("verify")
@click.argument("site")
@click.option("--signatures", is_flag=True, help="Also check every entry's Ed25519 signature.")
@with_appcontext
@read_only_command
def verify_command(site: str, signatures: bool) -> None:
    """Verify SITE's whole ledger; exit status 1 when anything is wrong."""
    report = verify_site_ledger(site, check_signatures=signatures)
    click.echo(
        f"{site}: {'OK' if report.ok else 'FAILED'}; {report.checked} entries, "
        f"{report.checkpoints_checked} checkpoints checked"
    )
    for problem in report.problems:
        click.echo(f"  seq {problem.seq}: {problem.code}: {problem.message}")
    if not report.ok:
        raise SystemExit(1)
