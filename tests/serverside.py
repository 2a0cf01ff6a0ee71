"""The server half of the protocol, for core unit tests only.

A fake Centrifugo server that builds the server's bytes itself: a wsproto
server-side connection accepts the client's handshake and frames the server's
messages; a small JSON server codec decodes the client's commands and encodes
replies and pushes. Tests drive a :class:`~centrifugo_proto.ClientProtocol`
against it with explicit ``now=`` values: no sockets, no clock, no sleeps.

The client's outgoing bytes are always decoded by the server-side wsproto
(wsproto masks client frames with random keys, so raw bytes never compare).

Nothing here is a test of the server side: it is written to be strict about
what the client sends (one compact JSON object per line, no empty lines, no
bytes after the client's close frame), so client bugs fail loudly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from binary_codec import BinaryJsonCodec
from wsproto import WSConnection
from wsproto.connection import ConnectionState, ConnectionType
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)

from centrifugo_proto import ClientOptions, ClientProtocol, Event, OpenTransport
from centrifugo_proto.messages import (
    Ignored,
    Incoming,
    Join,
    Leave,
    Push,
    PushBody,
    Reply,
    ServerDisconnect,
    ServerMessage,
    ServerPing,
    ServerSubscribe,
    ServerUnsubscribe,
)
from centrifugo_proto.results import (
    ClientInfo,
    ConnectResult,
    HistoryResult,
    PresenceResult,
    PresenceStatsResult,
    Publication,
    PublishResult,
    RefreshResult,
    RpcResult,
    SubRefreshResult,
    SubscribeResult,
    UnsubscribeResult,
)

__all__ = [
    "ENDPOINT",
    "FakeServer",
    "FixedRandom",
    "Line",
    "ServerWebSocket",
    "client_info_to_wire",
    "command_from_wire",
    "connect_reply",
    "connected_pair",
    "decode_command_objects",
    "decode_commands",
    "encode_incoming",
    "encode_line",
    "encode_replies",
    "error",
    "incoming_to_wire",
    "make_client",
    "only",
    "options",
    "ping",
    "publication_to_wire",
    "push_join",
    "push_leave",
    "push_message",
    "push_pub",
    "push_subscribe",
    "push_unsubscribe",
    "reply",
    "result_to_wire",
    "subscribe_result_to_wire",
]

#: The codec the core's unit suite runs with: the JSON codec, or with
#: ``CENTRIFUGO_TEST_CODEC=binary-json`` the test-only second codec (``binary_codec.py``),
#: which sends the same JSON lines in binary frames under a subprotocol of its own, or
#: with ``CENTRIFUGO_TEST_CODEC=protobuf`` the Protobuf codec (``protobuf_json.py``: the
#: tests' JSON lines become the server's Protobuf messages and back).
CODEC = os.environ.get("CENTRIFUGO_TEST_CODEC", "json")
if CODEC not in ("json", "binary-json", "protobuf"):  # pragma: no cover - a typo
    raise RuntimeError(
        f"CENTRIFUGO_TEST_CODEC must be json, binary-json or protobuf, not {CODEC!r}"
    )
BINARY = CODEC in ("binary-json", "protobuf")
PROTOBUF = CODEC == "protobuf"

ENDPOINT = "ws://centrifugo.test:8000/connection/websocket"

Line = dict[str, Any] | str


# -- the JSON server codec -------------------------------------------------------------


@attrs.frozen
class Command:
    """One client command as the server reads it: ``method`` names the Command field
    (``connect``, ``publish``...), ``params`` are its request's fields as decoded.
    ``id`` 0 with method ``""`` is the pong (an empty Command, §4); ``send`` also
    goes without an id (§2.3). The client's own commands are typed
    (``centrifugo_proto.commands``); this is the wire view tests compare with."""

    id: int
    method: str
    params: Mapping[str, Any]


#: The pong as the server reads it: an empty Command.
PONG = Command(0, "", {})


def encode_line(line: Line) -> str:
    """One reply as a compact JSON line; a ``str`` passes through (for bad input)."""
    if isinstance(line, str):
        return line
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False)


def encode_replies(*lines: Line) -> str:
    """Replies and pushes joined by single newlines, no trailing one (PROTOCOL §1.1)."""
    return "\n".join(encode_line(line) for line in lines)


def decode_commands(text: str) -> list[dict[str, Any]]:
    """A client frame to its commands, as strict as the real server.

    The server accepts one trailing newline and no empty line in between (an
    empty segment is a 3501 disconnect there); here it fails the test.
    """
    if text.endswith("\n"):
        text = text[:-1]
    commands = []
    for segment in text.split("\n"):
        assert segment, f"empty command line in client frame {text!r}"
        command = json.loads(segment)
        assert isinstance(command, dict), f"command is not an object: {segment!r}"
        commands.append(command)
    return commands


# -- frame builders --------------------------------------------------------------------


def reply(id: int, **result: Any) -> dict[str, Any]:
    """A reply to command ``id``: ``reply(2, subscribe={"offset": 3})``."""
    return {"id": id, **result}


def connect_reply(
    id: int = 1,
    *,
    client: str = "client-1",
    ping: int = 25,
    pong: bool = True,
    **result: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"client": client, "version": "6.9.1"}
    if ping:
        body["ping"] = ping
    if pong:
        body["pong"] = True
    body.update(result)
    return reply(id, connect=body)


def error(id: int | str, code: int, message: str, temporary: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if temporary:
        body["temporary"] = True
    return {"id": id, "error": body}


def push_pub(channel: str, data: Any, offset: int = 0, **extra: Any) -> dict[str, Any]:
    pub: dict[str, Any] = {"data": data}
    if offset:
        pub["offset"] = offset
    pub.update(extra)
    return {"push": {"channel": channel, "pub": pub}}


def ping() -> dict[str, Any]:
    """The server ping: an empty Reply (PROTOCOL §4)."""
    return {}


def _info(user: str, client: str) -> dict[str, Any]:
    return {"user": user, "client": client}


def push_join(channel: str, user: str = "42", client: str = "other") -> dict[str, Any]:
    return {"push": {"channel": channel, "join": {"info": _info(user, client)}}}


def push_leave(channel: str, user: str = "42", client: str = "other") -> dict[str, Any]:
    return {"push": {"channel": channel, "leave": {"info": _info(user, client)}}}


def push_unsubscribe(channel: str, code: int, reason: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {"code": code}
    if reason:
        body["reason"] = reason
    return {"push": {"channel": channel, "unsubscribe": body}}


def push_subscribe(channel: str, **result: Any) -> dict[str, Any]:
    return {"push": {"channel": channel, "subscribe": result}}


def push_message(data: Any) -> dict[str, Any]:
    return {"push": {"message": {"data": data}}}


# -- the server's WebSocket ------------------------------------------------------------


class ServerWebSocket:
    """One server-side WebSocket connection (wsproto), accepting any handshake."""

    def __init__(self) -> None:
        self.ws = WSConnection(ConnectionType.SERVER)
        self.request: Request | None = None
        #: Whole messages from the client, in order, not yet taken.
        self.messages: list[str | bytes] = []
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._parts: list[str | bytes | bytearray] = []

    @property
    def closed(self) -> bool:
        """A close frame went one way or the other: no more messages on this one."""
        return self.ws.state in (
            ConnectionState.CLOSED,
            ConnectionState.REMOTE_CLOSING,
            ConnectionState.LOCAL_CLOSING,
        )

    def receive(self, data: bytes) -> bytes:
        """Feed client bytes; returns the server's answer (the 101, close replies)."""
        assert self.ws.state is not ConnectionState.CLOSED, (
            f"client wrote {len(data)} bytes after the closing handshake"
        )
        self.ws.receive_data(data)
        out = b""
        for event in self.ws.events():
            if isinstance(event, Request):
                self.request = event
                # Accept the subprotocol the client asks for (the test codec's).
                chosen = event.subprotocols[0] if event.subprotocols else None
                out += self.ws.send(AcceptConnection(subprotocol=chosen))
            elif isinstance(event, TextMessage | BytesMessage):
                self._parts.append(event.data)
                if event.message_finished:
                    parts, self._parts = self._parts, []
                    if isinstance(parts[0], str):
                        self.messages.append("".join(str(p) for p in parts))
                    else:
                        self.messages.append(b"".join(p for p in parts if not isinstance(p, str)))
            elif isinstance(event, CloseConnection):
                self.close_code = event.code
                self.close_reason = event.reason
                if self.ws.state is ConnectionState.REMOTE_CLOSING:
                    out += self.ws.send(event.response())
            elif isinstance(event, Ping):
                out += self.ws.send(event.response())
            elif isinstance(event, Pong):
                pass  # the client answering a WebSocket ping some test sent
            else:  # pragma: no cover - the client sends nothing else
                raise AssertionError(f"unexpected client event {event!r}")
        return out

    def send_message(self, text: str) -> bytes:
        """One message carrying ``text`` (JSON lines), in the frame kind of the codec
        under test: a text frame, or the UTF-8 bytes in a binary frame."""
        if PROTOBUF:
            from protobuf_json import lines_to_protobuf

            return self.ws.send(BytesMessage(data=lines_to_protobuf(text)))
        if BINARY:
            return self.ws.send(BytesMessage(data=text.encode("utf-8")))
        return self.ws.send(TextMessage(data=text))

    def send_other_kind(self, text: str) -> bytes:
        """A message in the frame kind the codec under test does not use."""
        if BINARY:
            return self.ws.send(TextMessage(data=text))
        return self.ws.send(BytesMessage(data=text.encode("utf-8")))

    def send_text(self, text: str) -> bytes:
        return self.ws.send(TextMessage(data=text))

    def send_bytes(self, data: bytes) -> bytes:
        return self.ws.send(BytesMessage(data=data))

    def close_frame(self, code: int, reason: str = "") -> bytes:
        return self.ws.send(CloseConnection(code=code, reason=reason))


