"""Connection lifecycle: connect, batching, ids, ping/pong, backoff, close codes."""

from __future__ import annotations

import pytest

from centrifugo_proto import (
    ClientProtocol,
    ClientState,
    CloseTransport,
    CommandFailed,
    CommandSucceeded,
    CommandTimeout,
    Connected,
    Connecting,
    ConnectingCode,
    Disconnected,
    DisconnectedCode,
    ErrorOccurred,
    OpenTransport,
    PingReceived,
    SubscriptionState,
    TokenRequested,
    TransportClosed,
    TransportError,
)
from serverside import (
    FakeServer,
    FixedRandom,
    connect_reply,
    connected_pair,
    error,
    make_client,
    only,
    options,
    ping,
    push_pub,
    reply,
)


def method(command):
    """The method a decoded command names ("" for the pong)."""
    return next((k for k in command if k != "id"), "")


def reconnect_deadline(client, server):
    """Drain and return the reconnect deadline; assert no transport is asked for yet."""
    assert not only(server.events(), OpenTransport)
    return client.next_deadline()


# -- connecting --------------------------------------------------------------------------


def test_connect_asks_for_a_transport_and_sends_only_connect_until_the_reply():
    client = make_client(token="jwt", version="1.2.3")
    server = FakeServer(client)
    client.connect(now=0.0)
    assert client.state is ClientState.CONNECTING
    events = server.events()
    assert events[0] == Connecting(code=ConnectingCode.CONNECT_CALLED, reason="connect called")
    (open_transport,) = only(events, OpenTransport)
    assert open_transport.attempt == 1
    assert open_transport.endpoint.host == "centrifugo.test"
    assert open_transport.endpoint.port == 8000
    assert open_transport.endpoint.resource == "/connection/websocket"
    assert not open_transport.endpoint.tls

    # Work asked for while connecting waits; nothing is written before the socket is up.
    client.subscribe("chat:a", now=0.1)
    client.subscribe("chat:b", now=0.1, recoverable=True)
    published = client.publish("chat:a", {"text": "hi"}, now=0.1)
    assert client.data_to_send() == b""

    server.open(now=0.2)
    assert server.connections[0].request.target == "/connection/websocket"
    assert server.connections[0].request.host == "centrifugo.test:8000"
    assert server.messages() == [
        [{"id": 1, "connect": {"token": "jwt", "name": "python", "version": "1.2.3"}}]
    ]
    # Still waiting for the reply: more calls add nothing to the wire.
    stats = client.presence_stats("chat:a", now=0.3)
    client.subscribe("chat:c", now=0.3)
    assert server.messages() == []

    events = server.feed(connect_reply(client="c-1", ping=25, pong=True), now=0.4)
    assert client.state is ClientState.CONNECTED
    assert client.client_id == "c-1"
    (connected,) = only(events, Connected)
    assert connected.client_id == "c-1"
    assert connected.version == "6.9.1"

    # Everything that waited goes out now, together, in ONE WebSocket message.
    messages = server.messages()
    assert len(messages) == 1
    (batch,) = messages
    assert [method(c) for c in batch] == [
        "subscribe",
        "subscribe",
        "subscribe",
        "publish",
        "presence_stats",
    ]
    assert [c["id"] for c in batch] == [2, 3, 4, 5, 6]
    assert batch[1]["subscribe"] == {"channel": "chat:b", "recoverable": True}
    assert batch[3]["publish"] == {"channel": "chat:a", "data": {"text": "hi"}}

    # And their replies come back as events by handle.
    events = server.feed(
        reply(5, publish={}), reply(6, presence_stats={"num_clients": 1, "num_users": 1}), now=0.5
    )
    assert [e.request for e in only(events, CommandSucceeded)] == [published, stats]


def test_connect_data_name_and_headers_reach_the_server():
    client = make_client(data={"app": "x"}, name="robot", headers=[("Authorization", "Bearer abc")])
    server = FakeServer(client)
    server.connect(now=0.0)
    assert server.last_connect == {"data": {"app": "x"}, "name": "robot"}
    headers = dict(server.connections[0].request.extra_headers)
    assert headers[b"authorization"] == b"Bearer abc"


def test_connect_while_connecting_or_connected_changes_nothing():
    client, server = connected_pair()
    client.connect(now=1.0)
    assert server.events() == []
    assert client.data_to_send() == b""
    assert client.state is ClientState.CONNECTED


