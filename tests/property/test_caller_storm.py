"""The caller storm (issue "Hardening", Evidence): random calls with random arguments,
interleaved with valid and mutated server frames and clock jumps.

The promise checked after every step (DESIGN "Errors", STYLE-ANCHORS L16):

- a caller's call either succeeds or raises ``LocalProtocolError``, and a refused
  call leaves the client exactly as it was: state, subscription states,
  ``next_deadline()``, the bytes and events not yet taken;
- nothing raises out of ``receive_data``, ``receive_eof``, ``handle_timeout``,
  ``transport_opened``, ``transport_failed`` or ``data_to_send`` called the way the
  contract says (bytes and a finite ``now``), whatever came before;
- a connecting client always has a deadline (it never waits for nothing).

The test plays the adapter and the server: ``OpenTransport`` is answered by a fake
server (``serverside.py``: the test builds every byte) whose frames are either
valid protocol objects or valid frames with bytes flipped, cut or doubled.
"""

from __future__ import annotations

import math
from typing import Any

from codec_pairs import CODECS
from hypothesis import given
from hypothesis import strategies as st
from strategies import incoming

from centrifugo_proto import (
    ClientProtocol,
    ClientState,
    LocalProtocolError,
    OpenTransport,
    StreamPosition,
    TokenRequested,
)
from centrifugo_proto.filters import tags
from serverside import (
    ENDPOINT,
    FixedRandom,
    ServerWebSocket,
    connect_reply,
    encode_replies,
    options,
)

JSON = CODECS[0]

#: Values of every type and shape a caller might hand in by mistake, and good ones.
JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=2**70),
    st.floats(),  # NaN and infinities included
    st.text(alphabet=st.characters(codec=None), max_size=8),  # lone surrogates included
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(object),
    st.builds(StreamPosition, st.integers(-2, 2**65), st.text(max_size=3) | st.binary(max_size=3)),
    st.builds(
        TokenRequested, request_id=st.integers(-1, 50), channel=st.none() | st.text(max_size=3)
    ),
    st.just(tags.eq("k", "v")),
    st.sampled_from(["room", "chat:a", "fossil", "", "x" * 300]),
    JSON.payloads,
)
CHANNELS = st.sampled_from(["room", "chat:a"]) | JUNK
NOW_JUNK = st.sampled_from([math.nan, math.inf, -math.inf, "1.0", None])

#: Facade calls: (name, positional argument strategies, keyword argument strategies).
CALLS: list[tuple[str, list[st.SearchStrategy[Any]], dict[str, st.SearchStrategy[Any]]]] = [
    ("publish", [CHANNELS, JUNK], {}),
    ("history", [CHANNELS], {"limit": JUNK, "since": JUNK, "reverse": JUNK}),
    ("presence", [CHANNELS], {}),
    ("presence_stats", [CHANNELS], {}),
    ("rpc", [JUNK, JUNK], {}),
    ("send", [JUNK], {}),
    (
        "subscribe",
        [CHANNELS],
        {
            "token": JUNK,
            "data": JUNK,
            "recoverable": JUNK,
            "positioned": JUNK,
            "join_leave": JUNK,
            "since": JUNK,
            "has_token_source": JUNK,
            "delta": JUNK,
            "tags_filter": JUNK,
        },
    ),
    ("unsubscribe", [CHANNELS], {}),
    ("remove_subscription", [CHANNELS], {}),
    ("connect", [], {}),
    ("disconnect", [], {}),
    ("provide_token", [JUNK, JUNK], {}),
    ("token_failed", [JUNK], {"unauthorized": JUNK}),
    ("transport_failed", [JUNK], {}),
    ("tls_started", [], {}),
]
#: Calls that take no ``now`` (everything else is keyword-only ``now``).
NO_NOW = {"remove_subscription"}


def snapshot(client: ClientProtocol) -> tuple[Any, ...]:
    return (
        client.state,
        client.subscription_states(),
        client.next_deadline(),
        bytes(client._out),
        list(client._events),
    )


