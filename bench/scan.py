"""Benchmark: seconds per scanned page (DESIGN.md section 12), on the demo page and a leaky page.

A page is visited three times (no choice, Reject all, Accept all), plus a fourth time with GPC on
when the site sells or shares (both pages here do). The service runs in-process on a temporary
SQLite database with the demo seeded; the leaky page (a cookie and a tracker pixel before
consent, more after refusal) is served from a second port. Each scan is one page
(``--max-pages 1``) through ``service.scanner.service.scan_site``, report signing and storage
included; a page's time runs from its first visit to the stored report (the browser's launch,
once per scan, is printed apart). Bar: <= 10 s per page. Note the machine's load when quoting.

    PYTHONPATH=. python bench/scan.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time

from werkzeug.serving import make_server
from werkzeug.wrappers import Response

BAR_SECONDS = 10.0
LEAKY_SITE = "bench-leaky"
LEAKY_JS = """
document.cookie = '_ga=GA1.1.1.1; Path=/; Max-Age=600';
document.addEventListener('consentry:change', function (e) {
  if (e.detail.action !== 'reject_all' || e.detail.method === 'gpc') return;
  var ticks = 0;
  var timer = setInterval(function () {
    document.cookie = '_fbp=fb.1.1.1; Path=/; Max-Age=600';
    if (++ticks === 60) clearInterval(timer);
  }, 50);
  new Image().src = 'http://track.adform.net:PORT/tr';
});
"""


def serve(app) -> tuple[object, str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def leaky_pages(service_url: str, tracker_port: int):
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>leaky</title>'
        f'<script src="{service_url}/widget.js" data-site="{LEAKY_SITE}" async></script>'
        '<script src="/leaky.js"></script></head><body><h1>Leaky</h1>'
        f'<img src="http://ads.pubmatic.com:{tracker_port}/p.gif" alt=""></body></html>'
    )
    script = LEAKY_JS.replace("PORT", str(tracker_port))

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/leaky.js":
            return Response(script, mimetype="text/javascript")(environ, start_response)
        if path == "/leaky":
            return Response(page, mimetype="text/html")(environ, start_response)
        return Response("GIF89a", mimetype="image/gif")(environ, start_response)

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="scans per page")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from service import create_app
    from service.demo.seed import DEMO_SITE, seed_demo
    from service.scanner import service as scans
    from service.scanner.scan import ScanOptions
    from service.sites import service as sites_service
    from service.sites.schemas import SiteCreateSchema

    folder = tempfile.mkdtemp(prefix="bench-scan-i19-")
    app = create_app(
        {
            "INSTANCE_PATH": folder,
            "DATABASE_URL": f"sqlite:///{folder}/bench.db",
            "RATELIMIT_ENABLED": False,
        }
    )
    _server, service_url = serve(app)
    tracker, _tracker_url = serve(leaky_pages(service_url, 0))
    tracker_port = tracker.server_port
    _pages, pages_url = serve(leaky_pages(service_url, tracker_port))
    resolver = "MAP ads.pubmatic.com 127.0.0.1,MAP track.adform.net 127.0.0.1"
    with app.app_context():
        upgrade()
        seed_demo(service_url)
        categories = [
            {"id": "necessary", "title": "Necessary", "required": True},
            {"id": "analytics", "title": "Analytics", "cookies": [{"name": "_ga"}]},
            {"id": "marketing", "title": "Advertising", "sale_or_sharing": True},
        ]
        sites_service.create_site(
            SiteCreateSchema().load(
                {
                    "id": LEAKY_SITE,
                    "name": "Leaky",
                    "allowed_origins": [pages_url],
                    "categories": categories,
                }
            )
        )
        targets = {
            "demo": (DEMO_SITE, f"{service_url}/demo"),
            "leaky": (LEAKY_SITE, f"{pages_url}/leaky"),
        }
        failed = False
        for name, (site, url) in targets.items():
            pages, scans_total, visits, findings = [], [], 0, 0
            for _ in range(args.repeat):
                options = ScanOptions(
                    [url], max_pages=1, browser_args=[f"--host-resolver-rules={resolver}"]
                )
                marks: list[float] = []
                started = time.perf_counter()
                completed = scans.scan_site(
                    site,
                    options,
                    lambda _url, _phase, marks=marks: marks.append(time.perf_counter()),
                )
                ended = time.perf_counter()
                # The page: from its first visit's start to the stored report (the browser's
                # launch, once per scan, is apart).
                pages.append(ended - marks[0])
                scans_total.append(ended - started)
                visits = len(completed.report["pages"][0]["phases"])
                findings = len(completed.report["findings"])
            median = statistics.median(pages)
            ok = median <= BAR_SECONDS
            failed |= not ok
            print(
                f"{name}: {median:.2f} s per page (median of {args.repeat}; min {min(pages):.2f},"
                f" max {max(pages):.2f}; {visits} visits side by side), whole one-page scan with"
                f" browser launch {statistics.median(scans_total):.2f} s; {findings} findings;"
                f" bar {BAR_SECONDS:.0f} s: {'ok' if ok else 'FAILED'}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