def test_wire_ids_start_at_1_per_connection_and_request_handles_stay_unique():
    client, server = connected_pair(options=options())
    handles = [client.publish("c", i, now=1.0) for i in range(3)]
    assert [c["id"] for c in server.commands()] == [2, 3, 4]
    server.feed(*(reply(i, publish={}) for i in (2, 3, 4)), now=1.0)

    client.receive_data(server.close_frame(3001, "shutdown"), now=2.0)
    client.handle_timeout(now=reconnect_deadline(client, server))
    server.accept_connect(now=5.0)  # asserts the connect command has id 1 again
    handles += [client.publish("c", i, now=5.0) for i in range(3)]
    assert [c["id"] for c in server.commands()] == [2, 3, 4]
    assert len(set(handles)) == len(handles)
    assert handles == sorted(handles)


def test_a_stale_transport_opened_is_answered_with_close_transport():
    client = make_client(options=options())
    client.connect(now=0.0)
    client.disconnect(now=0.5)
    server = FakeServer(client)
    server.events()
    client.transport_opened(now=1.0)  # the socket of an attempt given up on
    assert server.events() == [CloseTransport()]
    assert client.data_to_send() == b""


def test_connect_timeout_closes_and_reconnects():
    client = make_client(options=options(timeout=5.0))
    server = FakeServer(client)
    client.connect(now=0.0)
    server.open(now=1.0)
    assert [method(c) for c in server.commands()] == ["connect"]
    assert client.next_deadline() == 5.0
    client.handle_timeout(now=5.0)
    assert only(server.events(), CloseTransport)
    assert client.state is ClientState.CONNECTING
    assert client.next_deadline() == 5.0 + 1.5
    client.handle_timeout(now=6.5)
    (open_transport,) = only(server.events(), OpenTransport)
    assert open_transport.attempt == 2


# -- ping / pong -------------------------------------------------------------------------


def test_pong_is_queued_inside_receive_data_one_per_ping():
    client, server = connected_pair(result={"ping": 25, "pong": True})
    client.receive_data(server.send(ping()), now=1.0)
    # No other call in between: the pong is already waiting to be written.
    assert client.data_to_send() != b""
    client.receive_data(server.send(ping()), now=2.0)
    assert server.commands() == [{}]
    server.events()
    events = server.feed(ping(), push_pub("x", 1), ping(), now=3.0)
    assert events == [PingReceived(), PingReceived()]
    assert server.messages() == [[{}, {}]]
    assert server.feed(push_pub("x", 1), now=4.0) == []
    assert server.commands() == []


def test_no_pong_when_the_server_did_not_ask_for_one():
    client, server = connected_pair(result={"ping": 25, "pong": False})
    events = server.feed(ping(), ping(), now=1.0)
    assert events == [PingReceived(), PingReceived()]
    assert client.data_to_send() == b""


def test_no_ping_deadline_then_reconnect_after_the_backoff():
    opts = options(max_server_ping_delay=10.0, min_reconnect_delay=1.0, max_reconnect_delay=8.0)
    client, server = connected_pair(now=100.0, options=opts, result={"ping": 25})
    assert client.next_deadline() == 100.0 + 25 + 10
    # Any frame proves the server alive; the deadline moves when it comes due, so a
    # stream of frames does not re-arm the adapter's timer on each (liveness.py).
    server.feed(ping(), now=110.0)
    assert client.next_deadline() == 100.0 + 35
    client.handle_timeout(now=135.0)  # due, but heard from at 110: look again at 145
    assert server.events() == []
    assert client.next_deadline() == 110.0 + 35
    client.handle_timeout(now=144.0)  # early: nothing happens
    assert server.events() == []
    assert client.state is ClientState.CONNECTED

    client.handle_timeout(now=145.0)
    events = server.events()
    assert events == [
        CloseTransport(),
        Connecting(code=ConnectingCode.NO_PING, reason="no ping"),
    ]
    server.pump()
    assert server.connections[0].close_code == 1000
    # §6.2 with rng 0.5 and attempt 0: min(8, 1 + 0.5 * min(8, 1 * 2**0)) = 1.5
    assert client.next_deadline() == 145.0 + 1.5
    client.handle_timeout(now=146.0)
    assert server.events() == []
    client.handle_timeout(now=146.5)
    (open_transport,) = only(server.events(), OpenTransport)
    assert open_transport.attempt == 2
    server.accept_connect(now=147.0, ping=25)
    assert client.state is ClientState.CONNECTED
    assert client.next_deadline() == 147.0 + 35