# -- driving a client ------------------------------------------------------------------


class FixedRandom:
    """An ``rng`` whose ``random()`` is always ``value``: backoff delays are exact."""

    def __init__(self, value: float = 0.5) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def make_client(**kwargs: Any) -> ClientProtocol:
    """A client for the fake server, with a fixed rng unless one is given."""
    kwargs.setdefault("rng", FixedRandom())
    if PROTOBUF:
        from protobuf_json import JsonPayloadProtobufCodec

        kwargs.setdefault("codec", JsonPayloadProtobufCodec())
    elif BINARY:
        kwargs.setdefault("codec", BinaryJsonCodec())
    endpoints = kwargs.pop("endpoints", ENDPOINT)
    return ClientProtocol(endpoints, **kwargs)


class FakeServer:
    """Plays the server for one :class:`ClientProtocol`, connection after connection."""

    def __init__(self, client: ClientProtocol) -> None:
        self.client = client
        self.ws: ServerWebSocket | None = None
        #: Every server-side connection so far, oldest first.
        self.connections: list[ServerWebSocket] = []
        #: The last ``connect`` command's params.
        self.last_connect: dict[str, Any] | None = None
        #: The ``OpenTransport`` drained by :meth:`events` and not yet acted on.
        self.open_request: OpenTransport | None = None

    # -- reading what the client did --

    def events(self) -> list[Event]:
        """Drain the client's events."""
        out = []
        while (event := self.client.next_event()) is not None:
            if isinstance(event, OpenTransport):
                self.open_request = event
            out.append(event)
        return out

    def pump(self) -> None:
        """Move the client's pending bytes into the current server connection."""
        data = self.client.data_to_send()
        if not data:
            return
        assert self.ws is not None, "the client wrote bytes with no transport open"
        self.ws.receive(data)

    def messages(self) -> list[list[dict[str, Any]]]:
        """The client's WebSocket messages since the last call, each as its commands."""
        self.pump()
        if self.ws is None:
            return []
        raw, self.ws.messages = self.ws.messages, []
        out = []
        for message in raw:
            out.append(decode_commands(message_text(message)))
        return out

    def commands(self) -> list[dict[str, Any]]:
        """The client's commands since the last call, across messages."""
        return [command for message in self.messages() for command in message]

    # -- writing to the client --

    def send(self, *lines: Line) -> bytes:
        """The bytes of one frame holding ``lines`` (of the codec under test's kind)."""
        assert self.ws is not None
        return self.ws.send_message(encode_replies(*lines))

    def send_bytes(self, data: bytes) -> bytes:
        assert self.ws is not None
        return self.ws.send_bytes(data)

    def close_frame(self, code: int, reason: str = "") -> bytes:
        assert self.ws is not None
        return self.ws.close_frame(code, reason)

    def feed(self, *lines: Line, now: float) -> list[Event]:
        """Send one frame of ``lines`` to the client; returns the events drained after."""
        self.client.receive_data(self.send(*lines), now=now)
        return self.events()

    # -- the connection dance --

    def open(self, *, now: float) -> None:
        """The adapter's part after ``OpenTransport``: socket up, WebSocket handshake."""
        self.pump()  # what the client still wrote on the previous connection
        self.events()
        assert self.open_request is not None, "the client asked for no transport"
        self.open_request = None
        self.client.transport_opened(now=now)
        self.ws = ServerWebSocket()
        self.connections.append(self.ws)
        accept = self.ws.receive(self.client.data_to_send())
        assert self.ws.request is not None, "no handshake request from the client"
        self.client.receive_data(accept, now=now)

    def accept_connect(self, *, now: float, **result: Any) -> list[Event]:
        """Open the transport the client asked for, read its connect command, answer it.

        ``result`` goes to :func:`connect_reply` (``client``, ``ping``, ``pong``,
        ``expires``, ``ttl``, ``subs``...). Returns the events since the last drain.
        """
        events = self.events()
        self.open(now=now)
        messages = self.messages()
        assert len(messages) == 1, messages
        assert len(messages[0]) == 1, messages
        (command,) = messages[0]
        assert set(command) == {"id", "connect"}, command
        assert command["id"] == 1, command
        self.last_connect = command["connect"]
        return events + self.feed(connect_reply(1, **result), now=now)

    def connect(self, *, now: float, **result: Any) -> list[Event]:
        """``connect(now=)`` on the client, then :meth:`accept_connect`."""
        self.client.connect(now=now)
        return self.accept_connect(now=now, **result)


