"""Server-rendered pages and operational endpoints (health check)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """The health check, hosted policy pages, receipt pages, the widget script and the demo page."""
    from . import demo, policy, receipt, views, widget

    for module in (views, policy, widget, demo, receipt):
        app.register_blueprint(module.bp)
