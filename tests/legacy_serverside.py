"""The server half of the 1.x protocol, for core unit tests only (LEGACY-V1.md §1-§4).

A fake Centrifugo 1.x that builds the server's bytes itself: a wsproto server
connection (``serverside.ServerWebSocket``), commands read back from the client's
frames (one object, or an array for a batch), replies and asynchronous messages
written as the real 1.8.0 writes them (§11: key order aside). Nothing here tests
the server side; it is strict about what the client sends.
"""

from __future__ import annotations

import json
from typing import Any

from centrifugo_proto import ClientProtocol, Event, OpenTransport
from serverside import ENDPOINT, FixedRandom, ServerWebSocket, options


def make_legacy_client(**kwargs: Any) -> ClientProtocol:
    kwargs.setdefault("rng", FixedRandom())
    kwargs.setdefault("options", options())
    return ClientProtocol(kwargs.pop("endpoints", ENDPOINT), protocol="v1", **kwargs)


class LegacyServer:
    """Plays a 1.x server for one client, connection after connection."""

    def __init__(self, client: ClientProtocol) -> None:
        self.client = client
        self.ws: ServerWebSocket | None = None
        self.connections = 0

    def events(self) -> list[Event]:
        return list(iter(self.client.next_event, None))

    def open(self, *, now: float) -> list[Event]:
        """Answer the client's OpenTransport: socket up, WebSocket handshake done."""
        events = self.events()
        assert any(isinstance(e, OpenTransport) for e in events), events
        self.client.data_to_send()  # nothing of an old connection reaches the new one
        self.client.transport_opened(now=now)
        self.ws = ServerWebSocket()
        self.connections += 1
        self.client.receive_data(self.ws.receive(self.client.data_to_send()), now=now)
        return events + self.events()

    def frames(self) -> list[Any]:
        """The client's messages since the last call, each parsed (object or array)."""
        data = self.client.data_to_send()
        if data:
            assert self.ws is not None, "the client wrote with no transport open"
            self.ws.receive(data)
        if self.ws is None:
            return []
        raw, self.ws.messages = self.ws.messages, []
        out = []
        for message in raw:
            assert isinstance(message, str), f"binary frame from a 1.x client: {message!r}"
            parsed = json.loads(message)
            assert isinstance(parsed, dict | list), message
            if isinstance(parsed, list):
                assert len(parsed) > 1, "a batch of one is sent as an object (§2.10)"
            out.append(parsed)
        return out

    def commands(self) -> list[dict[str, Any]]:
        commands: list[dict[str, Any]] = []
        for frame in self.frames():
            commands.extend(frame if isinstance(frame, list) else [frame])
        for command in commands:
            assert isinstance(command.get("uid"), str), command
            assert command["uid"], command
            assert set(command) <= {"uid", "method", "params"}, command
        return commands

    def send(self, *entries: dict[str, Any], now: float) -> list[Event]:
        """One frame: an object, or an array for several entries (§1)."""
        assert self.ws is not None
        body = entries[0] if len(entries) == 1 else list(entries)
        self.client.receive_data(self.ws.send_text(json.dumps(body)), now=now)
        return self.events()

    def close(self, reason: str | dict[str, Any], *, now: float, code: int = 3000) -> list[Event]:
        assert self.ws is not None
        text = reason if isinstance(reason, str) else json.dumps(reason)
        self.client.receive_data(self.ws.close_frame(code, text), now=now)
        events = self.events()
        self.ws.receive(self.client.data_to_send())  # the client's close reply
        self.ws = None
        return events

    def connect(self, *, now: float, client: str = "c1", **body: Any) -> list[Event]:
        """Open, read the connect command, answer it (``body`` overrides fields)."""
        events = self.open(now=now)
        (command,) = self.commands()
        assert command["method"] == "connect", command
        self.last_connect = command
        reply = {"version": "1.8.0", "client": client, "expires": False, "expired": False, "ttl": 0}
        reply.update(body)
        return events + self.send(
            {"uid": command["uid"], "method": "connect", "body": reply}, now=now
        )


def reply(command: dict[str, Any], body: Any = None, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"uid": command["uid"], "method": command["method"]}
    entry.update(extra)
    if body is not None:
        entry["body"] = body
    return entry


def message(channel: str, data: Any, uid: str, **extra: Any) -> dict[str, Any]:
    return {"method": "message", "body": {"uid": uid, "channel": channel, "data": data, **extra}}


def subscribed(command: dict[str, Any], **body: Any) -> dict[str, Any]:
    channel = command["params"]["channel"]
    full = {"channel": channel, "status": True, "last": "", "messages": None, "recovered": False}
    full.update(body)
    return reply(command, full)
