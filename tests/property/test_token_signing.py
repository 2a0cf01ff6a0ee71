"""Token signing (centrifugo_proto/tokens.py) against independent implementations.

``generate_token`` against HMAC-SHA256 written out from RFC 2104 over hashlib's
SHA-256 (not the ``hmac`` module the code uses); minted JWTs against PyJWT.
PyJWT warns about HMAC keys under 32 bytes and warnings are errors here, so every
JWT secret is at least 32 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import string
from typing import Any

import jwt
from codec_pairs import JSON_VALUES
from hypothesis import assume, given
from hypothesis import strategies as st

from centrifugo_proto import connection_token, generate_token, jwt_encode, subscription_token

#: PyJWT with every claim check off but the signature: the claims here are arbitrary.
OPTIONS: Any = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}
SECRETS = st.text(min_size=32).filter(lambda s: len(s.encode()) >= 32) | st.binary(min_size=32)
CLAIMS = st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=6)


def hmac_sha256_hex(key: bytes, message: bytes) -> str:
    """HMAC (RFC 2104) over SHA-256: B = 64, ipad 0x36, opad 0x5c."""
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(k ^ 0x36 for k in key) + message).digest()
    return hashlib.sha256(bytes(k ^ 0x5C for k in key) + inner).hexdigest()


def decode(token: str, secret: str | bytes) -> Any:
    return jwt.decode(token, secret, algorithms=["HS256"], options=OPTIONS)


@given(
    secret=st.text() | st.binary(),
    parts=st.lists(st.text() | st.integers(), max_size=5),
)
def test_generate_token_is_hmac_sha256_hex_of_the_parts_concatenated(
    secret: str | bytes, parts: list[str | int]
) -> None:
    key = secret.encode() if isinstance(secret, str) else secret
    message = "".join(str(p) for p in parts).encode()
    assert generate_token(secret, *parts) == hmac_sha256_hex(key, message)


@given(secret=SECRETS, claims=CLAIMS)
def test_minted_jwts_decode_with_pyjwt_to_the_same_claims(
    secret: str | bytes, claims: dict[str, Any]
) -> None:
    token = jwt_encode(claims, secret)
    assert decode(token, secret) == claims
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "typ": "JWT"}


@given(
    secret=SECRETS,
    user=st.text(),
    channel=st.text(),
    exp=st.none() | st.integers(0, 2**40),
    info=st.none() | JSON_VALUES,
    channels=st.none() | st.lists(st.text(), max_size=3),
    extra=st.dictionaries(st.sampled_from(["iat", "jti", "aud", "meta", "b64info"]), JSON_VALUES),
)
def test_connection_and_subscription_tokens_carry_their_claims(
    secret: str | bytes,
    user: str,
    channel: str,
    exp: int | None,
    info: Any,
    channels: list[str] | None,
    extra: dict[str, Any],
) -> None:
    optional = {"exp": exp, "info": info}
    expected = {"sub": user, **{k: v for k, v in optional.items() if v is not None}}
    connection = connection_token(secret, user, exp=exp, info=info, channels=channels, **extra)
    with_channels = {**expected, "channels": channels} if channels is not None else expected
    assert decode(connection, secret) == {**with_channels, **extra}
    subscription = subscription_token(secret, user, channel, exp=exp, info=info, **extra)
    assert decode(subscription, secret) == {**expected, "channel": channel, **extra}


_B64URL = string.ascii_letters + string.digits + "-_"


@given(secret=SECRETS, claims=CLAIMS, data=st.data())
def test_any_changed_byte_breaks_verification(
    secret: str | bytes, claims: dict[str, Any], data: st.DataObject
) -> None:
    token = jwt_encode(claims, secret)
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from(_B64URL + ".=+/ ") | st.characters())
    assume(replacement != token[position])
    changed = token[:position] + replacement + token[position + 1 :]
    try:
        decode(changed, secret)
    except jwt.InvalidTokenError:
        return
    # Verified: only possible where the change did not change the signed bytes. The
    # last character of the unpadded signature holds 2 spare bits that decoders
    # ignore, so another character can decode to the same 32 bytes.
    signature_start = token.rindex(".") + 1
    assert position == len(token) - 1, (token, changed)
    assert _unb64(changed[signature_start:]) == _unb64(token[signature_start:])


@given(secret=SECRETS, other=SECRETS, claims=CLAIMS)
def test_another_secret_does_not_verify(
    secret: str | bytes, other: str | bytes, claims: dict[str, Any]
) -> None:
    key = secret.encode() if isinstance(secret, str) else secret
    other_key = other.encode() if isinstance(other, str) else other
    assume(key != other_key)
    try:
        decode(jwt_encode(claims, secret), other)
    except jwt.InvalidSignatureError:
        return
    raise AssertionError("a token verified with another secret")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
