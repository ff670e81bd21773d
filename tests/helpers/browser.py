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

# A page's CSP violations and the widget's reported errors, collected for the test to read.
LISTENER = """
window.violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
document.addEventListener('consentry:error', function (e) {
  window.widgetErrors = (window.widgetErrors || []).concat([JSON.stringify(e.detail)]);
});
"""
