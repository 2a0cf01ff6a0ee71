"""Connection and subscription token lifecycle (PROTOCOL.md §6.3, §6.4)."""

from __future__ import annotations

from centrifugo_proto import (
    ClientState,
    CloseTransport,
    Disconnected,
    DisconnectedCode,
    ErrorOccurred,
    OpenTransport,
    ReplyError,
    SubscriptionState,
    TokenError,
    TokenRefreshed,
    TokenRequested,
    Unsubscribed,
)
from serverside import FakeServer, connected_pair, error, make_client, only, options, reply


def refresh_pair(ttl=10):
    """Connected at 0 with a token source; the token expires after ``ttl``."""
    return connected_pair(
        options=options(),
        token="t0",
        has_token_source=True,
        result={"expires": True, "ttl": ttl, "ping": 25},
    )


def test_refresh_is_asked_for_at_ttl_and_provide_token_sends_refresh():
    client, server = refresh_pair(ttl=10)
    assert server.last_connect["token"] == "t0"
    assert client.next_deadline() == 10.0
    client.handle_timeout(now=9.9)
    assert server.events() == []
    client.handle_timeout(now=10.0)
    (request,) = server.events()
    assert isinstance(request, TokenRequested)
    assert request.channel is None
    assert server.commands() == []  # nothing until the token comes

    client.provide_token(request, "t1", now=10.5)
    assert server.commands() == [{"id": 2, "refresh": {"token": "t1"}}]
    events = server.feed(
        reply(2, refresh={"client": "client-1", "expires": True, "ttl": 20}), now=11.0
    )
    assert events == [TokenRefreshed(channel=None, expires=True, ttl=20)]
    assert client.next_deadline() == 31.0  # the next refresh

    # A stale answer to the request already answered is ignored.
    client.provide_token(request, "t-stale", now=12.0)
    client.token_failed(request, now=12.0)
    assert server.events() == []
    assert server.commands() == []

    # The refreshed token is the one used on the next connection.
    client.receive_data(server.close_frame(3001, "shutdown"), now=13.0)
    client.handle_timeout(now=client.next_deadline())
    server.accept_connect(now=15.0)
    assert server.last_connect["token"] == "t1"


def test_a_token_answer_for_an_older_connection_is_ignored():
    client, server = refresh_pair(ttl=10)
    client.handle_timeout(now=10.0)
    (request,) = only(server.events(), TokenRequested)
    client.receive_data(server.close_frame(3001, "shutdown"), now=10.5)
    client.handle_timeout(now=client.next_deadline())
    server.accept_connect(now=12.5, expires=True, ttl=100, ping=0)
    client.provide_token(request, "for-the-old-connection", now=13.0)
    assert server.events() == []
    assert server.commands() == []
    assert client.next_deadline() == 112.5  # the new connection's own refresh


def test_no_refresh_without_a_token_source():
    client, server = connected_pair(
        options=options(), token="t0", result={"expires": True, "ttl": 10, "ping": 0}
    )
    assert client.next_deadline() is None
    client.handle_timeout(now=100.0)
    assert server.events() == []


def test_token_failed_retries_refresh_within_the_retry_window():
    client, server = refresh_pair(ttl=10)
    client.handle_timeout(now=10.0)
    (request,) = server.events()
    client.token_failed(request, now=10.0)
    assert server.events() == [
        ErrorOccurred(error=TokenError("could not get a token"), channel=None)
    ]
    # jittered(5, 10) with rng 0.5 -> 7.5 s
    assert client.next_deadline() == 17.5
    client.handle_timeout(now=17.5)
    assert only(server.events(), TokenRequested)
    assert client.state is ClientState.CONNECTED


def test_an_empty_token_disconnects_as_unauthorized():
    client, server = refresh_pair(ttl=10)
    client.handle_timeout(now=10.0)
    (request,) = server.events()
    client.provide_token(request, "", now=10.0)
    events = server.events()
    assert CloseTransport() in events
    assert events[-1] == Disconnected(code=DisconnectedCode.UNAUTHORIZED, reason="unauthorized")
    assert client.state is ClientState.DISCONNECTED


def test_token_failed_unauthorized_on_first_connect_disconnects():
    client = make_client(options=options(), has_token_source=True)
    server = FakeServer(client)
    client.connect(now=0.0)
    events = server.events()
    (request,) = only(events, TokenRequested)
    assert not only(events, OpenTransport)  # no token yet, no transport
    client.token_failed(request, unauthorized=True, now=0.5)
    assert server.events()[-1] == Disconnected(
        code=DisconnectedCode.UNAUTHORIZED, reason="unauthorized"
    )


def test_first_connect_with_a_token_source_asks_for_the_token_first():
    client = make_client(options=options(), has_token_source=True)
    server = FakeServer(client)
    client.connect(now=0.0)
    (request,) = only(server.events(), TokenRequested)
    client.provide_token(request, "minted", now=0.5)
    server.accept_connect(now=0.5)
    assert server.last_connect["token"] == "minted"


