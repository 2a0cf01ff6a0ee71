"""Checks of the caller's input to the server API, at the call (DESIGN "Errors").

The str, bool and int checks are the core's own (:mod:`centrifugo_proto.validate`),
so the same mistake reads the same for the client and the API. Every request
object runs these in its constructor, so a value the server API
cannot carry is a :class:`LocalProtocolError` where the caller made it, never a
surprise when the body is built or an answer the server gives to bytes it could
not parse. Payloads must be JSON the server can read: no NaN or infinity, no
lone surrogates (they cannot be UTF-8), nothing ``json`` cannot encode.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import LocalProtocolError
from ..validate import check_bool, check_str
from ..validate import check_int as check_range

__all__ = [
    "check_b64",
    "check_bool",
    "check_int",
    "check_json",
    "check_str",
    "check_str_map",
    "check_strs",
    "encode_json",
]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def encode_json(value: Any, what: str = "body") -> bytes:
    """``value`` as compact UTF-8 JSON, or :class:`LocalProtocolError`."""
    try:
        return _dumps(value).encode("utf-8")
    except UnicodeEncodeError:
        raise LocalProtocolError(f"{what} holds a lone surrogate (not UTF-8)") from None
    except (TypeError, ValueError) as exc:  # an unencodable object, NaN, a cycle
        raise LocalProtocolError(f"{what} is not JSON: {exc}") from None


def check_json(value: Any, what: str) -> Any:
    encode_json(value, what)
    return value


def check_strs(value: Any, what: str) -> tuple[str, ...]:
    """A sequence of str (not one str, which would be a sequence of letters)."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise LocalProtocolError(f"{what} must be a sequence of str")
    return tuple(check_str(item, f"{what} item") for item in value)


def check_str_map(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise LocalProtocolError(f"{what} must be a mapping of str to str")
    return {
        check_str(key, f"{what} key"): check_str(item, f"{what} value")
        for key, item in value.items()
    }


def check_int(value: Any, what: str, *, bits: int, signed: bool) -> int:
    """An int (not a bool) that fits the protobuf field of ``bits`` (api.proto)."""
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return check_range(value, what, low, high)


def check_b64(value: Any, what: str) -> str:
    """Standard base64 with padding, as Go's ``base64.StdEncoding`` decodes it."""
    text = check_str(value, what)
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise LocalProtocolError(f"{what} is not standard base64: {text[:40]!r}") from None
    return text
