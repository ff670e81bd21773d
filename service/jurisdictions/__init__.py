"""Jurisdictions: region rules and modes, region resolution, the compliance linter, standard
(ISO/IEC TS 27560) records and the visitor's receipt page."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Region resolution, the compliance API, the receipt page and ``consentry lint``."""
    from ..extensions import api
    from . import (
        models,  # noqa: F401  (the tables, for metadata and Alembic)
        resolution,
    )
    from .cli import lint_command
    from .pages import bp as receipt_pages
    from .views import blp

    resolution.init_app(app)
    api.register_blueprint(blp)
    app.register_blueprint(receipt_pages)
    app.cli.add_command(lint_command)
