"""The demo: a news site with categories, declared cookies and an admin key (``consentry demo``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """``consentry demo``."""
    from .cli import demo_command

    app.cli.add_command(demo_command)
