"""The site scanner against real pages in headless Chromium: fixture sites with planted
behaviour, the demo page, origin and time bounds, and signed reports checked with joserfc.

Fixture origins: ``pages`` (the scanned sites' allowed origin), ``elsewhere`` (never allowed) and
``tracker``, reached as ``ads.pubmatic.com`` and ``track.adform.net`` through Chromium's host
resolver rules, so the Open Cookie Database classes its hosts as it would on the web (hosts that
are not HSTS-preloaded, so that plain HTTP reaches them).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from joserfc import jws
from joserfc.jwk import KeySet
from werkzeug.wrappers import Request, Response

from service.scanner import service as scans
from service.scanner.scan import ScanOptions
from service.sites import service as sites_service
from service.sites.schemas import SiteCreateSchema

from .conftest import LiveService, chromium_executable, serve, wait_until

pytestmark = pytest.mark.e2e
TRACKER_HOSTS = ("ads.pubmatic.com", "track.adform.net")


@dataclass
class FixtureOrigin:
    """Pages by path: (status, body, headers); every page is served with no-store."""

    url: str = ""
    pages: dict[str, tuple[int, str, dict[str, str]]] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def wsgi(self, environ, start_response):
        request = Request(environ)
        self.seen.append((request.path, dict(request.headers)))
        status, body, headers = self.pages.get(request.path, (404, "not found", {}))
        mimetype = headers.pop("mimetype", None) if "mimetype" in headers else None
        response = Response(body, status=status, mimetype=mimetype or _mimetype(request.path))
        response.headers["Cache-Control"] = "no-store"
        for name, value in headers.items():
            response.headers.add(name, value)
        return response(environ, start_response)


def _mimetype(path: str) -> str:
    if path.endswith(".js"):
        return "text/javascript"
    if path.endswith(".gif"):
        return "image/gif"
    return "text/html"


@dataclass
class Fixtures:
    live: LiveService
    pages: FixtureOrigin
    elsewhere: FixtureOrigin
    tracker_port: int

    def tracker(self, host: str, path: str) -> str:
        return f"http://{host}:{self.tracker_port}{path}"


def _page(live: LiveService, site: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{site}</title>'
        f'<script src="{live.url}/widget.js" data-site="{site}" async></script></head>'
        f"<body><main><h1>{site}</h1>{body}</main></body></html>"
    )


CONSENTRY_COOKIE = {"name": "consentry", "provider": "Consentry", "duration": "6 months"}


def _categories(necessary=(), analytics=(), marketing=()) -> list[dict]:
    def cookies(names):
        return [{"name": name} for name in names]

    return [
        {
            "id": "necessary",
            "title": "Necessary",
            "required": True,
            "cookies": [CONSENTRY_COOKIE, *cookies(necessary)],
        },
        {"id": "analytics", "title": "Analytics", "cookies": cookies(analytics)},
        {
            "id": "marketing",
            "title": "Advertising",
            "sale_or_sharing": True,
            "cookies": cookies(marketing),
        },
    ]


SITES = {
    "scan-clean": _categories(necessary=["session_id"], analytics=["clean_stats"]),
    "scan-leaky": _categories(analytics=["_ga"], marketing=["_fbp"]),
    # The linter refuses a tracker in a required category; a marketing one only mislabels it.
    "scan-undeclared": _categories(analytics=["stats_id"], marketing=["_gid"]),
    "scan-apply": _categories(analytics=["stats_id"]),
}


def _build_pages(fixtures: Fixtures) -> None:
    live, pages, elsewhere = fixtures.live, fixtures.pages, fixtures.elsewhere
    pixel = fixtures.tracker("ads.pubmatic.com", "/pixel.gif")
    adform = fixtures.tracker("track.adform.net", "/tr?ev=PageView")
    clean_links = (
        f'<a href="/clean2">More</a> <a href="{elsewhere.url}/outside">Elsewhere</a> '
        '<a href="mailto:desk@example.org">Mail</a> <a href="#top">Top</a>'
    )
    gated = '<script type="text/plain" data-consent="analytics" src="/clean-stats.js"></script>'
    ad = (
        f'<iframe title="ad" data-consent="marketing" '
        f'data-src="{fixtures.tracker("ads.pubmatic.com", "/frame.html")}"></iframe>'
    )
    pages.pages.update(
        {
            "/clean": (
                200,
                _page(live, "scan-clean", clean_links + gated + ad),
                {"Set-Cookie": "session_id=abc; Path=/; HttpOnly; SameSite=Lax"},
            ),
            "/clean2": (200, _page(live, "scan-clean", '<a href="/clean">Back</a>' + gated), {}),
            "/clean-stats.js": (200, "document.cookie = 'clean_stats=1; Path=/; Max-Age=600';", {}),
            "/leaky": (
                200,
                _page(
                    live,
                    "scan-leaky",
                    f'<script src="/leaky.js"></script><img src="{pixel}" alt="">',
                ),
                {},
            ),
            "/leaky.js": (200, LEAKY_JS.replace("ADFORM", adform), {}),
            "/undeclared": (
                200,
                _page(
                    live,
                    "scan-undeclared",
                    '<script type="text/plain" data-consent="analytics" src="/stats.js"></script>',
                ),
                {},
            ),
            "/stats.js": (
                200,
                "document.cookie = '_hjSessionUser_42=x; Path=/; Max-Age=600';"
                "document.cookie = 'stats_id=1; Path=/; Max-Age=600';"
                "document.cookie = '_gat_UA-1=1; Path=/; Max-Age=60';"
                "document.cookie = '_gid=GA1.1.7; Path=/; Max-Age=86400';",
                {},
            ),
            "/apply": (
                200,
                _page(
                    live,
                    "scan-apply",
                    '<script type="text/plain" data-consent="analytics" src="/hotjar.js"></script>',
                ),
                {},
            ),
            "/hotjar.js": (
                200,
                "document.cookie = '_hjSessionUser_42=x; Path=/; Max-Age=600';"
                "document.cookie = 'stats_id=1; Path=/; Max-Age=600';"
                "document.cookie = '_gat_UA-1=1; Path=/; Max-Age=60';",
                {},
            ),
            "/away": (302, "", {"Location": f"{elsewhere.url}/landing"}),
            "/hop": (302, "", {"Location": "/clean"}),
        }
    )
    elsewhere.pages["/landing"] = (200, "<!doctype html><title>elsewhere</title>", {})
    elsewhere.pages["/outside"] = (200, "<!doctype html><title>outside</title>", {})


LEAKY_JS = """
document.cookie = '_ga=GA1.1.123.456; Path=/; Max-Age=63072000; SameSite=Lax';
document.addEventListener('consentry:change', function (e) {
  if (e.detail.action !== 'reject_all' || e.detail.method === 'gpc') return;
  // Like a tag that keeps writing its cookie: the widget's clean-up after the refusal runs once.
  var ticks = 0;
  var timer = setInterval(function () {
    document.cookie = '_fbp=fb.1.123.456; Path=/; Max-Age=7776000; SameSite=Lax';
    if (++ticks === 60) clearInterval(timer);
  }, 50);
  new Image().src = 'ADFORM';
});
"""


@pytest.fixture(scope="module")
def fixtures(live: LiveService) -> Iterator[Fixtures]:
    chromium_executable()
    pages, elsewhere, tracker = FixtureOrigin(), FixtureOrigin(), FixtureOrigin()
    servers = []
    for origin in (pages, elsewhere, tracker):
        server, origin.url = serve(origin.wsgi)
        servers.append(server)
    tracker.pages.update(
        {
            "/pixel.gif": (200, "GIF89a", {}),
            "/tr": (200, "GIF89a", {"mimetype": "image/gif"}),
            "/frame.html": (200, "<!doctype html><title>ad</title>", {}),
        }
    )
    result = Fixtures(live, pages, elsewhere, servers[2].server_port)
    _build_pages(result)
    with live.app.app_context():
        for site_id, categories in SITES.items():
            data = SiteCreateSchema().load(
                {
                    "id": site_id,
                    "name": site_id,
                    "allowed_origins": [pages.url],
                    "categories": categories,
                }
            )
            sites_service.create_site(data)
    yield result
    for server in servers:
        server.shutdown()


def _scan(fixtures: Fixtures, site: str, *paths: str, **options):
    resolver = ",".join(f"MAP {host} 127.0.0.1" for host in TRACKER_HOSTS)
    scan_options = ScanOptions(
        start_urls=[p if p.startswith("http") else fixtures.pages.url + p for p in paths],
        browser_args=[f"--host-resolver-rules={resolver}"],
        **options,
    )
    with fixtures.live.app.app_context():
        return scans.scan_site(site, scan_options)


def _kinds(report: dict) -> Counter:
    return Counter(finding["type"] for finding in report["findings"])


def _verify_with_jwks(live: LiveService, token: str) -> dict:
    """Check a report's JWS as an outsider would: joserfc and the published JWKS."""
    with live.app.test_client() as client:
        key_set = KeySet.import_key_set(client.get("/.well-known/jwks.json").get_json())
    verified = jws.deserialize_compact(token, key_set, algorithms=["EdDSA"])
    assert verified.protected["typ"] == "consentry-scan+jws"
    return json.loads(verified.payload)


