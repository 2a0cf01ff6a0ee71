"""The caller is an input too (issue "Hardening", DESIGN "Errors", STYLE-ANCHORS L16).

Every value a caller hands the core is checked at that call: a wrong type or shape
raises ``LocalProtocolError`` there and then, before anything is queued, and leaves
the client exactly as it was, so no later ``receive_data``, ``handle_timeout`` or
``data_to_send`` can fail because of it. Each case below was reproduced on the main
of the time: the value was accepted and the *next* ``receive_data`` raised
(``TypeError``, ``UnicodeEncodeError``, ``ValueError``, ``RecursionError``) for ever.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from centrifugo_proto import (
    ClientState,
    LocalProtocolError,
    PublicationReceived,
    StreamPosition,
    TokenRequested,
)
from serverside import (
    FakeServer,
    connected_pair,
    make_client,
    only,
    options,
    ping,
    push_pub,
    reply,
)


def snapshot(client: Any) -> tuple[Any, ...]:
    """What a refused call must leave as it was: state, subscriptions, the deadline
    and the output not yet taken (bytes and events)."""
    states = getattr(client, "subscription_states", None)
    subs = states() if states else {c: s.state for c, s in client._session._subs.items()}
    return (client.state, subs, client.next_deadline(), bytes(client._out), list(client._events))


def short_id(value: Any) -> str:
    """A test id for any argument (``repr`` of 10**5000 raises)."""
    if isinstance(value, dict):
        return ",".join(f"{k}={short_id(v)}" for k, v in value.items())
    if isinstance(value, int) and value.bit_length() > 64:
        return f"<int of {value.bit_length()} bits>"
    return repr(value)[:40]


def refused(client: Any, call: Any) -> None:
    before = snapshot(client)
    with pytest.raises(LocalProtocolError):
        call()
    assert snapshot(client) == before


def still_works(client: Any, server: FakeServer, *, now: float) -> None:
    """The client serves the server's next frames and a later call as if nothing happened."""
    client.receive_data(server.send(ping()), now=now)
    request = client.publish("room", {"after": True}, now=now)
    (command,) = [c for c in server.commands() if "publish" in c]
    assert command["publish"] == {"channel": "room", "data": {"after": True}}
    client.receive_data(server.send(reply(command["id"], publish={})), now=now)
    assert request


BAD_VALUES: list[tuple[str, Any]] = [
    ("bytes", b"room"),
    ("int", 5),
    ("None", None),
    ("lone surrogate", "ro\udcffom"),
    ("unhashable", ["room"]),
]


@pytest.mark.parametrize(("what", "channel"), BAD_VALUES, ids=[w for w, _ in BAD_VALUES])
@pytest.mark.parametrize("method", ["publish", "history", "presence", "presence_stats"])
def test_a_bad_channel_is_refused_by_every_command(what, channel, method):
    client, server = connected_pair(options=options())
    server.events()
    args = (channel, {"x": 1}) if method == "publish" else (channel,)
    refused(client, lambda: getattr(client, method)(*args, now=1.0))
    still_works(client, server, now=1.0)


@pytest.mark.parametrize(("what", "channel"), BAD_VALUES, ids=[w for w, _ in BAD_VALUES])
def test_a_bad_channel_is_refused_by_subscribe_and_unsubscribe(what, channel):
    client, server = connected_pair(options=options())
    server.events()
    refused(client, lambda: client.subscribe(channel, now=1.0))
    refused(client, lambda: client.unsubscribe(channel, now=1.0))
    still_works(client, server, now=1.0)


NOT_JSON: list[tuple[str, Any]] = [
    ("bytes", b"\x00binary"),
    ("a set", {1, 2}),
    ("NaN", math.nan),
    ("infinity", [math.inf]),
    ("lone surrogate", {"text": "\ud800"}),
    ("surrogate key", {"\udcff": 1}),
    ("deep nesting", None),  # built below: 5,000 lists deep
    ("an object", object()),
]


def _payload(what: str, value: Any) -> Any:
    if what == "deep nesting":
        value = []
        for _ in range(5000):
            value = [value]
    return value


@pytest.mark.parametrize(("what", "value"), NOT_JSON, ids=[w for w, _ in NOT_JSON])
def test_data_the_codec_cannot_carry_is_refused_everywhere_data_goes(what, value):
    data = _payload(what, value)
    client, server = connected_pair(options=options())
    server.events()
    refused(client, lambda: client.publish("room", data, now=1.0))
    refused(client, lambda: client.rpc("method", data, now=1.0))
    refused(client, lambda: client.send(data, now=1.0))
    refused(client, lambda: client.subscribe("room", data=data, now=1.0))
    still_works(client, server, now=1.0)
    with pytest.raises(LocalProtocolError):
        make_client(data=data)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": math.nan},
        {"limit": 10**5000},
        {"limit": 2**31},  # HistoryRequest.limit is an int32 (PROTOCOL.md §2.3)
        {"limit": -2},  # -1 means "all"; below that means nothing
        {"limit": "10"},
        {"limit": True},
        {"reverse": "yes"},
        {"since": StreamPosition(b"o", b"e")},  # type: ignore[arg-type]
        {"since": StreamPosition(-1, "e")},
        {"since": StreamPosition(2**64, "e")},
        {"since": StreamPosition(1, "\ud800")},
        {"since": 5},
        {"since": (1, "e")},
    ],
    ids=short_id,
)
def test_bad_history_arguments_are_refused(kwargs):
    client, server = connected_pair(options=options())
    server.events()
    refused(client, lambda: client.history("room", now=1.0, **kwargs))
    still_works(client, server, now=1.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"since": 5},
        {"since": StreamPosition(b"o", b"e")},  # type: ignore[arg-type]
        {"since": StreamPosition(1, "\ud800")},
        {"token": b"header.payload.sig"},
        {"token": "tok\udcff"},
        {"recoverable": "yes"},
        {"join_leave": 1},
    ],
    ids=short_id,
)
def test_bad_subscribe_options_are_refused_before_the_subscription_changes(kwargs):
    client, server = connected_pair(options=options())
    server.events()
    refused(client, lambda: client.subscribe("room", now=1.0, **kwargs))
    assert client.subscription_state("room") is None  # no half-made subscription left
    still_works(client, server, now=1.0)


