"""The Perl ``Centrifugo::Client``'s bugs (LEGACY-V1.md §8, "Bugs and oddities"), one
test each that shows this client does not have them, against the real 1.8.0 in
every adapter. Bugs 8 and 9 are about the Perl module's documentation and API, not
the wire: their tests are in ``tests/unit/test_legacy_perl_bugs.py``.
"""

from __future__ import annotations

import json

import pytest
from drivers import Events, Runner, on_every_adapter, unique
from test_legacy_client import FAST, credentials, v1_client

from centrifugo_proto import (
    ClientDisconnected,
    ClientState,
    CommandTimeout,
    Connected,
    Connecting,
    Disconnected,
    PublicationsLost,
    ReplyError,
    Subscribed,
    SubscriptionState,
)
from centrifugo_proto.adapters import CommandReplied
from harness import AuthEndpoint, LegacyServer, LegacyServerFactory


@pytest.fixture
def codec() -> str:
    """JSON only: the 1.x protocol has no other codec (LEGACY-V1.md §1); each test
    runs once per adapter."""
    return "json"


def test_bug1_disconnect_and_a_refusal_to_reconnect_are_obeyed(
    adapter: Runner, legacy_server: LegacyServer
) -> None:
    """Bug 1: ``disconnect()`` reconnected at once, and ``reconnect: false`` looped."""
    user = unique("bye-")
    with v1_client(adapter, legacy_server, user) as client:
        client.disconnect()
        assert client.state is ClientState.DISCONNECTED
        assert client.real._proto.next_deadline() is None  # nothing scheduled
        client.connect()
        seen = Events(client, "disconnect", "connecting")
        (entry,) = legacy_server.api({"method": "disconnect", "params": {"user": user}})
        assert entry["error"] is None
        stopped = seen.next(Disconnected)
        assert (stopped.code, stopped.reason) == (3000, "disconnect")
        assert client.state is ClientState.DISCONNECTED
        assert client.real._proto.next_deadline() is None
        assert seen.empty()  # no Connecting: the server said no


def test_bug2_subscribing_to_a_channel_held_or_pending_returns_and_the_loop_goes_on(
    adapter: Runner, legacy_server: LegacyServer
) -> None:
    """Bug 2: ``subscribe`` used ``next`` outside a loop for a channel it held or had
    pending: it died, or skipped the rest of the caller's loop iteration."""
    first, second = unique("public:twice-"), unique("public:twice-")
    with v1_client(adapter, legacy_server) as client:
        pending = client.new_subscription(first)
        waiting = adapter.background(pending.subscribe)  # pending: not connected yet
        made = legacy_server.credentials("42")
        client.connect(user="42", timestamp=made.timestamp, token=made.token)
        waiting.result(10)
        done = []
        for channel in (first, first, second, second):
            sub = client.subscribe(channel)
            done.append((channel, sub.state))  # the rest of each iteration runs
        assert done == [
            (first, SubscriptionState.SUBSCRIBED),
            (first, SubscriptionState.SUBSCRIBED),
            (second, SubscriptionState.SUBSCRIBED),
            (second, SubscriptionState.SUBSCRIBED),
        ]
        assert client.get_subscription(first).real is pending.real  # the same one


def test_bug3_an_error_reply_is_a_refusal(adapter: Runner, legacy_server: LegacyServer) -> None:
    """Bug 3: an error reply to subscribe marked the channel subscribed."""
    channel = unique("nope:")
    with v1_client(adapter, legacy_server, "42") as client:
        seen = Events(client, "subscribe")
        with pytest.raises(ReplyError, match="namespace not found") as refused:
            client.subscribe(channel)
        assert refused.value.code == 102
        assert client.get_subscription(channel).state is SubscriptionState.UNSUBSCRIBED
        replied = seen.next(CommandReplied)
        assert replied.error == refused.value
        assert replied.result is None
        assert replied.uid == refused.value.uid != ""


def test_bug4_recovery_delivers_what_came_back_and_keeps_its_position(
    adapter: Runner, legacy_factory: LegacyServerFactory
) -> None:
    """Bug 4: messages recovered with ``recovered: false`` were dropped, and the
    reply's empty ``last`` overwrote the position, so the next recovery failed."""
    short = {
        "name": "short",
        "publish": True,
        "history_size": 3,
        "history_lifetime": 60,
        "recover": True,
    }
    server = legacy_factory(namespaces=[short])
    channel = unique("short:r-")
    with v1_client(adapter, server, "42") as client:
        sub = client.subscribe(channel, recoverable=True)
        server.publish(channel, {"n": 0})
        assert [p.data["n"] for p in sub.take(1)] == [0]
        lost = Events(sub, "publications_lost", "subscribed")
        client.disconnect()
        for n in range(1, 6):
            server.publish(channel, {"n": n})  # history keeps 3, 4, 5: 0 fell out
        client.connect()
        resubscribed = lost.next(Subscribed)
        assert (resubscribed.was_recovering, resubscribed.recovered) == (True, False)
        assert lost.next(PublicationsLost).reason == "recovery failed"
        assert [p.data["n"] for p in sub.take(3)] == [3, 4, 5]  # delivered, oldest first
        client.disconnect()
        server.publish(channel, {"n": 6})
        client.connect()
        assert lost.next(Subscribed).recovered  # from message 5, not from ""
        assert [p.data["n"] for p in sub.take(1)] == [6]