def _finding(report: dict, kind: str, **match) -> list[dict]:
    def matches(finding):
        evidence = finding["evidence"]
        subject = evidence.get("cookie") or evidence.get("request") or {}
        return finding["type"] == kind and all(subject.get(k) == v for k, v in match.items())

    return [finding for finding in report["findings"] if matches(finding)]


def test_leaky_page_yields_exactly_its_planted_findings(fixtures):
    completed = _scan(fixtures, "scan-leaky", "/leaky", max_pages=1)
    report = completed.report
    assert _kinds(report) == {"set_before_choice": 2, "set_after_refusal": 2, "gpc_ignored": 1}
    before = _finding(report, "set_before_choice", name="_ga")
    assert before[0]["phase"] == "none" and before[0]["severity"] == "high"
    assert before[0]["evidence"]["cookie"]["set_by"] == fixtures.pages.url + "/leaky.js"
    assert before[0]["evidence"]["classification"]["category"] == "analytics"
    pixel = _finding(report, "set_before_choice", host="ads.pubmatic.com")
    assert pixel[0]["evidence"]["request"]["resource_type"] == "image"
    assert pixel[0]["evidence"]["classification"]["database"]["platform"] == "PubMatic"
    after = _finding(report, "set_after_refusal", name="_fbp")
    assert after[0]["phase"] == "reject" and after[0]["evidence"]["cookie"]["after_choice"]
    assert _finding(report, "set_after_refusal", host="track.adform.net")[0]["phase"] == "reject"
    gpc = _finding(report, "gpc_ignored", host="ads.pubmatic.com")
    assert gpc[0]["phase"] == "gpc"
    assert report["summary"]["verdict"] == "fail"
    assert report["pages"][0]["verdict"] == "fail"
    assert _verify_with_jwks(fixtures.live, scans.report_jws(completed.row)) == report


