"""The 1.x dialect in every adapter, against the real Centrifugo 1.8.0 (issue 11,
Evidence): the seed's API (DESIGN "The 1.x dialect") spelled the same in asyncio,
trio and blocking, each behaviour its own test.

The Perl client's ten bugs (LEGACY-V1.md §8) are in ``test_legacy_perl_bugs.py``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from drivers import Events, Runner, on_every_adapter, unique
from integration.resilience_fixtures import FaultProxyFactory

from centrifugo_proto import (
    ChannelSign,
    ClientOptions,
    ClientState,
    Connected,
    Connecting,
    Credentials,
    Disconnected,
    JoinReceived,
    LeaveReceived,
    PingResult,
    Publication,
    PublishResult,
    ReplyError,
    Subscribed,
    Subscribing,
    SubscriptionState,
    TokenRefreshed,
    TransportClosed,
    Unauthorized,
)
from centrifugo_proto.adapters import CommandReplied
from centrifugo_proto.codecs.legacy import LegacyCodec
from harness import AuthEndpoint, CredentialsSource, LegacyServer, LegacyServerFactory
from harness.legacy_auth import ALL


@pytest.fixture
def codec() -> str:
    """JSON only: the 1.x protocol has no other codec (LEGACY-V1.md §1); each test
    runs once per adapter."""
    return "json"


#: Short backoff, so reconnects in these tests take tens of milliseconds.
FAST = ClientOptions(timeout=5.0, min_reconnect_delay=0.05, max_reconnect_delay=0.3)


def credentials(server: LegacyServer, user: str, **kwargs: Any) -> Credentials:
    made = server.credentials(user, **kwargs)
    return Credentials(made.user, made.timestamp, made.token, made.info)


def source(server: LegacyServer, user: str, **kwargs: Any) -> Any:
    """A ``get_credentials`` over the harness's recording source (``.calls``, ``.error``)."""
    recorded = CredentialsSource(server.secret, user, **kwargs)

    def get_credentials() -> Credentials:
        made = recorded()
        return Credentials(made.user, made.timestamp, made.token, made.info)

    get_credentials.recorded = recorded  # type: ignore[attr-defined]
    return get_credentials


@contextlib.contextmanager
def v1_client(
    adapter: Runner, server: LegacyServer, user: str | None = None, **kwargs: Any
) -> Iterator[Any]:
    """A 1.x client connected with ``connect(user=, timestamp=, token=, info=)``
    (``user`` None: not connected), closed after."""
    kwargs.setdefault("options", FAST)
    client = adapter.client(server.ws_url, protocol="v1", **kwargs)
    try:
        if user is not None:
            made = server.credentials(user)
            returned = client.connect(user=made.user, timestamp=made.timestamp, token=made.token)
            assert returned.real is client.real  # the seed's connect returns the client
        yield client
    finally:
        client.close()


def start_subscribes(adapter: Runner, subs: list[Any]) -> list[Any]:
    """``sub.subscribe()`` of each, waiting in the background; returns once each is
    subscribing (its ``subscribing`` event), so they wait for the connection together."""
    started = [Events(sub, "subscribing") for sub in subs]
    waits = [adapter.background(sub.subscribe) for sub in subs]
    for events in started:
        events.next(Subscribing)
    return waits


# -- connect, tokens, lifetime ---------------------------------------------------------------


def test_connect_with_an_hmac_token(adapter: Runner, legacy_server: LegacyServer) -> None:
    with v1_client(adapter, legacy_server) as client:
        seen = Events(client, "connect")
        made = legacy_server.credentials("42", info='{"name":"Alice"}')
        client.connect(user="42", timestamp=made.timestamp, token=made.token, info=made.info)
        connected = seen.next(Connected)
        assert connected.version == "1.8.0"
        assert len(connected.client_id) == 36  # a UUIDv4
        assert client.client_id == connected.client_id
        # connect() without credentials uses the ones given before.
        client.disconnect()
        client.connect()
        again = seen.next(Connected)
        assert again.client_id not in ("", connected.client_id)


