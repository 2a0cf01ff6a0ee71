"""Checks on what the caller hands in (DESIGN "Errors", STYLE-ANCHORS L16).

The caller is an input too. Every value reaches the core through the facade,
and each is checked here, at that call, before anything changes: a wrong type
or shape raises :class:`LocalProtocolError` naming the argument. What passes
can always be encoded later, so no call can make a later ``receive_data``
fail. Payloads (``data``) are the codec's to check (:meth:`Codec.check_payload`).

Strings must be encodable as UTF-8, the only text encoding both codecs write
(JSON text frames are UTF-8, RFC 6455 §5.6; Protobuf ``string`` fields too):
Python lets a ``str`` hold a lone surrogate (``"\\udcff"``), which cannot.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import LocalProtocolError
from .results import StreamPosition

__all__ = [
    "UINT32_MAX",
    "UINT64_MAX",
    "check_bool",
    "check_channel",
    "check_int",
    "check_limit",
    "check_now",
    "check_position",
    "check_str",
    "utf8_safe",
]

UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
#: Ints a float holds exactly (2**53); a monotonic clock never gets near.
_MAX_EXACT = 2**53


def utf8_safe(value: str) -> bool:
    """Whether ``value`` can be written as UTF-8 (no lone surrogates)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _kind(value: object) -> str:
    return type(value).__name__


def check_str(value: object, what: str) -> str:
    if type(value) is not str:
        raise LocalProtocolError(f"{what} must be a str, got {_kind(value)}")
    if not utf8_safe(value):
        raise LocalProtocolError(f"{what} cannot be sent: it holds a lone surrogate")
    return value


def check_channel(value: object, what: str = "channel") -> str:
    channel = check_str(value, what)
    if not channel:
        raise LocalProtocolError(f"{what} must not be empty")
    return channel


def check_bool(value: object, what: str) -> bool:
    if type(value) is not bool:
        raise LocalProtocolError(f"{what} must be a bool, got {_kind(value)}")
    return value


def check_int(value: object, what: str, low: int, high: int) -> int:
    # bool is an int to Python, never to the protocol.
    if type(value) is not int:
        raise LocalProtocolError(f"{what} must be an int, got {_kind(value)}")
    if not low <= value <= high:
        raise LocalProtocolError(f"{what} must be in [{low}, {high}]")
    return value


def check_limit(value: object) -> int:
    """A history limit: an int32 (§2.3), -1 meaning everything, 0 the top only."""
    return check_int(value, "limit", -1, INT32_MAX)


def check_position(value: object, what: str = "since") -> StreamPosition:
    if not isinstance(value, StreamPosition):
        raise LocalProtocolError(f"{what} must be a StreamPosition, got {_kind(value)}")
    check_int(value.offset, f"{what}.offset", 0, UINT64_MAX)
    check_str(value.epoch, f"{what}.epoch")
    return value


def check_now(now: Any) -> float:
    """``now``: the adapter's monotonic clock, a finite number (DESIGN "now")."""
    kind = type(now)
    if kind is float:
        if math.isfinite(now):
            return float(now)
    elif kind is int and -_MAX_EXACT <= now <= _MAX_EXACT:
        return float(now)
    shown = f"an int of {now.bit_length()} bits" if kind is int else repr(now)[:40]
    raise LocalProtocolError(f"now must be a finite float, got {shown}")