def test_undeclared_and_miscategorised_cookies_are_found(fixtures, browser):
    # ``browser`` starts the suite's sync Playwright (an event loop in this thread) first, as
    # when another e2e test ran earlier on the same worker: the scan must still run.
    report = _scan(fixtures, "scan-undeclared", "/undeclared", max_pages=1).report
    assert _kinds(report) == {"undeclared_cookie": 2, "category_mismatch": 1}
    gat = _finding(report, "undeclared_cookie", name="_gat_UA-1")[0]
    assert gat["evidence"]["classification"]["category"] == "analytics"
    undeclared = _finding(report, "undeclared_cookie", name="_hjSessionUser_42")[0]
    assert undeclared["phase"] == "accept" and undeclared["severity"] == "medium"
    assert undeclared["evidence"]["classification"]["database"]["platform"] == "Hotjar"
    mismatch = next(f for f in report["findings"] if f["type"] == "category_mismatch")
    assert mismatch["evidence"]["declaration"]["name"] == "_gid"
    assert mismatch["evidence"]["database"]["category"] == "analytics"
    assert (mismatch["severity"], mismatch["phase"]) == ("low", "accept")


def test_clean_site_is_crawled_within_its_origins_and_scans_clean(fixtures):
    report = _scan(fixtures, "scan-clean", "/clean").report
    assert report["findings"] == []
    assert report["summary"]["verdict"] == "clean"
    assert [page["url"] for page in report["pages"]] == [
        fixtures.pages.url + "/clean",
        fixtures.pages.url + "/clean2",
    ]
    assert report["stopped"] is None
    first = report["pages"][0]["phases"]
    session = next(c for c in first["none"]["cookies"] if c["name"] == "session_id")
    assert (session["set_via"], session["http_only"]) == ("http", True)
    assert session["set_by"] == fixtures.pages.url + "/clean"
    accepted = {g["src"]: g["ran"] for g in first["accept"]["gated"]}
    refused = {g["src"]: g["ran"] for g in first["reject"]["gated"]}
    assert accepted["/clean-stats.js"] and not refused["/clean-stats.js"]
    assert first["accept"]["clicked_via"] == "attribute"
    ad_requests = [r for r in first["accept"]["requests"] if r["host"] == TRACKER_HOSTS[0]]
    assert ad_requests and all(r["after_choice"] for r in ad_requests)
    assert not [r for r in first["gpc"]["requests"] if r["host"] == TRACKER_HOSTS[0]]


