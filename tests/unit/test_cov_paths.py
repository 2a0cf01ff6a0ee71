"""Paths of the core the other unit tests do not walk (issue 5's coverage gate).

Each test states a behaviour: what the client does on a path that is rare in
use (a stale token answer, a refresh that does not expire, a proxy that
refuses, a handshake refused without a body...). Grouped by module.
"""

from __future__ import annotations

import pytest
from wsproto import WSConnection
from wsproto.connection import ConnectionType
from wsproto.events import AcceptConnection, BytesMessage, Request, TextMessage

from centrifugo_proto import (
    ClientOptions,
    ClientProtocol,
    ClientState,
    CloseTransport,
    CommandFailed,
    Connecting,
    ConnectingCode,
    ErrorOccurred,
    LocalProtocolError,
    OpenTransport,
    ReplyError,
    Subscribing,
    SubscriptionState,
    TokenRefreshed,
    TokenRequested,
    TransportError,
)
from centrifugo_proto.codecs import FrameKind
from centrifugo_proto.dialect import CURRENT
from centrifugo_proto.endpoints import parse_endpoint
from centrifugo_proto.events import StartTls
from centrifugo_proto.messages import PING, Join, Push
from centrifugo_proto.proxy import ProxyHandshake, parse_proxy
from centrifugo_proto.states import SubscriptionInput
from centrifugo_proto.timers import TimerQueue
from centrifugo_proto.websocket import WebSocketFailed, WebSocketLayer, WebSocketOpened
from serverside import (
    BINARY,
    CODEC,
    ENDPOINT,
    FakeServer,
    ServerWebSocket,
    connected_pair,
    make_client,
    message_text,
    only,
    options,
    push_pub,
    push_subscribe,
    push_unsubscribe,
    reply,
)

# -- client.py ------------------------------------------------------------------------


def test_without_an_rng_every_backoff_sits_in_the_middle_of_its_range():
    client = ClientProtocol(ENDPOINT, options=options())
    client.connect(now=0.0)
    client.transport_opened(now=0.0)
    client.transport_failed("refused", now=0.0)
    # min 1 + 0.5 * min(max 8, 1 * 2**0): no randomness of the core's own.
    assert client.next_deadline() == 1.5


def test_empty_reads_change_nothing():
    client, server = connected_pair(options=options())
    client.receive_data(b"", now=1.0)
    assert server.events() == []
    assert client.data_to_send() == b""
    assert client.state is ClientState.CONNECTED


