"""Server-side UTC time, in one place so every timestamp has the same form."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import fields


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC by construction."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def isoformat(value: datetime) -> str:
    """ISO 8601 with microseconds and ``Z``: the one textual form of a timestamp we emit."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class UtcDateTime(fields.AwareDateTime):
    """Read: an ISO 8601 date-time with an offset. Written: UTC with ``Z``, like every timestamp
    (also for SQLite, which hands back naive values)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else isoformat(value)