def test_a_wrong_token_is_refused_with_the_servers_reason_and_no_reconnect(
    adapter: Runner, legacy_server: LegacyServer
) -> None:
    with v1_client(adapter, legacy_server) as client:
        seen = Events(client, "connecting", "ws_closed", "disconnect")
        made = legacy_server.credentials("42")
        with pytest.raises(ReplyError, match="invalid token") as refused:
            client.connect(user="42", timestamp=made.timestamp, token="0" * 64)
        assert (refused.value.code, refused.value.message) == (3000, "invalid token")
        closed = seen.next(TransportClosed)
        assert closed.code == 3000
        assert json.loads(closed.reason) == {"reason": "invalid token", "reconnect": False}
        stopped = seen.next(Disconnected)
        assert (stopped.code, stopped.reason) == (3000, "invalid token")
        assert client.state is ClientState.DISCONNECTED
        assert client.real._proto.next_deadline() is None  # no reconnect scheduled
        kinds = [type(e) for e in list(seen.events.queue)]
        assert Connecting not in kinds  # the only Connecting was before the refusal


def test_a_stale_timestamp_gets_fresh_credentials_from_get_credentials(
    adapter: Runner, legacy_factory: LegacyServerFactory
) -> None:
    server = legacy_factory({"connection_lifetime": 10})
    get_credentials = source(server, "42")
    with v1_client(adapter, server, get_credentials=get_credentials) as client:
        seen = Events(client, "error", "connect")
        stale = credentials(server, "42", age=60)
        client.connect(user=stale.user, timestamp=stale.timestamp, token=stale.token)
        assert seen.next(Connected).client_id  # connected with the fresh ones
        assert get_credentials.recorded.calls == 1
        assert client.state is ClientState.CONNECTED


def test_refresh_through_get_credentials_outlives_the_connection_lifetime(
    legacy_factory: LegacyServerFactory,
) -> None:
    """Lifetime 2 s, close 1 s after it: refreshes keep the first connection open
    for three lifetimes, with no reconnect."""
    server = legacy_factory({"connection_lifetime": 2, "expired_connection_close_delay": 1})

    def scenario(adapter: Runner) -> None:
        get_credentials = source(server, "42")
        with v1_client(adapter, server, get_credentials=get_credentials) as client:
            seen = Events(client, "refresh", "connecting")
            made = server.credentials("42")
            client.connect(user="42", timestamp=made.timestamp, token=made.token)
            first = client.client_id
            for _ in range(3):
                refreshed = seen.next(TokenRefreshed, timeout=6.0)
                assert (refreshed.channel, refreshed.expires, refreshed.ttl) == (None, True, 2)
            assert client.client_id == first
            assert not [e for e in list(seen.events.queue) if isinstance(e, Connecting)]
            assert get_credentials.recorded.calls >= 3

    on_every_adapter(scenario, codecs=["json"])


def test_a_connection_past_its_lifetime_without_refresh_reconnects_after_expired(
    legacy_factory: LegacyServerFactory,
) -> None:
    """The source refuses the refresh: the server closes with ``expired`` at the
    lifetime's end, and the client reconnects with fresh credentials."""
    server = legacy_factory({"connection_lifetime": 2, "expired_connection_close_delay": 1})
    slow_retry = ClientOptions(
        timeout=5.0, min_reconnect_delay=0.05, refresh_retry_min=30.0, refresh_retry_max=30.0
    )

    def scenario(adapter: Runner) -> None:
        get_credentials = source(server, "42")
        get_credentials.recorded.error = RuntimeError("refresh backend down")
        with v1_client(
            adapter, server, get_credentials=get_credentials, options=slow_retry
        ) as client:
            seen = Events(client, "connecting", "connect")
            made = server.credentials("42")
            client.connect(user="42", timestamp=made.timestamp, token=made.token)
            first = client.client_id
            seen.next(Connected)
            reconnecting = seen.next(Connecting, timeout=8.0)
            assert (reconnecting.code, reconnecting.reason) == (3000, "expired")
            get_credentials.recorded.error = None
            again = seen.next(Connected)
            assert again.client_id != first
            assert get_credentials.recorded.calls == 2  # the refused refresh, the reconnect

    on_every_adapter(scenario, codecs=["json"])


# -- subscriptions, messages, join/leave, presence, history, ping -------------------------


