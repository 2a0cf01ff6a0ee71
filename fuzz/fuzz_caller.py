"""Fuzz the caller's side of ``ClientProtocol`` (issue "Hardening", Evidence).

The input is a program: each step is a facade call with arguments built from the
input's bytes (of every type: str with lone surrogates, bytes, huge ints, NaN,
lists, made-up ``TokenRequested``, ``StreamPosition``s of the wrong types...), a
server frame (structured frames from ``_common``, after a connect reply the
harness gives), or a clock jump. Accepted: a call returns, or raises
``LocalProtocolError`` and leaves the client exactly as it was (state,
subscriptions, ``next_deadline()``, the bytes and events not yet taken);
``receive_data``, ``receive_eof``, ``handle_timeout`` and ``data_to_send`` never
raise; a connecting client always has a deadline. Anything else is a crash.

    python fuzz/fuzz_caller.py [libFuzzer flags] [corpus dirs]
"""

from __future__ import annotations

import math
from typing import Any

import _common
from _common import Input

with _common.instrumented():
    from centrifugo_proto import (
        ClientOptions,
        ClientProtocol,
        ClientState,
        LocalProtocolError,
        OpenTransport,
        StreamPosition,
        TokenRequested,
    )
    from centrifugo_proto.filters import tags

ACCEPT = _common.fix_nonce()
OPTIONS = ClientOptions(timeout=5.0, min_reconnect_delay=0.5, max_reconnect_delay=4.0)


class _Half:
    def random(self) -> float:
        return 0.5


def junk(inp: Input) -> Any:
    """A value of some type and shape, from the input's bytes."""
    kind = inp.byte() % 16
    size = inp.byte() % 8
    raw = inp.take(size)
    if kind == 0:
        return None
    if kind == 1:
        return bool(size & 1)
    if kind == 2:
        return int.from_bytes(raw or b"\0", "big", signed=True)
    if kind == 3:
        return 10 ** (size * 50)
    if kind == 4:
        return (math.nan, math.inf, -math.inf, 0.5, -1.0)[size % 5]
    if kind == 5:
        return (
            raw.decode("utf-16-le", "surrogatepass") if len(raw) % 2 == 0 else raw.decode("latin-1")
        )
    if kind == 6:
        return raw
    if kind == 7:
        return list(raw)
    if kind == 8:
        return {raw.decode("latin-1"): size}
    if kind == 9:
        return object()
    if kind == 10:
        return StreamPosition(int.from_bytes(raw or b"\0", "big") - 1, raw.decode("latin-1"))
    if kind == 11:
        return TokenRequested(request_id=size - 1, channel=None)
    if kind == 12:
        return tags.eq("k", "v")
    if kind == 13:
        return ("room", "chat:a", "fossil", "", "x" * 300)[size % 5]
    if kind == 14:
        return {"text": raw.decode("latin-1"), "n": size}
    return [[[[raw]]]] if size & 1 else "\udcff"


CALLS = [
    ("publish", 2, ()),
    ("history", 1, ("limit", "since", "reverse")),
    ("presence", 1, ()),
    ("presence_stats", 1, ()),
    ("rpc", 2, ()),
    ("send", 1, ()),
    ("subscribe", 1, ("token", "data", "recoverable", "since", "delta", "tags_filter")),
    ("unsubscribe", 1, ()),
    ("remove_subscription", 1, ()),
    ("connect", 0, ()),
    ("disconnect", 0, ()),
    ("provide_token", 2, ()),
    ("token_failed", 1, ("unauthorized",)),
    ("transport_failed", 1, ()),
    ("tls_started", 0, ()),
]


def frames(inp: Input) -> bytes:
    """One to three WebSocket frames from the input (flags byte, length byte, payload),
    mostly text, as ``_common.structured_frames`` builds them."""
    out = bytearray()
    for _ in range(1 + inp.byte() % 3):
        flags, size = inp.byte(), inp.byte()
        opcode = (0x1, 0x1, 0x1, 0x0, 0x2, 0x8, 0x9, 0xA)[flags & 0x7]
        out += _common.frame(opcode, inp.take(size), fin=not flags & 0x8)
    return bytes(out)


def snapshot(client: ClientProtocol) -> tuple[Any, ...]:
    return (
        client.state,
        client.subscription_states(),
        client.next_deadline(),
        bytes(client._out),
        list(client._events),
    )


def drain(client: ClientProtocol, now: float, state: dict[str, Any]) -> None:
    client.data_to_send()
    while (event := client.next_event()) is not None:
        if isinstance(event, OpenTransport):
            client.transport_opened(now=now)
            client.data_to_send()
            state["open"] = True
            reply = _common.connect_reply(pong=True, ping=25)
            client.receive_data(ACCEPT + _common.text(reply), now=now)
        elif isinstance(event, TokenRequested):
            state["requests"].append(event)
    client.data_to_send()
    if client.state is ClientState.CONNECTING:
        assert client.next_deadline() is not None, "connecting with nothing to wait for"


def test_one_input(data: bytes) -> None:
    inp = Input(data)
    client = ClientProtocol(
        _common.ENDPOINT, options=OPTIONS, rng=_Half(), has_token_source=bool(inp.byte() & 1)
    )
    now = 1.0
    state: dict[str, Any] = {"open": False, "requests": []}
    client.connect(now=now)
    drain(client, now, state)
    for _ in range(48):
        if not inp.left:
            break
        step = inp.byte() % 8
        if step < 4:
            name, positional, keywords = CALLS[inp.byte() % len(CALLS)]
            args = [junk(inp) for _ in range(positional)]
            kwargs = {key: junk(inp) for key in keywords if inp.byte() & 1}
            if name != "remove_subscription":
                kwargs["now"] = junk(inp) if inp.byte() & 1 else now
            before = snapshot(client)
            try:
                getattr(client, name)(*args, **kwargs)
            except LocalProtocolError:
                assert snapshot(client) == before, f"{name} refused but changed the client"
        elif step < 6 and state["open"]:
            client.receive_data(frames(inp), now=now)
        elif step == 6 and state["requests"]:
            request = state["requests"].pop(0)
            client.provide_token(request, "tok" if inp.byte() & 1 else "", now=now)
        else:
            now += (0.0, 0.5, 3.0, 30.0)[inp.byte() % 4]
            client.handle_timeout(now=now)
        drain(client, now, state)
    client.receive_eof(now=now)
    drain(client, now, state)


if __name__ == "__main__":
    _common.main(test_one_input, "fuzz_caller")