@pytest.mark.parametrize("method", [b"m", 5, None, "me\ud800thod"], ids=repr)
def test_a_bad_rpc_method_is_refused(method):
    client, server = connected_pair(options=options())
    server.events()
    refused(client, lambda: client.rpc(method, {"x": 1}, now=1.0))
    still_works(client, server, now=1.0)


@pytest.mark.parametrize(
    "token",
    [b"header.payload.sig", 42, "tok\udcff", ["a"]],
    ids=["bytes (PyJWT 1.x returns bytes)", "int", "lone surrogate", "list"],
)
def test_a_bad_token_answer_is_refused_and_the_request_stays_open(token):
    client = make_client(options=options(), has_token_source=True)
    server = FakeServer(client)
    client.connect(now=0.0)
    (request,) = only(server.events(), TokenRequested)
    refused(client, lambda: client.provide_token(request, token, now=0.0))
    client.provide_token(request, "good-token", now=0.0)  # the request is still answerable
    server.accept_connect(now=0.0)
    assert server.last_connect == {"token": "good-token", "name": "python"}
    assert client.state is ClientState.CONNECTED


@pytest.mark.parametrize(
    "request_",
    [None, "x", 1, TokenRequested(request_id="1", channel=None)],  # type: ignore[arg-type]
    ids=short_id,
)
def test_a_made_up_token_request_is_refused(request_):
    client = make_client(options=options(), has_token_source=True)
    server = FakeServer(client)
    client.connect(now=0.0)
    server.events()
    refused(client, lambda: client.provide_token(request_, "tok", now=0.0))
    refused(client, lambda: client.token_failed(request_, now=0.0))


def test_a_stale_token_request_is_ignored_quietly():
    """An answer for a request the core no longer waits for is not misuse (DESIGN
    "Effects"): the caller cannot know the attempt was given up."""
    client = make_client(options=options(), has_token_source=True)
    server = FakeServer(client)
    client.connect(now=0.0)
    (request,) = only(server.events(), TokenRequested)
    client.disconnect(now=0.0)
    server.events()
    client.provide_token(request, "late", now=0.1)
    assert client.state is ClientState.DISCONNECTED
    assert server.events() == []


@pytest.mark.parametrize("now", [math.nan, math.inf, "1.0", None], ids=repr)
def test_a_bad_now_is_refused(now):
    client, server = connected_pair(options=options())
    server.events()
    refused(client, lambda: client.publish("room", {}, now=now))
    refused(client, lambda: client.handle_timeout(now=now))


@pytest.mark.parametrize(
    "kwargs",
    [{"name": b"python"}, {"version": 1}, {"token": b"t"}, {"token": "t\ud800"}],
    ids=short_id,
)
def test_bad_constructor_arguments_are_refused(kwargs):
    with pytest.raises(LocalProtocolError):
        make_client(**kwargs)


def test_connect_after_close_names_the_callers_call():
    client = make_client()
    client.close(now=0.0)
    with pytest.raises(LocalProtocolError, match=r"^cannot connect\(\): the client is closed"):
        client.connect(now=0.0)


def test_a_refused_call_while_connecting_leaves_the_queue_alone():
    client = make_client(options=options())
    server = FakeServer(client)
    client.connect(now=0.0)
    server.events()
    refused(client, lambda: client.publish(b"room", {}, now=0.0))
    server.open(now=0.0)
    (connect,) = server.commands()
    assert "connect" in connect
    server.feed(reply(1, connect={"client": "c"}), now=0.0)
    assert server.commands() == []  # nothing queued by the refused call went out
    client.receive_data(server.send(push_pub("room", {})), now=0.0)
    assert only(server.events(), PublicationReceived) == []


@pytest.mark.parametrize("now", [10**400, -(10**400), 2**60, True], ids=short_id)
def test_a_now_that_is_no_clock_reading_is_refused(now):
    """Found by fuzz/fuzz_caller.py: a huge int for ``now`` raised OverflowError."""
    client, _server = connected_pair(options=options())
    refused(client, lambda: client.publish("room", {}, now=now))


def test_an_int_now_is_a_clock_reading_too():
    client, server = connected_pair(options=options())
    client.publish("room", {"n": 1}, now=2)
    assert [c["publish"] for c in server.commands()] == [{"channel": "room", "data": {"n": 1}}]