def test_subscribe_to_a_public_channel_and_publish_from_the_client(
    adapter: Runner, legacy_server: LegacyServer
) -> None:
    channel = unique("public:pub-")
    with v1_client(adapter, legacy_server, "42") as client:
        seen = Events(client, "subscribe", "publish", "message")
        sub = client.subscribe(channel)
        assert sub.state is SubscriptionState.SUBSCRIBED
        subscribed = seen.next(CommandReplied)
        assert (subscribed.command, subscribed.channel) == ("subscribe", channel)
        assert subscribed.uid
        assert subscribed.uid == subscribed.result.uid
        result = client.publish(channel, {"text": "hi"}, uid="my-uid")
        assert result == PublishResult(uid="my-uid")
        message = seen.next(Publication)  # the publisher gets its own message
        assert (message.channel, message.data) == (channel, {"text": "hi"})
        assert message.info is not None
        assert message.info.client == client.client_id
        replied = seen.next(CommandReplied)
        assert (replied.command, replied.uid, replied.result) == ("publish", "my-uid", result)
        (pub,) = sub.take(1)
        assert pub.uid == message.uid
        assert len(pub.uid) == 22


def test_a_message_published_through_the_signed_api_comes_with_its_uid_and_data(
    adapter: Runner, legacy_server: LegacyServer
) -> None:
    channel = unique("public:api-")
    api = adapter.module.LegacyApiClient(
        f"{legacy_server.http_url}/api/", secret=legacy_server.secret
    )
    try:
        with v1_client(adapter, legacy_server, "42") as client:
            seen = Events(client, "message")
            sub = client.subscribe(channel)
            adapter.call(api.publish, channel, {"n": 1}, uid="api-uid-1")
            message = seen.next(Publication)
            assert (message.channel, message.data) == (channel, {"n": 1})
            assert message.uid == "api-uid-1"
            assert message.info is None  # an API publish has no publisher
            (pub,) = sub.take(1)
            assert pub == message
            legacy_server.publish(channel, {"n": 2})  # the harness's own signed call
            assert seen.next(Publication).data == {"n": 2}
    finally:
        adapter.call(api.close if adapter.kind == "blocking" else api.aclose)


def test_join_and_leave_between_two_clients(adapter: Runner, legacy_server: LegacyServer) -> None:
    channel = unique("public:jl-")
    with v1_client(adapter, legacy_server, "alice") as alice:
        seen = Events(alice, "join", "leave")  # on the client: every channel's (the seed's)
        alice.subscribe(channel)
        # 1.8.0 sends a subscriber's own join before its subscribe reply (LEGACY-V1.md
        # §11.2): held for the reply, it comes right after ``subscribed``.
        own = seen.next(JoinReceived)
        assert (own.channel, own.info.user, own.info.client) == (
            channel,
            "alice",
            alice.client_id,
        )
        with v1_client(adapter, legacy_server, "bob") as bob:
            bob.subscribe(channel)
            joined = seen.next(JoinReceived)
            assert (joined.channel, joined.info.user, joined.info.client) == (
                channel,
                "bob",
                bob.client_id,
            )
            bob.unsubscribe(channel)
            left = seen.next(LeaveReceived)
            assert (left.channel, left.info.client) == (channel, bob.client_id)


def test_presence_lists_every_subscriber(adapter: Runner, legacy_server: LegacyServer) -> None:
    channel = unique("public:presence-")
    with (
        v1_client(adapter, legacy_server, "alice") as alice,
        v1_client(adapter, legacy_server, "bob") as bob,
    ):
        alice.subscribe(channel)
        bob.subscribe(channel)
        seen = Events(alice, "presence")
        result = alice.presence(channel, uid="who-is-there")
        assert result.uid == "who-is-there"
        assert {c: i.user for c, i in result.clients.items()} == {
            alice.client_id: "alice",
            bob.client_id: "bob",
        }
        replied = seen.next(CommandReplied)
        assert (replied.command, replied.uid, replied.result) == (
            "presence",
            "who-is-there",
            result,
        )


def test_history_comes_oldest_first(adapter: Runner, legacy_server: LegacyServer) -> None:
    channel = unique("public:history-")
    with v1_client(adapter, legacy_server, "42") as client:
        client.subscribe(channel)
        for n in range(3):
            legacy_server.publish(channel, {"n": n})
        seen = Events(client, "history")
        result = client.history(channel)
        assert [p.data for p in result.publications] == [{"n": 0}, {"n": 1}, {"n": 2}]
        assert all(len(p.uid) == 22 and p.channel == channel for p in result.publications)
        replied = seen.next(CommandReplied)
        assert (replied.command, replied.uid) == ("history", result.uid)


