"""``consentry sites`` and ``consentry subjects erase``: the API's rules from the command line."""

from __future__ import annotations

import json

import pytest

from service.activity.service import query_activity
from tests.helpers.audit import SITE, accept, recording_site


def site_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_create_with_flags_applies_the_api_defaults(runner, client, admin):
    result = runner.invoke(
        args=[
            "sites", "create", "shop", "--name", "Shop",
            "--origin", "https://SHOP.example.com", "--origin", "https://*.shop.example",
            "--default-mode", "opt-out", "--retention-days", "30",
        ]
    )  # fmt: skip
    site = site_json(result)
    assert site["allowed_origins"] == ["https://shop.example.com", "https://*.shop.example"]
    assert (site["default_mode"], site["retention_days"]) == ("opt-out", 30)
    assert [c["id"] for c in site["categories"]] == ["necessary", "analytics", "marketing"]
    assert client.get("/api/v1/sites/shop", headers=admin).get_json() == site
    assert "site.created" in [e.action for e in query_activity().items]


def test_create_from_json_on_stdin_with_set_and_list(runner, tmp_path):
    body = {
        "id": "blog",
        "name": "Blog",
        "allowed_origins": ["https://blog.example.com"],
        "categories": [{"id": "necessary", "title": "Necessary", "required": True}],
        "consent_mode": {"enabled": False, "mapping": {}},
    }
    result = runner.invoke(
        args=["sites", "create", "--json", "-", "--set", 'theme={"accent": "#112233"}',
              "--set", "default_locale=fr"],
        input=json.dumps(body),
    )  # fmt: skip
    site = site_json(result)
    assert site["id"] == "blog" and site["default_locale"] == "fr"
    assert site["theme"] == {"accent": "#112233"}
    listed = runner.invoke(args=["sites", "list"])
    assert listed.output.splitlines() == [
        "id\tmode\tlocale\torigins\tname",
        "blog\topt-in\tfr\thttps://blog.example.com\tBlog",
    ]
    as_json = json.loads(runner.invoke(args=["sites", "list", "--json"]).output)
    assert as_json == [site]


def test_update_changes_only_what_is_given(runner, client, admin, make_site, tmp_path):
    make_site("news-example")
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"consent_lifetime_days": 90, "use_default_regions": False}))
    result = runner.invoke(
        args=["sites", "update", "news-example", "--json", str(settings), "--name", "News"]
    )
    site = site_json(result)
    assert (site["name"], site["consent_lifetime_days"]) == ("News", 90)
    assert site["use_default_regions"] is False
    assert site["allowed_origins"] == ["https://news.example.com", "http://localhost:8000"]
    entry = query_activity().items[0]
    assert (entry.action, entry.actor) == ("site.changed", "cli")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sites", "create", "x", "--name", "X"], "allowed_origins"),
        (["sites", "create", "Bad Id", "--name", "X", "--origin", "https://a.example"], "'id'"),
        (["sites", "create", "x", "--name", "X", "--origin", "https://e.com@a.example"], "origin"),
        (["sites", "create", "x", "--json", "-"], "not valid JSON"),
        (["sites", "create", "x", "--set", "name"], "NAME=VALUE"),
        (["sites", "create", "x", "--json", "/nonexistent.json"], "Cannot read"),
        (["sites", "create", "news-example", "--name", "X", "--origin", "https://a.example"],
         "already exists"),
        (["sites", "update", "news-example", "--set", "retention_days=0"], "retention_days"),
        (["sites", "update", "news-example", "--set", "id=other"], "'id'"),
        (["sites", "update", "news-example"], "Give the settings"),
        # The compliance linter, as on the API: consent regions may not preselect categories.
        (["sites", "update", "news-example", "--set",
          'categories=[{"id": "necessary", "title": "N", "required": true},'
          ' {"id": "analytics", "title": "A", "preselected": true}, {"id": "marketing",'
          ' "title": "M"}]'], "compliance"),
    ],
)  # fmt: skip
def test_refused_site_changes_print_one_line_and_exit_1(runner, make_site, args, message):
    make_site("news-example")
    result = runner.invoke(args=args, input="{not json")
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert message in result.output


def test_subjects_erase_is_the_api_erasure_with_a_logged_reason(runner, client, admin, make_site):
    recorder = recording_site(client, admin, make_site)
    recorder(**accept("s_visitor_0001"))
    recorder(**accept("s_visitor_0001", action="custom"))
    args = ["subjects", "erase", SITE, "s_visitor_0001", "--reason", "ticket 42"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert result.output == f"{SITE}: erased the subject from 2 records (seq 1, 2)\n"
    entry = next(e for e in query_activity().items if e.action == "subject.erased")
    assert (entry.actor, entry.details) == ("cli", {"records": 2, "reason": "ticket 42"})
    assert "s_visitor_0001" not in json.dumps(entry.details) + entry.object
    proof = client.get(f"/api/v1/sites/{SITE}/subjects/s_visitor_0001/proof", headers=admin)
    assert proof.status_code == 404  # the server no longer knows which records were the subject's
    again = runner.invoke(args=args)
    assert again.exit_code == 0 and "already erased" in again.output
    api = client.post(f"/api/v1/sites/{SITE}/subjects/s_visitor_0001/erase", headers=admin)
    assert api.get_json()["already_erased"] is True


def test_subjects_erase_needs_a_reason_and_a_known_subject(runner, client, admin, make_site):
    recording_site(client, admin, make_site)
    unknown = runner.invoke(args=["subjects", "erase", SITE, "s_never_seen", "--reason", "r"])
    assert unknown.exit_code == 1
    assert unknown.output == "Error: No consent records for this subject.\n"
    missing = runner.invoke(args=["subjects", "erase", SITE, "s_never_seen"])
    assert missing.exit_code == 2 and "--reason" in missing.output