def test_a_handshake_refused_without_a_body_is_bad_protocol():
    client = make_client(options=options())
    server = FakeServer(client)
    client.connect(now=0.0)
    server.events()
    client.transport_opened(now=0.0)
    client.data_to_send()
    client.receive_data(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", now=0.5)
    (error,) = only(server.events(), ErrorOccurred)
    assert str(error.error) == "bad protocol: handshake refused: HTTP 403"
    assert client.state is ClientState.CONNECTING


def test_a_binary_message_in_fragments_is_still_a_binary_frame_in_json_mode():
    client, server = connected_pair(options=options())
    assert server.ws is not None
    # Fragments of the kind the codec does not use.
    other = TextMessage if BINARY else BytesMessage
    data = server.ws.ws.send(
        other(data=b"\x01\x02" if not BINARY else "ab", message_finished=False)
    )
    data += server.ws.ws.send(other(data=b"\x03" if not BINARY else "c", message_finished=True))
    client.receive_data(data, now=1.0)
    (error,) = only(server.events(), ErrorOccurred)
    other = "text" if BINARY else "binary"
    assert str(error.error) == f"bad protocol: {other} frame in {CODEC} mode"


# -- the HTTP CONNECT proxy (proxy.py and the facade's tunnel) --------------------------


def _proxied(url: str = ENDPOINT, proxy: str = "http://user:p%40ss@proxy.test:3128"):
    client = make_client(options=options(), proxy=proxy, endpoints=url)
    client.connect(now=0.0)
    (request,) = only(_drain(client), OpenTransport)
    assert request.endpoint.proxy is not None
    client.transport_opened(now=0.0)
    return client


def _drain(client):
    events = []
    while (event := client.next_event()) is not None:
        events.append(event)
    return events


def test_parse_proxy():
    assert parse_proxy("http://proxy.test:3128").authorization is None
    address = parse_proxy("http://user:p%40ss@proxy.test")
    assert (address.host, address.port) == ("proxy.test", 80)
    assert address.authorization == "Basic dXNlcjpwQHNz"  # user:p@ss
    for bad in ("socks5://proxy.test:1080", "http://", "http://proxy.test:99999"):
        with pytest.raises(LocalProtocolError):
            parse_proxy(bad)


def test_connect_request_through_the_proxy_then_the_websocket_handshake():
    client = _proxied()
    request = client.data_to_send()
    assert request.startswith(b"CONNECT centrifugo.test:8000 HTTP/1.1\r\n")
    assert b"Proxy-Authorization: Basic dXNlcjpwQHNz\r\n" in request
    # The proxy answers 100 first, then 200 with the server's first bytes behind it.
    client.receive_data(b"HTTP/1.1 100 Continue\r\n\r\n", now=0.1)
    assert client.data_to_send() == b""
    client.receive_data(b"HTTP/1.1 200 Connection established\r\n\r\n", now=0.2)
    server = ServerWebSocket()
    accept = server.receive(client.data_to_send())
    assert server.request is not None
    assert server.request.host == "centrifugo.test:8000"
    client.receive_data(accept, now=0.3)
    (message,) = server.receive(client.data_to_send()) or server.messages
    assert '"connect"' in message_text(message)


def test_bytes_right_behind_the_proxy_answer_are_the_servers():
    client = _proxied()
    client.data_to_send()
    server = ServerWebSocket()
    # The proxy's 200 and, in the same read, nothing yet of the server: the
    # handshake goes out; the 101 then comes in the next read.
    client.receive_data(b"HTTP/1.1 200 OK\r\n\r\n", now=0.1)
    accept = server.receive(client.data_to_send())
    client.receive_data(accept + server.send_message("{}"), now=0.2)
    assert client.state is ClientState.CONNECTING  # handshake done, connect in flight
    assert only(_drain(client), ErrorOccurred) == []


def test_bytes_right_behind_the_proxy_answer_reach_the_websocket_layer():
    client = _proxied()
    client.data_to_send()
    # A 200 with bytes after it in the same read: they are the server's answer.
    refusal = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    client.receive_data(b"HTTP/1.1 200 OK\r\n\r\n" + refusal, now=0.1)
    (error,) = only(_drain(client), ErrorOccurred)
    assert str(error.error) == "bad protocol: handshake refused: HTTP 404"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", "proxy refused CONNECT: HTTP 407"),
        (b"NOT HTTP\r\n\r\n", "proxy broke HTTP"),
    ],
)
def test_a_proxy_that_refuses_or_breaks_fails_the_transport(answer, reason):
    client = _proxied()
    client.data_to_send()
    if answer is None:
        client.receive_eof(now=0.1)
    else:
        client.receive_data(answer, now=0.1)
    (error,) = only(_drain(client), ErrorOccurred)
    assert isinstance(error.error, TransportError)
    assert str(error.error).startswith(f"transport failed: {reason}")
    assert client.state is ClientState.CONNECTING


def test_wss_through_a_proxy_asks_for_tls_inside_the_tunnel():
    client = _proxied("wss://centrifugo.test/connection/websocket")
    assert b"CONNECT centrifugo.test:443 " in client.data_to_send()
    client.receive_data(b"HTTP/1.1 200 OK\r\n\r\n", now=0.1)
    (start,) = _drain(client)
    assert isinstance(start, StartTls)
    assert start.endpoint.host == "centrifugo.test"
    assert client.data_to_send() == b""  # nothing until TLS is up
    client.tls_started(now=0.2)
    assert client.data_to_send().startswith(b"GET /connection/websocket HTTP/1.1\r\n")
    client.tls_started(now=0.3)  # a second call has nothing left to start
    assert client.data_to_send() == b""


def test_wss_proxy_that_sends_bytes_before_tls_fails_the_transport():
    client = _proxied("wss://centrifugo.test/connection/websocket")
    client.data_to_send()
    client.receive_data(b"HTTP/1.1 200 OK\r\n\r\n\x16\x03\x01", now=0.1)
    (error,) = only(_drain(client), ErrorOccurred)
    assert str(error.error) == "transport failed: proxy sent bytes before the TLS handshake"


def test_proxy_handshake_for_an_ipv6_host_and_without_credentials():
    handshake = ProxyHandshake(parse_proxy("http://proxy.test:3128"), "::1", 8000)
    request = handshake.request()
    assert request.startswith(b"CONNECT [::1]:8000 HTTP/1.1\r\n")
    assert b"Proxy-Authorization" not in request
    assert handshake.receive_data(b"HTTP/1.1 200 OK\r\n") is None  # not complete yet
    assert handshake.receive_data(b"\r\nrest") == (True, b"rest")


