"""The banner config per region: mode, Vary, ETags, the fast path and the site's region rules."""

from __future__ import annotations

import pytest

from tests.helpers.regions import CF, CLOUDFRONT

BANNER = "/api/v1/sites/news-example/banner"


@pytest.fixture
def site(make_site):
    return make_site("news-example", default_mode="notice")


def get(client, country=None, subdivision=None, peer="127.0.0.1", **extra):
    headers = dict(extra)
    if country is not None:
        headers[CLOUDFRONT[0]] = country
    if subdivision is not None:
        headers[CLOUDFRONT[1]] = subdivision
    return client.get(BANNER, headers=headers, environ_base={"REMOTE_ADDR": peer})


def test_one_site_serves_each_region_its_mode(cdn_app, site):
    client = cdn_app.test_client()
    eu, california, elsewhere = get(client, "FR"), get(client, "US", "CA"), get(client, "BR")
    assert (eu.json["region"], eu.json["mode"]) == ("FR", "opt-in")
    assert (california.json["region"], california.json["mode"]) == ("US-CA", "opt-out")
    assert (elsewhere.json["region"], elsewhere.json["mode"]) == ("BR", "notice")
    assert california.json["gpc"] == {"honour": True, "required": True}
    assert elsewhere.json["gpc"]["required"] is False
    revisions = {response.json["revision"] for response in (eu, california, elsewhere)}
    etags = {response.headers["ETag"] for response in (eu, california, elsewhere)}
    assert len(revisions) == len(etags) == 3


def test_vary_names_the_region_headers_on_hits_misses_and_304s(cdn_app, site):
    client = cdn_app.test_client()
    miss = get(client, "DE")
    hit = get(client, "DE")  # answered by the fast path from the cache
    not_modified = get(client, "DE", **{"If-None-Match": miss.headers["ETag"]})
    for response in (miss, hit, not_modified):
        vary = {part.strip() for part in response.headers["Vary"].split(",")}
        assert vary == {"Origin", CF, *CLOUDFRONT}
    assert hit.data == miss.data and hit.headers["ETag"] == miss.headers["ETag"]
    assert not_modified.status_code == 304


def test_an_etag_of_one_region_does_not_match_another(cdn_app, site):
    client = cdn_app.test_client()
    french = get(client, "FR")
    other = get(client, "US", "CA", **{"If-None-Match": french.headers["ETag"]})
    assert other.status_code == 200 and other.json["mode"] == "opt-out"


def test_headers_from_an_untrusted_peer_are_ignored(cdn_app, site):
    client = cdn_app.test_client()
    for _ in range(2):  # a miss, then a fast-path hit
        response = get(client, "BR", peer="203.0.113.5")
        assert (response.json["region"], response.json["mode"]) == (None, "opt-in")


def test_an_unknown_region_gets_the_strictest_mode_the_site_uses(cdn_app, site):
    # (A site that uses no opt-in anywhere cannot pass the linter; the unit tests cover it.)
    cdn = cdn_app.test_client()
    assert get(cdn, "XX").json["mode"] == "opt-in"
    assert get(cdn).json["mode"] == "opt-in"
    assert get(cdn, "US").json["mode"] == "opt-out"  # a state not known: the strictest of them
    assert get(cdn, "US", "NY").json["mode"] == "notice"


def test_a_country_header_alone_is_enough(cdn_app, site):
    response = cdn_app.test_client().get(
        BANNER, headers={CF: "GB"}, environ_base={"REMOTE_ADDR": "127.0.0.1"}
    )
    assert (response.json["region"], response.json["mode"]) == ("GB", "opt-in")


def test_the_site_rules_override_the_pack_in_order(client, admin, site):
    response = client.patch(
        "/api/v1/sites/news-example",
        json={"regions": [{"match": "br", "mode": "opt-out"}, {"match": "*", "mode": "opt-in"}]},
        headers=admin,
    )
    assert response.status_code == 200, response.json
    assert response.json["regions"] == [
        {"match": "BR", "mode": "opt-out"},
        {"match": "*", "mode": "opt-in"},
    ]
    assert client.get(BANNER + "?region=BR").json["mode"] == "opt-out"
    assert client.get(BANNER + "?region=JP").json["mode"] == "opt-in"
    texas = client.get(BANNER + "?region=us-tx").json
    assert (texas["region"], texas["mode"]) == ("US-TX", "opt-in")  # "*" comes before the pack


