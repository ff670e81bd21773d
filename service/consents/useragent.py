"""Coarse user agents: enough to tell how consent was given, not enough to fingerprint."""

from __future__ import annotations

import re

BROWSERS = (
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/(\d+)")),
    ("Opera", re.compile(r"OPR/(\d+)")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/(\d+)")),
    ("Firefox", re.compile(r"(?:Firefox|FxiOS)/(\d+)")),
    ("Chrome", re.compile(r"(?:Chrome|CriOS|Chromium)/(\d+)")),
    ("Safari", re.compile(r"Version/(\d+).*Safari/")),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iOS", "iPhone"),
    ("iOS", "iPad"),
    ("Windows", "Windows"),
    ("macOS", "Mac OS X"),
    ("ChromeOS", "CrOS"),
    ("Linux", "Linux"),
)


def coarse_user_agent(user_agent: str | None) -> str | None:
    """``"Chrome 131 / Windows / desktop"``: browser family and major version, system family and
    device class. Unknown agents become ``"other"``; no agent stays None."""
    if not user_agent:
        return None
    browser = "other"
    for name, pattern in BROWSERS:
        match = pattern.search(user_agent)
        if match:
            browser = f"{name} {match.group(1)}"
            break
    system = next((name for name, token in SYSTEMS if token in user_agent), "other")
    if "bot" in user_agent.lower() or "Headless" in user_agent:
        device = "automated"
    elif "Mobi" in user_agent or "iPhone" in user_agent:
        device = "mobile"
    elif "iPad" in user_agent or "Tablet" in user_agent:
        device = "tablet"
    else:
        device = "desktop"
    return f"{browser} / {system} / {device}"