class Driver:
    """The adapter and the server of one client, one step at a time."""

    def __init__(self, token_source: bool) -> None:
        self.client = ClientProtocol(
            ENDPOINT, options=options(), rng=FixedRandom(), has_token_source=token_source
        )
        self.now = 0.0
        self.ws: ServerWebSocket | None = None
        self.requests: list[TokenRequested] = []

    def drain(self) -> None:
        client = self.client
        data = client.data_to_send()
        if data and self.ws is not None and not self.ws.closed:
            self.ws.receive(data)
        while (event := client.next_event()) is not None:
            if isinstance(event, OpenTransport):
                self.ws = None
                client.transport_opened(now=self.now)  # the adapter opened a socket
                self.ws = ServerWebSocket()
                accept = self.ws.receive(client.data_to_send())
                client.receive_data(accept, now=self.now)
            elif isinstance(event, TokenRequested):
                self.requests.append(event)
            elif type(event).__name__ == "CloseTransport":
                self.ws = None
        data = client.data_to_send()
        if data and self.ws is not None and not self.ws.closed:
            self.ws.receive(data)
        if client.state is ClientState.CONNECTING:
            assert client.next_deadline() is not None, "connecting with nothing to wait for"


@given(data=st.data(), token_source=st.booleans())
def test_the_caller_storm(data: st.DataObject, token_source: bool) -> None:
    driver = Driver(token_source)
    client = driver.client
    client.connect(now=0.0)
    driver.drain()
    for _ in range(data.draw(st.integers(5, 40), label="steps")):
        kind = data.draw(st.sampled_from(["call", "call", "server", "mutated", "time", "answer"]))
        if kind == "call":
            name, positional, keywords = CALLS[data.draw(st.integers(0, len(CALLS) - 1))]
            data.draw(st.just(name), label="call")
            args = [data.draw(s) for s in positional]
            kwargs = {k: data.draw(s) for k, s in keywords.items() if data.draw(st.booleans())}
            if name not in NO_NOW:
                kwargs["now"] = data.draw(NOW_JUNK) if data.draw(st.booleans()) else driver.now
            before = snapshot(client)
            try:
                getattr(client, name)(*args, **kwargs)
            except LocalProtocolError:
                assert snapshot(client) == before, f"{name} refused but changed the client"
        elif kind == "answer" and driver.requests:
            request = driver.requests.pop(0)
            if data.draw(st.booleans()):
                client.provide_token(
                    request, data.draw(st.sampled_from(["", "tok"])), now=driver.now
                )
            else:
                client.token_failed(request, data.draw(st.booleans()), now=driver.now)
        elif kind in ("server", "mutated") and driver.ws is not None and not driver.ws.closed:
            if data.draw(st.booleans()):
                lines = [connect_reply(1, ping=25, pong=True)]
                frame = driver.ws.send_message(encode_replies(*lines))
            else:
                messages = data.draw(st.lists(incoming(JSON.payloads), min_size=1, max_size=3))
                frame = JSON.frame(driver.ws, messages)
            if kind == "mutated" and frame:
                position = data.draw(st.integers(0, len(frame) - 1))
                how = data.draw(st.sampled_from(["flip", "cut", "double"]))
                if how == "flip":
                    frame = (
                        frame[:position] + bytes([frame[position] ^ 0xFF]) + frame[position + 1 :]
                    )
                elif how == "cut":
                    frame = frame[:position]
                else:
                    frame = frame + frame[position:]
            client.receive_data(frame, now=driver.now)
            if data.draw(st.integers(0, 9)) == 0:
                client.receive_eof(now=driver.now)
        elif kind == "time":
            driver.now += data.draw(st.sampled_from([0.0, 0.5, 3.0, 30.0, 400.0]))
            client.handle_timeout(now=driver.now)
        driver.drain()