# -- session.py ------------------------------------------------------------------------


def test_connect_without_a_client_name():
    _, server = connected_pair(options=options(), name="")
    assert server.last_connect == {}


def test_3014_with_a_static_token_keeps_it_and_forgets_server_side_positions():
    client, server = connected_pair(
        options=options(),
        token="static",
        result={
            "subs": {"news": {"recoverable": True, "epoch": "e", "offset": 4}},
        },
    )
    assert server.last_connect["token"] == "static"
    client.receive_data(server.close_frame(3014, "state invalidated"), now=1.0)
    server.events()
    client.handle_timeout(now=client.next_deadline())
    server.accept_connect(now=3.0)
    # The token stays (no token source to ask); the server-side subscription's
    # position is gone, so its recovery is not asked for.
    assert server.last_connect == {"token": "static", "name": "python"}


def test_a_transport_failure_reported_after_the_client_gave_up_is_ignored():
    client = make_client(options=options())
    server = FakeServer(client)
    client.connect(now=0.0)
    server.events()
    client.handle_timeout(now=5.0)  # the attempt timed out: backoff
    assert server.events() == [CloseTransport()]
    client.transport_failed("late news", now=5.1)
    assert server.events() == []
    assert client.state is ClientState.CONNECTING


def test_the_session_ignores_news_of_a_transport_it_no_longer_has():
    # The facade only calls these while it holds a transport; the session still
    # guards them, so a stray call after a teardown changes nothing.
    client = make_client(options=options())
    session = client._session
    session.server_closed(1.0, CURRENT.close_advice(1000, "late"))
    session.receive([PING, Push("a", Join(info=None))], 1.0)  # type: ignore[arg-type]
    assert client.next_event() is None
    assert client.state is ClientState.DISCONNECTED


def test_an_invalid_subscription_input_raises_and_changes_nothing():
    client, server = connected_pair(options=options())
    client.subscribe("a", now=0.0)
    server.feed(reply(2, subscribe={}), now=0.0)
    sub = client._session._subs["a"]
    with pytest.raises(AssertionError):  # the session never feeds one: a bug if it did
        sub._input(SubscriptionInput.SUBSCRIBE_SUCCEEDED)
    assert client.subscription_state("a") is SubscriptionState.SUBSCRIBED


def _sub_with_refresh(ttl: int = 30, **subscribe):
    """Connected (no pings), "p" subscribed with a token source, expiring after ttl."""
    client, server = connected_pair(options=options(), result={"ping": 0})
    client.subscribe("p", token="s0", has_token_source=True, now=0.0, **subscribe)
    server.events()
    server.commands()
    result = {"expires": True, "ttl": ttl}
    if subscribe.get("positioned"):
        result.update(positioned=True, epoch="e", offset=1)
    server.feed(reply(2, subscribe=result), now=0.0)
    return client, server


def test_a_sub_refresh_that_times_out_is_retried_within_its_window():
    client, server = _sub_with_refresh(ttl=30)
    client.handle_timeout(now=30.0)
    (request,) = server.events()
    client.provide_token(request, "s1", now=30.0)
    assert [c["id"] for c in server.commands()] == [3]
    client.handle_timeout(now=35.0)  # no reply within the command timeout
    assert server.events() == []
    assert client.next_deadline() == 50.0  # jittered(10, 20) with rng 0.5
    client.handle_timeout(now=50.0)
    assert only(server.events(), TokenRequested)


def test_sub_refresh_results_that_do_not_expire_or_are_of_the_wrong_kind():
    client, server = _sub_with_refresh(ttl=30)
    client.handle_timeout(now=30.0)
    (request,) = server.events()
    client.provide_token(request, "s1", now=30.0)
    server.commands()
    events = server.feed(reply(3, sub_refresh={}), now=30.5)
    assert events == [TokenRefreshed(channel="p", expires=False, ttl=0)]
    assert client.next_deadline() is None  # no further refresh
    # A refresh answered with another command's result kind is bad protocol.
    client, server = _sub_with_refresh(ttl=30)
    client.handle_timeout(now=30.0)
    (request,) = server.events()
    client.provide_token(request, "s1", now=30.0)
    server.commands()
    events = server.feed(reply(3, publish={}), now=30.5)
    assert only(events, Connecting)[-1].code == ConnectingCode.BAD_PROTOCOL


