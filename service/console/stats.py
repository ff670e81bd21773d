"""The overview's numbers, pre-aggregated per UTC day.

A closed day (one that ended more than :data:`SETTLE` ago) never changes: records only append,
with the server's time, and erasure keeps action, choices, documents and GPC. So each closed day is
summed once from the ledger and kept in ``console_daily_stats``; only the open day is counted from
the raw records on every request. That keeps the overview's cost proportional to the days shown,
not to the size of the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer, case, cast, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..audit.service import DOCUMENT_KINDS, day_of
from ..consents.models import ConsentRecord
from ..errors import Unprocessable
from ..extensions import db
from ..sites.service import get_site
from ..timeutil import utcnow

ACTIONS = ("accept_all", "reject_all", "custom", "withdraw", "acknowledge")
DECISIONS = ("accept_all", "reject_all", "custom")
SETTLE = timedelta(minutes=10)
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
    return {"actions": dict.fromkeys(ACTIONS, 0), "gpc": 0, "granted": {}, "versions": {}}


def _range(first: date, last: date) -> tuple[datetime, datetime]:
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    return start, start + timedelta(days=(last - first).days + 1)


def count_days(site_id: str, categories: list[str], first: date, last: date) -> dict[date, Any]:
    """Sum the raw records of ``first..last`` per day (the expensive path)."""
    start, end = _range(first, last)
    records = ConsentRecord
    where = (records.site_id == site_id, records.recorded_at >= start, records.recorded_at < end)
    day = day_of(records.recorded_at).label("day")
    days: dict[date, Any] = {}

    def bucket(value: Any) -> dict[str, Any]:
        key = value if isinstance(value, date) else date.fromisoformat(str(value))
        return days.setdefault(key, empty_day())

    granted = [
        func.sum(case((records.choices[cat].as_boolean().is_(True), 1), else_=0)).label(f"g{i}")
        for i, cat in enumerate(categories)
    ]
    gpc = func.sum(cast(records.gpc, Integer)).label("gpc")
    query = db.select(day, records.action, func.count().label("n"), gpc, *granted)
    for row in db.session.execute(query.where(*where).group_by(day, records.action)):
        counts = bucket(row.day)
        counts["actions"][row.action] = counts["actions"].get(row.action, 0) + row.n
        counts["gpc"] += int(row.gpc or 0)
        if row.action in DECISIONS:
            for i, cat in enumerate(categories):
                counts["granted"][cat] = counts["granted"].get(cat, 0) + int(row[4 + i] or 0)
    for kind in DOCUMENT_KINDS:
        version = records.documents[kind]["version"].as_integer().label("version")
        query = db.select(day, version, records.action, func.count().label("n"))
        for row in db.session.execute(
            query.where(*where, version.is_not(None)).group_by(day, version, records.action)
        ):
            per_kind = bucket(row.day)["versions"].setdefault(kind, {})
            per_version = per_kind.setdefault(str(row.version), {})
            per_version[row.action] = per_version.get(row.action, 0) + row.n
    return days


def daily_counts(site_id: str, first: date, last: date, now: datetime | None = None):
    """Per-day counts for ``first..last``: closed days from the cache (filled on first use),
    the open day from the raw records."""
    site = get_site(site_id)
    categories = [c["id"] for c in site.categories]
    now = now or utcnow()
    last_closed = (now - SETTLE).date() - timedelta(days=1)
    result: dict[date, Any] = {}
    if first <= last_closed:
        closed_end = min(last, last_closed)
        cached = {
            row.day: row.counts
            for row in db.session.execute(
                db.select(DailyStats).where(
                    DailyStats.site_id == site_id,
                    DailyStats.day >= first,
                    DailyStats.day <= closed_end,
                )
            ).scalars()
        }
        missing = [first + timedelta(days=i) for i in range((closed_end - first).days + 1)]
        missing = [d for d in missing if d not in cached]
        if missing:
            counted = count_days(site_id, categories, missing[0], missing[-1])
            for d in missing:
                cached[d] = counted.get(d, empty_day())
            _store(site_id, {d: cached[d] for d in missing})
        result.update(cached)
    if last > last_closed:
        open_first = max(first, last_closed + timedelta(days=1))
        counted = count_days(site_id, categories, open_first, last)
        for i in range((last - open_first).days + 1):
            d = open_first + timedelta(days=i)
            result[d] = counted.get(d, empty_day())
    return dict(sorted(result.items()))


def _store(site_id: str, days: dict[date, Any]) -> None:
    try:
        db.session.add_all(DailyStats(site_id=site_id, day=d, counts=c) for d, c in days.items())
        db.session.commit()
    except IntegrityError:  # another request cached the same days first: theirs are the same
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
            for action, n in counts["actions"].items():
                total["actions"][action] = total["actions"].get(action, 0) + n
            total["gpc"] += counts["gpc"]
            for cat, n in counts["granted"].items():
                total["granted"][cat] = total["granted"].get(cat, 0) + n
            for kind, versions in counts["versions"].items():
                for version, actions in versions.items():
                    target = total["versions"].setdefault(kind, {}).setdefault(version, {})
                    for action, n in actions.items():
                        target[action] = target.get(action, 0) + n
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
