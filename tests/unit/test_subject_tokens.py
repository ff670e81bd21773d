"""Subject tokens skip itsdangerous' compression attempt, and nothing else changes."""

from __future__ import annotations

import hashlib

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from service.signing import SUBJECT_TOKEN_SALT, SubjectTokenSerializer

KEYS = ["old-secret", "current-secret"]


@pytest.mark.parametrize(
    "payload",
    [
        {"site": "news-example", "subject": "s_0123456789abcdef0123456789"},
        {"site": "news-example", "subject": "s_" + "a" * 126},  # compressible: zlib would win
    ],
)
def test_tokens_load_both_ways_and_short_ones_are_byte_identical(payload, monkeypatch):
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 1_800_000_000)
    ours = SubjectTokenSerializer(KEYS, salt=SUBJECT_TOKEN_SALT)
    standard = URLSafeTimedSerializer(KEYS, salt=SUBJECT_TOKEN_SALT)
    token, reference = ours.dumps(payload), standard.dumps(payload)
    assert ours.loads(reference) == standard.loads(token) == payload
    if not reference.startswith("."):  # itsdangerous marks a compressed payload with a dot
        assert token == reference


def test_naming_sha1_signs_as_the_lazy_default():
    """Named SHA-1 (a fast hmac) or itsdangerous' lazy default: the same signature."""
    payload = {"site": "news-example", "subject": "s_0123456789abcdef0123456789"}
    fast = SubjectTokenSerializer(
        KEYS, salt=SUBJECT_TOKEN_SALT, signer_kwargs={"digest_method": hashlib.sha1}
    )
    default = SubjectTokenSerializer(KEYS, salt=SUBJECT_TOKEN_SALT)
    token = fast.dumps(payload)
    assert default.loads(token) == payload
    assert (
        token.rsplit(".", 1)[1]
        == default.make_signer().get_signature(token.rsplit(".", 1)[0]).decode()
    )
