"""Resilience rules of the core, driven with explicit ``now`` values (issue "Resilience").

The server here is the test-built fake of ``serverside`` (it builds the bytes);
no clock, no sleeping: every timer is fired by passing a later ``now``.
"""

from __future__ import annotations

from typing import Any

import pytest

from centrifugo_proto import (
    ClientProtocol,
    ClientState,
    CloseTransport,
    Connected,
    Connecting,
    ConnectingCode,
    Disconnected,
    ErrorOccurred,
    OpenTransport,
    PublicationReceived,
    PublicationsLost,
    ReplyError,
    StreamPosition,
    Subscribed,
    Subscribing,
    TokenRefreshed,
    TokenRequested,
)
from serverside import (
    FakeServer,
    connected_pair,
    error,
    make_client,
    options,
    ping,
    push_pub,
    push_unsubscribe,
    reply,
)


def only(events: list[Any], kind: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def offsets(events: list[Any]) -> list[int]:
    return [e.publication.offset for e in only(events, PublicationReceived)]


def subscribed_pair(
    channel: str = "chat:a", *, top: int = 0, epoch: str = "ep", **client_kwargs: Any
) -> tuple[ClientProtocol, FakeServer]:
    client, server = connected_pair(options=options(), **client_kwargs)
    client.subscribe(channel, recoverable=True, now=0.0)
    (command,) = server.commands()
    server.feed(
        reply(command["id"], subscribe={"recoverable": True, "epoch": epoch, "offset": top}),
        now=0.0,
    )
    server.events()
    return client, server


def expiring_pair() -> tuple[ClientProtocol, FakeServer]:
    """Connected with a token source; the connection expires after 10 s."""
    return connected_pair(
        options=options(), token="t0", has_token_source=True, result={"expires": True, "ttl": 10}
    )


def lose_and_reconnect(client: ClientProtocol, server: FakeServer, now: float) -> list[Any]:
    """EOF, then fire the backoff, then the fake server accepts the new connection."""
    client.receive_eof(now=now)
    events = server.events()
    deadline = client.next_deadline()
    assert deadline is not None
    client.handle_timeout(now=deadline)
    return events + server.accept_connect(now=deadline)


# -- recovery ----------------------------------------------------------------------------


def test_resubscribe_after_reconnect_recovers_in_order_exactly_once() -> None:
    client, server = subscribed_pair(top=0)
    events = server.feed(*(push_pub("chat:a", n, offset=n) for n in (1, 2, 3)), now=1.0)
    assert offsets(events) == [1, 2, 3]
    lose_and_reconnect(client, server, now=2.0)
    (subscribe,) = server.commands()
    params = subscribe["subscribe"]
    assert (params["recover"], params["epoch"], params["offset"]) == (True, "ep", 3)
    # The server recovers 4 and 5; then pushes 5 again (a race) and 6.
    recovered = [{"data": n, "offset": n} for n in (4, 5)]
    result = {
        "recoverable": True,
        "epoch": "ep",
        "offset": 5,
        "recovered": True,
        "was_recovering": True,
        "publications": recovered,
    }
    events = server.feed(
        reply(subscribe["id"], subscribe=result),
        push_pub("chat:a", 5, offset=5),
        push_pub("chat:a", 6, offset=6),
        now=3.0,
    )
    kinds = [type(e) for e in events if isinstance(e, Subscribed | PublicationReceived)]
    assert kinds[0] is Subscribed  # subscribed first, then recovered publications
    assert offsets(events) == [4, 5, 6]  # 5 delivered once
    assert only(events, Subscribed)[0].recovered
    assert not only(events, PublicationsLost)


def test_offset_gap_resubscribes_with_recovery_in_one_frame() -> None:
    client, server = subscribed_pair(top=0)
    events = server.feed(*(push_pub("chat:a", n, offset=n) for n in (1, 2, 4)), now=1.0)
    assert offsets(events) == [1, 2]  # 4 is held back: 3 is missing
    (subscribing,) = only(events, Subscribing)
    assert subscribing.code == 2500
    (frame,) = server.messages()
    assert [next(k for k in c if k != "id") for c in frame] == ["unsubscribe", "subscribe"]
    params = frame[1]["subscribe"]
    assert (params["recover"], params["offset"], params["epoch"]) == (True, 2, "ep")
    server.feed(reply(frame[0]["id"], unsubscribe={}), now=1.1)
    result = {
        "recoverable": True,
        "epoch": "ep",
        "offset": 4,
        "recovered": True,
        "was_recovering": True,
        "publications": [{"data": 3, "offset": 3}, {"data": 4, "offset": 4}],
    }
    events = server.feed(reply(frame[1]["id"], subscribe=result), now=1.2)
    assert offsets(events) == [3, 4]
    assert client.state is ClientState.CONNECTED


def test_unrecovered_gap_is_reported_as_publications_lost() -> None:
    client, server = subscribed_pair(top=7)
    server.feed(push_pub("chat:a", 8, offset=8), now=1.0)
    lose_and_reconnect(client, server, now=2.0)
    (subscribe,) = server.commands()
    result = {"recoverable": True, "epoch": "new", "offset": 0, "was_recovering": True}
    events = server.feed(reply(subscribe["id"], subscribe=result), now=3.0)
    (subscribed,) = only(events, Subscribed)
    assert subscribed.was_recovering
    assert not subscribed.recovered
    (lost,) = only(events, PublicationsLost)
    # A new epoch is a stream reset (issue "Hardening"): the new stream is empty
    # (its top is 0), so there is nothing more to recover.
    assert (lost.channel, lost.reason) == ("chat:a", "stream reset")
    assert server.commands() == []
    # Offsets start over in the new epoch.
    assert offsets(server.feed(push_pub("chat:a", 1, offset=1), now=4.0)) == [1]


def test_since_on_first_subscribe_recovers_from_that_position() -> None:
    client, server = connected_pair(options=options())
    client.subscribe("chat:a", since=StreamPosition(10, "ep"), now=0.0)
    (command,) = server.commands()
    assert command["subscribe"] | {} == {
        "channel": "chat:a",
        "recover": True,
        "epoch": "ep",
        "offset": 10,
    }


def test_unsubscribe_push_2500_resubscribes_with_recovery() -> None:
    _client, server = subscribed_pair(top=3)
    server.feed(push_pub("chat:a", 4, offset=4), now=1.0)
    events = server.feed(push_unsubscribe("chat:a", 2500, "insufficient state"), now=2.0)
    assert only(events, Subscribing)[0].code == 2500
    (command,) = server.commands()
    assert command["subscribe"]["offset"] == 4
    assert command["subscribe"]["recover"] is True


# -- token refresh ----------------------------------------------------------------------


def test_connection_token_refresh_cycle() -> None:
    client, server = expiring_pair()
    assert client.next_deadline() == 10.0
    client.handle_timeout(now=10.0)
    (request,) = only(server.events(), TokenRequested)
    assert request.channel is None
    client.provide_token(request, "t1", now=10.5)
    (command,) = server.commands()
    assert command["refresh"] == {"token": "t1"}
    events = server.feed(reply(command["id"], refresh={"expires": True, "ttl": 20}), now=11.0)
    assert only(events, TokenRefreshed) == [TokenRefreshed(channel=None, expires=True, ttl=20)]
    assert client.next_deadline() == 31.0


def test_refresh_failures_retry_within_5_to_10_s_and_terminal_errors_stop() -> None:
    client, server = expiring_pair()
    client.handle_timeout(now=10.0)
    (request,) = only(server.events(), TokenRequested)
    client.token_failed(request, now=10.0)  # e.g. the backend was down
    assert client.next_deadline() == 17.5  # 5 + 0.5 * (10 - 5)
    client.handle_timeout(now=17.5)
    (request,) = only(server.events(), TokenRequested)
    client.provide_token(request, "t1", now=17.5)
    (command,) = server.commands()
    server.feed(error(command["id"], 100, "internal", temporary=True), now=18.0)
    assert client.next_deadline() == 25.5
    client.handle_timeout(now=25.5)
    (request,) = only(server.events(), TokenRequested)
    client.provide_token(request, "t2", now=25.5)
    (command,) = server.commands()
    events = server.feed(error(command["id"], 3500, "invalid token"), now=26.0)
    assert only(events, Disconnected) == [Disconnected(code=3500, reason="invalid token")]
    assert client.state is ClientState.DISCONNECTED


def test_a_token_answer_for_an_older_connection_is_ignored() -> None:
    client, server = expiring_pair()
    client.handle_timeout(now=10.0)
    (stale,) = only(server.events(), TokenRequested)
    lose_and_reconnect(client, server, now=10.1)
    client.provide_token(stale, "late", now=12.0)
    assert server.commands() == []  # no refresh went out on the new connection
    assert client.state is ClientState.CONNECTED


def test_connect_109_asks_for_a_new_token_before_the_next_attempt() -> None:
    client = make_client(options=options(), token="old", has_token_source=True)
    server = FakeServer(client)
    client.connect(now=0.0)
    server.events()
    server.open(now=0.0)
    (connect,) = server.commands()
    events = server.feed(error(connect["id"], 109, "token expired"), now=0.1)
    (reported,) = only(events, ErrorOccurred)
    assert isinstance(reported.error, ReplyError)
    assert reported.error.code == 109
    assert client.state is ClientState.CONNECTING
    client.handle_timeout(now=client.next_deadline() or 0.0)
    events = server.events()
    (request,) = only(events, TokenRequested)
    assert not only(events, OpenTransport)  # the token comes first
    client.provide_token(request, "fresh", now=2.0)
    events = server.accept_connect(now=2.0)
    assert server.last_connect is not None
    assert server.last_connect["token"] == "fresh"
    assert only(events, Connected)


def test_subscription_token_refresh_and_retry_window() -> None:
    client, server = connected_pair(options=options())
    client.subscribe("private:a", token="s0", has_token_source=True, now=0.0)
    (command,) = server.commands()
    server.feed(reply(command["id"], subscribe={"expires": True, "ttl": 30}), now=0.0)
    assert client.next_deadline() == 30.0
    client.handle_timeout(now=30.0)
    (request,) = only(server.events(), TokenRequested)
    assert request.channel == "private:a"
    client.provide_token(request, "s1", now=30.0)
    (command,) = server.commands()
    assert command["sub_refresh"] == {"channel": "private:a", "token": "s1"}
    server.feed(error(command["id"], 100, "internal", temporary=True), now=30.5)
    client.handle_timeout(now=35.0)  # the ping deadline first: heard from, it moves on
    assert server.events() == []
    assert client.next_deadline() == 45.5  # 10 + 0.5 * (20 - 10)


# -- liveness -------------------------------------------------------------------------


def test_no_ping_within_interval_plus_max_delay_reconnects() -> None:
    client, server = connected_pair(
        options=options(max_server_ping_delay=1.0), result={"ping": 2, "pong": True}
    )
    assert client.next_deadline() == 3.0
    server.feed(ping(), now=2.0)
    assert [c for c in server.commands()] == [{}]  # the pong
    assert client.next_deadline() == 3.0  # a frame moves it only when it comes due
    client.handle_timeout(now=3.0)
    assert client.state is ClientState.CONNECTED
    assert client.next_deadline() == 5.0
    client.handle_timeout(now=5.0)
    events = server.events()
    assert only(events, Connecting)[0].code == ConnectingCode.NO_PING
    assert only(events, CloseTransport)


def test_a_deadline_fired_late_lets_received_data_in_first() -> None:
    client, server = connected_pair(
        options=options(max_server_ping_delay=1.0), result={"ping": 2, "pong": True}
    )
    # The laptop slept: the timer fires 100 s late, with a ping unread in the socket.
    client.handle_timeout(now=103.0)
    assert client.state is ClientState.CONNECTED
    assert client.next_deadline() == 104.0  # one grace period
    server.feed(ping(), now=103.5)  # the adapter reads the socket
    client.handle_timeout(now=104.0)
    assert client.state is ClientState.CONNECTED
    assert not only(server.events(), Connecting)


# -- failover and timeouts -----------------------------------------------------------


def test_reconnect_moves_to_the_next_endpoint() -> None:
    urls = ["ws://127.0.0.1:1001/connection/websocket", "ws://127.0.0.1:1002/connection/websocket"]
    client = make_client(options=options(), endpoints=urls)
    client.connect(now=0.0)
    ports = []
    now = 0.0
    for _ in range(3):
        (request,) = only([e for e in iter(client.next_event, None)], OpenTransport)
        ports.append(request.endpoint.port)
        client.transport_failed("connection refused", now=now)
        now = client.next_deadline() or now
        client.handle_timeout(now=now)
    assert ports == [1001, 1002, 1001]


def test_subscribe_timeout_reconnects_the_whole_client() -> None:
    client, server = connected_pair(options=options(timeout=5.0))
    client.subscribe("chat:a", now=1.0)
    server.commands()
    client.handle_timeout(now=6.0)
    events = server.events()
    assert only(events, Connecting)[0].code == ConnectingCode.SUBSCRIBE_TIMEOUT
    assert only(events, CloseTransport)


@pytest.mark.parametrize("code", [3000, 3001, 3005, 3010, 3012, 4000, 4499])
def test_reconnect_codes(code: int) -> None:
    client, server = connected_pair(options=options())
    client.receive_data(server.close_frame(code, "x"), now=1.0)
    events = server.events()
    assert only(events, Connecting)[0].code == code
    assert client.state is ClientState.CONNECTING


@pytest.mark.parametrize("code", [3500, 3501, 3502, 3999, 4500, 4999])
def test_terminal_codes(code: int) -> None:
    client, server = connected_pair(options=options())
    client.receive_data(server.close_frame(code, "x"), now=1.0)
    events = server.events()
    assert only(events, Disconnected) == [Disconnected(code=code, reason="x")]
    assert client.next_deadline() is None