def test_a_sub_refresh_reply_after_unsubscribe_is_ignored():
    client, server = _sub_with_refresh(ttl=30)
    client.handle_timeout(now=30.0)
    (request,) = server.events()
    client.provide_token(request, "s1", now=30.0)
    server.commands()
    client.unsubscribe("p", now=30.1)
    server.events()
    events = server.feed(reply(3, sub_refresh={"expires": True, "ttl": 60}), now=30.5)
    assert events == []
    assert client.next_deadline() == 35.1  # only the unsubscribe's timeout: no refresh


def test_sub_refresh_token_answers_after_the_server_unsubscribed():
    client, server = _sub_with_refresh(ttl=30)
    client.handle_timeout(now=30.0)
    (first,) = server.events()
    server.feed(push_unsubscribe("p", 2000, "gone"), now=30.1)
    # A failed token for a subscription no longer held: no retry is scheduled.
    client.token_failed(first, now=30.2)
    assert only(server.events(), ErrorOccurred)
    assert client.next_deadline() is None
    # Requests for a subscription forgotten altogether: an answer, token or
    # refusal, has nothing left to act on.
    for answer in ("token", "unauthorized"):
        client, server = _sub_with_refresh(ttl=30)
        client.handle_timeout(now=30.0)
        (request,) = server.events()
        server.feed(push_unsubscribe("p", 2000, "gone"), now=30.1)
        client.remove_subscription("p")
        if answer == "token":
            client.provide_token(request, "s1", now=30.2)
        else:
            client.token_failed(request, unauthorized=True, now=30.2)
        assert server.events() == []
        assert server.commands() == []


def test_a_sub_refresh_token_after_a_resubscribe_push_is_not_sent():
    client, server = _sub_with_refresh(ttl=30)
    client.handle_timeout(now=30.0)
    (request,) = server.events()
    server.feed(push_unsubscribe("p", 2500, "resubscribe"), now=30.1)
    assert client.subscription_state("p") is SubscriptionState.SUBSCRIBING
    server.commands()  # the resubscribe
    client.provide_token(request, "s1", now=30.2)
    assert server.commands() == []  # subscribing: no sub_refresh for it


def test_the_sub_refresh_timer_of_a_resyncing_subscription_asks_nothing():
    client, server = _sub_with_refresh(ttl=30, positioned=True)
    # An offset gap: the subscription resubscribes (subscribing), its refresh timer
    # still set; when it fires, nothing is asked for a subscription not held.
    server.feed(push_pub("p", {"n": 3}, 3), now=1.0)
    assert client.subscription_state("p") is SubscriptionState.SUBSCRIBING
    server.commands()
    server.events()
    client.handle_timeout(now=30.0)
    assert only(server.events(), TokenRequested) == []


def test_a_subscribe_token_arriving_while_reconnecting_is_kept_for_the_next_connection():
    client, server = connected_pair(options=options(), result={"ping": 0})
    client.subscribe("p", has_token_source=True, now=0.0)
    (request,) = only(server.events(), TokenRequested)
    client.receive_eof(now=0.5)
    server.events()
    client.provide_token(request, "s", now=0.6)
    assert client.data_to_send() == b""  # no connection to send it on
    client.handle_timeout(now=client.next_deadline())
    server.accept_connect(now=3.0)
    assert server.commands() == [{"id": 2, "subscribe": {"channel": "p", "token": "s"}}]


def test_unsubscribe_forgets_a_pending_subscription_token_request():
    client, server = connected_pair(options=options(), result={"ping": 0})
    client.subscribe("p", has_token_source=True, now=0.0)
    (request,) = only(server.events(), TokenRequested)
    client.unsubscribe("p", now=0.5)
    server.events()
    client.provide_token(request, "s", now=0.6)
    assert server.commands() == []
    assert server.events() == []


