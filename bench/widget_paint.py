"""Benchmark: time until the banner is painted in headless Chromium, the widget (served by the live
service) against a hand-written inline banner, measured in the same run: the per-site script that
carries its config (``/s/{site}.js``, the recommended embed) and ``/widget.js`` + ``data-site``
(config fetched).

Both pages are local, served by the real service under gunicorn, and carry the same inline probe: a
``requestAnimationFrame`` loop that notes ``performance.now()`` (ms since navigation start) at the
first frame in which the banner element is in the document, i.e. the frame that paints it. Each run
uses a fresh browser context (cold HTTP cache), runs alternate between the two pages. Main-thread
script time comes from Chrome's ``Performance.getMetrics`` (``ScriptDuration``) once the banner is
painted; the widget's share is its page's figure minus the inline page's.

Bars (DESIGN.md section 6, round 2): banner painted <= inline + 15 ms; widget main-thread script
<= 8 ms (for the per-site script; the ``data-site`` embed is printed beside it).

``--trace N`` then records N more cold runs of the per-site script's page with a Chromium
performance trace each and prints where the renderer's main thread spends its time from
navigation start to the banner's frame (self time per trace event, medians), script events
named with their file: the profile behind the figures.

    PYTHONPATH=. python bench/widget_paint.py [--runs 15] [--trace 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.banner_throughput import ROOT, free_port, seed, start_gunicorn
from tests.helpers.browser import CHROMIUM_ARGS

BAR_PAINT_MS = 15.0
BAR_SCRIPT_MS = 8.0

PROBE = """<script>
(function probe() {
  var found = document.querySelector('[data-banner], #consentry [role=dialog]');
  if (found) {
    window.bannerPaintedAt = performance.now();
    performance.mark('banner-painted'); // for --trace
  }
  else requestAnimationFrame(probe);
})();
</script>"""
ARTICLE = """<h1>City council approves riverside park plan</h1>
<p>The council voted 31 to 12 on Thursday night to turn the disused freight yard along the east bank
into a public park, ending a dispute that had split neighbourhood groups since 2024.</p>"""
WIDGET_PAGE = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>widget</title>
{PROBE}<script src="/widget.js" data-site="news-example" async></script></head>
<body>{ARTICLE}</body></html>"""
SITE_SCRIPT_PAGE = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>site</title>{PROBE}<script src="/s/news-example.js?locale=en" async></script></head>
<body>{ARTICLE}</body></html>"""
# The floor: a banner written by hand into the page, no fetch, no framework.
INLINE_PAGE = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>inline</title>
{PROBE}<style>
.cb {{ position: fixed; inset: auto 0 0; padding: 16px; background: #fff; color: #1a1a1a;
  border-top: 2px solid #767676; font: 15px/1.5 system-ui, sans-serif; }}
.cb div {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; }}
.cb button {{ min-height: 44px; background: #1d4ed8; color: #fff; border: 0; font: inherit; }}
</style></head>
<body>{ARTICLE}
<div class="cb" role="dialog" aria-label="Cookies" data-banner>
  <h2>We value your privacy</h2><p>We use cookies. Optional ones only with your consent.</p>
  <div><button>Accept all</button><button>Reject all</button><button>Settings</button></div>
</div></body></html>"""


# The pages' own policy (the service gives HTML without one a strict default that refuses the
# probe): the same for the three pages, as a customer page that allows inline code would have.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'"
)
BENCH_APP = """
from flask import Response
from service import create_app
from bench.widget_paint import INLINE_PAGE, PAGE_POLICY, SITE_SCRIPT_PAGE, WIDGET_PAGE

app = create_app()
page = lambda html: lambda: Response(html, headers={"Content-Security-Policy": PAGE_POLICY})
app.add_url_rule("/bench/widget", "bench_widget", page(WIDGET_PAGE))
app.add_url_rule("/bench/inline", "bench_inline", page(INLINE_PAGE))
app.add_url_rule("/bench/site", "bench_site", page(SITE_SCRIPT_PAGE))
"""


def start_service(folder: Path) -> tuple[str, subprocess.Popen]:
    """The real service under gunicorn (its own processes, as in production, so the browser
    driver here does not slow it down) on a migrated SQLite database seeded with the demo site,
    plus the two pages."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    instance = folder / "instance"
    seed(instance, url)
    (folder / "bench_app.py").write_text(BENCH_APP)
    env = os.environ | {
        "CONSENTRY_INSTANCE_PATH": str(instance),
        "CONSENTRY_RATELIMIT_ENABLED": "false",
        "PYTHONPATH": f"{folder}:{ROOT}",
    }
    return url, start_gunicorn("bench_app:app", port, env, folder)


def measure(browser, url: str) -> tuple[float, float]:
    """(ms from navigation start to the banner's frame, ms of main-thread script) of one run."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(url)
        painted = page.wait_for_function("() => window.bannerPaintedAt").json_value()
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return float(painted), metrics["ScriptDuration"] * 1000
    finally:
        context.close()


TRACE_CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "blink.user_timing",
    "v8",
    "v8.execute",
]
# Trace events that name the script they run or compile
SCRIPT_EVENTS = {"EvaluateScript", "v8.compile", "v8.run", "FunctionCall", "v8.produceCache"}


def main_thread(events: list[dict]) -> tuple[int, int, float, float]:
    """(pid, tid, start, end) of the renderer main thread that marked the banner's frame: from
    its navigation start (microseconds, trace clock) to that mark."""
    mark = next(e for e in events if e.get("name") == "banner-painted")
    pid, tid = mark["pid"], mark["tid"]
    starts = [
        e["ts"]
        for e in events
        if e.get("name") == "navigationStart" and e["pid"] == pid and e["ts"] <= mark["ts"]
    ]
    return pid, tid, max(starts) if starts else 0.0, mark["ts"]


