"""Reading query strings and forms into typed values, with messages a person can act on."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ...errors import DomainError, Unprocessable


def parse_day(value: str | None, field: str, default: date | None = None) -> date | None:
    if not value:
        return default
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Unprocessable(
            f"'{value[:40]}' is not a date: use YYYY-MM-DD.", {"fields": {field: ["Not a date."]}}
        ) from None


def day_start(day: date | None) -> datetime | None:
    from datetime import UTC

    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) if day else None


def day_after(day: date | None) -> datetime | None:
    return day_start(day + timedelta(days=1)) if day else None


def parse_int(value: str | None, field: str, low: int = 0, high: int = 2**31 - 1) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise Unprocessable(
            f"{field} must be a whole number.", {"fields": {field: ["Not a number."]}}
        ) from None
    if not low <= number <= high:
        raise Unprocessable(
            f"{field} must be between {low} and {high}.", {"fields": {field: ["Out of range."]}}
        )
    return number


def field_messages(error: Unprocessable) -> list[str]:
    """The messages of a validation error, flattened to "field: message" lines."""
    lines: list[str] = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list):
            for inner in value:
                walk(prefix, inner)
        else:
            lines.append(f"{prefix}: {value}" if prefix else str(value))

    walk("", error.details.get("fields", {}))
    return lines


def problem_lines(error: DomainError) -> list[str]:
    """What to show for a refused change: the field messages, else the error's message."""
    lines = field_messages(error) if isinstance(error, Unprocessable) else []
    return [error.message, *lines] if error.message else lines
