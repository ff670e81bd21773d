"""``consentry users``: create, list, disable and reset console users."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from ..errors import DomainError
from . import users


def read_password(generate: bool) -> tuple[str, bool]:
    """The new password: generated, prompted twice on a terminal, or two lines of stdin (the
    second confirms). Returns it and whether it was generated."""
    if generate:
        return users.generate_password(), True
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True), False
    lines = sys.stdin.read().splitlines()
    if not lines:
        raise click.UsageError("Give the password on stdin (or use --generate).")
    if len(lines) > 1 and lines[1] != lines[0]:
        raise click.UsageError("The two password lines differ.")
    return lines[0], False


def fail(error: DomainError) -> None:
    raise click.ClickException(error.message)


@click.group("users", help="People who sign in to the console.")
def users_cli() -> None:
    pass


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(users.ROLES))
@click.option("--site", default=None, help="Bind the user to one site (default: all sites).")
@click.option("--generate", is_flag=True, help="Generate a one-time password and print it.")
@with_appcontext
def create_command(email: str, role: str, site: str | None, generate: bool) -> None:
    """Create a console user."""
    password, generated = read_password(generate)
    try:
        user = users.create_user(email, role, password, site)
    except DomainError as error:
        fail(error)
    if generated:
        click.echo(password)
    click.echo(f"created {user.email} ({user.role}, site {user.site_id or '*'})", err=True)


@users_cli.command("list")
@with_appcontext
def list_command() -> None:
    """List console users."""
    for user in users.list_users():
        state = "disabled" if user.disabled_at else "active"
        totp = "totp" if user.totp_secret else "no-totp"
        click.echo(f"{user.email}\t{user.role}\t{user.site_id or '*'}\t{state}\t{totp}")


@users_cli.command("disable")
@click.argument("email")
@with_appcontext
def disable_command(email: str) -> None:
    """Disable a user and end their sessions."""
    try:
        users.disable_user(email)
    except DomainError as error:
        fail(error)
    click.echo(f"disabled {email}")


@users_cli.command("reset-password")
@click.argument("email")
@click.option("--generate", is_flag=True, help="Generate a one-time password and print it.")
@with_appcontext
def reset_password_command(email: str, generate: bool) -> None:
    """Set a new password (ends the user's sessions)."""
    password, generated = read_password(generate)
    try:
        users.reset_password(email, password)
    except DomainError as error:
        fail(error)
    if generated:
        click.echo(password)
    click.echo(f"password reset for {email}", err=True)
