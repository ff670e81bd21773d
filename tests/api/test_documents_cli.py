"""``consentry documents``: policies as code."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.timeutil import isoformat, utcnow


@pytest.fixture
def site(make_site):
    return make_site("news-example")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_publish_creates_a_version_and_the_same_text_again_does_not(runner, site, tmp_path):
    policy = write(tmp_path, "privacy.md", "# Privacy Policy\n\nWe collect little.\n")
    result = runner.invoke(args=["documents", "publish", "news-example", "privacy", policy])
    assert result.exit_code == 0, result.output
    assert "published news-example privacy version 1" in result.output

    same = write(tmp_path, "same.md", "# Privacy Policy\r\n\r\nWe collect little.   \r\n")
    result = runner.invoke(args=["documents", "publish", "news-example", "privacy", same])
    assert result.exit_code == 0
    assert "unchanged" in result.output and "version 1" in result.output

    listed = runner.invoke(args=["documents", "list", "news-example"])
    assert listed.output.count("privacy\t") == 1


def test_publish_with_options_and_diff(runner, client, site, tmp_path):
    one = write(tmp_path, "one.md", "# Terms\n\nBe nice.\n\nNo scraping.")
    two = write(tmp_path, "two.md", "# Terms of Use\n\nBe nice.\n\nNo scraping at all.")
    runner.invoke(args=["documents", "publish", "news-example", "terms", one])
    when = isoformat(utcnow() + timedelta(days=3))
    result = runner.invoke(
        args=[
            "documents", "publish", "news-example", "terms", two, "--material",
            "--summary", "Scraping", "--effective-at", when, "--locale", "en",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "version 2 (scheduled)" in result.output
    version = client.get("/api/v1/sites/news-example/documents/terms/versions/2").get_json()
    assert (version["material"], version["summary"], version["title"]) == (
        True,
        "Scraping",
        "Terms of Use",
    )

    diff = runner.invoke(args=["documents", "diff", "news-example", "terms", "2", "1"])
    assert diff.exit_code == 0
    assert "- No scraping." in diff.output
    assert "+ No scraping at all." in diff.output
    assert "+ # Terms of Use" in diff.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["documents", "publish", "nope", "privacy", "{file}"], "not found"),
        (["documents", "publish", "news-example", "faq", "{file}"], "Invalid value"),
        (["documents", "publish", "news-example", "privacy", "{empty}"], "empty"),
        (["documents", "publish", "news-example", "privacy", "{file}", "--locale", "x!"], "valid"),
        (
            ["documents", "publish", "news-example", "privacy", "{file}", "--effective-at", "soon"],
            "ISO 8601",
        ),
        (["documents", "diff", "news-example", "privacy", "2", "1"], "No version"),
        (["documents", "list", "nope"], "not found"),
    ],
)
def test_bad_cli_input_fails_with_a_message(runner, site, tmp_path, args, message):
    files = {
        "file": write(tmp_path, "p.md", "# P\n\nText."),
        "empty": write(tmp_path, "e.md", "# Title only\n"),
    }
    result = runner.invoke(args=[arg.format(**files) for arg in args])
    assert result.exit_code != 0
    assert message in result.output


def test_a_refused_publication_from_a_file_leaves_no_draft(runner, client, site, tmp_path):
    """Publishing from a file is one transaction: a past --effective-at (or any refusal) leaves
    nothing behind, and the next publication is version 1."""
    policy = write(tmp_path, "privacy.md", "# Privacy Policy\n\nWe collect little.\n")
    past = isoformat(utcnow() - timedelta(days=2))
    args = ["documents", "publish", "news-example", "privacy", policy]
    result = runner.invoke(args=[*args, "--effective-at", past])
    assert result.exit_code == 1
    assert result.output == "Error: A version cannot take effect in the past. " + (
        "{'fields': {'effective_at': ['Must be now or later.']}}\n"
    )
    listed = runner.invoke(args=["documents", "list", "news-example"])
    assert listed.output.count("\n") == 1, listed.output  # the header line only
    activity = runner.invoke(args=["activity", "list"])
    assert "draft.created" not in activity.output
    result = runner.invoke(args=args)
    assert result.exit_code == 0 and "version 1" in result.output, result.output