def test_no_ping_deadline_absent_when_the_server_does_not_ping():
    client, _ = connected_pair(result={"ping": 0})
    assert client.next_deadline() is None


def test_a_ping_timer_fired_more_than_a_second_late_is_pushed_back_once():
    client, server = connected_pair(options=options(), result={"ping": 25})
    assert client.next_deadline() == 35.0
    client.handle_timeout(now=40.0)  # 5 s late: the process was asleep
    assert server.events() == []
    assert client.state is ClientState.CONNECTED
    assert client.next_deadline() == 41.0
    # The ping sitting in the socket is read in time: the connection lives on.
    server.feed(ping(), now=40.5)
    assert client.state is ClientState.CONNECTED
    assert client.next_deadline() == 41.0  # moved when due (liveness.py)
    client.handle_timeout(now=41.0)
    assert client.state is ClientState.CONNECTED
    assert server.events() == []
    assert client.next_deadline() == 40.5 + 35


def test_a_stream_of_frames_leaves_the_deadline_where_it_was():
    """Issue 12: the timer re-armed only when the deadline moves earlier. Frames
    only note the time; the deadline moves once, when it comes due."""
    client, server = connected_pair(options=options(), result={"ping": 25})
    for i in range(1, 40):
        server.feed(ping(), now=float(i))
        assert client.next_deadline() == 35.0
    client.handle_timeout(now=35.0)
    assert client.state is ClientState.CONNECTED
    assert client.next_deadline() == 39.0 + 35


def test_lateness_counts_from_the_real_deadline_not_the_lazy_one():
    """Heard from at 30 (due at 65), the timer set for 35 fires at 65.5: half a
    second late, not 30 s, so no grace: the server is gone."""
    client, server = connected_pair(options=options(), result={"ping": 25})
    server.feed(ping(), now=30.0)
    client.handle_timeout(now=65.5)
    assert only(server.events(), Connecting)[0].code == ConnectingCode.NO_PING


def test_the_grace_is_given_only_once():
    client, server = connected_pair(options=options(), result={"ping": 25})
    client.handle_timeout(now=40.0)
    client.handle_timeout(now=41.0)
    assert Connecting(code=ConnectingCode.NO_PING, reason="no ping") in server.events()


def test_a_ping_timer_fired_less_than_a_second_late_gets_no_grace():
    client, server = connected_pair(options=options(), result={"ping": 25})
    client.handle_timeout(now=35.5)
    assert Connecting(code=ConnectingCode.NO_PING, reason="no ping") in server.events()


# -- backoff (§6.2) ----------------------------------------------------------------------


def expected_delay(attempt, low, high, r):
    return min(high, low + r * min(high, low * 2 ** min(attempt, 31)))


@pytest.mark.parametrize(
    ("r", "delays"),
    [
        (0.5, [1.5, 2.0, 3.0, 5.0, 5.0, 5.0]),
        (0.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]),
        (0.99, [1.99, 2.98, 4.96, 8.0, 8.0, 8.0]),
    ],
)
def test_reconnect_delays_follow_full_jitter_with_a_floor(r, delays):
    opts = options(min_reconnect_delay=1.0, max_reconnect_delay=8.0)
    client = make_client(options=opts, rng=FixedRandom(r))
    server = FakeServer(client)
    client.connect(now=0.0)
    now = 0.0
    seen = []
    for attempt in range(len(delays)):
        assert only(server.events(), OpenTransport)
        client.transport_failed("connection refused", now=now)
        events = server.events()
        assert only(events, ErrorOccurred)
        assert not only(events, Connecting)  # already connecting
        deadline = client.next_deadline()
        seen.append(deadline - now)
        assert deadline - now == pytest.approx(expected_delay(attempt, 1.0, 8.0, r))
        now = deadline
        client.handle_timeout(now=now)
    assert seen == pytest.approx(delays)


def test_a_successful_connect_resets_the_backoff():
    client = make_client(options=options())
    server = FakeServer(client)
    client.connect(now=0.0)
    for now in (0.0, 1.5, 3.5):  # three failures: delays 1.5, 2, 3
        server.events()
        client.transport_failed("refused", now=now)
        client.handle_timeout(now=client.next_deadline())
    assert client.next_deadline() is not None
    server.accept_connect(now=7.0)
    client.receive_data(server.close_frame(3001), now=8.0)
    assert client.next_deadline() == 8.0 + 1.5