def connected_pair(
    *, now: float = 0.0, result: dict[str, Any] | None = None, **client_kwargs: Any
) -> tuple[ClientProtocol, FakeServer]:
    """A client connected to a fake server, its events drained."""
    client = make_client(**client_kwargs)
    server = FakeServer(client)
    server.connect(now=now, **(result or {}))
    return client, server


def options(**kwargs: Any) -> ClientOptions:
    """ClientOptions with round numbers, so expected delays are easy to state."""
    defaults: dict[str, Any] = {
        "timeout": 5.0,
        "min_reconnect_delay": 1.0,
        "max_reconnect_delay": 8.0,
        "min_resubscribe_delay": 2.0,
        "max_resubscribe_delay": 16.0,
        "max_server_ping_delay": 10.0,
    }
    defaults.update(kwargs)
    return ClientOptions(**defaults)


def only(events: Iterable[Event], kind: type[Any]) -> list[Any]:
    """The events of one type, in order."""
    return [e for e in events if isinstance(e, kind)]


# -- the typed server half of the JSON codec (property tests, fuzz corpus) ---------------
# Where the helpers above build dicts by hand, these go from the core's own protocol
# objects to the wire and back, so a property can say "encodes and decodes back equal".


def _omit_zero(fields: dict[str, Any]) -> dict[str, Any]:
    """What the server's JSON encoder does with scalar fields: zero values are left
    out (PROTOCOL §1.1). Never used on payloads, where ``0`` and ``""`` are data."""
    return {
        k: v for k, v in fields.items() if v is not None and v is not False and v != 0 and v != ""
    }


