"""One visit of one page in a fresh headless Chromium context, and what it did.

A visit is a phase: ``none`` (no choice made), ``reject`` (Reject all clicked), ``accept`` (Accept
all clicked) or ``gpc`` (no click, with the Global Privacy Control signal on). The banner's buttons
are found by ``data-consentry-action`` (or by their accessible name on widgets without it), so the
scan tests what a visitor gets.

What is recorded: the cookie jar with who set each cookie (a ``Set-Cookie`` response, or a script's
``document.cookie`` write and the script on top of its stack), Web Storage keys, every request to
an origin that is not one of the site's, and which gated elements ran. Navigations off the site's
allowed origins are aborted; a redirect that leaves them ends the visit.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .origins import AllowedOrigins, origin_of

PHASES = ("none", "reject", "accept", "gpc")
CLICKS = {"reject": "reject_all", "accept": "accept_all"}
BUTTON_NAMES = {
    "reject_all": re.compile(r"reject all", re.I),
    "accept_all": re.compile(r"accept all", re.I),
}
PROBE = (Path(__file__).resolve().parent / "probe.js").read_text(encoding="utf-8")
GPC_PROBE = (
    "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', "
    "{configurable: true, get: () => true});"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_STACK_URL = re.compile(r"(https?://[^\s()]+?):\d+:\d+")
MAX_URL = 500


class BrowserMissing(RuntimeError):
    """No Chromium executable (or no Playwright) on this machine."""


@dataclass(frozen=True)
class VisitSettings:
    """How visits are made: timeouts (seconds), extra request headers, banner query params."""

    navigation_timeout: float = 15.0
    banner_timeout: float = 10.0
    quiet: float = 0.25  # no request in flight for this long: the page has settled
    settle_cap: float = 3.0  # pages that never go quiet (polling, streams) wait this long
    headers: dict[str, str] = field(default_factory=dict)
    banner_params: dict[str, str] = field(default_factory=dict)


@dataclass
class CookieSeen:
    name: str
    domain: str
    path: str
    expires: int | None  # Unix seconds; None for a session cookie
    http_only: bool
    secure: bool
    same_site: str
    set_by: str | None = None  # the response or script URL that last wrote it
    set_via: str | None = None  # "http" or "script"
    after_choice: bool = False  # last written after the banner click


@dataclass
class RequestSeen:
    url: str
    host: str
    resource_type: str
    initiator: str | None
    after_choice: bool


@dataclass
class GatedSeen:
    tag: str
    categories: list[str]
    src: str
    ran: bool


@dataclass
class PhaseObservation:
    phase: str
    url: str
    final_url: str | None = None
    banner_found: bool = False
    clicked: str | None = None
    clicked_via: str | None = None  # "attribute" or "name"
    banner_mode: str | None = None
    banner_region: str | None = None
    cookies: list[CookieSeen] = field(default_factory=list)
    local_storage: list[str] = field(default_factory=list)
    session_storage: list[str] = field(default_factory=list)
    requests: list[RequestSeen] = field(default_factory=list)
    gated: list[GatedSeen] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # navigations aborted off the allowed origins
    error: str | None = None


async def launch_browser(playwright: Any, extra_args: list[str] | None = None) -> Any:
    """Debian's Chromium through Playwright (async API), headless."""
    executable = shutil.which("chromium")
    if executable is None:
        raise BrowserMissing("chromium is not installed (apt-get install chromium)")
    return await playwright.chromium.launch(
        executable_path=executable, headless=True, args=[*CHROMIUM_ARGS, *(extra_args or [])]
    )


def _trim(url: str) -> str:
    return url if len(url) <= MAX_URL else url[:MAX_URL] + "…"


