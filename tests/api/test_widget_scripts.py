"""Widget v2 on the service side: the per-site script that carries its config, the on-demand
file, themes and cookie_domain in the site settings and the banner config, and the 34 built-in
languages."""

from __future__ import annotations

import json

import pytest

from service.documents.locales import DEFAULT_BANNER_TEXTS, LABEL_KEYS, direction
from service.ledger.vocabulary import METHODS

BANNER = "/api/v1/sites/news-example/banner"
SITE = "/api/v1/sites/news-example"
SCRIPT = "/s/news-example.js"
EU_LANGUAGES = {
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it", "lt",
    "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv",
}  # fmt: skip
OTHERS = {"pt-BR", "ja", "zh", "ar", "he", "tr", "ru", "uk", "hi", "ko"}


@pytest.fixture
def site(make_site):
    return make_site("news-example")


def carried(body: bytes) -> tuple[dict, str]:
    """The config and asked locale a per-site script carries in front of the bundle."""
    text = body.decode()
    prefix = "{const __consentry=["
    assert text.startswith(prefix)
    head = text[len(prefix) : text.index("];\n")]
    config, asked = json.loads(f"[{head}]")
    return config, asked


# Per-site script


def test_site_script_carries_the_banner_config_and_the_first_layer(client, site):
    response = client.get(SCRIPT + "?locale=fr-CA")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    config, asked = carried(response.data)
    assert asked == "fr-CA"
    assert config == client.get(BANNER + "?locale=fr-CA").get_json()
    assert config["texts"]["reject_all"] == "Tout refuser"
    widget = client.get("/widget.js").data
    assert response.data.endswith(b";\n" + widget + b"\n}\n")


def test_site_script_takes_the_locale_from_accept_language(client, site):
    response = client.get(SCRIPT, headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"})
    config, asked = carried(response.data)
    assert (asked, config["locale"], config["texts"]["accept_all"]) == (
        "de-AT",
        "de",
        "Alle akzeptieren",
    )
    assert "Accept-Language" in response.headers["Vary"]


def test_site_script_is_cached_and_revalidated(client, admin, site):
    first = client.get(SCRIPT)
    assert "max-age=60" in first.headers["Cache-Control"]
    etag = first.headers["ETag"]
    again = client.get(SCRIPT, headers={"If-None-Match": etag})
    assert again.status_code == 304
    # A change to the site changes the config, so the script
    client.patch(SITE, json={"theme": {"accent": "#7c2d12"}}, headers=admin)
    changed = client.get(SCRIPT, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert carried(changed.data)[0]["theme"] == {"accent": "#7c2d12"}


def test_site_script_of_an_unknown_site_or_bad_locale_is_refused(client, site):
    assert client.get("/s/no-such-site.js").status_code == 404
    assert client.get(SCRIPT + "?locale=<script>").status_code == 422
    # A malformed Accept-Language is ignored, not an error
    assert client.get(SCRIPT, headers={"Accept-Language": "((x))"}).status_code == 200


def test_on_demand_parts_are_served_with_an_etag(client):
    response = client.get("/widget-more.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    etag = response.headers["ETag"]
    assert client.get("/widget-more.js", headers={"If-None-Match": etag}).status_code == 304
    assert b"consentry:more" in response.data


# Theme and cookie_domain


def test_theme_is_validated_and_part_of_the_revision(client, admin, site):
    before = client.get(BANNER).get_json()["revision"]
    theme = {
        "accent": "#7c2d12",
        "text": "#111",
        "background": "#fffbeb",
        "radius": 4,
        "position": "box",
        "logo_url": "https://news.example.com/logo.svg",
    }
    assert client.patch(SITE, json={"theme": theme}, headers=admin).status_code == 200
    config = client.get(BANNER).get_json()
    assert config["theme"] == theme
    assert config["revision"] != before


@pytest.mark.parametrize(
    "theme",
    [
        {"accent": "red"},
        {"accent": "#12345"},
        {"text": "#fff;background:url(x)"},
        {"radius": 99},
        {"position": "sidebar"},
        {"logo_url": "javascript:alert(1)"},
        {"unknown": 1},
    ],
)
def test_malformed_themes_are_refused(client, admin, site, theme):
    response = client.patch(SITE, json={"theme": theme}, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"


def test_logo_from_an_origin_the_site_does_not_allow_is_refused(client, admin, site):
    response = client.patch(
        SITE, json={"theme": {"logo_url": "https://tracker.example.net/logo.png"}}, headers=admin
    )
    assert response.status_code == 422
    assert "logo_url" in json.dumps(response.get_json()["error"]["details"])


def test_cookie_domain_must_be_a_parent_of_an_allowed_host(client, admin, site):
    ok = client.patch(SITE, json={"cookie_domain": "example.com"}, headers=admin)
    assert ok.status_code == 200
    assert client.get(BANNER).get_json()["cookie_domain"] == "example.com"
    for bad in ("example.net", "ple.com", "Example..com", ".example.com", "com-"):
        assert client.patch(SITE, json={"cookie_domain": bad}, headers=admin).status_code == 422
    cleared = client.patch(SITE, json={"cookie_domain": None}, headers=admin)
    assert cleared.get_json()["cookie_domain"] is None


def test_placeholder_is_a_ledger_method():
    assert "placeholder" in METHODS


# Built-in texts


def test_34_languages_are_built_in_with_every_key():
    assert set(DEFAULT_BANNER_TEXTS) == EU_LANGUAGES | OTHERS
    keys = {"title", "description", *LABEL_KEYS}
    for language, texts in DEFAULT_BANNER_TEXTS.items():
        assert set(texts) == keys, language
        assert all(isinstance(v, str) and v.strip() for v in texts.values()), language
        if language != "en":
            # translated, not copied: at most the brand-like words stay as in English
            same = {k for k in keys if texts[k] == DEFAULT_BANNER_TEXTS["en"][k]}
            assert same <= {"cookies", "settings"}, (language, same)


@pytest.mark.parametrize(
    ("asked", "locale", "rtl"),
    [("pt-BR", "pt-BR", False), ("pt-PT", "pt", False), ("he-IL", "he", True), ("ar", "ar", True),
     ("zh-Hans-CN", "zh", False), ("ga", "ga", False), ("xx", "en", False)],
)  # fmt: skip
def test_banner_config_serves_the_built_in_language(client, site, asked, locale, rtl):
    config = client.get(f"{BANNER}?locale={asked}").get_json()
    texts = DEFAULT_BANNER_TEXTS[locale]
    assert config["texts"]["reject_all"] == texts["reject_all"]
    assert config["texts"]["keep_choices"] == texts["keep_choices"]
    assert config["dir"] == ("rtl" if rtl else "ltr")


def test_right_to_left_languages():
    assert [direction(x) for x in ("ar", "he", "fa", "ur", "en", "ja")] == ["rtl"] * 4 + ["ltr"] * 2
