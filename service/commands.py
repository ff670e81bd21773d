"""The base classes of every feature's commands: a refused operation (a
:class:`~service.errors.DomainError`, or a database that is down or not migrated) is printed as one
``Error: ...`` line and exits 1, never as a traceback."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup

from .errors import DATABASE_UNAVAILABLE, DomainError


def error_line(error: DomainError) -> str:
    """A domain error as the one line a command prints (after ``Error: ``)."""
    details = f" {error.details}" if error.details else ""
    return f"{error.message}{details}"


class ReportsDomainErrors:
    """Turns a :class:`DomainError` (or an unreachable or unmigrated database) raised by a
    command into a clean ``Error: ...`` line and exit status 1, instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except DomainError as error:
            raise click.ClickException(error_line(error)) from None
        except DATABASE_UNAVAILABLE as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise click.ClickException(f"The database refused the command: {reason}") from None


class FeatureCommand(ReportsDomainErrors, click.Command):
    """A top-level command of a feature."""


class FeatureGroup(ReportsDomainErrors, AppGroup):
    """A feature's command group (its commands run in an app context, as Flask's do)."""

    command_class = FeatureCommand
