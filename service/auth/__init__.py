"""API keys: creation, storage as SHA-256 only, and the scope/site check on admin routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """``consentry keys`` (the guard is applied by each admin view)."""
    from . import models  # noqa: F401  (tables for metadata and Alembic)
    from .cli import keys_cli

    app.cli.add_command(keys_cli)