def test_connection_refresh_results_that_do_not_expire_or_are_of_the_wrong_kind():
    client, server = connected_pair(
        options=options(), token="t0", has_token_source=True, result={"expires": True, "ttl": 10}
    )
    client.handle_timeout(now=10.0)
    (request,) = server.events()
    client.provide_token(request, "t1", now=10.0)
    server.commands()
    assert server.feed(reply(2, refresh={}), now=10.5) == [
        TokenRefreshed(channel=None, expires=False, ttl=0)
    ]
    assert client.next_deadline() == 35.0  # only the ping deadline (25 + 10) is left
    client.handle_timeout(now=35.0)  # heard from at 10.5: it moves on
    assert client.next_deadline() == 45.5
    client.handle_timeout(now=45.5)  # no ping came: reconnect (checks nothing refreshes)
    server.events()
    client.handle_timeout(now=client.next_deadline())
    server.accept_connect(now=50.0, expires=True, ttl=10)
    client.handle_timeout(now=60.0)
    (request,) = only(server.events(), TokenRequested)
    client.provide_token(request, "t2", now=60.0)
    (command,) = server.commands()
    events = server.feed(reply(command["id"], publish={}), now=60.5)
    assert only(events, Connecting)[-1].code == ConnectingCode.BAD_PROTOCOL


def test_pushes_of_kinds_only_other_transports_get_are_ignored():
    client, server = connected_pair(options=options())
    events = server.feed(
        {"push": {"connect": {"client": "x"}}},
        {"push": {"channel": "a", "refresh": {"expires": True}}},
        {"push": {"channel": "a", "future_kind": {}}},
        now=1.0,
    )
    assert events == []
    assert client.state is ClientState.CONNECTED


def test_a_server_side_subscription_recovering_through_connect_keeps_its_epoch():
    client, server = connected_pair(options=options())
    server.feed(push_subscribe("news", recoverable=True, epoch="e", offset=1), now=0.0)
    server.feed(push_pub("news", {"n": 2}, 2), now=0.5)
    client.receive_eof(now=1.0)
    server.events()
    client.handle_timeout(now=client.next_deadline())
    server.accept_connect(now=3.0, subs={"news": {"recoverable": True, "epoch": "e", "offset": 2}})
    assert server.last_connect["subs"] == {"news": {"recover": True, "offset": 2, "epoch": "e"}}


# -- websocket.py -------------------------------------------------------------------------


def _open_layer(kind: FrameKind = FrameKind.TEXT) -> tuple[WebSocketLayer, WSConnection]:
    layer = WebSocketLayer(parse_endpoint(ENDPOINT), kind)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(layer.handshake())
    (request,) = server.events()
    assert isinstance(request, Request)
    items, _ = layer.receive_data(server.send(AcceptConnection()))
    assert items == [WebSocketOpened(None)]
    return layer, server


def test_a_finished_layer_takes_no_more_bytes():
    layer, server = _open_layer()
    items, _ = layer.receive_data(b"\xff\xff\xff")  # reserved bits: a protocol error
    assert [type(i) for i in items] == [WebSocketFailed]
    assert layer.receive_data(server.send(TextMessage(data="late"))) == ([], b"")
    assert not layer.open


def test_binary_messages_go_both_ways():
    layer, server = _open_layer(FrameKind.BINARY)
    server.receive_data(layer.send(b"\x00\x01"))
    (message,) = server.events()
    assert isinstance(message, BytesMessage)
    assert message.data == b"\x00\x01"
    items, _ = layer.receive_data(server.send(BytesMessage(data=b"\x02")))
    assert items == [b"\x02"]


# -- small modules ------------------------------------------------------------------------


def test_reply_error_repr_equality_and_hash():
    error = ReplyError(103, "permission denied", temporary=False)
    assert repr(error) == "ReplyError(code=103, message='permission denied', temporary=False)"
    assert error == ReplyError(103, "permission denied")
    assert error != "103: permission denied"
    assert hash(error) == hash(ReplyError(103, "permission denied"))
    assert error != ReplyError(103, "permission denied", temporary=True)


@pytest.mark.parametrize(
    "field", ["timeout", "min_reconnect_delay", "max_server_ping_delay", "max_resubscribe_delay"]
)
def test_options_must_be_positive(field):
    with pytest.raises(ValueError, match=f"{field} must be positive"):
        ClientOptions(**{field: 0})


def test_timer_queue_counts_live_timers():
    queue = TimerQueue()
    first = queue.schedule(1.0, lambda now: None)
    queue.schedule(2.0, lambda now: None)
    assert len(queue) == 2
    first.cancel()
    assert len(queue) == 1
    queue.fire_due(5.0)
    assert len(queue) == 0