def test_ping_with_and_without_data(adapter: Runner, legacy_server: LegacyServer) -> None:
    with v1_client(adapter, legacy_server, "42") as client:
        seen = Events(client, "ping")
        plain = client.ping()
        echoed = client.ping("hey", uid="p-2")
        assert plain.data == ""
        assert plain.uid
        assert echoed == PingResult(data="hey", uid="p-2")
        replies = [seen.next(CommandReplied), seen.next(CommandReplied)]
        assert [(r.command, r.uid, r.result) for r in replies] == [
            ("ping", plain.uid, plain),
            ("ping", "p-2", echoed),
        ]


def test_several_subscribes_after_connect_go_in_one_frame_answered_by_an_array(
    adapter: Runner, legacy_server: LegacyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subscriptions made before connect wait for it and go out in one array; the
    server answers with one array, matched by uid (LEGACY-V1.md §2.10, §11.5)."""
    frames: list[str] = []
    decode, frame = LegacyCodec.decode, LegacyCodec.frame

    def recording_decode(self: LegacyCodec, message: str | bytes) -> Any:
        frames.append(str(message))
        return decode(self, message)

    def recording_frame(self: LegacyCodec, commands: Any) -> str:
        text = frame(self, commands)
        frames.append(">" + text)
        return text

    monkeypatch.setattr(LegacyCodec, "decode", recording_decode)
    monkeypatch.setattr(LegacyCodec, "frame", recording_frame)
    channels = [unique(f"public:batch{n}-") for n in range(3)]
    made = legacy_server.credentials("42")
    with v1_client(
        adapter, legacy_server, token=Credentials("42", made.timestamp, made.token)
    ) as client:
        subs = [client.new_subscription(channel) for channel in channels]
        waits = start_subscribes(adapter, subs)
        client.connect()
        for wait in waits:
            wait.result(10)
        (sent,) = [json.loads(f[1:]) for f in frames if f.startswith(">[")]
        assert [c["params"]["channel"] for c in sent] == channels
        (answered,) = [json.loads(f) for f in frames if f.startswith("[")]
        assert [(r["uid"], r["body"]["channel"]) for r in answered] == [
            (c["uid"], c["params"]["channel"]) for c in sent
        ]
        assert all(s.state is SubscriptionState.SUBSCRIBED for s in subs)


# -- private channels through the auth endpoint ---------------------------------------------


def test_a_private_channel_is_signed_through_the_auth_endpoint(
    adapter: Runner, legacy_server: LegacyServer, legacy_auth: AuthEndpoint
) -> None:
    """Two ``$`` channels asked for before connect: one POST after it, with both;
    the ``info`` the backend signed is sent as it was (the server checks the sign)."""
    first, second = unique("$private-"), unique("$private-")
    legacy_auth.infos[second] = '{"role": "admin"}'
    made = legacy_server.credentials("42")
    with v1_client(
        adapter,
        legacy_server,
        token=Credentials("42", made.timestamp, made.token),
        auth_endpoint=legacy_auth.url,
    ) as client:
        subs = [client.new_subscription(channel) for channel in (first, second)]
        waits = start_subscribes(adapter, subs)
        client.connect()
        for wait in waits:
            wait.result(10)
        (request,) = legacy_auth.requests
        assert json.loads(request.body) == {"client": client.client_id, "channels": [first, second]}
        assert request.header("Content-Type") == "application/json"
        presence = client.presence(second)
        assert presence.clients[client.client_id].chan_info == {"role": "admin"}


def test_a_private_channel_subscribed_after_connect(
    adapter: Runner, legacy_server: LegacyServer, legacy_auth: AuthEndpoint
) -> None:
    channel = unique("$solo-")
    with v1_client(adapter, legacy_server, "42", auth_endpoint=legacy_auth.url) as client:
        sub = client.subscribe(channel)
        assert sub.state is SubscriptionState.SUBSCRIBED
        (request,) = legacy_auth.requests
        assert json.loads(request.body)["channels"] == [channel]
        legacy_server.publish(channel, {"secret": True})
        assert sub.take(1)[0].data == {"secret": True}


FAULTS = {
    "down": (lambda auth: auth.down(), "could not be reached"),
    "403": (lambda auth: setattr(auth, "http_status", 403), "answered HTTP 403"),
    "malformed": (lambda auth: setattr(auth, "malformed", True), "answer is not JSON"),
    "missing": (lambda auth: auth.omit.add(ALL), "is not in the auth endpoint's answer"),
    "refused": (lambda auth: auth.deny.update({ALL: 403}), "refused '$"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_bad_auth_input_is_a_clear_subscribe_failure_and_the_client_stays_connected(
    adapter: Runner, legacy_server: LegacyServer, legacy_auth: AuthEndpoint, fault: str
) -> None:
    channel = unique("$bad-")
    apply, reason = FAULTS[fault]
    with v1_client(adapter, legacy_server, "42", auth_endpoint=legacy_auth.url) as client:
        seen = Events(client, "subscribe")
        apply(legacy_auth)
        with pytest.raises(Unauthorized, match=reason.replace("$", r"\$")):
            client.subscribe(channel)
        assert client.get_subscription(channel).state is SubscriptionState.UNSUBSCRIBED
        replied = seen.next(CommandReplied)
        assert (replied.command, replied.channel) == ("subscribe", channel)
        assert isinstance(replied.error, Unauthorized)
        assert client.state is ClientState.CONNECTED
        assert client.ping("still here").data == "still here"


def test_a_sign_for_another_client_is_refused_by_the_server_and_the_client_stays_connected(
    adapter: Runner, legacy_server: LegacyServer, legacy_auth: AuthEndpoint
) -> None:
    channel = unique("$foreign-")
    legacy_auth.foreign.add(channel)
    with v1_client(adapter, legacy_server, "42", auth_endpoint=legacy_auth.url) as client:
        with pytest.raises(ReplyError, match="permission denied") as refused:
            client.subscribe(channel)
        assert refused.value.code == 103
        assert refused.value.uid
        assert client.state is ClientState.CONNECTED
        assert client.ping().uid


def test_a_channel_sign_from_get_token_needs_no_auth_endpoint(
    adapter: Runner, legacy_server: LegacyServer
) -> None:
    """A subscription's own source may sign (a backend call of the application's own)."""
    channel = unique("$own-")

    def get_token(name: str) -> ChannelSign:
        assert name == channel
        client_id = client.real.client_id  # in the adapter's home: not through the proxy
        return ChannelSign(legacy_server.channel_sign(client_id, channel), "")

    with v1_client(adapter, legacy_server, "42") as client:
        sub = client.subscribe(channel, get_token=get_token)  # plain: every adapter takes one
        assert sub.state is SubscriptionState.SUBSCRIBED


# -- recovery across a cut connection ---------------------------------------------------------


def test_a_cut_during_a_stream_recovers_every_missed_message_once_in_order(
    legacy_server: LegacyServer, fault_proxy: FaultProxyFactory
) -> None:
    count = 80

    def scenario(adapter: Runner) -> None:
        channel = unique(f"public:stream-{adapter.kind}-")
        proxy = fault_proxy(legacy_server)
        # At least 0.2 s down: messages are published while the client is away.
        away = ClientOptions(timeout=5.0, min_reconnect_delay=0.2, max_reconnect_delay=0.5)
        client = adapter.client(proxy.url, protocol="v1", options=away)
        try:
            made = legacy_server.credentials("42")
            client.connect(user="42", timestamp=made.timestamp, token=made.token)
            seen = Events(client, "connecting")
            sub = client.subscribe(channel, recoverable=True)
            resubscribes = Events(sub, "subscribed")
            stop = threading.Event()

            def publish() -> None:
                # Without a pause, also while the resubscribe is in flight: 1.8.0 sends
                # a message published between its history read and its reply before
                # that reply, and the core holds it for the reply (LEGACY-V1.md §11.2).
                for n in range(count):
                    if stop.wait(0.01):
                        return
                    legacy_server.publish(channel, {"n": n})

            publisher = threading.Thread(target=publish, name="test-publisher")
            publisher.start()
            try:
                received = [p.data["n"] for p in sub.take(count // 4)]
                proxy.cut()
                assert seen.next(Connecting).reason  # the cut was seen
                received += [p.data["n"] for p in sub.take(count - len(received))]
            finally:
                stop.set()
                publisher.join()
            assert received == list(range(count))
            resubscribed = resubscribes.next(Subscribed)
            assert resubscribed.was_recovering
            assert resubscribed.recovered
            assert resubscribed.result.publications  # some came back through recovery
        finally:
            client.close()

    on_every_adapter(scenario, codecs=["json"])
