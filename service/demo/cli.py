"""``consentry demo``: migrate, seed the demo site and a month of history, and serve it."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from werkzeug import serving

from ..commands import FeatureCommand
from ..database import end_transaction
from ..ledger.vocabulary import POLICY_KINDS
from .history import HISTORY_DAYS, seed_history
from .seed import DEMO_SITE, seed_demo


@click.command("demo", cls=FeatureCommand)
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
    end_transaction()  # Alembic's own connection must not wait for this session's write lock
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
    click.echo(f"Demo site '{DEMO_SITE}' ready. Admin API key in {admin_key_file}")
    if "console" in current_app.blueprints:
        # The console is a feature above the demo: asked for only when it is installed.
        from ..console.users import seed_demo_owner

        email, password = seed_demo_owner()
        click.echo(f"Console: {base}/console/  (sign in as {email} with {password})")
    click.echo(f"Open {base}/demo  (API docs: {base}/api/docs)")
    click.echo(f"Verify a proof bundle, export or receipt in your browser: {base}/verify")
    click.echo("Policies: " + "  ".join(f"{base}/p/{DEMO_SITE}/{kind}" for kind in POLICY_KINDS))
    end_transaction()  # nor the requests served below
    if not no_serve:
        # Werkzeug's server directly: Flask ignores app.run() inside a CLI command.
        serving.run_simple(host, port, current_app._get_current_object(), threaded=True)