def test_failover_tries_the_next_endpoint_on_each_reconnect():
    client = make_client(
        endpoints=["ws://a.test/connection/websocket", "wss://b.test/connection/websocket"],
        options=options(),
    )
    server = FakeServer(client)
    client.connect(now=0.0)
    hosts = []
    now = 0.0
    for _ in range(3):
        (open_transport,) = only(server.events(), OpenTransport)
        hosts.append((open_transport.endpoint.host, open_transport.endpoint.port))
        client.transport_failed("refused", now=now)
        now = client.next_deadline()
        client.handle_timeout(now=now)
    assert hosts == [("a.test", 80), ("b.test", 443), ("a.test", 80)]


# -- server close codes (§5.3) -----------------------------------------------------------


@pytest.mark.parametrize("code", [3500, 3501, 3502, 3999, 4500, 4999])
def test_terminal_close_codes_disconnect_without_reconnect(code):
    client, server = connected_pair(options=options())
    pending = client.publish("c", 1, now=1.0)
    client.receive_data(server.close_frame(code, "go away"), now=2.0)
    events = server.events()
    assert events[0] == TransportClosed(code=code, reason="go away")
    assert CloseTransport() in events
    assert events[-1] == Disconnected(code=code, reason="go away")
    failed = only(events, CommandFailed)
    assert [f.request for f in failed] == [pending]
    assert client.state is ClientState.DISCONNECTED
    assert client.next_deadline() is None
    # The client answered the close frame: the closing handshake is complete.
    server.pump()
    assert server.connections[0].closed
    client.handle_timeout(now=1000.0)
    assert not only(server.events(), OpenTransport)


@pytest.mark.parametrize("code", [3000, 3001, 3012, 3499, 4000, 4499])
def test_reconnect_close_codes_reconnect_after_backoff(code):
    client, server = connected_pair(options=options())
    client.receive_data(server.close_frame(code, "later"), now=2.0)
    events = server.events()
    assert events[0] == TransportClosed(code=code, reason="later")
    assert events[-1] == Connecting(code=code, reason="later")
    assert client.state is ClientState.CONNECTING
    assert client.next_deadline() == 3.5
    client.handle_timeout(now=3.5)
    assert only(server.events(), OpenTransport)
    server.accept_connect(now=4.0)
    assert client.state is ClientState.CONNECTED


@pytest.mark.parametrize("code", [1000, 1001, 1011])
def test_transport_level_close_codes_reconnect_as_transport_closed(code):
    client, server = connected_pair(options=options())
    client.receive_data(server.close_frame(code), now=2.0)
    events = server.events()
    assert events[-1].code == ConnectingCode.TRANSPORT_CLOSED
    assert isinstance(events[-1], Connecting)
    assert client.next_deadline() == 3.5


@pytest.mark.parametrize("code", [3503, 4500])
def test_terminal_close_without_a_reason_is_not_called_message_size_limit(code):
    client, server = connected_pair(options=options())
    client.receive_data(server.close_frame(code), now=2.0)
    (disconnected,) = only(server.events(), Disconnected)
    assert disconnected.code == code
    assert disconnected.reason
    assert "size" not in disconnected.reason


def test_message_too_big_disconnects_with_code_3():
    client, server = connected_pair(options=options())
    client.receive_data(server.close_frame(1009, "message too big"), now=2.0)
    events = server.events()
    assert events[-1] == Disconnected(
        code=DisconnectedCode.MESSAGE_SIZE_LIMIT, reason="message too big"
    )
    assert client.state is ClientState.DISCONNECTED
    assert client.next_deadline() is None


def test_close_frame_mid_batch_drops_the_rest_of_the_bytes():
    client, server = connected_pair(options=options())
    client.subscribe("a", now=1.0)
    server.commands()
    server.feed(reply(2, subscribe={}), now=1.0)
    data = server.close_frame(3001, "shutdown") + b"\x81\x05hello"
    client.receive_data(data, now=2.0)
    events = server.events()
    assert isinstance(events[-1], Connecting)
    assert events[-1].code == 3001


