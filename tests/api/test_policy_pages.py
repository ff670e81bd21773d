"""Hosted policy pages: readable HTML, no JavaScript, history and what changed."""

from __future__ import annotations

import re

import pytest

from tests.helpers.documents import draft, draft_and_publish, publish


@pytest.fixture
def site(make_site):
    return make_site("news-example")


def test_current_policy_page_shows_text_version_dates_and_history(client, admin, site):
    draft_and_publish(client, admin, body="## Data\n\nWe collect little.", summary="First")
    draft_and_publish(client, admin, body="## Data\n\nWe collect a bit.", summary="Clarified")
    response = client.get("/p/news-example/privacy")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in page
    assert "<main" in page and "<article" in page and "<nav" in page
    assert "<h2>Data</h2>" in page and "We collect a bit." in page
    assert re.search(r'<time datetime="[0-9T:.\-]+Z">', page)
    assert 'rel="canonical" href="http://localhost/p/news-example/privacy"' in page
    assert "Version 1" in page and "Version 2" in page and "Clarified" in page
    assert 'id="changes"' in page
    assert "<del><p>We collect little.</p>" in page
    assert "<ins><p>We collect a bit.</p>" in page


def test_page_needs_no_javascript_and_sends_a_strict_csp(client, admin, site):
    draft_and_publish(client, admin, body="<script>alert(1)</script> [x](javascript:alert(1))")
    response = client.get("/p/news-example/privacy")
    page = response.get_data(as_text=True)
    assert "<script" not in page
    assert " style=" not in page
    assert 'href="javascript' not in page
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "style-src 'self'" in csp
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page).group(1)
    css = client.get(stylesheet)
    assert css.status_code == 200
    assert b"@media print" in css.data


def test_old_version_page_says_it_is_superseded(client, admin, site):
    draft_and_publish(client, admin)
    draft_and_publish(client, admin, body="Newer.")
    page = client.get("/p/news-example/privacy/v/1").get_data(as_text=True)
    assert "no longer in force" in page
    assert 'href="http://localhost/p/news-example/privacy/v/1"' in page  # canonical
    assert 'id="changes"' not in page  # version 1 has nothing before it


def test_page_in_another_locale_with_rtl(client, admin, site):
    texts = {
        "en": {"title": "Privacy Policy", "body": "English."},
        "ar": {"title": "سياسة الخصوصية", "body": "عربي."},
    }
    draft(client, admin, texts=texts)
    publish(client, admin, 1)
    page = client.get("/p/news-example/privacy?locale=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "سياسة الخصوصية" in page
    # a malformed locale falls back to the default instead of failing
    assert client.get("/p/news-example/privacy?locale=%3Cx%3E").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/p/nope/privacy",
        "/p/news-example/faq",
        "/p/news-example/terms",
        "/p/news-example/privacy/v/7",
        "/p/news-example/privacy/v/2",  # a draft is not public
    ],
)
def test_missing_pages_are_404(client, admin, site, path):
    draft_and_publish(client, admin)
    draft(client, admin)
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