class _Recorder:
    """Event handlers of one visit; all times are time.monotonic()."""

    def __init__(self, observation: PhaseObservation, allowed: AllowedOrigins, page_origin: str):
        self.observation = observation
        self.allowed = allowed
        self.page_origin = page_origin
        self.click_time: float | None = None
        self.cookie_writes: list[tuple[float, str, str, str]] = []  # time, name, via, source
        self.responses: list[tuple[float, Any]] = []
        self.initiators: dict[str, tuple[str | None, str]] = {}  # url -> (initiator, type)
        self.left_site = False
        self.in_flight: set[Any] = set()
        self.last_activity = time.monotonic()

    def on_request_done(self, request: Any) -> None:
        self.in_flight.discard(request)
        self.last_activity = time.monotonic()

    def after_choice(self, moment: float) -> bool:
        return self.click_time is not None and moment >= self.click_time

    def on_cookie_write(self, _source: Any, value: str, stack: str) -> None:
        name = value.split(";", 1)[0].split("=", 1)[0].strip()
        urls = [url for url in _STACK_URL.findall(stack)]
        self.cookie_writes.append((time.monotonic(), name, "script", urls[0] if urls else ""))

    def on_request(self, request: Any) -> None:
        self.in_flight.add(request)
        self.last_activity = time.monotonic()
        url = request.url
        if request.is_navigation_request() and request.frame.parent_frame is None:
            if not self.allowed.allows(url):
                # A redirect hop off the site (routes do not see every hop): stop here.
                self.observation.refused.append(_trim(url))
                self.left_site = True
            return
        origin = origin_of(url)
        if origin is None or self.allowed.allows(url):
            return
        self.observation.requests.append(
            RequestSeen(
                url=_trim(url),
                host=urlsplit(url).hostname or "",
                resource_type=request.resource_type,
                initiator=None,
                after_choice=self.after_choice(time.monotonic()),
            )
        )

    def on_response(self, response: Any) -> None:
        self.responses.append((time.monotonic(), response))

    def on_cdp_request(self, event: dict[str, Any]) -> None:
        initiator = event.get("initiator") or {}
        url = initiator.get("url")
        if not url:
            for frame in (initiator.get("stack") or {}).get("callFrames") or []:
                if frame.get("url"):
                    url = frame["url"]
                    break
        self.initiators.setdefault(event["request"]["url"], (url, initiator.get("type", "")))

    async def route(self, route: Any, request: Any, settings: VisitSettings) -> None:
        url = request.url
        if (
            request.is_navigation_request()
            and request.frame.parent_frame is None
            and not self.allowed.allows(url)
        ):
            self.observation.refused.append(_trim(url))
            self.left_site = True
            await route.abort("blockedbyclient")
        elif request.method == "POST" and _CONSENTS_PATH.search(urlsplit(url).path):
            # The widget keeps its choice locally before sending it: the page behaves the same,
            # and the site's ledger and statistics get no robot consents.
            await route.abort("blockedbyclient")
        elif settings.banner_params and _BANNER_PATH.search(urlsplit(url).path):
            await route.continue_(url=_with_params(url, settings.banner_params))
        else:
            await route.continue_()


_BANNER_PATH = re.compile(r"^/api/v1/sites/[^/]+/banner$")


def _routed(allowed: AllowedOrigins) -> re.Pattern[str]:
    service_calls = r"https?://[^?#]*/api/v1/sites/[^/?#]+/(?:consents|banner)(?:[?#]|$)"
    return re.compile(rf"^(?:(?!{allowed.pattern()})https?:|{service_calls})")


_CONSENTS_PATH = re.compile(r"^/api/v1/sites/[^/]+/consents$")


def _with_params(url: str, params: dict[str, str]) -> str:
    from urllib.parse import parse_qsl, urlencode

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | params
    return parts._replace(query=urlencode(query)).geturl()


async def visit(
    browser: Any, url: str, phase: str, allowed: AllowedOrigins, settings: VisitSettings
) -> PhaseObservation:
    """Open ``url`` in a fresh context for ``phase`` and record what the page did."""
    from playwright.async_api import Error as PlaywrightError

    observation = PhaseObservation(phase, url)
    recorder = _Recorder(observation, allowed, origin_of(url) or "")
    headers = dict(settings.headers) | ({"Sec-GPC": "1"} if phase == "gpc" else {})
    context = None
    try:
        context = await browser.new_context(
            viewport={"width": 1280, "height": 800}, locale="en-GB", extra_http_headers=headers
        )
        context.set_default_timeout(settings.navigation_timeout * 1000)
        await _prepare(context, recorder, settings, phase)
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", recorder.on_cdp_request)
        await cdp.send("Network.enable")
        await page.goto(url, wait_until="load", timeout=settings.navigation_timeout * 1000)
        if not recorder.left_site:
            await _choose(page, observation, recorder, settings)
        if not recorder.left_site:
            await _collect(context, page, observation, recorder)
    except PlaywrightError as error:
        observation.error = str(error).strip().splitlines()[0][:300]
    finally:
        if context is not None:
            with contextlib.suppress(PlaywrightError):  # the browser is gone (Ctrl-C reaches it)
                await context.close()
    if recorder.left_site and observation.error is None:
        observation.error = "navigation left the site's allowed origins"
    return observation


async def _prepare(context: Any, recorder: _Recorder, settings: VisitSettings, phase: str):
    await context.expose_binding("__consentryScanCookie", recorder.on_cookie_write)
    if phase == "gpc":
        await context.add_init_script(GPC_PROBE)
    await context.add_init_script(PROBE)

    async def route(route: Any, request: Any) -> None:
        await recorder.route(route, request, settings)

    # Only what the handler decides on goes through Python: requests off the site (navigations
    # there are aborted) and the service's consent and banner requests.
    await context.route(_routed(recorder.allowed), route)
    context.on("request", recorder.on_request)
    context.on("response", recorder.on_response)
    context.on("requestfinished", recorder.on_request_done)
    context.on("requestfailed", recorder.on_request_done)


