"""The overview: counts per day and per version, opt-in rates, CSV, the per-day cache."""

from __future__ import annotations

from datetime import timedelta

from service.console import stats
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


def test_settled_counts_are_kept_and_only_the_last_minutes_counted_again(client, admin, make_site):
    record_some(client, admin, make_site)
    today = utcnow().date()
    # Now: the records are minutes old, so they are counted from the records, not kept.
    counted = stats.daily_counts(SITE, today, today)
    assert counted[today]["actions"]["accept_all"] == 3 and counted[today]["gpc"] == 1
    kept = db.session.get(DailyStats, (SITE, today))
    assert kept is not None and kept.counts["actions"]["accept_all"] == 0
    # Tomorrow: the whole day has settled and is kept.
    tomorrow = utcnow() + timedelta(days=1, hours=1)
    counted = stats.daily_counts(SITE, today, today, now=tomorrow)
    assert counted[today]["granted"] == {"necessary": 4, "analytics": 3, "marketing": 3}
    kept = db.session.get(DailyStats, (SITE, today))
    assert kept.counts["actions"] == counted[today]["actions"]
    assert kept.counts["versions"] == {"privacy": {"1": {"accept_all": 3, "reject_all": 1}}}
    # From then on the day is read from the cache, not from the records.
    kept.counts = {**kept.counts, "gpc": 42}
    db.session.commit()
    assert stats.daily_counts(SITE, today, today, now=tomorrow)[today]["gpc"] == 42


def test_merge_adds_every_count():
    one = stats.empty_day()
    one["actions"]["accept_all"] = 2
    one["granted"] = {"analytics": 2}
    one["versions"] = {"privacy": {"1": {"accept_all": 2}}}
    two = stats.merge(one, one)
    assert two["actions"]["accept_all"] == 4 and two["granted"] == {"analytics": 4}
    assert two["versions"] == {"privacy": {"1": {"accept_all": 4}}}
    assert one["actions"]["accept_all"] == 2  # the inputs are left alone


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
