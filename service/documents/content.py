"""Document text: Markdown rendered to sanitised HTML (the canonical form we hash is in
:mod:`service.documents.digest`), and the bounds a text must stay within to be rendered."""

from __future__ import annotations

import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt

# CommonMark with raw HTML switched off (it is escaped), plus GFM tables.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
# The same block grammar without inline parsing (the costly part): the structure of a text, to
# measure before anything is rendered.
_structure = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_structure.core.ruler.disable(["inline", "text_join"])

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr",
    "ul", "ol", "li", "a", "em", "strong", "code", "pre", "blockquote",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
# No style attributes: hosted pages send a CSP without 'unsafe-inline' styles.
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}

# The renderer drops whatever is nested deeper than its ``maxNesting`` (20 levels, a list being
# two): a text deeper than this would be published partly invisible, so it is refused instead.
MAX_CONTAINER_DEPTH = 8
# Each '[' is scanned to its closing ']' (a link label): unclosed ones make rendering quadratic.
MAX_BRACKET_DEPTH = 8
_OPENERS = {"blockquote_open", "bullet_list_open", "ordered_list_open"}
_CLOSERS = {"blockquote_close", "bullet_list_close", "ordered_list_close"}
_BRACKETS = re.compile(r"\\.|[\[\]]", re.DOTALL)


@dataclass(frozen=True)
class Nesting:
    """How deeply a Markdown text nests."""

    containers: int  # blockquotes and lists inside one another
    brackets: int  # '[' open at once within one paragraph or cell

    @property
    def too_deep(self) -> bool:
        return self.containers > MAX_CONTAINER_DEPTH or self.brackets > MAX_BRACKET_DEPTH


def nesting(source: str) -> Nesting:
    """Measure ``source`` with the block parser only (linear in its length)."""
    depth = containers = brackets = 0
    for token in _structure.parse(source):
        if token.type in _OPENERS:
            depth += 1
            containers = max(containers, depth)
        elif token.type in _CLOSERS:
            depth -= 1
        elif token.type == "inline":
            brackets = max(brackets, bracket_depth(token.content))
    return Nesting(containers, brackets)


def bracket_depth(text: str) -> int:
    """The most '[' open at once in ``text`` (a backslash escapes one)."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(text):
        mark = match.group()
        if mark == "[":
            depth += 1
            deepest = max(deepest, depth)
        elif mark == "]" and depth:
            depth -= 1
    return deepest


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
