"""adapter_base: the pure half of every adapter, driven by a fake adapter.

The fake does the I/O the way a real adapter would, with no I/O at all: its
clock is a number, its socket is a FakeServer connection, its timer a recorded
deadline, its waiters plain objects and its callbacks a list run on demand.
"""

from __future__ import annotations

from typing import Any

import pytest

from centrifugo_proto import (
    ClientDisconnected,
    ClientState,
    CommandTimeout,
    Connected,
    Disconnected,
    Publication,
    PublicationReceived,
    PublicationsLost,
    ReplyError,
    StreamPosition,
    Subscribed,
    SubscriptionState,
    TokenRequested,
    Unauthorized,
    Unsubscribed,
)
from centrifugo_proto.adapter_base import ClientBase, SubscriptionBase, _stop_error
from centrifugo_proto.dispatch import CommandReplied, TransportFailed
from centrifugo_proto.errors import PublicationsDropped
from centrifugo_proto.events import OpenTransport, StartTls
from centrifugo_proto.results import SubscribeResult
from serverside import (
    ENDPOINT,
    FakeServer,
    FixedRandom,
    ServerWebSocket,
    connect_reply,
    error,
    options,
    push_pub,
    reply,
)


class Waiter:
    def __init__(self) -> None:
        self.outcome: tuple[str, Any] | None = None

    def done(self) -> bool:
        return self.outcome is not None

    def set_result(self, result: Any, /) -> None:
        assert self.outcome is None
        self.outcome = ("result", result)

    def set_exception(self, exception: BaseException, /) -> None:
        assert self.outcome is None
        self.outcome = ("error", exception)


class Sub(SubscriptionBase):
    wakes = 0

    def _wake(self) -> None:
        self.wakes += 1


class Client(ClientBase[Sub]):
    _rng_factory = FixedRandom

    def _setup(self, ssl_context: Any, ssl_no_verify: bool) -> None:
        self.now = 0.0
        self.server: FakeServer | None = None
        self.deadline: float | None = None
        self.scheduled: list[tuple[Any, Any]] = []
        self.effects: list[Any] = []
        self.setup_args = (ssl_context, ssl_no_verify)
        #: What the server answered to what the client wrote (the 101).
        self.inbox = b""
        self.raw = b""

    def _request(self, command: str, *args: Any, **kwargs: Any) -> Any:
        return self._start_request(command, *args, **kwargs)

    def _now(self) -> float:
        return self.now

    def _write(self, data: bytes) -> None:
        if self.server is None or self.server.ws is None:
            self.raw += data  # before any WebSocket: the proxy's CONNECT
            return
        self.inbox += self.server.ws.receive(data)

    def _rearm(self, deadline: float | None) -> None:
        self.deadline = deadline

    def _new_waiter(self) -> Waiter:
        return Waiter()

    def _open_transport(self, event: OpenTransport) -> None:
        self.effects.append(event)

    def _close_transport(self) -> None:
        self.effects.append("close")

    def _start_tls(self, event: StartTls) -> None:
        self.effects.append(event)

    def _request_token(self, event: TokenRequested) -> None:
        self.effects.append(event)

    def _schedule(self, callback: Any, event: Any) -> None:
        self.scheduled.append((callback, event))

    def _make_subscription(self, channel: str, options: dict[str, Any]) -> Sub:
        return Sub(self, channel, options)

    # -- the test's side of the wire --

    def open(self) -> FakeServer:
        """Answer the OpenTransport the core asked for: socket up, handshake done."""
        server = self.server = FakeServer(self._proto)
        server.ws = ServerWebSocket()
        server.connections.append(server.ws)
        self._call(lambda now: self._proto.transport_opened(now=now))
        accept, self.inbox = self.inbox, b""
        self._call(lambda now: self._proto.receive_data(accept, now=now))
        return server

    def feed(self, *lines: Any) -> None:
        assert self.server is not None
        data = self.server.send(*lines)
        self._call(lambda now: self._proto.receive_data(data, now=now))


def connected(**kwargs: Any) -> tuple[Client, FakeServer]:
    client = Client(ENDPOINT, options=options(), **kwargs)
    waiter = client._start_connect()
    assert isinstance(waiter, Waiter)
    server = client.open()
    (command,) = server.commands()
    assert command["id"] == 1
    assert "connect" in command
    client.feed(connect_reply(1))
    assert waiter.outcome == ("result", None)
    return client, server


