"""End-to-end fixtures: the real service on a live port, host pages on two more origins, and
Debian's headless Chromium driven by Playwright.

- ``live``: the app on a temporary SQLite database, migrated and seeded with the demo site
  (``news-example``), served by werkzeug in a thread on 127.0.0.1; it reads the ledger and
  publishes document versions in the app's own context. It stands behind a CDN that sends the
  visitor's region (CloudFront's headers, trusted from 127.0.0.1) while a test sets
  ``live.region``; without it the region is unknown.
- ``hosts``: static pages of a customer site on ``allowed`` (an allowed origin of the demo site)
  and on ``foreign`` (not allowed); both collect CSP violation reports.
- ``page``: a fresh browser context per test (no cookies, no storage).

Without a ``chromium`` executable the e2e tests are skipped with a message; under ``CI=true``
that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from service import create_app
from service.consents.models import ConsentRecord
from service.consents.service import current_document_refs
from service.demo.seed import DEMO_SITE, seed_demo
from service.extensions import db
from service.timeutil import utcnow
from tests.helpers.browser import CHROMIUM_ARGS
from tests.helpers.regions import CLOUDFRONT

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_executable() -> str:
    """Debian's ``chromium``, or skip (fail under ``CI=true``)."""
    path = shutil.which("chromium")
    if path is None:
        message = "chromium is not installed (apt-get install chromium): e2e tests need it"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (required under CI=true)")
        pytest.skip(message)
    return path


def serve(app: Any) -> tuple[BaseWSGIServer, str]:
    """Serve a WSGI app on a free port of 127.0.0.1 in a daemon thread; return it and its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy (the service works asynchronously to the
    browser: a consent lands in the ledger some milliseconds after the click)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, f"timed out waiting for {what}"
            return result
        time.sleep(0.05)


@dataclass
class LiveService:
    app: Flask
    url: str = ""
    # While true, every consent POST is answered 503 before the app sees it: an outage that
    # no request gets past, where Playwright's routing can miss a beacon sent as a page closes.
    consents_down: bool = False
    # The region the CDN in front says the visitor is in (``US-CA``, ``FR``), or None: no header
    region: str | None = None

    def wsgi(self, environ: dict[str, Any], start_response: Callable) -> Any:
        if self.region is not None:
            country, _, subdivision = self.region.partition("-")
            environ["HTTP_CLOUDFRONT_VIEWER_COUNTRY"] = country
            if subdivision:
                environ["HTTP_CLOUDFRONT_VIEWER_COUNTRY_REGION"] = subdivision
        if (
            self.consents_down
            and environ["REQUEST_METHOD"] == "POST"
            and environ["PATH_INFO"].endswith("/consents")
        ):
            start_response("503 SERVICE UNAVAILABLE", [("Content-Type", "application/json")])
            return [b'{"error": {"code": "unavailable", "message": "Down.", "details": {}}}']
        return self.app(environ, start_response)

    def entries(self, subject: str, site: str = DEMO_SITE) -> list[dict[str, Any]]:
        """The ledger entries of ``subject`` on ``site``, oldest first, as their signed bodies."""
        with self.app.app_context():
            rows = db.session.execute(
                db.select(ConsentRecord)
                .where(ConsentRecord.site_id == site, ConsentRecord.subject == subject)
                .order_by(ConsentRecord.seq)
            ).scalars()
            return [json.loads(row.body) for row in rows]

    def wait_for_entries(
        self, subject: str, count: int, site: str = DEMO_SITE
    ) -> list[dict[str, Any]]:
        wait_until(
            lambda: len(self.entries(subject, site)) >= count, what=f"{count} ledger entries"
        )
        return self.entries(subject, site)

    def current_documents(self) -> dict[str, dict[str, Any]]:
        with self.app.app_context():
            return current_document_refs(DEMO_SITE, utcnow())

    def publish(self, kind: str, material: bool, summary: str) -> int:
        """Publish a new version of ``kind`` (its current text plus a paragraph); its number."""
        from service.documents import service as documents

        with self.app.app_context():
            current = documents.get_current(DEMO_SITE, kind).document
            texts = {
                locale: {**text, "body": text["body"] + f"\n\n{summary} ({time.time_ns()}).\n"}
                for locale, text in current.texts.items()
            }
            state, _created = documents.publish_text(
                DEMO_SITE, kind, texts, material=material, summary=summary
            )
            return state.document.version


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> Iterator[LiveService]:
    folder = tmp_path_factory.mktemp("e2e-instance")
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(folder),
            "DATABASE_URL": f"sqlite:///{folder / 'consentry.db'}",
            "RATELIMIT_ENABLED": False,
            "REGION_HEADERS": [CLOUDFRONT],
            "TRUSTED_PROXIES": ["127.0.0.1/32"],
        }
    )
    from flask_migrate import upgrade

    service = LiveService(app)
    server = make_server("127.0.0.1", 0, service.wsgi, threaded=True)
    service.url = url = f"http://127.0.0.1:{server.server_port}"
    with app.app_context():
        upgrade()
        seed_demo(url)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield service
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


@dataclass
class HostSite:
    """Static pages of a customer site on one origin; CSP reports POSTed to /csp-report."""

    url: str
    pages: dict[str, tuple[str, str, dict[str, str]]] = field(default_factory=dict)
    csp_reports: list[bytes] = field(default_factory=list)

    def add(self, path: str, body: str, mimetype: str = "text/html", **headers: str) -> str:
        self.pages[path] = (body, mimetype, headers)
        return self.url + path

    def wsgi(self, environ, start_response):
        request = Request(environ)
        if request.path == "/csp-report":
            self.csp_reports.append(request.get_data())
            return Response(status=204)(environ, start_response)
        if request.path not in self.pages:
            return Response("not found", status=404)(environ, start_response)
        body, mimetype, headers = self.pages[request.path]
        response = Response(body, mimetype=mimetype, headers={"Cache-Control": "no-store"})
        for name, value in headers.items():
            response.headers[name.replace("_", "-")] = value
        return response(environ, start_response)


@dataclass
class Hosts:
    allowed: HostSite
    foreign: HostSite


@pytest.fixture(scope="session")
def hosts(live: LiveService) -> Iterator[Hosts]:
    from service.sites import service as sites

    allowed, foreign = HostSite(""), HostSite("")
    servers = []
    for site in (allowed, foreign):
        server, site.url = serve(site.wsgi)
        servers.append(server)
    with live.app.app_context():
        origins = sites.get_site(DEMO_SITE).allowed_origins
        sites.update_site(DEMO_SITE, {"allowed_origins": [*origins, allowed.url]})
    yield Hosts(allowed, foreign)
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="session")
def browser():
    executable = chromium_executable()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    """A fresh profile per test: no cookies, no localStorage."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
