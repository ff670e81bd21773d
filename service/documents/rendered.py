"""A published version's HTML, rendered once when it is published and stored with it (a
published version never changes, nor does the version before it): hosted pages and the API serve
the stored HTML instead of running Markdown on every request."""

from __future__ import annotations

from typing import Any, NamedTuple

from .content import render_markdown
from .diff import diff_blocks, render_changes


class Previous(NamedTuple):
    """The published version before the one being rendered, which its page compares with."""

    version: int
    texts: dict[str, Any]
    default_locale: str


def render_publication(texts: dict[str, Any], previous: Previous | None) -> dict[str, Any]:
    """``{"previous": n | None, "locales": {locale: {"html", "diff"}}}``: per locale the body's
    sanitised HTML and, when there is a previous version, what changed since it (the title it
    had, whether the body changed, the changes as HTML)."""
    return {
        "previous": previous.version if previous else None,
        "locales": {
            locale: _render_locale(locale, entry, previous) for locale, entry in texts.items()
        },
    }


def _render_locale(locale: str, entry: dict[str, Any], previous: Previous | None) -> dict[str, Any]:
    rendered: dict[str, Any] = {"html": render_markdown(entry["body"]), "diff": None}
    if previous is not None:
        # As the diff API compares: the same locale, else the previous version's default.
        before = previous.texts.get(locale) or previous.texts[previous.default_locale]
        changes = diff_blocks(before["body"], entry["body"])
        rendered["diff"] = {
            "title_before": before["title"],
            "changed": bool(changes),
            "html": str(render_changes(changes)),
        }
    return rendered
