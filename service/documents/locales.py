"""Locales: matching a visitor's language to the texts we have, writing direction, and the
built-in banner labels (a site overrides them per locale in its ``banner`` document)."""

from __future__ import annotations

from collections.abc import Iterable

from ..sites.schemas import LOCALE  # BCP 47-ish: language, then subtags

MAX_LOCALE_LENGTH = 35
RTL_LANGUAGES = {"ar", "arc", "dv", "fa", "he", "ckb", "ps", "sd", "ug", "ur", "yi"}

LABEL_KEYS = (
    "accept_all",
    "reject_all",
    "settings",
    "save",
    "agree",
    "close",
    "changed",
    "gpc_honoured",
    "required",
    "cookies",
)

DEFAULT_BANNER_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "We value your privacy",
        "description": "We use cookies and similar technologies. Choose which ones we may use.",
        "accept_all": "Accept all",
        "reject_all": "Reject all",
        "settings": "Settings",
        "save": "Save choices",
        "agree": "I agree",
        "close": "Close",
        "changed": "We have updated:",
        "gpc_honoured": "Your browser's Global Privacy Control signal was honoured.",
        "required": "Always on",
        "cookies": "Cookies",
    },
    "fr": {
        "title": "Votre vie privée compte",
        "description": "Nous utilisons des cookies et technologies similaires. Choisissez "
        "lesquels nous pouvons utiliser.",
        "accept_all": "Tout accepter",
        "reject_all": "Tout refuser",
        "settings": "Paramètres",
        "save": "Enregistrer mes choix",
        "agree": "J'accepte",
        "close": "Fermer",
        "changed": "Nous avons mis à jour :",
        "gpc_honoured": "Le signal Global Privacy Control de votre navigateur a été respecté.",
        "required": "Toujours actif",
        "cookies": "Cookies",
    },
    "de": {
        "title": "Ihre Privatsphäre ist uns wichtig",
        "description": "Wir verwenden Cookies und ähnliche Technologien. Wählen Sie, welche wir "
        "verwenden dürfen.",
        "accept_all": "Alle akzeptieren",
        "reject_all": "Alle ablehnen",
        "settings": "Einstellungen",
        "save": "Auswahl speichern",
        "agree": "Ich stimme zu",
        "close": "Schließen",
        "changed": "Wir haben aktualisiert:",
        "gpc_honoured": "Das Global-Privacy-Control-Signal Ihres Browsers wurde berücksichtigt.",
        "required": "Immer aktiv",
        "cookies": "Cookies",
    },
    "es": {
        "title": "Valoramos su privacidad",
        "description": "Usamos cookies y tecnologías similares. Elija cuáles podemos usar.",
        "accept_all": "Aceptar todo",
        "reject_all": "Rechazar todo",
        "settings": "Configuración",
        "save": "Guardar selección",
        "agree": "Acepto",
        "close": "Cerrar",
        "changed": "Hemos actualizado:",
        "gpc_honoured": "Se ha respetado la señal Global Privacy Control de su navegador.",
        "required": "Siempre activas",
        "cookies": "Cookies",
    },
    "ar": {
        "title": "نحن نحترم خصوصيتك",
        "description": "نستخدم ملفات تعريف الارتباط وتقنيات مشابهة. اختر ما نستطيع استخدامه.",
        "accept_all": "قبول الكل",
        "reject_all": "رفض الكل",
        "settings": "الإعدادات",
        "save": "حفظ الاختيارات",
        "agree": "أوافق",
        "close": "إغلاق",
        "changed": "قمنا بتحديث:",
        "gpc_honoured": "تم احترام إشارة التحكم العالمي في الخصوصية من متصفحك.",
        "required": "مفعّلة دائمًا",
        "cookies": "ملفات تعريف الارتباط",
    },
}


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
    """Built-in banner texts for ``locale``'s language, English when we have none."""
    return dict(DEFAULT_BANNER_TEXTS.get(language(locale), DEFAULT_BANNER_TEXTS["en"]))
