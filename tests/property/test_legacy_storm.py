"""A storm of 1.x server frames at a connected 1.x client (issue "The seed's own
protocol", Evidence): valid entries of every kind, entries that break the 1.x
grammar, and frames cut or flipped, split at random points.

Whatever arrives: nothing raises out of ``receive_data``, ``receive_eof`` or
``handle_timeout``; a frame that breaks the grammar goes through the same
bad-protocol path as in current mode (the client ends the connection and
reconnects: connecting, with a deadline); a connecting client has a deadline.

The fake server is the test's own (``legacy_serverside.py``).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from legacy_serverside import LegacyServer, make_legacy_client

from centrifugo_proto import ClientState, Connecting, ConnectingCode
from centrifugo_proto.legacy import Credentials

TEXT = st.text(max_size=8)
INFO = st.fixed_dictionaries(
    {"user": TEXT, "client": TEXT}, optional={"default_info": st.none() | st.integers()}
)
CHANNELS = st.sampled_from(["news", "public:chat", "$secret", "news&c1", ""])
METHODS = st.sampled_from(
    ["connect", "refresh", "subscribe", "unsubscribe", "publish", "presence", "history", "ping"]
)


def _messages() -> st.SearchStrategy[list[dict[str, Any]]]:
    one = st.fixed_dictionaries(
        {"uid": TEXT, "channel": CHANNELS, "data": st.integers() | TEXT},
        optional={"info": INFO, "client": TEXT},
    )
    return st.lists(one, max_size=3)


#: Entries a 1.x server may send (§2-§4), with uids that may or may not be pending.
ENTRIES: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.builds(
        lambda channel, data, uid: {
            "method": "message",
            "body": {"uid": uid, "channel": channel, "data": data},
        },
        CHANNELS,
        st.integers() | TEXT,
        TEXT,
    ),
    st.builds(
        lambda kind, channel, info: {"method": kind, "body": {"channel": channel, "data": info}},
        st.sampled_from(["join", "leave"]),
        CHANNELS,
        INFO,
    ),
    st.builds(
        lambda c: {"method": "unsubscribe", "body": {"channel": c, "status": True}}, CHANNELS
    ),
    st.builds(
        lambda uid, method, channel, messages, recovered, error: {
            "uid": uid,
            "method": method,
            "body": {
                "channel": channel,
                "status": True,
                "messages": messages,
                "recovered": recovered,
                "data": None,
            },
            **({"error": error, "advice": "fix"} if error else {}),
        },
        st.sampled_from(["2", "3", "4", "5", "99"]),
        METHODS,
        CHANNELS,
        st.none() | _messages(),
        st.booleans(),
        st.none() | st.sampled_from(["permission denied", "not available", "odd"]),
    ),
    st.builds(
        lambda r: {"method": "disconnect", "body": {"reason": r, "reconnect": True}},
        st.sampled_from(["shutting down", "expired"]),
    ),
)
#: What breaks the 1.x grammar (a decode error: bad protocol).
BROKEN = st.sampled_from(
    ['{"uid":7}', "[1,2]", '"text"', "{oops", '{"uid":"2","method":"frobnicate"}', '{"method":5}']
)


@given(
    frames=st.lists(
        st.one_of(
            st.lists(ENTRIES, min_size=1, max_size=3).map(
                lambda e: json.dumps(e[0] if len(e) == 1 else e)
            ),
            BROKEN,
        ),
        min_size=1,
        max_size=6,
    ),
    cut=st.integers(1, 40),
    eof=st.booleans(),
)
def test_the_1x_frame_storm(frames: list[str], cut: int, eof: bool) -> None:
    client = make_legacy_client(token=Credentials("42", "1500000000", "t" * 64))
    server = LegacyServer(client)
    client.subscribe("news", recoverable=True, now=0.0)
    client.subscribe("$secret", now=0.0)
    client.connect(now=0.0)
    server.connect(now=0.0)
    server.commands()
    client.publish("news", {"x": 1}, now=0.0)
    client.presence("news", now=0.0)
    server.commands()
    assert server.ws is not None
    stream = b"".join(server.ws.send_text(frame) for frame in frames)
    now = 0.0
    for start in range(0, len(stream), cut):
        client.receive_data(stream[start : start + cut], now=now)
        now += 0.25
        client.handle_timeout(now=now)
        server.events()
        if client.state is ClientState.CONNECTING:
            assert client.next_deadline() is not None
    if eof:
        client.receive_eof(now=now)
    events = server.events()
    for event in events:
        if isinstance(event, Connecting):
            assert event.code in set(ConnectingCode) | {3000}
    if any(frame in BROKEN_FRAMES for frame in frames):
        assert client.state is not ClientState.CONNECTED  # the grammar broke: the connection ended
    for now_after in (now + 30.0, now + 60.0):
        client.handle_timeout(now=now_after)
    assert client.state in (ClientState.CONNECTING, ClientState.DISCONNECTED, ClientState.CONNECTED)


BROKEN_FRAMES = frozenset(
    ['{"uid":7}', "[1,2]", '"text"', "{oops", '{"uid":"2","method":"frobnicate"}', '{"method":5}']
)