def test_urls_off_the_allowed_origins_are_refused_and_redirects_off_them_stopped(fixtures):
    outside = fixtures.elsewhere.url + "/landing"
    report = _scan(fixtures, "scan-clean", outside, "/away", "/hop", max_pages=3).report
    assert report["refused"][0]["url"] == outside
    assert fixtures.elsewhere.url + "/landing" in [item["url"] for item in report["refused"][1:]]
    pages = {page["url"]: page for page in report["pages"]}
    assert outside not in pages
    away = pages[fixtures.pages.url + "/away"]
    assert "left the site's allowed origins" in away["error"]
    assert all(not phase["cookies"] for phase in away["phases"].values())
    # A redirect within the allowed origins is followed.
    assert pages[fixtures.pages.url + "/hop"]["phases"]["none"]["final_url"].endswith("/clean")


def test_scan_stops_at_its_page_and_time_bounds(fixtures):
    bounded = _scan(fixtures, "scan-clean", "/clean", max_pages=1).report
    assert [page["url"] for page in bounded["pages"]] == [fixtures.pages.url + "/clean"]
    assert bounded["stopped"] == "max_pages"
    timed = _scan(fixtures, "scan-clean", "/clean", timeout=1).report
    assert timed["stopped"] == "time_limit"
    # The browser's start may use up the second: then no page is opened at all.
    assert len(timed["pages"]) <= 1
    assert all("time limit" in page["error"] for page in timed["pages"])


def test_interrupted_scan_keeps_a_partial_signed_report(fixtures):
    second = fixtures.pages.url + "/clean2"

    def interrupt(url, phase):
        if url == second:
            raise KeyboardInterrupt  # what Ctrl-C raises in the main thread

    options = ScanOptions(start_urls=[fixtures.pages.url + "/clean"])
    with fixtures.live.app.app_context():
        completed = scans.scan_site("scan-clean", options, interrupt)
        report = completed.report
        assert report["stopped"] == "interrupted"
        first, unfinished = report["pages"]
        assert list(first["phases"]) == ["none", "reject", "accept", "gpc"]
        assert unfinished["url"] == second and unfinished["phases"] == {}
        assert unfinished["error"].startswith("interrupted")
        assert scans.verify_report(scans.report_jws(completed.row)) == report


