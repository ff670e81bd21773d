"""Headless Chromium as this machine runs it: Debian's package, no downloads, no sandbox (root),
and no background networking (the closed network refuses it, many connections at a time)."""

from __future__ import annotations

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