def test_the_constructor_passes_the_adapters_settings_to_setup():
    client = Client(ENDPOINT, ssl_context="ctx", ssl_no_verify=True)
    assert client.setup_args == ("ctx", True)
    assert client.state is ClientState.DISCONNECTED
    assert client.client_id is None


def test_connect_waits_for_connected_and_is_immediate_once_connected():
    client, _ = connected()
    assert client.state is ClientState.CONNECTED
    assert client.client_id == "client-1"
    assert client._start_connect() is None
    assert client.deadline == 35.0  # the ping deadline, re-armed after every call


def test_callbacks_by_current_and_seed_names_chain_and_run_off_the_reading_path():
    client, _ = connected()
    seen: list[Any] = []
    assert client.on("message", seen.append).on("connect", seen.append) is client
    with pytest.raises(ValueError, match="no event is called"):
        client.on("mesage", seen.append)
    client.feed({"push": {"message": {"data": 1}}})
    assert seen == []  # scheduled, not run
    ((callback, event),) = client.scheduled
    callback(event)
    assert seen[0].data == 1


def test_commands_resolve_their_waiters_and_fire_the_seed_reply_callbacks():
    client, server = connected()
    replies: list[CommandReplied] = []
    client.on("publish", replies.append)
    publish = client.publish("chat", {"x": 1})
    history = client.history("chat", limit=2)
    presence = client.presence("chat")
    stats = client.presence_stats("chat")
    rpc = client.rpc("echo", {"y": 2})
    send = client.send({"z": 3})
    assert send.outcome == ("result", None)  # done once written
    ids = [c["id"] for c in server.commands() if "id" in c]
    assert ids == [2, 3, 4, 5, 6]
    client.feed(
        reply(2, publish={}),
        error(3, 108, "not available"),
        reply(4, presence={}),
        reply(5, presence_stats={"num_clients": 1, "num_users": 1}),
        reply(6, rpc={"data": {"y": 2}}),
    )
    assert publish.outcome is not None
    assert publish.outcome[0] == "result"
    assert history.outcome == ("error", ReplyError(108, "not available"))
    assert presence.outcome is not None
    assert stats.outcome is not None
    assert rpc.outcome is not None
    assert rpc.outcome[1].data == {"y": 2}
    (scheduled,) = [e for _, e in client.scheduled if isinstance(e, CommandReplied)]
    assert scheduled.command == "publish"
    assert scheduled.channel == "chat"
    assert scheduled.request == 1
    assert replies == []


def test_a_reply_for_a_request_nobody_registered_is_dropped():
    client, _ = connected()
    # The core's own handle for a command issued past the adapter's bookkeeping.
    request = client._proto.publish("chat", {}, now=client.now)
    client._pump()
    client.feed(reply(2, publish={}))
    assert request not in client._requests


def test_subscriptions_buffer_publications_and_settle_subscribe_waiters():
    client, _ = connected()
    sub = client.new_subscription("chat", buffer_size=2, recoverable=True)
    with pytest.raises(ValueError, match="exists already"):
        client.new_subscription("chat")
    assert client.get_subscription("chat") is sub
    assert client.get_subscription("nope") is None
    assert sub.state is SubscriptionState.UNSUBSCRIBED
    subscribed: list[Any] = []
    client.on("subscribe", subscribed.append)
    waiter = client._start_subscribe(sub)
    assert isinstance(waiter, Waiter)
    client.feed(reply(2, subscribe={"recoverable": True, "epoch": "e", "offset": 4}))
    assert waiter.outcome is not None
    assert isinstance(waiter.outcome[1], Subscribed)
    assert sub._buffer.epoch == "e"
    assert client._start_subscribe(sub) is waiter.outcome[1]  # subscribed already
    assert [e.command for _, e in client.scheduled if isinstance(e, CommandReplied)] == [
        "subscribe"
    ]
    on_pub: list[Any] = []
    sub.on("publication", on_pub.append)
    for offset in (5, 6, 7):
        client.feed(push_pub("chat", {"n": offset}, offset))
    assert sub.wakes == 3
    assert sub._buffered() == 2
    assert sub._ready()
    with pytest.raises(PublicationsDropped) as dropped:
        sub._take()
    assert dropped.value.lost == PublicationsLost(
        channel="chat", since=StreamPosition(4, "e"), reason="buffer full", count=1
    )
    first = sub._take()
    assert first is not None
    assert first.offset == 6
    assert [e.publication.offset for _, e in client.scheduled if isinstance(e, PublicationReceived)]
    sub._take()
    assert not sub._ready()
    client._start_close()
    assert sub._ready()  # the end, for a reader
    assert sub._take() is None


