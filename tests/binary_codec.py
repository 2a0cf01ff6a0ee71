"""A second codec, written in the tests: JSON lines in *binary* frames under a
made-up subprotocol (issue "One core for three dialects", Evidence).

It is the smallest codec that differs from the JSON codec in everything the
facade must not ask about: its frame kind, its subprotocol, its message type.
``CENTRIFUGO_TEST_CODEC=binary-json pytest tests/unit`` runs the core's unit
suite against it unchanged (the fake server speaks it too, ``serverside.py``);
``make test`` does so. It is not a product codec and is not shipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from centrifugo_proto.codecs import FrameKind, WireId
from centrifugo_proto.codecs.json import JsonCodec
from centrifugo_proto.commands import Command
from centrifugo_proto.errors import DecodeError
from centrifugo_proto.messages import Incoming

__all__ = ["SUBPROTOCOL", "BinaryJsonCodec"]

SUBPROTOCOL: Final = "x-test-json-binary"


class BinaryJsonCodec:
    name: Final = "binary-json"
    subprotocol: Final = SUBPROTOCOL
    frame_kind: Final = FrameKind.BINARY

    def __init__(self) -> None:
        self._json = JsonCodec()

    def encode(self, command: Command) -> Any:
        return self._json.encode(command)

    def frame(self, commands: Sequence[tuple[WireId | None, Any]]) -> bytes:
        return self._json.frame(commands).encode("utf-8")

    def decode(self, message: str | bytes) -> list[Incoming]:
        if not isinstance(message, bytes):
            raise DecodeError("text frame in binary-json mode")
        try:
            text = message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"not UTF-8: {exc}") from None
        return self._json.decode(text)

    def check_payload(self, value: Any) -> None:
        self._json.check_payload(value)

    def payload_bytes(self, data: Any) -> bytes:
        return self._json.payload_bytes(data)

    def payload_value(self, data: bytes) -> Any:
        return self._json.payload_value(data)
