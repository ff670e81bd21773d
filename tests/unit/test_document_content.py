from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from service.documents.content import render_markdown
from service.documents.diff import blocks, diff_blocks
from service.documents.digest import content_sha256, normalise_text
from service.documents.locales import direction, is_valid_locale, match_locale

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<img src="javascript:alert(1)">',
    "<IMG SRC=JaVaScRiPt:alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    "<body onload=alert(1)>",
    '<div onmouseover="alert(1)">x</div>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JAVASCRIPT:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](java%0ascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "[x](  javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
    '![x](x "onerror=alert(1)")',
    "[x]: javascript:alert(1)\n\n[link][x]",
    '[a](https://ok.example "x\\" onmouseover=\\"alert(1)")',
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<link rel=stylesheet href=javascript:alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    '<table background="javascript:alert(1)">',
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "<scr\x00ipt>alert(1)</scr\x00ipt>",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "> <script>alert(1)</script>",
    "- <img src=x onerror=alert(1)>",
    "| a |\n|---|\n| <script>alert(1)</script> |",
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    "<x onclick=alert(1)>x</x>",
    "<template><script>alert(1)</script></template>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
]

SAFE_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "ul", "ol", "li", "a", "em", "strong",
    "code", "pre", "blockquote", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
SAFE_ATTRIBUTES = {"href", "title", "rel", "start"}


class MarkupAudit(HTMLParser):
    """Collects every element and attribute the browser would see in the rendered HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    handle_startendtag = handle_starttag


def test_there_are_at_least_fifty_payloads():
    assert len(XSS_PAYLOADS) >= 50


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_no_xss_payload_survives_rendering(payload):
    html = render_markdown(f"Intro\n\n{payload}\n\nOutro")
    audit = MarkupAudit()
    audit.feed(html)
    assert set(audit.tags) <= SAFE_TAGS, html
    for tag, name, value in audit.attributes:
        assert name in SAFE_ATTRIBUTES, html
        if name == "href":
            # Browsers drop tabs and newlines from URLs before reading the scheme.
            scheme = urlsplit(re.sub(r"[\t\n\r]", "", value).strip()).scheme.lower()
            assert scheme in ("http", "https", "mailto", ""), html
        if name == "title":
            assert tag == "a"


def test_safe_links_survive_with_rel_noopener():
    html = render_markdown(
        "[us](https://news.example.com/about) and [mail](mailto:dpo@example.com)"
    )
    assert 'href="https://news.example.com/about"' in html
    assert 'href="mailto:dpo@example.com"' in html
    assert html.count('rel="noopener noreferrer"') == 2


def test_markdown_structure_is_kept():
    html = render_markdown(
        "## Rights\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n**bold**"
    )
    for tag in ("<h2>", "<ul>", "<li>", "<table>", "<td>", "<strong>"):
        assert tag in html


def test_hash_ignores_line_endings_trailing_spaces_and_unicode_form():
    a = content_sha256("privacy", {"en": {"title": "Café", "body": "One  \r\nTwo\r\n"}})
    b = content_sha256("privacy", {"en": {"title": "Cafe\u0301", "body": "One\nTwo"}})
    assert a == b
    assert a != content_sha256("terms", {"en": {"title": "Café", "body": "One\nTwo"}})
    assert a != content_sha256("privacy", {"en": {"title": "Café", "body": "One\nTwo!"}})


def test_normalise_text_strips_trailing_whitespace_per_line():
    assert normalise_text("\n\na \t\r\n b  \n\n") == "a\n b"


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("fr", "fr"),
        ("FR", "fr"),
        ("fr-CA", "fr"),
        ("de-AT", "de-DE"),
        ("pt-BR", "en"),
        (None, "en"),
    ],
)
def test_locale_matching_is_exact_then_language_then_default(requested, expected):
    assert match_locale(requested, ["en", "fr", "de-DE"], "en") == expected


@pytest.mark.parametrize("value", ["en", "fr-CA", "zh-Hant-TW", "es-419"])
def test_valid_locales(value):
    assert is_valid_locale(value)


@pytest.mark.parametrize("value", ["", "e", "english!", "en_US", "<script>", "en-" + "a" * 40])
def test_invalid_locales(value):
    assert not is_valid_locale(value)


def test_arabic_is_right_to_left():
    assert direction("ar-EG") == "rtl"
    assert direction("en") == "ltr"


def test_diff_reports_added_removed_and_changed_blocks():
    before = "# Title\n\nKeep.\n\nOld para.\n\nGone."
    after = "# Title\n\nKeep.\n\nNew para.\n\nAdded one."
    assert blocks(before) == ["# Title", "Keep.", "Old para.", "Gone."]
    assert diff_blocks(before, after) == [
        {"op": "changed", "before": ["Old para.", "Gone."], "after": ["New para.", "Added one."]}
    ]
    assert diff_blocks("A\n\nB", "A\n\nB\n\nC") == [{"op": "added", "before": [], "after": ["C"]}]
    assert diff_blocks("A\n\nB", "B") == [{"op": "removed", "before": ["A"], "after": []}]
    assert diff_blocks("A", "A") == []
