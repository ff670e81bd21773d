"""Document text: the canonical form we hash, and Markdown rendered to sanitised HTML."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

import nh3
from markdown_it import MarkdownIt

# CommonMark with raw HTML switched off (it is escaped), plus GFM tables.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr",
    "ul", "ol", "li", "a", "em", "strong", "code", "pre", "blockquote",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
# No style attributes: hosted pages send a CSP without 'unsafe-inline' styles.
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


def normalise_text(value: str) -> str:
    """NFC, ``\\n`` line ends, no trailing whitespace on any line, no blank lines at either end."""
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in value.split("\n")).strip("\n")


def normalise_texts(texts: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every string of every locale normalised (labels included); locale keys as given."""
    return {locale: _normalise_value(entry) for locale, entry in texts.items()}


def _normalise_value(value: Any) -> Any:
    if isinstance(value, str):
        return normalise_text(value)
    if isinstance(value, dict):
        return {key: _normalise_value(item) for key, item in value.items()}
    return value


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same bytes for the same content, on every machine."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_sha256(kind: str, texts: dict[str, dict[str, Any]]) -> str:
    """SHA-256 over ``{kind, locales}`` in canonical form: the identity of a document's content."""
    return hashlib.sha256(
        canonical_json({"kind": kind, "locales": normalise_texts(texts)})
    ).hexdigest()


def render_markdown(source: str) -> str:
    """Markdown to HTML, then sanitised with an explicit allow-list: only http(s) and mailto
    links survive, and every link gets ``rel="noopener noreferrer"``."""
    return sanitise_html(_markdown.render(source))


def sanitise_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