def test_bug5_a_private_client_channel_is_signed_under_its_own_name(
    adapter: Runner, legacy_server: LegacyServer, legacy_auth: AuthEndpoint
) -> None:
    """Bug 5: ``$x&`` was signed as ``$x&`` but subscribed as ``$x&<client id>``."""
    with v1_client(adapter, legacy_server, "42", auth_endpoint=legacy_auth.url) as client:
        sub = client.subscribe("$mine&")
        assert sub.state is SubscriptionState.SUBSCRIBED
        (request,) = legacy_auth.requests
        first = client.client_id
        assert json.loads(request.body)["channels"] == [f"$mine&{first}"]
        seen = Events(sub, "subscribed")
        client.disconnect()
        client.connect()
        seen.next(Subscribed)  # signed again, for the new connection id
        assert json.loads(legacy_auth.requests[-1].body)["channels"] == [
            f"$mine&{client.client_id}"
        ]
        assert client.client_id != first


def test_bug6_static_credentials_past_their_lifetime_stop_instead_of_looping(
    legacy_factory: LegacyServerFactory,
) -> None:
    """Bug 6: after ``expired`` the module reconnected with its old credentials, got
    ``expired: true``, was closed as stale 25 s later, and so on for ever."""
    server = legacy_factory({"connection_lifetime": 2, "expired_connection_close_delay": 1})

    def scenario(adapter: Runner) -> None:
        with v1_client(adapter, server) as client:
            seen = Events(client, "connect", "connecting", "disconnect")
            made = server.credentials("42")
            client.connect(user="42", timestamp=made.timestamp, token=made.token)
            seen.next(Connected)
            assert seen.next(Connecting, timeout=8.0).reason == "expired"
            stopped = seen.next(Disconnected)
            assert (stopped.code, stopped.reason) == (110, "credentials expired")
            assert client.state is ClientState.DISCONNECTED
            assert client.real._proto.next_deadline() is None
            # Stale from the start: refused at once, with no connection made.
            stale = credentials(server, "42", age=30)
            with pytest.raises(ReplyError, match="credentials expired"):
                client.connect(user="42", timestamp=stale.timestamp, token=stale.token)

    on_every_adapter(scenario, codecs=["json"])


def test_bug7_commands_before_the_connection_wait_for_it_or_fail_clearly(
    adapter: Runner, legacy_server: LegacyServer
) -> None:
    """Bug 7: publish, ping or presence before the socket opened died with "Can't
    call method send on undefined"."""
    channel = unique("public:early-")
    client = adapter.client(legacy_server.ws_url, protocol="v1", options=FAST)
    try:
        with pytest.raises(ClientDisconnected):
            client.ping("too early")  # disconnected: a clear error, nothing breaks
        seen = Events(client, "connecting")
        made = legacy_server.credentials("42")
        connecting = adapter.background(
            client.connect, user="42", timestamp=made.timestamp, token=made.token
        )
        seen.next(Connecting)
        assert client.ping("early").data == "early"  # it waited for the connection
        connecting.result(10)
        client.subscribe(channel)
        assert client.publish(channel, {"n": 1}).uid
    finally:
        client.close()


def test_bug10_a_caller_that_stops_waiting_does_not_cancel_the_sign_request(
    adapter: Runner, legacy_server: LegacyServer, legacy_auth: AuthEndpoint
) -> None:
    """Bug 10: the private subscribe returned AnyEvent::HTTP's guard; dropping it
    cancelled the auth request."""
    channel = unique("$patient-")
    legacy_auth.delay = 0.3
    with v1_client(adapter, legacy_server, "42", auth_endpoint=legacy_auth.url) as client:
        sub = client.new_subscription(channel)
        seen = Events(sub, "subscribed")
        with pytest.raises(CommandTimeout):
            sub.subscribe(timeout=0)  # the caller gives up at once
        assert sub.state is SubscriptionState.SUBSCRIBING
        assert seen.next(Subscribed).channel == channel  # the request went on
        assert len(legacy_auth.requests) == 1
