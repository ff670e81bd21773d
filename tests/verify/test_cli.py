"""``consentry verify-bundle FILE --jwks FILE``: the site's keys as the only trusted ones, and
receipts, on the command line (the page at /verify says the same, see test_parity.py)."""

from __future__ import annotations

import json

import pytest

from service.audit.offline import main
from tests.helpers.audit import recording_site
from tests.helpers.verify_samples import make_samples


@pytest.fixture
def samples(app, client, admin, make_site):
    record = recording_site(client, admin, make_site)
    return make_samples(client, admin, "news-example", "https://news.example.com", record.documents)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_each_file_with_the_sites_jwks(samples, runner, tmp_path):
    jwks = write(tmp_path, "jwks.json", json.dumps(samples.jwks))
    for name, case in samples.cases().items():
        args = ["verify-bundle", write(tmp_path, "file", case.text)]
        if case.jwks is not None:
            args += ["--jwks", write(tmp_path, "keys.json", json.dumps(case.jwks))]
        result = runner.invoke(args=args)
        assert result.exit_code == (0 if case.code is None else 1), (name, result.output)
        if case.code is not None:
            assert f": {case.code}: " in result.output, (name, result.output)
    receipt = write(tmp_path, "receipt.jws", samples.receipt + "\n")
    assert main([receipt, "--jwks", jwks]) == 0
    assert main([receipt]) == 1  # a receipt needs the site's keys


def test_an_unreadable_jwks_is_a_usage_error(samples, runner, tmp_path):
    bundle = write(tmp_path, "bundle.json", json.dumps(samples.bundle))
    missing = runner.invoke(args=["verify-bundle", bundle, "--jwks", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "cannot read the JWKS" in missing.output
    garbage = write(tmp_path, "garbage.json", "{not json")
    bad = runner.invoke(args=["verify-bundle", bundle, "--jwks", garbage])
    assert bad.exit_code == 2 and "cannot read the JWKS" in bad.output
    unusable = write(tmp_path, "list.json", "[1, 2]")
    result = runner.invoke(args=["verify-bundle", bundle, "--jwks", unusable])
    assert result.exit_code == 1
    assert "jwks: bad_jwks: the site's JWKS is unusable: a JWK Set needs a 'keys' list" in (
        result.output
    )
