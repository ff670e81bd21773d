"""Audit: query, export, proof bundles, offline verification, erasure, retention, statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """The audit API and ``consentry export``, ``verify-bundle``, ``retention``, ``subjects``."""
    from ..extensions import api
    from .cli import export_command, retention_cli, subjects_cli, verify_bundle_command
    from .views import blp

    api.register_blueprint(blp)
    for command in (export_command, verify_bundle_command, retention_cli, subjects_cli):
        app.cli.add_command(command)