def client_info_to_wire(info: ClientInfo) -> dict[str, Any]:
    out = _omit_zero({"user": info.user, "client": info.client})
    # Payloads are JSON values: ``{}`` or ``0`` is data, only None is absent.
    if info.conn_info is not None:
        out["conn_info"] = info.conn_info
    if info.chan_info is not None:
        out["chan_info"] = info.chan_info
    return out


def publication_to_wire(pub: Publication) -> dict[str, Any]:
    """A Publication as the server writes it; ``channel`` only when it is set."""
    out: dict[str, Any] = {}
    if pub.data is not None:
        out["data"] = pub.data
    if pub.info is not None:
        out["info"] = client_info_to_wire(pub.info)
    if pub.offset:
        out["offset"] = pub.offset
    if pub.tags is not None:
        out["tags"] = dict(pub.tags)
    if pub.time:
        out["time"] = pub.time
    if pub.channel:
        out["channel"] = pub.channel
    if pub.epoch:
        out["epoch"] = pub.epoch
    if pub.delta:
        out["delta"] = True
    return out


def subscribe_result_to_wire(result: SubscribeResult) -> dict[str, Any]:
    out = _omit_zero(
        {
            "expires": result.expires,
            "ttl": result.ttl,
            "recoverable": result.recoverable,
            "positioned": result.positioned,
            "epoch": result.epoch,
            "offset": result.offset,
            "recovered": result.recovered,
            "was_recovering": result.was_recovering,
            "delta": result.delta,
        }
    )
    if result.publications:
        out["publications"] = [publication_to_wire(p) for p in result.publications]
    if result.data is not None:
        out["data"] = result.data
    return out


