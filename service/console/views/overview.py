"""The site picker and the overview: consents over time, by document version, opt-in rates."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import g, redirect, render_template, request, url_for

from ...documents.models import PUBLISHED, DocumentVersion
from ...extensions import db
from ...sites.service import list_sites
from ...timeutil import as_utc, utcnow
from .. import charts, stats
from .base import bp, download, page
from .forms import parse_day

SHOWN = ("accept_all", "reject_all", "custom", "withdraw")
CHARTED_REGIONS = 12  # the chart's bars; the table lists every region


def region_rows(regions: dict[str, dict[str, int]]) -> list[tuple[str, dict[str, int]]]:
    """``(region, counts per action)``, the most consents first (then by code), unknown last."""
    return sorted(
        regions.items(),
        key=lambda item: (item[0] == stats.UNKNOWN_REGION, -sum(item[1].values()), item[0]),
    )


def region_chart_rows(rows: list[tuple[str, dict[str, int]]]) -> list[tuple[str, dict[str, int]]]:
    """The chart's bars: the largest regions, the rest summed as one bar."""
    shown, rest = rows[:CHARTED_REGIONS], rows[CHARTED_REGIONS:]
    if rest:
        other: dict[str, int] = {}
        for _region, counts in rest:
            for action, n in counts.items():
                other[action] = other.get(action, 0) + n
        shown = [*shown, (f"{len(rest)} other regions", other)]
    return [(f"{label} ({sum(counts.values()):,})", counts) for label, counts in shown]


@bp.route("/")
def index():
    user = g.console_user
    sites = list_sites(user.site_id)
    if len(sites) == 1 and user.site_id:
        return redirect(url_for(home_endpoint(user), site=sites[0].id))
    return render_template("console/index.html", sites=sites, home=home_endpoint(user))


def home_endpoint(user) -> str:
    """The first page a role may open for a site."""
    if user.can("audit:read"):
        return "console.overview"
    return "console.documents"


def window():
    today = utcnow().date()
    last = parse_day(request.args.get("to"), "to", today)
    first = parse_day(request.args.get("from"), "from", last - timedelta(days=29))
    return first, last


def version_markers(site: str, first, last) -> list[charts.Marker]:
    rows = db.session.execute(
        db.select(DocumentVersion).where(
            DocumentVersion.site_id == site, DocumentVersion.status == PUBLISHED
        )
    ).scalars()
    markers = []
    for row in rows:
        day = as_utc(row.effective_at).date()
        if first <= day <= last:
            flag = " (material)" if row.material else ""
            markers.append(charts.Marker(day, f"{row.kind} v{row.version}{flag}"))
    return sorted(markers, key=lambda m: m.day)


@bp.route("/sites/<site>/")
@page("audit:read")
def overview(site: str):
    first, last = window()
    data = stats.overview(site, first, last)
    days = list(data.days)
    series = {name: [data.days[d]["actions"].get(name, 0) for d in days] for name in SHOWN}
    totals = data.totals()
    decided = sum(totals["actions"][a] for a in stats.DECISIONS)
    all_actions = sum(totals["actions"].values())
    rates = [
        (c.get("title") or c["id"], stats.share(totals["granted"].get(c["id"], 0), decided))
        for c in data.categories
    ]
    by_version = [
        (f"{kind} v{version}", counts)
        for kind, versions in sorted(totals["versions"].items())
        for version, counts in sorted(versions.items(), key=lambda item: int(item[0]))
    ]
    by_region = region_rows(totals["regions"])
    markers = version_markers(site, first, last)
    return render_template(
        "console/overview.html",
        site=site,
        first=first,
        last=last,
        days=days,
        data=data,
        series=series,
        totals=totals,
        all_actions=all_actions,
        decided=decided,
        rates=rates,
        by_version=by_version,
        shown=SHOWN,
        labels=charts.LABELS,
        share=stats.share,
        line=charts.line_chart(
            "consents-per-day", "Consents per day, by answer", days, series, markers
        ),
        versions_chart=charts.share_bars(
            "by-version", "Share of each answer, by document version", by_version
        ),
        rates_chart=charts.rate_bars("opt-in", "Opt-in rate per category", rates),
        by_region=by_region,
        regions_chart=charts.share_bars(
            "by-region",
            "Share of each answer, by region (consents in brackets)",
            region_chart_rows(by_region),
        ),
        markers=markers,
    )


@bp.route("/sites/<site>/overview.csv")
@page("audit:read")
def overview_csv(site: str):
    first, last = window()
    data = stats.overview(site, first, last)
    categories = [c["id"] for c in data.categories]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", *stats.ACTIONS, "gpc", *[f"granted_{c}" for c in categories]])
    for day, counts in data.days.items():
        writer.writerow(
            [
                day.isoformat(),
                *[counts["actions"].get(a, 0) for a in stats.ACTIONS],
                counts["gpc"],
                *[counts["granted"].get(c, 0) for c in categories],
            ]
        )
    return download(out.getvalue(), "text/csv", f"consentry-{site}-{first}-{last}.csv")


@bp.route("/sites/<site>/overview-regions.csv")
@page("audit:read")
def overview_regions_csv(site: str):
    """The answers by region over the period: one row per region (``unknown``: none known)."""
    first, last = window()
    totals = stats.overview(site, first, last).totals()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["region", "total", *stats.ACTIONS])
    for region, counts in region_rows(totals["regions"]):
        writer.writerow([region, sum(counts.values()), *[counts.get(a, 0) for a in stats.ACTIONS]])
    return download(out.getvalue(), "text/csv", f"consentry-{site}-regions-{first}-{last}.csv")
