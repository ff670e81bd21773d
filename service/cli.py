"""The ``consentry`` command: Flask's CLI over :func:`service.app.create_app`, with the commands
each feature adds in its ``init_app`` (on :mod:`service.commands`)."""

from __future__ import annotations

from flask.cli import FlaskGroup

from .app import create_app


def main() -> None:
    cli = FlaskGroup(create_app=create_app, add_version_option=False, help=__doc__)
    cli.main(prog_name="consentry")