def test_refresh_reply_errors():
    client, server = refresh_pair(ttl=10)
    client.handle_timeout(now=10.0)
    (request,) = server.events()
    client.provide_token(request, "t1", now=10.0)
    server.commands()
    events = server.feed(error(2, 100, "internal", temporary=True), now=10.5)
    assert events == [ErrorOccurred(error=ReplyError(100, "internal", True))]
    assert client.next_deadline() == 18.0  # retried after 7.5 s
    client.handle_timeout(now=18.0)
    (request,) = server.events()
    client.provide_token(request, "t2", now=18.0)
    server.commands()
    events = server.feed(error(3, 101, "unauthorized"), now=18.5)
    assert events[-1] == Disconnected(code=101, reason="unauthorized")
    assert client.state is ClientState.DISCONNECTED


def test_refresh_timeout_retries():
    client, server = refresh_pair(ttl=10)
    client.handle_timeout(now=10.0)
    (request,) = server.events()
    client.provide_token(request, "t1", now=10.0)
    server.commands()
    client.handle_timeout(now=15.0)  # command timeout
    assert client.state is ClientState.CONNECTED
    assert client.next_deadline() == 22.5


def test_subscription_token_refresh():
    client, server = connected_pair(options=options(), result={"ping": 0})
    client.subscribe("private:a", token="s0", has_token_source=True, now=0.0)
    server.events()
    (command,) = server.commands()
    assert command["subscribe"]["token"] == "s0"
    server.feed(reply(2, subscribe={"expires": True, "ttl": 30}), now=1.0)
    assert client.next_deadline() == 31.0
    client.handle_timeout(now=31.0)
    (request,) = server.events()
    assert request == TokenRequested(request_id=request.request_id, channel="private:a")
    client.provide_token(request, "s1", now=31.0)
    assert server.commands() == [{"id": 3, "sub_refresh": {"channel": "private:a", "token": "s1"}}]
    events = server.feed(reply(3, sub_refresh={"expires": True, "ttl": 60}), now=31.5)
    assert events == [TokenRefreshed(channel="private:a", expires=True, ttl=60)]
    assert client.next_deadline() == 91.5

    # A terminal sub_refresh error unsubscribes.
    client.handle_timeout(now=91.5)
    (request,) = server.events()
    client.provide_token(request, "s2", now=91.5)
    server.commands()
    events = server.feed(error(4, 103, "permission denied"), now=92.0)
    assert events == [Unsubscribed(channel="private:a", code=103, reason="permission denied")]
    assert client.subscription_state("private:a") is SubscriptionState.UNSUBSCRIBED
    assert server.commands() == [{"id": 5, "unsubscribe": {"channel": "private:a"}}]


def test_token_failed_for_the_connect_token_retries_with_backoff():
    client = make_client(options=options(), has_token_source=True)
    server = FakeServer(client)
    client.connect(now=0.0)
    (request,) = only(server.events(), TokenRequested)
    client.token_failed(request, now=0.5)
    assert server.events() == [
        ErrorOccurred(error=TokenError("could not get a token"), channel=None)
    ]
    assert client.state is ClientState.CONNECTING
    assert client.next_deadline() == 2.0  # the reconnect backoff, attempt 0
    client.handle_timeout(now=2.0)
    (request,) = only(server.events(), TokenRequested)
    client.provide_token(request, "t", now=2.5)
    server.accept_connect(now=2.5)
    assert server.last_connect["token"] == "t"


def test_token_failed_for_a_subscription_token_tries_again_after_backoff():
    client, server = connected_pair(options=options(), result={"ping": 0})
    client.subscribe("p", has_token_source=True, now=0.0)
    (request,) = only(server.events(), TokenRequested)
    client.token_failed(request, now=1.0)
    assert server.events() == [
        ErrorOccurred(error=TokenError("could not get a token"), channel="p")
    ]
    assert client.subscription_state("p") is SubscriptionState.SUBSCRIBING
    assert client.next_deadline() == 4.0  # resubscribe backoff: 2 + 0.5 * 2
    client.handle_timeout(now=4.0)
    (request,) = only(server.events(), TokenRequested)
    assert request.channel == "p"
    client.provide_token(request, "s", now=4.0)
    assert server.commands() == [{"id": 2, "subscribe": {"channel": "p", "token": "s"}}]


def test_token_failed_for_a_subscription_refresh_retries_within_its_window():
    client, server = connected_pair(options=options(), result={"ping": 0})
    client.subscribe("p", token="s0", has_token_source=True, now=0.0)
    server.events()
    server.commands()
    server.feed(reply(2, subscribe={"expires": True, "ttl": 30}), now=0.0)
    client.handle_timeout(now=30.0)
    (request,) = server.events()
    client.token_failed(request, now=30.0)
    assert server.events() == [
        ErrorOccurred(error=TokenError("could not get a token"), channel="p")
    ]
    assert client.next_deadline() == 45.0  # jittered(10, 20) with rng 0.5
    client.handle_timeout(now=45.0)
    assert only(server.events(), TokenRequested)
