"""What changed between two versions: block-level differences, as data and as HTML."""

from __future__ import annotations

import difflib
import re
from typing import Any

from markupsafe import Markup

from .content import render_markdown

_BLANK_LINES = re.compile(r"\n\s*\n")
OPS = {"insert": "added", "delete": "removed", "replace": "changed"}


def blocks(markdown: str) -> list[str]:
    """A Markdown body as its blocks (paragraphs, headings, lists), split at blank lines."""
    return [block.strip() for block in _BLANK_LINES.split(markdown) if block.strip()]


def diff_blocks(before: str, after: str) -> list[dict[str, Any]]:
    """``[{"op": "added"|"removed"|"changed", "before": [blocks], "after": [blocks]}]``."""
    old, new = blocks(before), blocks(after)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [
        {"op": OPS[tag], "before": old[i1:i2], "after": new[j1:j2]}
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def render_changes(changes: list[dict[str, Any]]) -> Markup:
    """Changes as HTML: removed blocks in ``<del>``, added ones in ``<ins>`` (both sanitised)."""
    parts: list[str] = []
    for change in changes:
        parts.append(f'<div class="change change-{change["op"]}">')
        for block in change["before"]:
            parts.append(f"<del>{render_markdown(block)}</del>")
        for block in change["after"]:
            parts.append(f"<ins>{render_markdown(block)}</ins>")
        parts.append("</div>")
    return Markup("\n".join(parts))  # every block went through nh3
