"""The ``consentry`` command: Flask's CLI over :func:`create_app`, plus thin commands over the
service functions (each command parses options, calls one function, prints)."""

from __future__ import annotations

import time

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from .auth import service as auth_service
from .documents.banner import POLICY_KINDS


def main() -> None:
    from . import create_app

    cli = FlaskGroup(create_app=create_app, add_version_option=False, help=__doc__)
    cli.main(prog_name="consentry")


@click.group("keys", help="API keys (shown once, stored as SHA-256).")
def keys_cli() -> None:
    pass


@keys_cli.command("create")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(auth_service.SCOPES),
    help="Repeat for several scopes.",
)
@click.option("--site", default=None, help="Bind the key to one site (default: all sites).")
@click.option("--label", default="", help="A note to tell keys apart.")
@with_appcontext
def create_key_command(scopes: tuple[str, ...], site: str | None, label: str) -> None:
    """Create an API key and print it once."""
    key, plaintext = auth_service.create_api_key(scopes, site, label)
    click.echo(plaintext)
    click.echo(
        f"key id {key.id}, scopes {' '.join(key.scopes)}, site {key.site_id or '*'}: "
        "store it now, it is not shown again.",
        err=True,
    )


@keys_cli.command("list")
@with_appcontext
def list_keys_command() -> None:
    """List API keys (prefixes only)."""
    for key in auth_service.list_api_keys():
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        click.echo(
            f"{key.id}\t{key.prefix}…\t{','.join(key.scopes)}\t{key.site_id or '*'}\t{state}"
            f"\t{key.label}"
        )


@keys_cli.command("revoke")
@click.argument("key_id", type=int)
@with_appcontext
def revoke_key_command(key_id: int) -> None:
    """Revoke an API key by its id."""
    auth_service.revoke_api_key(key_id)
    click.echo(f"revoked key {key_id}")


@click.command("demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--no-serve", is_flag=True, help="Migrate and seed only.")
@click.option(
    "--visitors-per-day",
    default=100,
    show_default=True,
    type=click.IntRange(0, 10_000),
    help="Size of the month of history (0: none).",
)
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool, visitors_per_day: int) -> None:
    """Create or upgrade the database, seed the demo site and serve it."""
    from flask import current_app
    from flask_migrate import upgrade

    from .demo import DEMO_SITE, seed_demo
    from .demo.history import HISTORY_DAYS, seed_history

    upgrade()
    base = f"http://{host}:{port}"
    admin_key_file = seed_demo(base)
    started = time.perf_counter()
    history = seed_history(DEMO_SITE, base, visitors_per_day=visitors_per_day)
    if history.skipped:
        click.echo(f"History not seeded: {history.skipped}.")
    else:
        published = ", ".join(history.published)
        click.echo(
            f"History: {history.recorded} consents over the last {HISTORY_DAYS} days "
            f"({published} published during the month) in {time.perf_counter() - started:.1f} s"
        )
    click.echo(f"Demo site 'news-example' ready. Admin API key in {admin_key_file}")
    if "console" in current_app.blueprints:
        from .console.users import seed_demo_owner

        email, password = seed_demo_owner()
        click.echo(f"Console: {base}/console/  (sign in as {email} with {password})")
    click.echo(f"Open {base}/demo  (API docs: {base}/api/docs)")
    click.echo(f"Verify a proof bundle, export or receipt in your browser: {base}/verify")
    click.echo(
        "Policies: "
        + "  ".join(f"http://{host}:{port}/p/news-example/{kind}" for kind in POLICY_KINDS)
    )
    if not no_serve:
        # Werkzeug's server directly: Flask ignores app.run() inside a CLI command.
        from werkzeug.serving import run_simple

        run_simple(host, port, current_app._get_current_object(), threaded=True)


def init_app(app: Flask) -> None:
    from .audit.cli import export_command, retention_cli, verify_bundle_command
    from .documents.cli import documents_cli

    app.cli.add_command(keys_cli)
    app.cli.add_command(documents_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(export_command)
    app.cli.add_command(verify_bundle_command)
    app.cli.add_command(retention_cli)


@keys_cli.command("rotate-signing")
@with_appcontext
def rotate_signing_command() -> None:
    """Add a new current Ed25519 signing key; retired keys stay published in the JWKS."""
    from flask import current_app

    ring = current_app.extensions["consentry_keys"].rotate()
    click.echo(f"current signing key: {ring.current.kid}")
    click.echo(f"published keys: {', '.join(ring.kids())}")


@click.group("ledger", help="Checkpoints and verification of the consent ledger.")
def ledger_cli() -> None:
    pass


@ledger_cli.command("checkpoint")
@click.argument("site", required=False)
@with_appcontext
def checkpoint_command(site: str | None) -> None:
    """Cut a signed checkpoint now (for SITE, or for every site)."""
    from .consents.service import cut_checkpoint
    from .sites.service import list_sites

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
def verify_command(site: str, signatures: bool) -> None:
    """Verify SITE's whole ledger; exit status 1 when anything is wrong."""
    from .consents.service import verify_site_ledger

    report = verify_site_ledger(site, check_signatures=signatures)
    click.echo(
        f"{site}: {'OK' if report.ok else 'FAILED'}; {report.checked} entries, "
        f"{report.checkpoints_checked} checkpoints checked"
    )
    for problem in report.problems:
        click.echo(f"  seq {problem.seq}: {problem.code}: {problem.message}")
    if not report.ok:
        raise SystemExit(1)
