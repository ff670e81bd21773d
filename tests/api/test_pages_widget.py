"""``/widget.js`` (the committed bundle, cached with an ETag) and the ``/demo`` page."""

from __future__ import annotations

import hashlib
from pathlib import Path

BUNDLE = Path(__file__).resolve().parents[2] / "service" / "static" / "widget.js"


def test_widget_is_served_with_etag_and_revalidating_cache(client):
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.data == BUNDLE.read_bytes()
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["ETag"] == f'"{hashlib.sha256(response.data).hexdigest()}"'
    assert response.headers["Cache-Control"] == "public, max-age=300, stale-while-revalidate=86400"


def test_widget_answers_304_to_a_matching_etag(client):
    etag = client.get("/widget.js").headers["ETag"]
    response = client.get("/widget.js", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag
    assert client.get("/widget.js", headers={"If-None-Match": '"other"'}).status_code == 200


def test_demo_page_embeds_the_widget_under_a_strict_csp(client):
    response = client.get("/demo")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    html = response.get_data(as_text=True)
    assert '<script src="/widget.js" data-site="news-example" async></script>' in html
    assert 'type="text/plain" data-consent="analytics" src="/demo/analytics.js"' in html
    assert "data-consentry-open" in html
    assert "<style" not in html and "style=" not in html
    assert client.get("/demo/analytics.js").status_code == 200
    assert client.get("/demo/demo.css").status_code == 200