def breakdown(events: list[dict]) -> dict[str, float]:
    """Self time (ms) per activity of the main thread up to the banner's frame."""
    pid, tid, start, end = main_thread(events)
    spans = sorted(
        (
            e
            for e in events
            if e.get("ph") == "X" and e["pid"] == pid and e["tid"] == tid and "dur" in e
            and start <= e["ts"] <= end
        ),
        key=lambda e: (e["ts"], -e["dur"]),
    )  # fmt: skip
    totals: dict[str, float] = {}
    stack: list[tuple[float, str]] = []  # (end time, label) of the enclosing spans
    for event in spans:
        while stack and stack[-1][0] <= event["ts"]:
            stack.pop()
        label = event["name"]
        data = event.get("args", {}).get("data", {}) or event.get("args", {})
        url = data.get("url") or data.get("fileName") or ""
        if label in SCRIPT_EVENTS and url:
            label += " " + url.rsplit("/", 1)[-1].split("?")[0]
        totals[label] = totals.get(label, 0.0) + event["dur"] / 1000
        if stack:  # time spent here is not the parent's own
            parent = stack[-1][1]
            totals[parent] = totals.get(parent, 0.0) - event["dur"] / 1000
        stack.append((event["ts"] + event["dur"], label))
    return totals


# When the widget's script was asked for, answered and received, and when the banner's frame
# came (Resource Timing, ms since navigation start)
TIMELINE = """() => {
  const s = performance.getEntriesByType('resource').find(e => /[/]s[/]|widget[.]js/.test(e.name));
  return {'[timeline] script requested': s.requestStart, '[timeline] script first byte':
    s.responseStart, '[timeline] script received': s.responseEnd,
    '[timeline] banner frame': window.bannerPaintedAt};
}"""


def trace(browser, url: str) -> dict[str, float]:
    """One cold run with a performance trace: its main-thread breakdown, and the timeline."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
        page.goto(url)
        page.wait_for_function("() => window.bannerPaintedAt")
        timeline = page.evaluate(TIMELINE)
        events = json.loads(browser.stop_tracing())["traceEvents"]
        return breakdown(events) | timeline
    finally:
        context.close()


def print_breakdown(runs: list[dict[str, float]]) -> None:
    labels = {label for run in runs for label in run}
    medians = {label: statistics.median(run.get(label, 0.0) for run in runs) for label in labels}
    print(f"\nMain thread, navigation start to the banner's frame, /s/{{site}}.js page, medians of "
          f"{len(runs)} traced cold runs (self ms; tracing adds overhead):")  # fmt: skip
    work = {k: v for k, v in medians.items() if not k.startswith("[timeline]")}
    for label, ms in sorted(work.items(), key=lambda item: -item[1]):
        if ms >= 0.05:
            print(f"  {label:<58}{ms:>7.2f}")
    print(f"  {'total':<58}{sum(work.values()):>7.2f}")
    for label in sorted(set(medians) - set(work), key=medians.get):
        print(f"  {label:<58}{medians[label]:>7.2f}")


def run_pages(
    url: str, executable: str, results: dict[str, list[tuple[float, float]]], runs: int, traces: int
) -> list[dict[str, float]]:
    """The measured runs, alternating pages, into ``results``; then the traced runs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        for name in results:  # warm-up (server, browser), not counted
            measure(browser, f"{url}/bench/{name}")
        for _ in range(runs):
            for name in results:
                results[name].append(measure(browser, f"{url}/bench/{name}"))
        traced = [trace(browser, f"{url}/bench/site") for _ in range(traces)]
        browser.close()
    return traced


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--trace", type=int, default=0, metavar="N")
    args = parser.parse_args()
    executable = shutil.which("chromium")
    if executable is None:
        print("chromium not found (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="consentry-paint-") as folder:
        url, server = start_service(Path(folder))
        results: dict[str, list[tuple[float, float]]] = {"site": [], "widget": [], "inline": []}
        try:
            traced = run_pages(url, executable, results, args.runs, args.trace)
        finally:
            server.terminate()
            server.wait(10)

    paint = {name: statistics.median(r[0] for r in runs) for name, runs in results.items()}
    script = {name: statistics.median(r[1] for r in runs) for name, runs in results.items()}
    extra_paint = paint["site"] - paint["inline"]
    extra_script = script["site"] - script["inline"]
    print(f"Banner painted, headless Chromium, medians of {args.runs} cold runs each")
    print(f"{'page':<40}{'painted ms':>11}{'script ms':>11}")
    labels = {
        "inline": "hand-written inline banner",
        "site": "Consentry /s/{site}.js (config carried)",
        "widget": "Consentry /widget.js (config fetched)",
    }
    for name, label in labels.items():
        print(f"{label:<40}{paint[name]:>11.1f}{script[name]:>11.1f}")
    print(
        f"\nper-site script - inline: painted +{extra_paint:.1f} ms (bar +{BAR_PAINT_MS:.0f}), "
        f"main-thread script +{extra_script:.1f} ms (bar {BAR_SCRIPT_MS:.0f}); "
        f"widget.js + data-site: +{paint['widget'] - paint['inline']:.1f} ms, "
        f"+{script['widget'] - script['inline']:.1f} ms"
    )
    ok = extra_paint <= BAR_PAINT_MS and extra_script <= BAR_SCRIPT_MS
    print("within the bars" if ok else "OVER a bar")
    if traced:
        print_breakdown(traced)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
