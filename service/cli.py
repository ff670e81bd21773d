"""The ``consentry`` command: Flask's CLI over :func:`create_app`, plus thin commands over the
service functions (each command parses options, calls one function, prints)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from .auth import service as auth_service

POLICY_KINDS = ("privacy", "terms", "cookies")


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
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Create or upgrade the database, seed the demo site and serve it."""
    from flask import current_app
    from flask_migrate import upgrade

    from .demo import seed_demo

    upgrade()
    admin_key_file = seed_demo(f"http://{host}:{port}")
    click.echo(f"Demo site 'news-example' ready. Admin API key in {admin_key_file}")
    click.echo(f"Open http://{host}:{port}/demo  (API docs: http://{host}:{port}/api/docs)")
    click.echo(
        "Policies: "
        + "  ".join(f"http://{host}:{port}/p/news-example/{kind}" for kind in POLICY_KINDS)
    )
    if not no_serve:
        current_app.run(host=host, port=port, debug=False, load_dotenv=False)


def init_app(app: Flask) -> None:
    from .documents.cli import documents_cli

    app.cli.add_command(keys_cli)
    app.cli.add_command(documents_cli)
    app.cli.add_command(demo_command)
