"""Locales: matching a visitor's language to the texts we have, writing direction, and the
built-in banner labels (a site overrides them per locale in its ``banner`` document)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..sites.schemas import LOCALE  # BCP 47-ish: language, then subtags

MAX_LOCALE_LENGTH = 35
RTL_LANGUAGES = {"ar", "arc", "dv", "fa", "he", "ckb", "ps", "sd", "ug", "ur", "yi"}

# Built-in banner texts for 34 languages (the 24 official EU languages, pt-BR, ja, zh, ar, he,
# tr, ru, uk, hi, ko), kept as data in banner_texts.json; served with the banner config, so they
# cost the widget bundle nothing. Every language has every key (tests/unit check it).
DEFAULT_BANNER_TEXTS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).with_name("banner_texts.json")).read_text(encoding="utf-8")
)
LABEL_KEYS = tuple(key for key in DEFAULT_BANNER_TEXTS["en"] if key not in ("title", "description"))


def is_valid_locale(value: str) -> bool:
    return len(value) <= MAX_LOCALE_LENGTH and LOCALE.match(value) is not None


def language(locale: str) -> str:
    return locale.split("-", 1)[0].lower()


def match_locale(requested: str | None, available: Iterable[str], default: str) -> str:
    """The best of ``available`` for ``requested``: exact (case-insensitive), then the same
    language (``fr-CA`` -> ``fr``, or ``fr`` -> ``fr-FR``), then ``default``."""
    available = list(available)
    if requested:
        wanted = requested.lower()
        for locale in available:
            if locale.lower() == wanted:
                return locale
        for locale in available:
            if locale.lower() == language(wanted):
                return locale
        for locale in available:
            if language(locale) == language(wanted):
                return locale
    return default


def direction(locale: str) -> str:
    return "rtl" if language(locale) in RTL_LANGUAGES else "ltr"


def default_banner_texts(locale: str) -> dict[str, str]:
    """Built-in banner texts for ``locale`` (``pt-BR`` exactly, ``fr-CA`` as ``fr``), English
    when we have none."""
    return dict(DEFAULT_BANNER_TEXTS[match_locale(locale, DEFAULT_BANNER_TEXTS, "en")])
