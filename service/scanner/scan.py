"""A scan: pages found breadth-first from the start URLs, each visited once per phase.

Bounded three ways: only URLs on the site's allowed origins are opened (start URLs off them are
refused, navigations off them aborted), at most ``max_pages`` pages, and no new visit starts after
``timeout`` seconds. Ctrl-C (KeyboardInterrupt) ends the scan with the pages finished so far.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .browser import (
    CLICKS,
    PHASES,
    BrowserMissing,
    PhaseObservation,
    VisitSettings,
    launch_browser,
    visit,
)
from .findings import Classifier, Finding, page_findings, site_findings, verdict
from .origins import AllowedOrigins, OriginRefused, same_origin_links

DEFAULT_MAX_PAGES = 20
DEFAULT_TIMEOUT = 600.0

Progress = Callable[[str, str], None]  # (page URL, phase) as each visit starts


@dataclass
class ScanOptions:
    start_urls: list[str] = field(default_factory=list)
    max_pages: int = DEFAULT_MAX_PAGES
    timeout: float = DEFAULT_TIMEOUT
    region: str | None = None
    settings: VisitSettings = field(default_factory=VisitSettings)
    browser_args: list[str] = field(default_factory=list)


@dataclass
class PageResult:
    url: str
    phases: dict[str, PhaseObservation]
    findings: list[Finding] = field(default_factory=list)
    verdict: str = "clean"
    error: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ScanOutcome:
    site: str
    mode: str
    phases: tuple[str, ...]
    pages: list[PageResult]
    site_findings: list[Finding]
    refused: list[dict[str, str]]
    stopped: str | None  # None (all done), "max_pages", "time_limit" or "interrupted"
    started_at: float
    finished_at: float
    browser_version: str = ""

    @property
    def findings(self) -> list[Finding]:
        return [f for page in self.pages for f in page.findings] + self.site_findings

    @property
    def verdict(self) -> str:
        return verdict(self.findings)


def phases_for(site: Mapping[str, Any]) -> tuple[str, ...]:
    """The three visits, plus a GPC visit when a category is sold or shared."""
    sold = any(c.get("sale_or_sharing") for c in site.get("categories") or [])
    return PHASES if sold else PHASES[:3]


class _Crawl:
    """The queue of pages to visit: breadth-first, each URL once, only allowed origins."""

    def __init__(self, allowed: AllowedOrigins, start_urls: list[str]) -> None:
        self.allowed = allowed
        self.queue: deque[str] = deque()
        self.known: set[str] = set()
        self.refused: list[dict[str, str]] = []
        for url in start_urls:
            try:
                self.add(allowed.check(url))
            except OriginRefused as refused:
                self.refused.append({"url": url, "reason": str(refused)})

    def add(self, url: str) -> None:
        if url not in self.known:
            self.known.add(url)
            self.queue.append(url)


def _run_async(coroutine):
    """``asyncio.run``, or the same in a helper thread when this thread already runs an event
    loop (a caller inside async code, or beside Playwright's sync API)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def run_scan(site: Mapping[str, Any], options: ScanOptions, progress: Progress | None = None):
    """Scan ``site`` (a site config: id, allowed_origins, categories, mode) and return a
    ScanOutcome; never raises for a page's failure (it is recorded on the page)."""
    allowed = AllowedOrigins(site["allowed_origins"])
    crawl = _Crawl(allowed, options.start_urls or [site["allowed_origins"][0]])
    classifier = Classifier(site.get("categories") or [])
    phases = phases_for(site)
    started = time.time()
    pages: list[PageResult] = []
    try:
        stopped, version = _run_async(_browse(crawl, phases, options, pages, progress))
    except KeyboardInterrupt:  # a second Ctrl-C, while the browser was closing
        stopped, version = "interrupted", ""
    for page in pages:
        for observation in page.phases.values():
            classifier.learn_gated(page.url, observation)
            crawl.refused += [
                {"url": url, "reason": "navigation left the allowed origins"}
                for url in observation.refused
            ]
    mode = _banner_mode(pages) or str(site.get("mode") or "opt-in")
    for page in pages:
        page.findings = page_findings(classifier, page.url, page.phases, mode)
        page.verdict = verdict(page.findings)
    return ScanOutcome(
        site=site["id"],
        mode=mode,
        phases=phases,
        pages=pages,
        site_findings=site_findings(classifier, ((p.url, p.phases) for p in pages)),
        refused=crawl.refused,
        stopped=stopped,
        started_at=started,
        finished_at=time.time(),
        browser_version=version,
    )


class BrowserGone(RuntimeError):
    """Chromium went away in the middle of a scan (Ctrl-C in a terminal reaches it too)."""


async def _browse(crawl, phases, options, pages, progress) -> tuple[str | None, str]:
    """Launch Chromium and visit pages; (why the scan stopped, the browser's version)."""
    try:
        from playwright.async_api import async_playwright
    except ImportError as error:
        raise BrowserMissing(
            "the scanner needs Playwright: pip install 'consentry[scan]'"
        ) from error

    deadline = time.monotonic() + options.timeout
    playwright = await async_playwright().start()
    try:
        browser = await launch_browser(playwright, options.browser_args)
        version = browser.version
        try:
            stopped = await _visit_pages(browser, crawl, phases, options, deadline, pages, progress)
        except (KeyboardInterrupt, asyncio.CancelledError, BrowserGone):
            # Ctrl-C: asyncio cancels the scan, or the browser dies with it; what was finished
            # is kept and reported.
            stopped = "interrupted"
            _mark_unfinished(pages)
        with contextlib.suppress(Exception):
            await browser.close()
    finally:
        with contextlib.suppress(Exception):
            await playwright.stop()
    return stopped, version


def _mark_unfinished(pages: list[PageResult]) -> None:
    """The page being visited when the scan stopped has no visits kept (they are incomplete)."""
    if pages and not pages[-1].phases:
        pages[-1].error = "interrupted before this page was finished"


async def _visit_pages(browser, crawl, phases, options, deadline, pages, progress) -> str | None:
    """Visit pages until the queue, the page bound or the time bound ends it; why it stopped.
    A page's visits run side by side, each in its own browser context."""
    while crawl.queue:
        if len(pages) >= options.max_pages:
            return "max_pages"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "time_limit"
        url = crawl.queue.popleft()
        result = PageResult(url, {})
        pages.append(result)
        for phase in phases:
            if progress is not None:
                progress(url, phase)
        visits = [visit(browser, url, phase, crawl.allowed, options.settings) for phase in phases]
        try:
            observations = await asyncio.wait_for(asyncio.gather(*visits), remaining)
        except TimeoutError:
            result.error = "time limit reached before this page was finished"
            return "time_limit"
        if not browser.is_connected():
            raise BrowserGone
        _keep(result, observations, crawl)
    return None


def _keep(result: PageResult, observations: list[PhaseObservation], crawl: _Crawl) -> None:
    """Store a page's visits; follow the links its first visit found."""
    for observation in observations:
        result.phases[observation.phase] = observation
    first = result.phases["none"]
    for phase in CLICKS:
        seen = result.phases.get(phase)
        if seen is not None and seen.error is None and not seen.clicked:
            del result.phases[phase]
            result.notes.append(f"no banner to click: the {phase} visit does not count")
    for phase, observation in result.phases.items():
        if observation.error and result.error is None:
            result.error = f"{phase}: {observation.error}"
    for link in same_origin_links(first.final_url or result.url, first.links, crawl.allowed):
        crawl.add(link)


def _banner_mode(pages: list[PageResult]) -> str | None:
    """The mode the service answered the banner with (per region), if a visit saw it."""
    for page in pages:
        for observation in page.phases.values():
            if observation.banner_mode:
                return observation.banner_mode
    return None
