"""Consent statistics per day: actions, GPC share, opt-in rate per category, document versions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer, cast, func

from ..consents.models import ConsentRecord
from ..errors import Unprocessable
from ..extensions import db
from ..ledger.vocabulary import ACTIONS, DOCUMENT_KINDS
from ..sites.service import get_site

MAX_STATS_DAYS = 366


def day_of(column: Any) -> Any:
    """The UTC calendar day of a timestamp column, on either database."""
    if db.engine.dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)  # SQLite stores naive UTC text


def _bucket(counts: dict[str, int]) -> dict[str, Any]:
    total = sum(counts[action] for action in ACTIONS)
    rates = {name: round(counts[name] / total, 4) if total else 0.0 for name in counts}
    return {"total": total, "counts": counts, "rates": rates}


def _empty_counts() -> dict[str, int]:
    return {**dict.fromkeys(ACTIONS, 0), "gpc": 0}


def consent_stats(site_id: str, first_day: date, last_day: date) -> dict[str, Any]:
    """Counts and rates of each action (and of GPC signals) per UTC day and per document
    version, for the days ``first_day..last_day`` (both included)."""
    get_site(site_id)
    if first_day > last_day:
        raise Unprocessable(
            "'from' is after 'to'.", {"fields": {"from": ["Must not be after 'to'."]}}
        )
    if (last_day - first_day).days + 1 > MAX_STATS_DAYS:
        raise Unprocessable(
            f"Ask for at most {MAX_STATS_DAYS} days at a time.",
            {"fields": {"to": [f"At most {MAX_STATS_DAYS} days after 'from'."]}},
        )
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    end = start + timedelta(days=(last_day - first_day).days + 1)
    records = ConsentRecord
    in_range = (records.site_id == site_id, records.recorded_at >= start, records.recorded_at < end)
    day = day_of(records.recorded_at).label("day")
    gpc_count = func.sum(cast(records.gpc, Integer)).label("gpc")

    days: dict[str, dict[str, int]] = {}
    for row in db.session.execute(
        db.select(day, records.action, func.count().label("n"), gpc_count)
        .where(*in_range)
        .group_by(day, records.action)
    ):
        counts = days.setdefault(str(row.day), _empty_counts())
        counts[row.action] += row.n
        counts["gpc"] += int(row.gpc or 0)

    versions: dict[tuple[str, int], dict[str, int]] = {}
    for kind in DOCUMENT_KINDS:
        version = records.documents[kind]["version"].as_integer().label("version")
        for row in db.session.execute(
            db.select(version, records.action, func.count().label("n"), gpc_count)
            .where(*in_range, version.is_not(None))
            .group_by(version, records.action)
        ):
            counts = versions.setdefault((kind, row.version), _empty_counts())
            counts[row.action] += row.n
            counts["gpc"] += int(row.gpc or 0)

    regions: dict[str, dict[str, int]] = {}
    for row in db.session.execute(
        db.select(records.region, records.action, func.count().label("n"), gpc_count)
        .where(*in_range)
        .group_by(records.region, records.action)
    ):
        counts = regions.setdefault(row.region or "unknown", _empty_counts())
        counts[row.action] += row.n
        counts["gpc"] += int(row.gpc or 0)

    totals = _empty_counts()
    for counts in days.values():
        for name, value in counts.items():
            totals[name] += value
    return {
        "site": site_id,
        "from": first_day.isoformat(),
        "to": last_day.isoformat(),
        "interval": "day",
        "totals": _bucket(totals),
        "days": [{"date": key, **_bucket(days[key])} for key in sorted(days)],
        "documents": [
            {"kind": kind, "version": version, **_bucket(versions[(kind, version)])}
            for kind, version in sorted(versions)
        ],
        "regions": [{"region": key, **_bucket(regions[key])} for key in sorted(regions)],
    }
