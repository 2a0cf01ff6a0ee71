"""Field checks for the codecs that read JSON (the current protocol's and 1.x's).

Each takes a decoded value and the field's name, and returns the value if it has
the type the protocol gives that field, else raises :class:`DecodeError` naming
the field: a server that sends a wrong type is bad protocol, never an exception
that escapes ``receive_data`` (DESIGN "Errors").
"""

from __future__ import annotations

from typing import Any

from ..errors import DecodeError
from ..validate import utf8_safe

__all__ = ["boolean", "echo", "integer", "obj", "string", "string_map", "uint"]


def uint(value: Any, name: str) -> int:
    if type(value) is not int or value < 0:
        raise DecodeError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def integer(value: Any, name: str) -> int:
    if type(value) is not int:
        raise DecodeError(f"{name} must be an integer, got {value!r}")
    return value


def string(value: Any, name: str) -> str:
    if type(value) is not str:
        raise DecodeError(f"{name} must be a string, got {value!r}")
    return value


def boolean(value: Any, name: str) -> bool:
    if type(value) is not bool:
        raise DecodeError(f"{name} must be a boolean, got {value!r}")
    return value


def obj(value: Any, name: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise DecodeError(f"{name} must be an object, got {value!r}")
    return value


def echo(value: Any, name: str) -> str:
    """A string the client may send back (a channel, an epoch): it must encode."""
    if type(value) is not str or not utf8_safe(value):
        raise DecodeError(f"{name} must be a string the client can send back, got {value!r}")
    return value


def string_map(value: Any, name: str) -> dict[str, str]:
    mapping = obj(value, name)
    for item in mapping.values():
        string(item, name)
    return mapping
