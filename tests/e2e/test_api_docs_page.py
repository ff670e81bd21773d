"""Swagger UI runs under its strict Content-Security-Policy: it renders the API, and Chromium
reports no violation (the page flask-swagger-ui ships starts from an inline script)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_swagger_ui_renders_without_csp_violations(live, page):
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    response = page.goto(live.url + "/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Consentry" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock").count() > 10  # the operations are listed
    assert violations == []
