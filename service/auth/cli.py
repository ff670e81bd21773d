"""``consentry keys``: API keys and the signing key ring."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..commands import FeatureGroup
from ..database import read_only_command
from ..signing import keyring_store
from . import service as auth_service


@click.group("keys", cls=FeatureGroup, help="API keys (shown once, stored as SHA-256).")
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
@read_only_command
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


@keys_cli.command("rotate-signing")
@with_appcontext
def rotate_signing_command() -> None:
    """Add a new current Ed25519 signing key; retired keys stay published in the JWKS."""
    ring = keyring_store().rotate()
    click.echo(f"current signing key: {ring.current.kid}")
    click.echo(f"published keys: {', '.join(ring.kids())}")