def test_server_side_publications_go_to_the_client_callbacks():
    client, _ = connected()
    client.feed({"push": {"channel": "news", "subscribe": {}}})
    client.feed(push_pub("news", "hi"))
    events = [e for _, e in client.scheduled]
    assert not any(isinstance(e, PublicationReceived) for e in events)  # no callback yet
    seen: list[Any] = []
    client.on("publication", seen.append)
    client.feed(push_pub("news", "again"))
    ((callback, event),) = [
        (c, e) for c, e in client.scheduled if isinstance(e, PublicationReceived)
    ]
    callback(event)
    assert seen[0].server_side


def test_subscription_commands_go_through_the_client():
    client, server = connected()
    sub = client.new_subscription("chat")
    assert sub.publish({"a": 1}).done() is False
    sub.history(limit=3)
    sub.presence()
    sub.presence_stats()
    assert [next(iter(c.keys() - {"id"})) for c in server.commands()] == [
        "publish",
        "history",
        "presence",
        "presence_stats",
    ]


def test_a_refused_subscribe_fails_its_waiter_and_an_unsubscribe_fires_its_callback():
    client, _ = connected()
    sub = client.new_subscription("private")
    waiter = client._start_subscribe(sub)
    client.feed(error(2, 103, "permission denied"))
    assert isinstance(waiter, Waiter)
    assert waiter.outcome == ("error", ReplyError(103, "permission denied"))
    assert [e.command for _, e in client.scheduled if isinstance(e, CommandReplied)] == []
    client.on("unsubscribe", lambda e: None)
    sub2 = client.new_subscription("open")
    client._start_subscribe(sub2)
    client.feed(reply(3, subscribe={}))
    client._call(lambda now: client._proto.unsubscribe("open", now=now))
    (replied,) = [e for _, e in client.scheduled if isinstance(e, CommandReplied)]
    assert replied.command == "unsubscribe"
    assert replied.error is None


def test_a_subscribe_that_raises_leaves_no_waiter_behind():
    client, _ = connected()
    sub = client.new_subscription("chat", data=object())  # not JSON
    with pytest.raises(Exception, match="JSON"):
        client._start_subscribe(sub)
    assert sub._waiters == []


def test_forget_drops_a_waiter_that_gave_up():
    client = Client(ENDPOINT, options=options())
    waiter = client._start_connect()
    sub = client.new_subscription("chat")
    sub_waiter = client._start_subscribe(sub)
    client._forget(waiter)  # type: ignore[arg-type]
    client._forget(sub_waiter)  # type: ignore[arg-type]
    assert client._connect_waiters == []
    assert sub._waiters == []


def test_transport_failures_reach_ws_error_callbacks_and_fatal_ones_fail_connect():
    client = Client(ENDPOINT, options=options())
    failures: list[Any] = []
    client.on("ws_error", failures.append)
    waiter = client._start_connect()
    (opened,) = client.effects
    assert isinstance(opened, OpenTransport)
    client._transport_failed("connection refused")
    assert isinstance(waiter, Waiter)
    assert waiter.outcome is None  # retried: the wait goes on
    assert client._timed_out("connect").args == (
        "connect timed out (last error: transport failed: connection refused)",
    )
    client.now = client.deadline or 0.0
    client._call(lambda now: client._proto.handle_timeout(now=now))
    certificate = ValueError("certificate verify failed")
    client._transport_failed(certificate, fatal=True)
    assert waiter.outcome == ("error", certificate)
    assert [e.error for _, e in client.scheduled if isinstance(e, TransportFailed)] == [
        "connection refused",
        certificate,
    ]


def test_timed_out_without_an_error_names_only_the_wait():
    client = Client(ENDPOINT)
    assert str(client._timed_out("subscribe")) == "subscribe timed out"
    assert isinstance(client._timed_out("x"), CommandTimeout)