def test_the_region_override_refuses_a_bad_code(client, site):
    response = client.get(BANNER + "?region=ZZ")
    assert response.status_code == 422
    assert response.json["error"]["details"]["fields"]["region"]


@pytest.mark.parametrize(
    "regions",
    [
        [{"match": "ZZ", "mode": "opt-in"}],
        [{"match": "US-ZZ", "mode": "opt-in"}],
        [{"match": "FR", "mode": "maybe"}],
        [{"match": "FR"}],
        [{"match": 7, "mode": "opt-in"}],
        "EU",
    ],
)
def test_bad_region_rules_are_refused(client, admin, site, regions):
    response = client.patch("/api/v1/sites/news-example", json={"regions": regions}, headers=admin)
    assert response.status_code == 422
    assert "regions" in response.json["error"]["details"]["fields"]


def test_mode_is_the_old_name_of_default_mode(client, admin, make_site):
    created = make_site("old-style", mode="notice")
    assert (created["mode"], created["default_mode"]) == ("notice", "notice")
    response = client.patch(
        "/api/v1/sites/old-style", json={"default_mode": "opt-out"}, headers=admin
    )
    assert (response.json["mode"], response.json["default_mode"]) == ("opt-out", "opt-out")
    clash = client.patch(
        "/api/v1/sites/old-style", json={"default_mode": "opt-in", "mode": "notice"}, headers=admin
    )
    assert clash.status_code == 422


def test_a_new_site_uses_the_pack_and_opt_in_by_default(make_site):
    created = make_site("fresh")
    assert created["default_mode"] == "opt-in"
    assert created["regions"] == [] and created["use_default_regions"] is True


def test_each_mode_gets_its_first_layer_buttons_and_description(cdn_app, site):
    client = cdn_app.test_client()
    eu, california, elsewhere = get(client, "FR"), get(client, "US", "CA"), get(client, "BR")
    assert eu.json["first_layer"] == ["accept_all", "reject_all", "settings"]
    assert elsewhere.json["first_layer"] == ["acknowledge"]
    # No sensitive category: no "Limit the Use of My Sensitive Personal Information"
    assert california.json["first_layer"] == ["opt_out", "settings", "acknowledge"]
    texts = california.json["texts"]
    assert texts["description"] == texts["opt_out_description"]
    assert texts["description"].startswith("We and our partners use cookies")
    assert eu.json["texts"]["description"] != texts["opt_out_description"]


def test_a_sensitive_category_adds_the_limit_button_for_opt_out_visitors(
    cdn_app, client, admin, site
):
    categories = site["categories"] + [{"id": "location", "title": "Location", "sensitive": True}]
    patched = client.patch(
        "/api/v1/sites/news-example", json={"categories": categories}, headers=admin
    )
    assert patched.status_code == 200, patched.get_json()
    regional = cdn_app.test_client()
    california = get(regional, "US", "CA")
    assert california.json["first_layer"] == [
        "opt_out",
        "limit_sensitive",
        "settings",
        "acknowledge",
    ]
    assert california.json["texts"]["limit_sensitive"] == (
        "Limit the Use of My Sensitive Personal Information"
    )
    assert get(regional, "FR").json["first_layer"] == ["accept_all", "reject_all", "settings"]


def test_the_sites_first_layer_setting_applies_where_consent_is_asked(cdn_app, client, admin, site):
    patched = client.patch(
        "/api/v1/sites/news-example",
        json={"first_layer": ["reject_all", "accept_all", "settings"]},
        headers=admin,
    )
    assert patched.status_code == 200, patched.get_json()
    regional = cdn_app.test_client()
    assert get(regional, "DE").json["first_layer"] == ["reject_all", "accept_all", "settings"]
    assert get(regional, "US", "CA").json["first_layer"][0] == "opt_out"