def test_a_caller_command_failed_before_connect_names_the_reason():
    client = make_client(options=options())
    request = client.publish("a", {}, now=0.0)
    (failed,) = _drain(client)
    assert isinstance(failed, CommandFailed)
    assert failed.request == request
    assert str(failed.error) == "client is disconnected"
    assert CloseTransport() not in _drain(client)
    assert Subscribing  # (imported for the docs of this module's events)


def test_frames_after_one_that_closed_the_connection_are_not_read():
    client, server = connected_pair(options=options())
    assert server.ws is not None
    message = server.ws.send_message('{"push":{"message":{"data":1}}}')
    for first in ("not json", '{"id":99,"publish":{}}', '{"push":{"disconnect":{"code":4000}}}'):
        client, server = connected_pair(options=options())
        assert server.ws is not None
        # Undecodable, a reply to an id never issued, a disconnect push: each ends the
        # connection, and the frame read with it in the same chunk is not delivered.
        client.receive_data(server.ws.send_message(first) + message, now=1.0)
        events = server.events()
        assert client.state is ClientState.CONNECTING
        assert not [e for e in events if type(e).__name__ == "MessageReceived"]


def test_close_before_any_connect_reports_no_disconnect():
    client = make_client(options=options())
    client.subscribe("a", now=0.0)
    client.close(now=0.0)
    events = _drain(client)
    assert [type(e).__name__ for e in events] == ["Subscribing", "Unsubscribed"]
    assert client.state is ClientState.CLOSED


def _subscribe_token_failed_while_reconnecting():
    """ "p" waits for its token; the connection drops; the token fails: the retry is
    armed during the reconnect backoff (2 + 0.5 * 2 = 3 s resubscribe backoff)."""
    client, server = connected_pair(options=options(), result={"ping": 0})
    client.subscribe("p", has_token_source=True, now=0.0)
    (request,) = only(server.events(), TokenRequested)
    client.receive_eof(now=0.5)
    server.events()
    client.token_failed(request, now=0.5)
    assert only(server.events(), ErrorOccurred)
    return client, server


def test_a_resubscribe_retry_armed_while_reconnecting_waits_for_its_own_time():
    client, server = _subscribe_token_failed_while_reconnecting()
    assert client.next_deadline() == 2.0  # the reconnect (0.5 + 1.5)
    client.handle_timeout(now=2.0)
    server.accept_connect(now=2.0)
    assert server.commands() == []  # "p" waits for its retry, not for the connection
    client.handle_timeout(now=3.5)
    (request,) = only(server.events(), TokenRequested)
    assert request.channel == "p"


def test_a_resubscribe_retry_that_fires_while_disconnected_sends_nothing():
    client, server = _subscribe_token_failed_while_reconnecting()
    client.disconnect(now=0.6)  # cancels the retry with everything else
    server.events()
    assert client.next_deadline() is None
    client, server = _subscribe_token_failed_while_reconnecting()
    client.handle_timeout(now=2.0)  # reconnect: a transport is asked for
    server.events()
    client.handle_timeout(now=3.5)  # the retry, with no connection yet
    assert server.events() == []
    assert client.subscription_state("p") is SubscriptionState.SUBSCRIBING


def test_a_1xx_answer_to_the_upgrade_is_a_refusal():
    client = make_client(options=options())
    server = FakeServer(client)
    client.connect(now=0.0)
    server.events()
    client.transport_opened(now=0.0)
    client.data_to_send()
    client.receive_data(b"HTTP/1.1 103 Early Hints\r\n\r\n", now=0.5)
    (error,) = only(server.events(), ErrorOccurred)
    assert str(error.error) == "bad protocol: handshake refused: HTTP 103"


def test_giving_up_during_the_handshake_sends_no_close_frame():
    client = make_client(options=options())
    server = FakeServer(client)
    client.connect(now=0.0)
    server.events()
    client.transport_opened(now=0.0)
    client.data_to_send()
    client.handle_timeout(now=5.0)  # no 101 within the timeout
    assert server.events() == [CloseTransport()]
    assert client.data_to_send() == b""  # no WebSocket yet, so no close frame


def test_the_session_ignores_bad_input_news_after_a_teardown():
    client = make_client(options=options())
    client._session.bad_protocol(1.0, "late")
    assert client.next_event() is None
    assert client.state is ClientState.DISCONNECTED


def test_a_subscription_token_without_exp_carries_no_exp_claim():
    import base64
    import json

    from centrifugo_proto import subscription_token

    token = subscription_token("k" * 32, "42", "chat:a")
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims == {"sub": "42", "channel": "chat:a"}
