"""Codecs: a WebSocket message to protocol objects and back (DESIGN "The core", layer 2).

Every codec implements :class:`Codec`. The facade and the session know only this
contract: a codec names its WebSocket subprotocol and frame kind once, encodes
one typed command (:mod:`..commands`) at a time, frames encoded commands with
their wire ids, decodes a message to typed incoming objects (:mod:`..messages`)
and checks a caller's payload. Each dialect names the codecs it speaks
(``Dialect.codecs``); no ``if codec ==`` anywhere.

Encoding happens when a command is queued, so a value a codec cannot carry is
refused at the caller's call (``LocalProtocolError``) and never reaches a later
``receive_data``. The wire id is not part of the encoded command: ids are
assigned when the command goes out (a command queued while connecting gets its
id on the connection that sends it), and :meth:`Codec.frame` puts them in.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from ..commands import Command
from ..errors import LocalProtocolError
from ..messages import Incoming

__all__ = ["Codec", "FrameKind", "WireId", "protobuf_codec"]

#: A command's id on the wire: an int in the current protocol, a string in 1.x.
WireId = int | str


class FrameKind(enum.Enum):
    """The WebSocket frame type a codec's messages travel in (RFC 6455 §5.6)."""

    TEXT = "text"
    BINARY = "binary"

    @property
    def message_type(self) -> type:
        """What a whole message of this kind is: ``str`` (text) or ``bytes``."""
        return str if self is FrameKind.TEXT else bytes


@runtime_checkable
class Codec(Protocol):
    @property
    def name(self) -> str:
        """The ``codec=`` name this codec answers to."""
        ...

    @property
    def subprotocol(self) -> str | None:
        """The WebSocket subprotocol to ask for, and to find accepted; None: ask for none."""
        ...

    @property
    def frame_kind(self) -> FrameKind: ...

    def encode(self, command: Command) -> Any:
        """``command`` without its id, in this codec's wire form. Raises
        ``LocalProtocolError`` when a value cannot be carried (the caller's)."""
        ...

    def frame(self, commands: Sequence[tuple[WireId | None, Any]]) -> str | bytes:
        """One WebSocket message holding encoded commands, each with its wire id
        (None: a command without an id, the pong or ``send``)."""
        ...

    def decode(self, message: str | bytes) -> list[Incoming]:
        """One WebSocket message to what it holds, in order. Raises only
        :class:`~centrifugo_proto.errors.DecodeError`."""
        ...

    def check_payload(self, value: Any) -> None:
        """Raise ``LocalProtocolError`` unless ``value`` can travel as a payload."""
        ...

    def payload_bytes(self, data: Any) -> bytes:
        """The bytes of a publication's ``data`` on a delta subscription (§7), where
        deltas apply. Raises :class:`~centrifugo_proto.errors.DecodeError`."""
        ...

    def payload_value(self, data: bytes) -> Any:
        """A whole payload rebuilt from deltas, as this codec hands payloads to the
        application. Raises :class:`~centrifugo_proto.errors.DecodeError`."""
        ...


def protobuf_codec() -> Codec:
    """The Protobuf codec (``codec="protobuf"``), imported on first use: the protobuf
    runtime is an optional extra, and a JSON client needs none."""
    try:
        from .protobuf import ProtobufCodec
    except ImportError as exc:
        raise LocalProtocolError(
            f"codec 'protobuf' needs the protobuf runtime "
            f"(pip install 'centrifugo-proto[protobuf]'): {exc}"
        ) from None
    return ProtobufCodec()