def test_eof_without_close_frame_is_transport_closed_and_reconnects():
    client, server = connected_pair(options=options())
    pending = client.publish("c", 1, now=1.0)
    client.receive_eof(now=2.0)
    events = server.events()
    assert events[0] == TransportClosed(code=1006, reason="")
    assert [f.request for f in only(events, CommandFailed)] == [pending]
    assert events[-1] == Connecting(code=ConnectingCode.TRANSPORT_CLOSED, reason="transport closed")
    assert client.next_deadline() == 3.5
    client.receive_eof(now=2.5)  # a second EOF is news of a transport already gone
    client.receive_data(b"late bytes", now=2.5)
    assert server.events() == []


def test_transport_failed_while_connected_reconnects():
    client, server = connected_pair(options=options())
    client.subscribe("a", now=1.0)
    server.commands()
    server.feed(reply(2, subscribe={}), now=1.0)
    client.transport_failed("write failed", now=2.0)
    events = server.events()
    assert events[0] == ErrorOccurred(error=TransportError("transport failed: write failed"))
    assert CloseTransport() in events
    assert events[-1] == Connecting(code=ConnectingCode.TRANSPORT_CLOSED, reason="write failed")
    assert client.subscription_state("a") is SubscriptionState.SUBSCRIBING


# -- connect errors (§5.1, §6.3) ---------------------------------------------------------


def answer_connect_with(client, server, line, *, now):
    client.connect(now=now)
    server.events()
    server.open(now=now)
    assert [method(c) for c in server.commands()] == ["connect"]
    return server.feed(line, now=now)


def test_connect_error_109_with_a_static_token_disconnects():
    client = make_client(token="old", options=options())
    server = FakeServer(client)
    events = answer_connect_with(client, server, error(1, 109, "token expired"), now=0.0)
    assert CloseTransport() in events
    assert events[-1] == Disconnected(code=109, reason="token expired")
    assert client.state is ClientState.DISCONNECTED
    assert client.next_deadline() is None


def test_connect_error_109_with_a_token_source_asks_for_a_token_before_the_next_attempt():
    client = make_client(token="old", has_token_source=True, options=options())
    server = FakeServer(client)
    events = answer_connect_with(client, server, error(1, 109, "token expired"), now=0.0)
    # Still connecting (no new Connecting event): the transport goes, a retry is due.
    assert CloseTransport() in events
    assert not only(events, Connecting)
    assert client.state is ClientState.CONNECTING
    assert client.next_deadline() == 1.5
    client.handle_timeout(now=1.5)
    events = server.events()
    (request,) = only(events, TokenRequested)
    assert request.channel is None
    assert not only(events, OpenTransport)  # the token comes first
    client.provide_token(request, "fresh", now=2.0)
    server.accept_connect(now=2.0)
    assert server.last_connect["token"] == "fresh"
    assert client.state is ClientState.CONNECTED


@pytest.mark.parametrize(
    "line",
    [
        error(1, 100, "internal server error", temporary=True),
        error(1, 111, "too many requests", temporary=True),
        error(1, 42, "client-side code"),
    ],
)
def test_retryable_connect_error_reconnects(line):
    client = make_client(options=options())
    server = FakeServer(client)
    events = answer_connect_with(client, server, line, now=0.0)
    (occurred,) = only(events, ErrorOccurred)
    assert occurred.error.code == line["error"]["code"]
    assert CloseTransport() in events
    assert client.state is ClientState.CONNECTING
    assert client.next_deadline() == 1.5
    client.handle_timeout(now=client.next_deadline())
    assert only(server.events(), OpenTransport)


@pytest.mark.parametrize(("code", "message"), [(101, "unauthorized"), (110, "expired")])
def test_terminal_connect_error_disconnects(code, message):
    client = make_client(options=options())
    server = FakeServer(client)
    events = answer_connect_with(client, server, error(1, code, message), now=0.0)
    assert events[-1] == Disconnected(code=code, reason=message)
    assert client.next_deadline() is None


def test_connect_reply_with_the_wrong_result_is_bad_protocol():
    client = make_client(options=options())
    server = FakeServer(client)
    events = answer_connect_with(client, server, reply(1, publish={}), now=0.0)
    assert [type(e) for e in events] == [ErrorOccurred, CloseTransport]
    assert str(events[0].error).startswith("bad protocol")
    assert client.state is ClientState.CONNECTING
    server.pump()
    assert server.connections[0].close_code == 1002


# -- disconnect / connect again / close --------------------------------------------------


