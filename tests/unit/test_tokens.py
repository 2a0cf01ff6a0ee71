"""Token helpers: the seed's generate_token (LEGACY-V1.md §5) and HS256 JWTs."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from centrifugo_proto import connection_token, generate_token, jwt_encode, subscription_token

SECRET = "secret"

# LEGACY-V1.md §5 worked examples: (parts, hex digest).
VECTORS = {
    "connection token, no info": (
        ("42", "1500000000", ""),
        "0edb687d567dff2c3cae7b18513e77d3f305f9fcd0864edaf16324ae0ca0c73d",
    ),
    "connection token, info {}": (
        ("42", "1500000000", "{}"),
        "5af319233e88030c6c5d4afa02baceb0d790712247501703ff512c09f000cd33",
    ),
    "private channel sign, no info": (
        ("client-1", "$private", ""),
        "5db459cb96909840380b113cc14490a20e3426b63c9f04d82c4097ec58a4ff9d",
    ),
    "private channel sign, info {}": (
        ("client-1", "$private", "{}"),
        "868f6ef52f08ca11c081b2c7f3ffe1ea38e629e8b7e41b5845217b0f1dcbefb8",
    ),
    "API request sign": (
        ('{"method":"publish","params":{"channel":"news","data":{"text":"hi"}}}',),
        "b2bb5ed54c09decc4db2c7eac143eb493c6310ec8f621c7ce1a8ce66a3540ac2",
    ),
    # No separator between parts: user 4 + timestamp 21500000000 collides with 42 + 1500000000.
    "separator collision": (
        ("4", "21500000000", ""),
        "0edb687d567dff2c3cae7b18513e77d3f305f9fcd0864edaf16324ae0ca0c73d",
    ),
}


@pytest.mark.parametrize(("parts", "digest"), list(VECTORS.values()), ids=list(VECTORS))
def test_generate_token_matches_the_legacy_vectors(parts, digest):
    assert generate_token(SECRET, *parts) == digest
    assert generate_token(SECRET.encode(), *parts) == digest  # bytes secret too


def test_generate_token_writes_numbers_as_perl_would():
    assert generate_token(SECRET, 42, 1500000000) == VECTORS["connection token, no info"][1]
    assert generate_token(SECRET, 4, 21500000000, "") == VECTORS["separator collision"][1]


def test_generate_token_depends_on_the_secret_and_every_part():
    base = generate_token(SECRET, "42", "1500000000")
    assert generate_token("other", "42", "1500000000") != base
    assert generate_token(SECRET, "43", "1500000000") != base
    assert len(base) == 64
    assert base == base.lower()


EXP = 4102444800  # 2100-01-01: far enough for PyJWT's expiry check
#: At least 32 bytes: PyJWT warns about shorter HMAC keys (RFC 7518 §3.2).
JWT_SECRET = "test-hmac-secret-of-at-least-32-bytes"


def test_connection_token_decodes_with_pyjwt_to_the_same_claims():
    token = connection_token(
        JWT_SECRET, "42", exp=EXP, info={"name": "Alice"}, channels=["news"], meta={"k": 1}
    )
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"])
    assert claims == {
        "sub": "42",
        "exp": EXP,
        "info": {"name": "Alice"},
        "channels": ["news"],
        "meta": {"k": 1},
    }
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}


def test_anonymous_connection_token_without_expiry():
    token = connection_token(JWT_SECRET, "")
    assert jwt.decode(token, JWT_SECRET, algorithms=["HS256"]) == {"sub": ""}


def test_subscription_token_decodes_with_pyjwt_to_the_same_claims():
    token = subscription_token(
        JWT_SECRET, "42", "private:room1", exp=EXP, info={"role": "x"}, client="c1"
    )
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"])
    assert claims == {
        "sub": "42",
        "channel": "private:room1",
        "exp": EXP,
        "info": {"role": "x"},
        "client": "c1",
    }


def test_jwt_encode_with_a_bytes_secret_and_unicode_claims():
    secret = b"\x00\xffa-binary-secret-of-at-least-32-bytes"
    token = jwt_encode({"sub": "ünïcode", "n": [1, 2]}, secret)
    assert jwt.decode(token, secret, algorithms=["HS256"]) == {"sub": "ünïcode", "n": [1, 2]}
    assert "=" not in token  # base64url without padding


def test_a_connection_token_refuses_a_channel_claim():
    with pytest.raises(ValueError, match="channel"):
        connection_token(JWT_SECRET, "42", channel="news")


def _flip(text, index):
    char = text[index]
    return text[:index] + ("B" if char != "B" else "C") + text[index + 1 :]


@pytest.mark.parametrize("part", [0, 1, 2])
def test_a_changed_byte_fails_verification(part):
    token = connection_token(JWT_SECRET, "42", exp=EXP)
    pieces = token.split(".")
    # The first character of a part carries 6 full bits: changing it changes the bytes.
    pieces[part] = _flip(pieces[part], 0)
    with pytest.raises(jwt.InvalidTokenError):
        jwt.decode(".".join(pieces), JWT_SECRET, algorithms=["HS256"])


def test_changed_claims_with_the_old_signature_fail_with_invalid_signature():
    token = connection_token(JWT_SECRET, "42", exp=EXP)
    header, _, signature = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"sub": "1", "exp": EXP}).encode()).rstrip(b"=")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{header}.{forged.decode()}.{signature}", JWT_SECRET, algorithms=["HS256"])


def test_the_wrong_secret_fails_verification():
    token = subscription_token(JWT_SECRET, "42", "private:a", exp=EXP)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "not-the-secret-but-32-bytes-long!", algorithms=["HS256"])
