"""Banner preview of a draft: a banner text not in force, the settings form's unsaved values and
theme colours, built by the banner's own builder, checked like a save, and never saved."""

from __future__ import annotations

import html
import json
from html.parser import HTMLParser

from service.documents.service import create_draft
from service.sites.service import get_site
from tests.helpers.audit import SITE

from .conftest import csrf_token

BASE = f"/console/sites/{SITE}"


class FormReader(HTMLParser):
    """The fields a browser would submit with the first form holding ``marker`` (a field name):
    inputs (checked boxes only), the selected option (else the first), textareas."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker, self.forms = marker, []
        self.textarea = self.select = self.option = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({})
        elif not self.forms:
            return
        elif tag == "input" and a.get("type") not in ("submit", "button"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.forms[-1][a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = a["name"]
            self.forms[-1][self.textarea] = ""
        elif tag == "select":
            self.select = a["name"]
        elif tag == "option" and self.select:
            self.option = {"value": a.get("value"), "text": "", "selected": "selected" in a}

    def handle_data(self, data):
        if self.textarea:
            self.forms[-1][self.textarea] += data
        elif self.option is not None:
            self.option["text"] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None
        elif tag == "option" and self.option is not None:
            value = self.option["value"]
            value = self.option["text"] if value is None else value
            if self.option["selected"] or self.select not in self.forms[-1]:
                self.forms[-1][self.select] = value
            self.option = None

    def values(self, page: str) -> dict[str, str]:
        self.feed(page)
        return next(form for form in self.forms if self.marker in form)


def preview_config(page: str) -> dict | None:
    """The draft config handed to the frames, None when they show the site as it is."""
    found = [part.split('"', 1)[0] for part in page.split('data-preview-config="')[1:]]
    if not found:
        return None
    assert len(found) == 2 and found[0] == found[1]  # desktop and 375 px show the same
    return json.loads(html.unescape(found[0]))


def banner_draft(texts: dict) -> int:
    state = create_draft(SITE, "banner", texts)
    return state.document.version


def test_the_preview_shows_the_site_in_force_unless_a_draft_is_asked_for(make_site, signed_in):
    make_site(SITE)
    page = signed_in("editor", site=SITE).get(f"{BASE}/preview")
    assert page.status_code == 200 and preview_config(page.get_data(as_text=True)) is None
    assert "the site's configuration in force now" in page.get_data(as_text=True)


def test_a_draft_banner_text_is_previewed_per_locale(make_site, signed_in):
    make_site(SITE)
    version = banner_draft(
        {
            "en": {"title": "Cookies, briefly", "body": "We ask first."},
            "de": {"title": "Kurz zu Cookies", "body": "Wir fragen zuerst."},
        }
    )
    editor = signed_in("editor", site=SITE)
    page = editor.get(f"{BASE}/preview?banner={version}&locale=de").get_data(as_text=True)
    config = preview_config(page)
    assert config["texts"]["title"] == "Kurz zu Cookies" and config["locale"] == "de"
    assert config["banner_document"]["version"] == version
    assert f"banner text version {version} (draft)" in page
    en = preview_config(editor.get(f"{BASE}/preview?banner={version}").get_data(as_text=True))
    assert en["texts"]["description"] == "We ask first."
    assert editor.get(f"{BASE}/preview?banner=99").status_code == 404
    assert editor.get(f"{BASE}/preview?banner=two").status_code == 422
    assert editor.get(f"{BASE}/preview?banner=-1").status_code == 422


def test_the_settings_forms_unsaved_values_are_previewed_not_saved(make_site, signed_in):
    make_site(SITE)
    owner = signed_in("owner")
    before = get_site(SITE)
    version_before, theme_before = before.config_version, dict(before.theme or {})
    settings_page = owner.get(f"{BASE}/settings").get_data(as_text=True)
    form = FormReader("allowed_origins").values(settings_page)
    categories = json.loads(form["categories"])
    categories[1]["title"] = "Audience measurement"
    form |= {
        "categories": json.dumps(categories),
        "theme": json.dumps({"accent": "#aa3300", "position": "box"}),
        "settings": "1",
    }
    page = owner.post(f"{BASE}/preview", data=form)
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    config = preview_config(text)
    assert config["theme"] == {"accent": "#aa3300", "position": "box"}
    assert config["categories"][1]["title"] == "Audience measurement"
    assert "unsaved settings (categories, theme)" in text
    # The draft rides along (hidden fields), so another language keeps it.
    carried = FormReader("settings").values(text)
    assert json.loads(carried["categories"])[1]["title"] == "Audience measurement"
    again = owner.post(f"{BASE}/preview", data=carried | {"locale": "fr"})
    assert preview_config(again.get_data(as_text=True))["categories"][1]["title"] == (
        "Audience measurement"
    )
    after = get_site(SITE)
    assert after.config_version == version_before and (after.theme or {}) == theme_before
    assert after.categories[1].get("title") != "Audience measurement"


def test_theme_colours_edited_on_the_preview_page(make_site, signed_in):
    make_site(SITE)
    owner = signed_in("owner")
    token = csrf_token(owner, f"{BASE}/preview")
    colours = {"theme_accent": "#ffd166", "theme_text": "#fff", "theme_background": "#000"}
    page = owner.post(f"{BASE}/preview", data={**colours, "theme_radius": "4", "csrf_token": token})
    assert page.status_code == 200
    theme = preview_config(page.get_data(as_text=True))["theme"]
    assert theme == {"accent": "#ffd166", "text": "#fff", "background": "#000", "radius": 4}
    assert not get_site(SITE).theme


def test_a_draft_a_save_would_refuse_is_not_previewed(make_site, signed_in):
    make_site(SITE)
    owner = signed_in("owner")
    token = csrf_token(owner, f"{BASE}/preview")
    for field, value in (
        ("theme_accent", "red; background: url(https://evil.example/x)"),
        ("theme_radius", "300"),
        ("theme_position", "everywhere"),
    ):
        page = owner.post(
            f"{BASE}/preview", data={"theme_accent": "", field: value, "csrf_token": token}
        )
        assert page.status_code == 422, field
        text = page.get_data(as_text=True)
        assert "saving it would be refused" in text and preview_config(text) is None
    # The compliance linter too: a save would be refused for an unreadable accent.
    dark = {"theme_accent": "#123456", "theme_background": "#000", "csrf_token": token}
    unreadable = owner.post(f"{BASE}/preview", data=dark)
    assert unreadable.status_code == 422 and "contrast of 1.65:1" in unreadable.get_data(
        as_text=True
    )
    form = {"settings": "1", "name": "", "allowed_origins": "not an origin", "csrf_token": token}
    refused = owner.post(f"{BASE}/preview", data=form)
    assert refused.status_code == 422 and preview_config(refused.get_data(as_text=True)) is None


def test_drafts_of_settings_need_sites_admin_and_a_csrf_token(make_site, signed_in):
    make_site(SITE)
    editor = signed_in("editor", site=SITE)
    token = csrf_token(editor, f"{BASE}/preview")
    assert editor.post(f"{BASE}/preview", data={"csrf_token": token}).status_code == 403
    owner = signed_in("owner")
    assert owner.post(f"{BASE}/preview", data={"theme_accent": "#000"}).status_code == 400


def test_the_frame_may_show_images_of_the_sites_origins_only(make_site, signed_in):
    make_site(SITE)
    frame = signed_in("owner").get(f"{BASE}/preview/frame")
    policy = frame.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://news.example.com http://localhost:8000;" in policy
    assert "script-src 'self';" in policy and "frame-ancestors 'self'" in policy


def test_a_draft_may_show_a_logo_from_an_origin_it_adds(make_site, signed_in):
    make_site(SITE)
    owner = signed_in("owner")
    form = FormReader("allowed_origins").values(
        owner.get(f"{BASE}/settings").get_data(as_text=True)
    )
    form |= {
        "allowed_origins": form["allowed_origins"] + "\nhttps://cdn.news.example",
        "theme": json.dumps({"logo_url": "https://cdn.news.example/logo.png"}),
        "settings": "1",
    }
    page = owner.post(f"{BASE}/preview", data=form)
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    assert preview_config(text)["theme"]["logo_url"] == "https://cdn.news.example/logo.png"
    frame_url = html.unescape(text.split('class="frame-desktop"', 1)[1].split('src="', 1)[1])
    frame_url = frame_url.split('"', 1)[0]
    assert "origin=https://cdn.news.example" in frame_url.replace("%3A", ":").replace("%2F", "/")
    policy = owner.get(frame_url).headers["Content-Security-Policy"]
    assert "http://localhost:8000 https://cdn.news.example;" in policy
    # Nothing was saved; the frame alone names only the saved origins.
    assert "https://cdn.news.example" not in get_site(SITE).allowed_origins
    plain = owner.get(f"{BASE}/preview/frame").headers["Content-Security-Policy"]
    assert "cdn.news.example" not in plain


def test_the_frame_refuses_an_origin_a_save_would_refuse(make_site, signed_in):
    make_site(SITE)
    owner = signed_in("owner")
    for bad in ("https://evil.example/path", "javascript:alert(1)", "https://a b.example", "*"):
        answer = owner.get(f"{BASE}/preview/frame", query_string={"origin": bad})
        assert answer.status_code == 422, bad
        assert "Not an origin the settings would accept" in answer.get_data(as_text=True)
    many = [f"https://s{n}.news.example" for n in range(101)]
    assert owner.get(f"{BASE}/preview/frame", query_string={"origin": many}).status_code == 422