def _banner_button(page: Any, action: str) -> tuple[Any, str]:
    by_attribute = page.locator(f'[data-consentry-action="{action}"]')
    by_name = page.get_by_role("button", name=BUTTON_NAMES[action])
    return by_attribute.or_(by_name).first, "attribute"


async def _choose(page: Any, observation: PhaseObservation, recorder: _Recorder, settings):
    """Wait for the banner; in the reject and accept phases click its button."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    button, _via = _banner_button(page, CLICKS.get(observation.phase, "reject_all"))
    # A page without the widget has no banner to wait for.
    if await page.evaluate("() => typeof window.Consentry === 'object'"):
        try:
            await button.wait_for(state="visible", timeout=settings.banner_timeout * 1000)
            observation.banner_found = True
        except PlaywrightTimeout:
            observation.banner_found = False
    await _settle(page, recorder, settings)
    action = CLICKS.get(observation.phase)
    if action is None or not observation.banner_found:
        return
    observation.clicked_via = (
        "attribute" if await button.get_attribute("data-consentry-action") == action else "name"
    )
    recorder.click_time = time.monotonic()
    await button.click()
    observation.clicked = action
    if action == "accept_all":
        # Everything is granted: give the widget time to start every gated script (a busy
        # machine can leave the network quiet in between).
        with contextlib.suppress(PlaywrightTimeout):
            await page.wait_for_function(
                "() => !document.querySelector('script[type=\"text/plain\"][data-consent]')",
                timeout=settings.banner_timeout * 1000,
            )
    await _settle(page, recorder, settings)


async def _settle(page: Any, recorder: _Recorder, settings: VisitSettings) -> None:
    """Let the page finish what the last step started: wait until no request has been in
    flight for ``quiet`` seconds (at most ``settle_cap``)."""
    deadline = time.monotonic() + settings.settle_cap
    while time.monotonic() < deadline:
        await page.wait_for_timeout(50)  # lets Playwright deliver the page's events meanwhile
        if not recorder.in_flight and time.monotonic() - recorder.last_activity >= settings.quiet:
            return


async def _collect(context: Any, page: Any, observation: PhaseObservation, recorder: _Recorder):
    observation.final_url = _trim(page.url)
    writes = recorder.cookie_writes + await _http_cookie_writes(recorder.responses, observation)
    last_write = {name: (moment, via, source) for moment, name, via, source in sorted(writes)}
    for cookie in await context.cookies():
        moment, via, source = last_write.get(cookie["name"], (None, None, None))
        expires = cookie.get("expires", -1)
        observation.cookies.append(
            CookieSeen(
                name=cookie["name"],
                domain=cookie["domain"],
                path=cookie["path"],
                expires=int(expires) if expires and expires > 0 else None,
                http_only=bool(cookie.get("httpOnly")),
                secure=bool(cookie.get("secure")),
                same_site=cookie.get("sameSite", ""),
                set_by=_trim(source) if source else None,
                set_via=via,
                after_choice=moment is not None and recorder.after_choice(moment),
            )
        )
    storage = await page.evaluate(
        "() => { const keys = (s) => { try { return Object.keys(s).sort(); } catch (e) {"
        " return []; } }; return [keys(localStorage), keys(sessionStorage)]; }"
    )
    observation.local_storage, observation.session_storage = storage
    gated = await page.evaluate("() => (window.__consentryScan ? window.__consentryScan() : [])")
    observation.gated = [GatedSeen(**item) for item in gated]
    observation.links = await page.eval_on_selector_all(
        "a[href]", "links => links.map((a) => a.getAttribute('href'))"
    )
    for request in observation.requests:
        initiator = recorder.initiators.get(request.url)
        if initiator is not None:
            request.initiator = _trim(initiator[0]) if initiator[0] else initiator[1] or None


async def _http_cookie_writes(
    responses: list[tuple[float, Any]], observation: PhaseObservation
) -> list[tuple[float, str, str, str]]:
    """(time, name, "http", response URL) of every Set-Cookie seen; the banner config's mode."""
    writes = []
    for moment, response in responses:
        try:
            headers = await response.header_values("set-cookie")
        except Exception:
            continue
        for line in headers:
            for one in line.split("\n"):
                name = one.split(";", 1)[0].split("=", 1)[0].strip()
                if name:
                    writes.append((moment, name, "http", response.url))
        if _BANNER_PATH.search(urlsplit(response.url).path) and response.ok:
            await _read_banner_mode(response, observation)
    return writes


async def _read_banner_mode(response: Any, observation: PhaseObservation) -> None:
    try:
        config = await response.json()
    except Exception:
        return
    if isinstance(config, dict):
        mode, region = config.get("mode"), config.get("region")
        observation.banner_mode = mode if isinstance(mode, str) else None
        observation.banner_region = region if isinstance(region, str) else None