def result_to_wire(result: Any) -> tuple[str, dict[str, Any]]:
    """A command result → (Reply field, JSON body)."""
    if isinstance(result, ConnectResult):
        body = _omit_zero(
            {
                "client": result.client,
                "version": result.version,
                "expires": result.expires,
                "ttl": result.ttl,
                "ping": result.ping,
                "pong": result.pong,
                "session": result.session,
                "node": result.node,
                "time": result.time,
            }
        )
        if result.data is not None:
            body["data"] = result.data
        if result.subs:
            body["subs"] = {ch: subscribe_result_to_wire(s) for ch, s in result.subs.items()}
        return "connect", body
    if isinstance(result, SubscribeResult):
        return "subscribe", subscribe_result_to_wire(result)
    if isinstance(result, HistoryResult):
        body = _omit_zero({"offset": result.offset, "epoch": result.epoch})
        if result.publications:
            body["publications"] = [publication_to_wire(p) for p in result.publications]
        return "history", body
    if isinstance(result, PresenceResult):
        clients = {cid: client_info_to_wire(info) for cid, info in result.clients.items()}
        return "presence", {"presence": clients} if clients else {}
    if isinstance(result, PresenceStatsResult):
        return "presence_stats", _omit_zero(
            {"num_clients": result.num_clients, "num_users": result.num_users}
        )
    if isinstance(result, RpcResult):
        return "rpc", {} if result.data is None else {"data": result.data}
    if isinstance(result, RefreshResult):
        return "refresh", _omit_zero(
            {
                "client": result.client,
                "version": result.version,
                "expires": result.expires,
                "ttl": result.ttl,
            }
        )
    if isinstance(result, SubRefreshResult):
        return "sub_refresh", _omit_zero({"expires": result.expires, "ttl": result.ttl})
    if isinstance(result, PublishResult):
        return "publish", {}
    if isinstance(result, UnsubscribeResult):
        return "unsubscribe", {}
    raise TypeError(f"no wire form for result {result!r}")


def _push_body_to_wire(body: PushBody) -> tuple[str, dict[str, Any]]:
    if isinstance(body, Join | Leave):
        return ("join" if isinstance(body, Join) else "leave"), {
            "info": client_info_to_wire(body.info)
        }
    if isinstance(body, ServerUnsubscribe | ServerDisconnect):
        kind = "unsubscribe" if isinstance(body, ServerUnsubscribe) else "disconnect"
        return kind, _omit_zero({"code": body.code, "reason": body.reason})
    if isinstance(body, ServerSubscribe):
        return "subscribe", subscribe_result_to_wire(body.result)
    if isinstance(body, ServerMessage):
        return "message", {} if body.data is None else {"data": body.data}
    assert isinstance(body, Ignored)
    # connect/refresh pushes reach only unidirectional transports; "unknown" stands for
    # a push kind newer than the client.
    return (body.kind if body.kind != "unknown" else "future_push_kind"), {}


def incoming_to_wire(message: Incoming) -> dict[str, Any]:
    """What the client's decoder yields, back to the server's JSON object."""
    if isinstance(message, ServerPing):
        return {}
    if isinstance(message, Publication):
        push: dict[str, Any] = {"pub": publication_to_wire(attrs.evolve(message, channel=""))}
        if message.channel:
            push["channel"] = message.channel
        return {"push": push}
    if isinstance(message, Push):
        kind, body = _push_body_to_wire(message.body)
        push = {kind: body}
        if message.channel:
            push["channel"] = message.channel
        return {"push": push}
    assert isinstance(message, Reply)
    if message.error is not None:
        return error(message.id, message.error.code, message.error.message, message.error.temporary)
    kind, body = result_to_wire(message.result)
    return {"id": message.id, kind: body}


def encode_incoming(messages: Iterable[Incoming]) -> str:
    """One server frame holding ``messages`` (JSON lines)."""
    return encode_replies(*(incoming_to_wire(m) for m in messages))


def command_from_wire(obj: dict[str, Any]) -> Command:
    """A decoded JSON command back to the core's :class:`Command` (``{}`` is the pong)."""
    obj = dict(obj)
    wire_id = obj.pop("id", 0)
    assert isinstance(wire_id, int), obj
    if not obj:
        assert wire_id == 0, f"an empty command with id {wire_id}"
        return PONG
    assert len(obj) == 1, f"a command sets exactly one method: {obj!r}"
    ((method, params),) = obj.items()
    assert isinstance(params, dict), obj
    return Command(wire_id, method, params)


def decode_command_objects(message: str | bytes) -> list[Command]:
    """A client frame to typed commands (the server half's decoder)."""
    assert isinstance(message, str), f"binary frame from a JSON client: {message!r}"
    return [command_from_wire(c) for c in decode_commands(message)]


def message_text(message: str | bytes) -> str:
    """The JSON lines of a client message, in the frame kind of the codec under test."""
    if PROTOBUF:
        from protobuf_json import commands_to_lines

        assert isinstance(message, bytes), f"text frame from a Protobuf client: {message!r}"
        return commands_to_lines(message)
    if BINARY:
        assert isinstance(message, bytes), f"text frame from a binary-json client: {message!r}"
        return message.decode("utf-8")
    assert isinstance(message, str), f"binary frame from a JSON client: {message!r}"
    return message
