"""The core's unit suite in Protobuf mode: ``CENTRIFUGO_TEST_CODEC=protobuf``.

The unit tests speak to the fake server (``serverside.py``) in JSON lines with JSON
payloads. In this mode the fake server turns each line into the typed message it
means (read by the JSON codec), and that into the server's Protobuf bytes
(``protobuf_wire.py``, the hand-written server half); the client's Protobuf
commands come back to the tests as the JSON lines they expect. Payloads cross as
the UTF-8 bytes of their JSON text.

On the client side :class:`JsonPayloadProtobufCodec` is the real
:class:`~centrifugo_proto.codecs.protobuf.ProtobufCodec` (framing, schema, the
publication reader, the runtime) with one change so the tests need none: payloads
go in and come out as JSON values, turned into and back from their bytes at the
edge. A line the JSON codec refuses (the tests of bad input) becomes bytes the
Protobuf codec refuses too, so the client still sees a protocol error. Not a
product codec; not shipped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import attrs

from centrifugo_proto.codecs import FrameKind, WireId
from centrifugo_proto.codecs.json import JsonCodec
from centrifugo_proto.codecs.protobuf import SUBPROTOCOL, ProtobufCodec
from centrifugo_proto.commands import (
    Command,
    ConnectRequest,
    PublishRequest,
    RpcRequest,
    SendRequest,
    SubscribeRequest,
)
from centrifugo_proto.errors import DecodeError
from centrifugo_proto.messages import (
    Incoming,
    Join,
    Leave,
    Push,
    Reply,
    ServerMessage,
    ServerSubscribe,
)
from centrifugo_proto.results import (
    ClientInfo,
    ConnectResult,
    HistoryResult,
    PresenceResult,
    Publication,
    RpcResult,
    SubscribeResult,
)

__all__ = ["JsonPayloadProtobufCodec", "commands_to_lines", "lines_to_protobuf"]

_JSON: Final = JsonCodec(loads=json.loads)


def _to_bytes(value: Any) -> bytes:
    # ASCII escapes: a payload's lone surrogate (the tests have some) survives the trip.
    return json.dumps(value, separators=(",", ":")).encode()


def _from_bytes(data: Any) -> Any:
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise DecodeError(f"payload is not JSON: {exc}") from None


# -- payloads both ways, over the typed objects -------------------------------------------


def _map_info(info: ClientInfo | None, convert: Any) -> ClientInfo | None:
    if info is None:
        return None
    return attrs.evolve(
        info,
        conn_info=None if info.conn_info is None else convert(info.conn_info),
        chan_info=None if info.chan_info is None else convert(info.chan_info),
    )


def _map_pub(pub: Publication, convert: Any) -> Publication:
    return attrs.evolve(pub, data=convert(pub.data), info=_map_info(pub.info, convert))


def _map_sub_result(res: SubscribeResult, convert: Any) -> SubscribeResult:
    return attrs.evolve(
        res,
        data=None if res.data is None else convert(res.data),
        publications=tuple(_map_pub(p, convert) for p in res.publications),
    )


def _map_result(result: Any, convert: Any) -> Any:
    if isinstance(result, ConnectResult):
        return attrs.evolve(
            result,
            data=None if result.data is None else convert(result.data),
            subs={ch: _map_sub_result(s, convert) for ch, s in result.subs.items()},
        )
    if isinstance(result, SubscribeResult):
        return _map_sub_result(result, convert)
    if isinstance(result, HistoryResult):
        return attrs.evolve(
            result, publications=tuple(_map_pub(p, convert) for p in result.publications)
        )
    if isinstance(result, PresenceResult):
        return attrs.evolve(
            result, clients={k: _map_info(v, convert) or v for k, v in result.clients.items()}
        )
    if isinstance(result, RpcResult):
        return RpcResult(data=None if result.data is None else convert(result.data))
    return result


def map_incoming(message: Incoming, convert: Any) -> Incoming:
    """``message`` with every payload passed through ``convert``."""
    if isinstance(message, Publication):
        return _map_pub(message, convert)
    if isinstance(message, Reply):
        if message.error is not None:
            return message
        return attrs.evolve(message, result=_map_result(message.result, convert))
    if isinstance(message, Push):
        body = message.body
        if isinstance(body, Join | Leave):
            body = type(body)(_map_info(body.info, convert))  # type: ignore[arg-type]
        elif isinstance(body, ServerMessage):
            body = ServerMessage(None if body.data is None else convert(body.data))
        elif isinstance(body, ServerSubscribe):
            body = ServerSubscribe(_map_sub_result(body.result, convert))
        return Push(message.channel, body)
    return message


def _sub_to_bytes(sub: SubscribeRequest) -> SubscribeRequest:
    return sub if sub.data is None else attrs.evolve(sub, data=_to_bytes(sub.data))


def _command_to_bytes(command: Command) -> Command:
    if isinstance(command, PublishRequest | SendRequest):
        return attrs.evolve(command, data=_to_bytes(command.data))
    if isinstance(command, RpcRequest) and command.data is not None:
        return attrs.evolve(command, data=_to_bytes(command.data))
    if isinstance(command, SubscribeRequest):
        return _sub_to_bytes(command)
    if isinstance(command, ConnectRequest):
        subs = {ch: _sub_to_bytes(sub) for ch, sub in command.subs.items()}
        data = None if command.data is None else _to_bytes(command.data)
        return attrs.evolve(command, data=data, subs=subs)
    return command


class JsonPayloadProtobufCodec:
    """The Protobuf codec with JSON values for payloads (see the module docstring)."""

    name: Final = "protobuf"
    subprotocol: Final = SUBPROTOCOL
    frame_kind: Final = FrameKind.BINARY

    def __init__(self) -> None:
        self._codec = ProtobufCodec()

    def encode(self, command: Command) -> bytes:
        # What the JSON codec would refuse, refused here (at the call, as it would).
        if isinstance(command, PublishRequest | SendRequest) or (
            isinstance(command, RpcRequest | SubscribeRequest | ConnectRequest)
            and command.data is not None
        ):
            _JSON.check_payload(command.data)
        return self._codec.encode(_command_to_bytes(command))

    def frame(self, commands: Sequence[tuple[WireId | None, bytes]]) -> bytes:
        return self._codec.frame(commands)

    def decode(self, message: str | bytes) -> list[Incoming]:
        return [map_incoming(m, _from_bytes) for m in self._codec.decode(message)]

    def check_payload(self, value: Any) -> None:
        _JSON.check_payload(value)

    def payload_bytes(self, data: Any) -> bytes:
        return _JSON.payload_bytes(data)

    def payload_value(self, data: bytes) -> Any:
        return _JSON.payload_value(data)


# -- the fake server's side ----------------------------------------------------------------

#: What a line the JSON codec refuses becomes: a Reply with an id and no result, which
#: the Protobuf codec refuses as well.
REFUSED: Final = b"\x08\x01"


def lines_to_protobuf(text: str) -> bytes:
    """JSON lines from a test → the Protobuf message the server would send."""
    from protobuf_wire import delimited, encode_reply

    out = []
    for line in text.split("\n"):
        if not line:
            continue
        try:
            messages = _JSON.decode(line)  # none for a blank line
        except DecodeError:
            out.append(REFUSED)
            continue
        out += [encode_reply(map_incoming(m, _to_bytes)) for m in messages]
    return delimited(out)


def commands_to_lines(message: bytes) -> str:
    """The client's Protobuf commands → the JSON lines the tests read."""
    from protobuf_wire import decode_command_messages

    lines = []
    for command in decode_command_messages(message):
        obj: dict[str, Any] = {}
        if command.id:
            obj["id"] = command.id
        if command.method:
            obj[command.method] = _params_to_json(command.method, dict(command.params))
        lines.append(json.dumps(obj, separators=(",", ":"), ensure_ascii=False))
    return "\n".join(lines)


def _params_to_json(method: str, params: dict[str, Any]) -> dict[str, Any]:
    if "data" in params:
        params["data"] = _from_bytes(params["data"])
    if method == "connect" and "subs" in params:
        params["subs"] = {
            ch: _params_to_json("subscribe", dict(s)) for ch, s in params["subs"].items()
        }
    return params