def test_disconnect_then_connect_works_again():
    client, server = connected_pair(options=options())
    client.subscribe("a", now=1.0)
    server.commands()
    server.feed(reply(2, subscribe={}), now=1.0)
    pending = client.publish("a", 1, now=1.5)
    server.commands()

    client.disconnect(now=2.0)
    events = server.events()
    assert CloseTransport() in events
    assert [f.request for f in only(events, CommandFailed)] == [pending]
    assert events[-1] == Disconnected(
        code=DisconnectedCode.DISCONNECT_CALLED, reason="disconnect called"
    )
    assert client.state is ClientState.DISCONNECTED
    assert client.next_deadline() is None
    server.pump()
    assert server.connections[0].close_code == 1000
    client.disconnect(now=2.5)  # twice is harmless
    assert server.events() == []

    client.connect(now=3.0)
    events = server.accept_connect(now=3.0)
    assert events[0] == Connecting(code=ConnectingCode.CONNECT_CALLED, reason="connect called")
    assert client.state is ClientState.CONNECTED
    # The subscription comes back with the connection.
    assert server.commands() == [{"id": 2, "subscribe": {"channel": "a"}}]


def test_disconnect_while_connecting_fails_waiting_commands():
    client = make_client(options=options())
    server = FakeServer(client)
    client.connect(now=0.0)
    pending = client.publish("c", 1, now=0.0)
    client.disconnect(now=1.0)
    events = server.events()
    (failed,) = only(events, CommandFailed)
    assert failed.request == pending
    assert events[-1] == Disconnected(
        code=DisconnectedCode.DISCONNECT_CALLED, reason="disconnect called"
    )
    assert client.next_deadline() is None


def test_close_is_final():
    client, server = connected_pair(options=options())
    client.subscribe("a", now=1.0)
    client.close(now=2.0)
    events = server.events()
    assert events[-1] == Disconnected(code=DisconnectedCode.CLOSED, reason="client closed")
    assert client.state is ClientState.CLOSED
    assert client.subscription_state("a") is SubscriptionState.UNSUBSCRIBED
    client.close(now=3.0)  # twice is harmless
    assert server.events() == []


def test_commands_while_disconnected_fail_at_once():
    client = make_client()
    server = FakeServer(client)
    handle = client.publish("c", {"x": 1}, now=0.0)
    events = server.events()
    assert len(events) == 1
    assert events[0].request == handle
    assert type(events[0].error).__name__ == "ClientDisconnected"
    assert client.data_to_send() == b""
    assert client.next_deadline() is None


def test_commands_waiting_for_the_connection_time_out():
    client = make_client(options=options(timeout=5.0))
    server = FakeServer(client)
    client.connect(now=0.0)
    handle = client.rpc("m", {"x": 1}, now=1.0)
    client.handle_timeout(now=5.0)  # the connect attempt times out first
    assert not only(server.events(), CommandFailed)
    client.handle_timeout(now=6.0)
    (failed,) = only(server.events(), CommandFailed)
    assert failed.request == handle
    assert isinstance(failed.error, CommandTimeout)


def test_wss_endpoint_with_query_opens_tls_on_443_and_keeps_the_query():
    client = make_client(endpoints="wss://secure.test/connection/websocket?format=json")
    client.connect(now=0.0)
    (open_transport,) = only(FakeServer(client).events(), OpenTransport)
    endpoint = open_transport.endpoint
    assert (endpoint.host, endpoint.port, endpoint.tls) == ("secure.test", 443, True)
    assert endpoint.resource == "/connection/websocket?format=json"
    assert endpoint.host_header == "secure.test"


@pytest.mark.parametrize(
    ("url", "proxy", "dial", "tls"),
    [
        ("ws://example.org:8000/connection/websocket", None, ("example.org", 8000), False),
        ("wss://example.org/connection/websocket", None, ("example.org", 443), True),
        # Through a proxy: dial the proxy; TLS waits for StartTls inside the tunnel.
        ("wss://example.org/c", "http://proxy.local:3128", ("proxy.local", 3128), False),
    ],
)
def test_open_transport_says_what_to_dial_and_whether_tls_starts_now(url, proxy, dial, tls):
    client = ClientProtocol(url, proxy=proxy)
    client.connect(now=0.0)
    (opened,) = [e for e in iter(client.next_event, None) if isinstance(e, OpenTransport)]
    assert (opened.host, opened.port) == dial
    assert opened.tls is tls
    assert opened.server_hostname == "example.org"
