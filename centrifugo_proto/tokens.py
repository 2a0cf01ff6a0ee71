"""Token helpers: the seed's ``generate_token`` and HS256 JWT minting.

``generate_token(secret, *parts)`` is the Perl ``Centrifugo::Client`` function
(LEGACY-V1.md §5): HMAC-SHA256, lower-case hex, over the parts concatenated
with no separator; the same function signs 1.x connection tokens
(user+timestamp+info), private channels (client+channel+info) and API bodies.

``connection_token`` and ``subscription_token`` mint HS256 JWTs with the claims
of PROTOCOL.md §9, for servers configured with ``client.token.hmac_secret_key``.
Only the standard library is used (no clock either: pass ``exp`` yourself).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["connection_token", "generate_token", "jwt_encode", "subscription_token"]


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def generate_token(secret: str | bytes, *parts: str | int) -> str:
    """``hex(HMAC_SHA256(secret, part1 ‖ part2 ‖ …))`` (LEGACY-V1.md §5).

    Numbers are written in decimal, as Perl would concatenate them.
    """
    message = "".join(str(part) for part in parts).encode()
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def jwt_encode(claims: Mapping[str, Any], secret: str | bytes) -> str:
    """An HS256 JWT (RFC 7519) over ``claims``."""
    header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    payload = _b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(_key(secret), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def connection_token(
    secret: str | bytes,
    user: str,
    *,
    exp: int | None = None,
    info: Any = None,
    channels: list[str] | None = None,
    **claims: Any,
) -> str:
    """A connection JWT (PROTOCOL.md §9.1): ``sub`` is the user id ("" = anonymous)."""
    body: dict[str, Any] = {"sub": user}
    if exp is not None:
        body["exp"] = exp
    if info is not None:
        body["info"] = info
    if channels is not None:
        body["channels"] = channels
    body.update(claims)
    if "channel" in body:
        raise ValueError("a connection token must not carry a 'channel' claim (§9.1)")
    return jwt_encode(body, secret)


def subscription_token(
    secret: str | bytes,
    user: str,
    channel: str,
    *,
    exp: int | None = None,
    info: Any = None,
    **claims: Any,
) -> str:
    """A subscription JWT (PROTOCOL.md §9.2) for ``channel`` and ``user``."""
    body: dict[str, Any] = {"sub": user, "channel": channel}
    if exp is not None:
        body["exp"] = exp
    if info is not None:
        body["info"] = info
    body.update(claims)
    return jwt_encode(body, secret)
