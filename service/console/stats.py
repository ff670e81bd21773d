"""The overview's numbers, pre-aggregated per UTC day.

Records only append, stamped with the server's clock, and erasure keeps action, choices,
documents and GPC: so what was recorded before a moment a little in the past (:data:`SETTLE`)
never changes. Each day's counts up to such a moment are kept in ``console_daily_stats`` with that
moment (``through``); a request adds what settled since, and counts only the last minutes from the
raw records. The overview's cost is then proportional to the days shown and the traffic of the
last minutes, not to the size of the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer, case, cast, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..consents.models import ConsentRecord
from ..database import write_transaction
from ..errors import Unprocessable
from ..extensions import db
from ..ledger.vocabulary import ACTIONS, DOCUMENT_KINDS
from ..sites.service import get_site
from ..timeutil import utcnow

DECISIONS = ("accept_all", "reject_all", "custom")
UNKNOWN_REGION = "unknown"
SETTLE = timedelta(minutes=10)
STEP_MINUTES = 5
# Longer spans are summed by the database; shorter ones (the last minutes) row by row.
SQL_SPAN = timedelta(hours=1)
MAX_DAYS = 366


class DailyStats(db.Model):
    """Derived data: one closed day of one site's consents (see the module's docstring)."""

    __tablename__ = "console_daily_stats"

    site_id: Mapped[str] = mapped_column(
        db.ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    counts: Mapped[dict[str, Any]]


def empty_day() -> dict[str, Any]:
    return {
        "actions": dict.fromkeys(ACTIONS, 0),
        "gpc": 0,
        "granted": {},
        "versions": {},
        "regions": {},
    }


def region_key(region: str | None) -> str:
    """A record's region as the overview groups it (the audit stats' ``unknown`` for none)."""
    return region or UNKNOWN_REGION


def _add_counts(target: dict[str, int], counts: dict[str, int]) -> None:
    for action, n in counts.items():
        target[action] = target.get(action, 0) + n


def merge(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """The sum of two days' (or parts of a day's) counts."""
    out = {
        "actions": dict(total["actions"]),
        "gpc": total["gpc"] + part["gpc"],
        "granted": dict(total["granted"]),
        "versions": {k: {v: dict(a) for v, a in vs.items()} for k, vs in total["versions"].items()},
        "regions": {region: dict(a) for region, a in total["regions"].items()},
    }
    _add_counts(out["actions"], part["actions"])
    _add_counts(out["granted"], part["granted"])
    for kind, versions in part["versions"].items():
        for version, actions in versions.items():
            _add_counts(out["versions"].setdefault(kind, {}).setdefault(version, {}), actions)
    for region, actions in part["regions"].items():
        _add_counts(out["regions"].setdefault(region, {}), actions)
    return out


def count_range(site_id: str, categories: list[str], start: datetime, end: datetime):
    """Sum the records recorded in ``[start, end)``: in SQL for long spans (a day being filled
    into the cache), row by row for the last minutes (one cheap query instead of several)."""
    if end - start > SQL_SPAN:
        return _count_in_sql(site_id, categories, start, end)
    records = ConsentRecord
    counts = empty_day()
    rows = db.session.execute(
        db.select(
            records.action, records.gpc, records.choices, records.documents, records.region
        ).where(records.site_id == site_id, records.recorded_at >= start, records.recorded_at < end)
    )
    for action, gpc, choices, documents, region in rows:
        counts["actions"][action] = counts["actions"].get(action, 0) + 1
        per_region = counts["regions"].setdefault(region_key(region), {})
        per_region[action] = per_region.get(action, 0) + 1
        counts["gpc"] += int(bool(gpc))
        if action in DECISIONS:
            for cat in categories:
                if (choices or {}).get(cat) is True:
                    counts["granted"][cat] = counts["granted"].get(cat, 0) + 1
        for kind, ref in (documents or {}).items():
            if kind in DOCUMENT_KINDS and isinstance(ref, dict) and "version" in ref:
                per_version = counts["versions"].setdefault(kind, {})
                per_action = per_version.setdefault(str(ref["version"]), {})
                per_action[action] = per_action.get(action, 0) + 1
    return counts


def _count_in_sql(site_id: str, categories: list[str], start: datetime, end: datetime):
    records = ConsentRecord
    where = (records.site_id == site_id, records.recorded_at >= start, records.recorded_at < end)
    counts = empty_day()
    granted = [
        func.sum(case((records.choices[cat].as_boolean().is_(True), 1), else_=0))
        for cat in categories
    ]
    gpc = func.sum(cast(records.gpc, Integer))
    query = db.select(records.action, func.count(), gpc, *granted)
    for row in db.session.execute(query.where(*where).group_by(records.action)):
        action, n, gpc_count, *per_category = row
        counts["actions"][action] = counts["actions"].get(action, 0) + n
        counts["gpc"] += int(gpc_count or 0)
        if action in DECISIONS:
            for cat, value in zip(categories, per_category, strict=True):
                counts["granted"][cat] = counts["granted"].get(cat, 0) + int(value or 0)
    versions = [records.documents[kind]["version"].as_integer() for kind in DOCUMENT_KINDS]
    query = db.select(records.action, *versions, func.count())
    for action, *refs, n in db.session.execute(
        query.where(*where).group_by(records.action, *versions)
    ):
        for kind, ref in zip(DOCUMENT_KINDS, refs, strict=True):
            if ref is None:
                continue
            per_version = counts["versions"].setdefault(kind, {}).setdefault(str(ref), {})
            per_version[action] = per_version.get(action, 0) + n
    query = db.select(records.region, records.action, func.count())
    for region, action, n in db.session.execute(
        query.where(*where).group_by(records.region, records.action)
    ):
        _add_counts(counts["regions"].setdefault(region_key(region), {}), {action: n})
    return counts


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def daily_counts(site_id: str, first: date, last: date, now: datetime | None = None):
    """Per-day counts for ``first..last``. The settled part of each day comes from the cache
    (extended as time passes); only the last minutes are counted from the records."""
    site = get_site(site_id)
    categories = [c["id"] for c in site.categories]
    now = now or utcnow()
    # Settled moments move in steps, so the cache is written at most once a step per day shown.
    settled = now - SETTLE
    settled -= timedelta(
        minutes=settled.minute % STEP_MINUTES,
        seconds=settled.second,
        microseconds=settled.microsecond,
    )
    cached = {
        row.day: row
        for row in db.session.execute(
            db.select(DailyStats).where(
                DailyStats.site_id == site_id, DailyStats.day >= first, DailyStats.day <= last
            )
        ).scalars()
    }
    result: dict[date, Any] = {}
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        start, end = day_bounds(day)
        row = cached.get(day)
        current = row is not None and set(row.counts) >= set(empty_day())
        counts = row.counts if current else empty_day()  # an older shape is counted again
        through = datetime.fromisoformat(counts["through"]) if current else start
        horizon = max(min(end, settled), start)
        if horizon > through:
            counts = merge(counts, count_range(site_id, categories, through, horizon))
            counts["through"] = horizon.isoformat()
            _store(site_id, day, counts, row)
            through = horizon
        if through < end and start <= now:
            counts = merge(counts, count_range(site_id, categories, through, end))
        result[day] = counts
    return result


def _store(site_id: str, day: date, counts: dict[str, Any], row: DailyStats | None) -> None:
    """Keep ``counts`` (of the day up to ``counts["through"]``). Two requests may race: both
    values are true counts of their own span, so either may win. A page view (GET) writes it:
    in a write transaction of its own."""
    write_transaction()
    try:
        if row is None:
            db.session.add(DailyStats(site_id=site_id, day=day, counts=counts))
        else:
            row.counts = counts
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


@dataclass(frozen=True)
class Overview:
    site: str
    first: date
    last: date
    days: dict[date, Any]
    categories: list[dict[str, Any]]

    def totals(self) -> dict[str, Any]:
        total = empty_day()
        for counts in self.days.values():
            total = merge(total, counts)
        return total


def overview(site_id: str, first: date, last: date) -> Overview:
    if first > last:
        raise Unprocessable("The start date is after the end date.", {"fields": {"from": []}})
    if (last - first).days + 1 > MAX_DAYS:
        raise Unprocessable(f"Show at most {MAX_DAYS} days at a time.", {"fields": {"to": []}})
    site = get_site(site_id)
    return Overview(site_id, first, last, daily_counts(site_id, first, last), site.categories)


def share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