def test_demo_page_scans_clean_through_the_cli_and_its_report_verifies(fixtures, tmp_path):
    live = fixtures.live
    out = tmp_path / "report.json"
    result = live.app.test_cli_runner().invoke(
        args=[
            "scan",
            "news-example",
            "--url",
            f"{live.url}/demo",
            "--max-pages",
            "1",
            "--json",
            str(out),
            "--html",
            str(tmp_path / "report.html"),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Verdict for news-example: clean" in result.output
    assert "_dx_stats (127.0.0.1): analytics, declared" in result.output
    assert "consentry (127.0.0.1): necessary, declared" in result.output
    saved = json.loads(out.read_text())
    report = saved["report"]
    assert {f["type"] for f in report["findings"]} <= {"declared_not_seen"}
    assert _verify_with_jwks(live, saved["jws"]) == report
    html = (tmp_path / "report.html").read_text()
    assert "<script" not in html and "clean" in html


def test_apply_proposes_the_seen_cookies_and_yes_saves_them(fixtures):
    live = fixtures.live
    result = live.app.test_cli_runner().invoke(
        args=[
            "scan",
            "scan-apply",
            "--url",
            fixtures.pages.url + "/apply",
            "--max-pages",
            "1",
            "--apply",
            "--yes",
        ]
    )
    assert result.exit_code == 0, result.output
    assert '+        "name": "_gat_UA-1",' in result.output
    assert "Not classified, declare it by hand: _hjSessionUser_42" in result.output
    assert "Applied: 1 declaration(s) added." in result.output
    with live.app.app_context():
        analytics = sites_service.get_site("scan-apply").categories[1]
    added = analytics["cookies"][-1]
    assert added["name"] == "_gat_UA-1" and added["provider"] == "Google"
    # Scanned again, the declared cookie is no longer a finding.
    report = _scan(fixtures, "scan-apply", "/apply", max_pages=1).report
    assert [f["evidence"]["cookie"]["name"] for f in report["findings"]] == ["_hjSessionUser_42"]


def test_region_goes_to_the_service_as_a_trusted_header(fixtures):
    live = fixtures.live
    live.app.config["REGION_HEADERS"] = [["CloudFront-Viewer-Country", "CloudFront-Viewer-Region"]]
    try:
        result = live.app.test_cli_runner().invoke(
            args=[
                "scan",
                "scan-clean",
                "--url",
                fixtures.pages.url + "/clean2",
                "--max-pages",
                "1",
                "--region",
                "us-ca",
            ]
        )
    finally:
        live.app.config["REGION_HEADERS"] = []
    assert result.exit_code == 0, result.output
    headers = [h for path, h in fixtures.pages.seen if path == "/clean2"][-1]
    assert headers["Cloudfront-Viewer-Country"] == "US"
    assert headers["Cloudfront-Viewer-Region"] == "CA"
    bad = live.app.test_cli_runner().invoke(args=["scan", "scan-clean", "--region", "Atlantis"])
    assert bad.exit_code == 2 and "not an ISO 3166" in bad.output


def test_ctrl_c_in_a_terminal_stops_the_cli_with_a_partial_signed_report(fixtures, tmp_path):
    """SIGINT to the whole process group, as a terminal sends it: Chromium and Playwright's
    driver get it too. The command still stores and prints the partial report."""
    live = fixtures.live
    instance = Path(live.app.instance_path)
    environment = os.environ | {
        "CONSENTRY_INSTANCE_PATH": str(instance),
        "CONSENTRY_DATABASE_URL": live.app.config["DATABASE_URL"],
    }
    command = [
        str(Path(sys.executable).parent / "consentry"),
        "scan",
        "scan-clean",
        "--url",
        fixtures.pages.url + "/clean",
        "--json",
        str(tmp_path / "partial.json"),
    ]
    before = len(fixtures.pages.seen)
    process = subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    try:
        # Interrupt once the first page's visits are under way.
        wait_until(
            lambda: sum(path == "/clean" for path, _h in fixtures.pages.seen[before:]) >= 2,
            timeout=60,
            what="the scan's first visits",
        )
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, output
    assert "Stopped early (interrupted): the report is partial." in output
    saved = json.loads((tmp_path / "partial.json").read_text())
    assert saved["report"]["stopped"] == "interrupted"
    assert saved["report"]["pages"][0]["error"].startswith("interrupted")
    assert _verify_with_jwks(live, saved["jws"]) == saved["report"]
