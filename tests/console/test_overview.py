"""The overview: counts per day and per version, opt-in rates, CSV, the per-day cache."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from service.consents.bulk import bulk_append
from service.console import charts, stats
from service.console.stats import DailyStats
from service.extensions import db
from service.timeutil import utcnow
from tests.helpers.audit import SITE, accept, recording_site, reject


def record_some(client, admin, make_site):
    recorder = recording_site(client, admin, make_site)
    for n in range(3):
        recorder(**accept(f"s_visitor_{n:04}"))
    recorder(**reject("s_visitor_0100", gpc=True))
    return recorder


def test_overview_shows_counts_shares_and_rates(client, admin, make_site, signed_in):
    record_some(client, admin, make_site)
    page = signed_in("auditor").get(f"/console/sites/{SITE}/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<span class="big">4</span> consent events' in html
    assert "75.0 %</span> Accept all" in html
    assert "25.0 %</span> with GPC" in html
    assert "<svg" in html and "Consents per day" in html
    assert "privacy v1" in html  # the version marker and the by-version row


def test_overview_csv(client, admin, make_site, signed_in):
    record_some(client, admin, make_site)
    response = signed_in("owner").get(f"/console/sites/{SITE}/overview.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).strip().splitlines()
    header = "date,accept_all,reject_all,custom,withdraw,acknowledge,opt_out,opt_in,gpc"
    assert lines[0].startswith(header)
    today = utcnow().date().isoformat()
    row = next(line for line in lines if line.startswith(today))
    assert row.split(",")[1:3] == ["3", "1"]


# A fixed day (yesterday) and moment: what the cache keeps depends on the time of day, so the
# tests never read the wall clock's (CI once ran them in the first minutes after midnight).
DAY = utcnow().date() - timedelta(days=1)
NOON = datetime.combine(DAY, time(12), tzinfo=UTC)
CHOICES = {
    "accept_all": {"necessary": True, "analytics": True, "marketing": True},
    "reject_all": {"necessary": True, "analytics": False, "marketing": False},
    "custom": {"necessary": True, "analytics": True, "marketing": False},
}


def imported(n: int, action: str, **fields) -> dict:
    """One consent event at ``NOON`` + ``n`` seconds, through the import path (which takes the
    time it is given, as the live path takes the clock's)."""
    return {
        "subject": f"s_import_{n:04}",
        "action": action,
        "choices": CHOICES[action],
        "documents": {},
        "revision": "r" * 64,
        "method": "banner",
        "recorded_at": NOON + timedelta(seconds=n),
        **fields,
    }


def test_settled_counts_are_kept_and_only_the_last_minutes_counted_again(make_site):
    make_site(SITE)
    privacy_v1 = {"privacy": {"version": 1, "sha256": "d" * 64}}
    events = [imported(n, "accept_all", documents=privacy_v1) for n in range(3)]
    events.append(imported(3, "reject_all", documents=privacy_v1, gpc=True))
    bulk_append(SITE, events)
    # A minute later the records are too recent to keep: counted from the records; what is
    # kept covers the day up to the settled moment (before them), so it counts nothing yet.
    minute_later = NOON + timedelta(minutes=1)
    counted = stats.daily_counts(SITE, DAY, DAY, now=minute_later)
    assert counted[DAY]["actions"]["accept_all"] == 3 and counted[DAY]["gpc"] == 1
    kept = db.session.get(DailyStats, (SITE, DAY))
    assert kept is not None and kept.counts["actions"]["accept_all"] == 0
    assert datetime.fromisoformat(kept.counts["through"]) <= NOON - stats.SETTLE
    # The next day: the whole day has settled and is kept.
    next_day = NOON + timedelta(days=1)
    counted = stats.daily_counts(SITE, DAY, DAY, now=next_day)
    assert counted[DAY]["granted"] == {"necessary": 4, "analytics": 3, "marketing": 3}
    kept = db.session.get(DailyStats, (SITE, DAY))
    assert kept.counts["actions"] == counted[DAY]["actions"]
    assert kept.counts["versions"] == {"privacy": {"1": {"accept_all": 3, "reject_all": 1}}}
    # From then on the day is read from the cache, not from the records.
    kept.counts = {**kept.counts, "gpc": 42}
    db.session.commit()
    assert stats.daily_counts(SITE, DAY, DAY, now=next_day)[DAY]["gpc"] == 42


def test_merge_adds_every_count():
    one = stats.empty_day()
    one["actions"]["accept_all"] = 2
    one["granted"] = {"analytics": 2}
    one["versions"] = {"privacy": {"1": {"accept_all": 2}}}
    one["regions"] = {"DE": {"accept_all": 2}}
    two = stats.merge(one, one)
    assert two["actions"]["accept_all"] == 4 and two["granted"] == {"analytics": 4}
    assert two["versions"] == {"privacy": {"1": {"accept_all": 4}}}
    assert two["regions"] == {"DE": {"accept_all": 4}}
    assert one["actions"]["accept_all"] == 2 and one["regions"]["DE"]["accept_all"] == 2


REGIONAL = [("DE", "accept_all")] * 3 + [
    ("US-CA", "reject_all"),
    (None, "custom"),
    (None, "custom"),
]
BY_REGION = {"DE": {"accept_all": 3}, "US-CA": {"reject_all": 1}, "unknown": {"custom": 2}}


def record_regional(make_site) -> None:
    """Six consents of one minute from three places (one unknown), through the import path
    (which carries region and mode, as the live path does)."""
    make_site(SITE)
    bulk_append(
        SITE,
        [
            imported(n, action, **({"region": region, "mode": "opt-in"} if region else {}))
            for n, (region, action) in enumerate(REGIONAL)
        ],
    )


def test_counts_by_region_are_the_same_row_by_row_in_sql_and_kept(make_site):
    record_regional(make_site)
    now = NOON
    categories = ["necessary", "analytics", "marketing"]
    minutes = (now - timedelta(minutes=5), now + timedelta(minutes=1))  # row by row
    hours = (now - timedelta(hours=2), now + timedelta(hours=1))  # summed in SQL
    assert minutes[1] - minutes[0] < stats.SQL_SPAN < hours[1] - hours[0]
    assert stats.count_range(SITE, categories, *minutes)["regions"] == BY_REGION
    assert stats.count_range(SITE, categories, *hours)["regions"] == BY_REGION
    next_day = now + timedelta(days=1)
    assert stats.daily_counts(SITE, DAY, DAY, now=next_day)[DAY]["regions"] == BY_REGION
    assert db.session.get(DailyStats, (SITE, DAY)).counts["regions"] == BY_REGION


def test_a_day_kept_before_regions_were_counted_is_counted_again(make_site):
    record_regional(make_site)
    next_day = NOON + timedelta(days=1)
    old_shape = {**stats.empty_day(), "through": next_day.isoformat()}
    del old_shape["regions"]
    old_shape["actions"]["accept_all"] = 99  # whatever it said is replaced
    db.session.add(DailyStats(site_id=SITE, day=DAY, counts=old_shape))
    db.session.commit()
    counted = stats.daily_counts(SITE, DAY, DAY, now=next_day)[DAY]
    assert counted["regions"] == BY_REGION and counted["actions"]["accept_all"] == 3


def test_overview_shows_answers_by_region_with_a_chart_table_and_csv(make_site, signed_in):
    record_regional(make_site)
    auditor = signed_in("auditor")
    html = auditor.get(f"/console/sites/{SITE}/").get_data(as_text=True)
    section = html.split('id="regions-h"', 1)[1].split("</section>", 1)[0]
    assert 'id="by-region"' in section and "DE (3)" in section and "unknown (2)" in section
    rows = [row.split("</th>")[0] for row in section.split('<th scope="row">')[1:]]
    assert rows == ["DE", "US-CA", "unknown"]  # most first, unknown last
    assert "<td>3</td><td>3 (100 %)</td>" in section
    csv = auditor.get(f"/console/sites/{SITE}/overview-regions.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "attachment" in csv.headers["Content-Disposition"]
    lines = csv.get_data(as_text=True).strip().splitlines()
    assert (
        lines[0] == "region,total,accept_all,reject_all,custom,withdraw,acknowledge,opt_out,opt_in"
    )
    assert lines[1:] == ["DE,3,3,0,0,0,0,0,0", "US-CA,1,0,1,0,0,0,0,0", "unknown,2,0,0,2,0,0,0,0"]
    assert signed_in("editor").get(f"/console/sites/{SITE}/overview-regions.csv").status_code == 403


def test_the_region_chart_sums_the_smallest_regions_into_one_bar():
    from service.console.views.overview import CHARTED_REGIONS, region_chart_rows, region_rows

    regions = {f"R{n:02}": {"accept_all": 100 - n} for n in range(CHARTED_REGIONS + 3)}
    regions["unknown"] = {"custom": 500}
    rows = region_chart_rows(region_rows(regions))
    assert len(rows) == CHARTED_REGIONS + 1
    assert rows[0] == ("R00 (100)", {"accept_all": 100})
    label, counts = rows[-1]
    assert label == "4 other regions (761)"  # R12, R13, R14 and unknown
    assert counts == {"accept_all": 88 + 87 + 86, "custom": 500}


def test_bar_legends_use_filled_swatches_and_line_legends_strokes():
    bars = charts.share_bars("b", "Bars", [("v1", {"accept_all": 2, "reject_all": 1})])
    legend = bars.split('<g class="legend">', 1)[1]
    assert legend.count('class="swatch"') == 2 and "<line" not in legend
    assert 'fill="#0072B2"' in legend
    days = [utcnow().date()]
    line = charts.line_chart("l", "Lines", days, {"accept_all": [1], "reject_all": [2]}, [])
    legend = line.split('<g class="legend">', 1)[1]
    assert legend.count("<line") == 2 and "swatch" not in legend
    assert 'stroke-dasharray="6 3"' in legend


def test_bad_dates_answer_a_readable_422(client, admin, make_site, signed_in):
    make_site(SITE)
    owner = signed_in("owner")
    for query in (
        "from=yesterday",
        "from=2026-02-30",
        "from=2026-05-01&to=2026-04-01",
        "from=2020-01-01&to=2026-01-01",
    ):
        response = owner.get(f"/console/sites/{SITE}/?{query}")
        assert response.status_code == 422, query
        assert '<p class="error" role="alert">' in response.get_data(as_text=True)


def test_another_sites_overview_is_404_and_editors_are_403(make_site, signed_in):
    make_site("a-site")
    make_site("b-site")
    bound = signed_in("owner", site="a-site")
    assert bound.get("/console/sites/a-site/").status_code == 200
    assert bound.get("/console/sites/b-site/").status_code == 404
    assert bound.get("/console/sites/no-such/").status_code == 404
    assert signed_in("editor").get("/console/sites/a-site/").status_code == 403