def test_tokens_come_from_the_subscription_or_the_client_and_answers_reach_the_core():
    def client_token(channel: str | None = None) -> str:
        return f"client:{channel}"

    client, server = connected(token="t0", get_token=client_token)
    own = client.new_subscription("own", get_token=lambda channel: f"own:{channel}")
    assert own._options["has_token_source"] is True
    client.new_subscription("plain")
    for channel, expected in ((None, "client:None"), ("own", "own:own"), ("plain", "client:plain")):
        source = client._token_source(TokenRequested(request_id=0, channel=channel))
        assert source() == expected
    bare = Client(ENDPOINT)
    with pytest.raises(Unauthorized):
        bare._token_source(TokenRequested(request_id=0, channel=None))
    # Answers: a token goes out with the subscribe; a refusal unsubscribes; an error retries.
    client._start_subscribe(own)
    (request,) = [e for e in client.effects if isinstance(e, TokenRequested)]
    client._answer_token(request, "own-token", None)
    assert server.commands()[-1]["subscribe"] == {"channel": "own", "token": "own-token"}
    other = client.new_subscription("other", get_token=lambda channel: "")
    client._start_subscribe(other)
    request = [e for e in client.effects if isinstance(e, TokenRequested)][-1]
    client._answer_token(request, None, RuntimeError("backend down"))
    assert other.state is SubscriptionState.SUBSCRIBING
    client.now = client.deadline or 0.0
    client._call(lambda now: client._proto.handle_timeout(now=now))
    request = [e for e in client.effects if isinstance(e, TokenRequested)][-1]
    client._answer_token(request, None, Unauthorized("no"))
    assert other.state is SubscriptionState.UNSUBSCRIBED


def test_start_tls_and_close_transport_are_the_adapters():
    client = Client(ENDPOINT.replace("ws://", "wss://"), proxy="http://proxy.test:3128")
    client._start_connect()
    client._call(lambda now: client._proto.transport_opened(now=now))
    assert client.raw.startswith(b"CONNECT centrifugo.test:8000 ")
    client._call(lambda now: client._proto.receive_data(b"HTTP/1.1 200 OK\r\n\r\n", now=now))
    assert isinstance(client.effects[-1], StartTls)
    client._start_close()
    assert client.effects[-1] == "close"
    assert client.state is ClientState.CLOSED
    client._start_close()  # closed already: nothing more
    assert client.state is ClientState.CLOSED


def test_a_terminal_disconnect_fails_the_connect_waiter():
    client = Client(ENDPOINT, options=options())
    waiter = client._start_connect()
    client.open()
    client.feed(error(1, 3500, "invalid token"))
    assert isinstance(waiter, Waiter)
    assert waiter.outcome == ("error", ReplyError(3500, "invalid token"))


def test_stop_errors():
    result = SubscribeResult()
    assert _stop_error(Connected(client_id="c", version="", data=None, result=result)) is None  # type: ignore[arg-type]
    refusal = ReplyError(3501, "bad request")
    assert _stop_error(Disconnected(code=3501, reason="bad request", error=refusal)) is refusal
    stopped = _stop_error(Disconnected(code=0, reason="disconnect called"))
    assert isinstance(stopped, ClientDisconnected)
    assert stopped.reason == "disconnect called"


@pytest.mark.parametrize(
    "hook",
    [
        "_request",
        "_now",
        "_write",
        "_rearm",
        "_new_waiter",
        "_open_transport",
        "_close_transport",
        "_start_tls",
        "_request_token",
        "_schedule",
        "_make_subscription",
    ],
)
def test_every_hook_is_the_adapters_to_write(hook):
    client = Client(ENDPOINT)
    with pytest.raises(NotImplementedError):
        getattr(ClientBase, hook)(client, *([None] * _arity(hook)))


def _arity(hook: str) -> int:
    arities = {"_now": 0, "_new_waiter": 0, "_close_transport": 0}
    return arities.get(hook, 2 if hook in ("_schedule", "_make_subscription") else 1)


def test_the_base_classes_leave_setup_and_wake_to_the_adapter():
    class NoSetup(ClientBase[Sub]):
        _rng_factory = FixedRandom

    with pytest.raises(NotImplementedError):
        NoSetup(ENDPOINT)
    client = Client(ENDPOINT)
    with pytest.raises(NotImplementedError):
        SubscriptionBase(client, "chat", {})._wake()


def test_unsubscribed_events_for_unknown_channels_go_to_the_client():
    client, _ = connected()
    seen: list[Any] = []
    client.on("unsubscribed", seen.append)
    client._route(Unsubscribed(channel="ghost", code=0, reason="x"))
    assert [e for _, e in client.scheduled if isinstance(e, Unsubscribed)]
    assert Publication  # re-exported result type used by adapters


def test_a_waiter_the_adapter_already_finished_is_left_alone():
    client = Client(ENDPOINT, options=options())
    waiter = client._start_connect()
    assert isinstance(waiter, Waiter)
    waiter.set_exception(TimeoutError())  # the adapter's own timeout got there first
    server = client.open()
    assert server.commands()
    client.feed(connect_reply(1))  # settles nothing twice (Waiter asserts it)
    assert isinstance(waiter.outcome, tuple)
    assert isinstance(waiter.outcome[1], TimeoutError)
