"""adapters/_base: the pure half of every adapter, driven by a fake adapter.

The fake does the I/O the way a real adapter would, with no I/O at all: its
clock is a number, its socket is a FakeServer connection, its timer a recorded
deadline, its wake-ups plain objects and its callbacks a list run on demand.
The server's bytes are built by the test (``serverside``), as in every core
unit test.
"""

from __future__ import annotations

from typing import Any

import pytest

from centrifugo_proto import (
    ClientDisconnected,
    ClientOptions,
    ClientState,
    CommandTimeout,
    Disconnected,
    ErrorOccurred,
    LocalProtocolError,
    PresenceStatsResult,
    Publication,
    PublicationReceived,
    PublicationsLost,
    PublishResult,
    ReplyError,
    RpcResult,
    StreamPosition,
    Subscribed,
    SubscriptionCancelled,
    SubscriptionState,
    TokenRequested,
    TransportError,
    Unauthorized,
    Unsubscribed,
)
from centrifugo_proto.adapters._base import (
    ClientBase,
    CommandReplied,
    Pending,
    SubscribeOptions,
    SubscriptionBase,
    TransportFailed,
)
from centrifugo_proto.adapters._base.client import READER_IDLE
from centrifugo_proto.adapters._base.routing import Routing
from centrifugo_proto.events import OpenTransport, StartTls
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


class Wakeup:
    def __init__(self) -> None:
        self.sets = 0

    def set(self) -> None:
        self.sets += 1

    def is_set(self) -> bool:
        return self.sets > 0


class Sub(SubscriptionBase["Client"]):
    pass


class Client(ClientBase[Sub]):
    _rng_factory = FixedRandom

    def _setup(self) -> None:
        self.now = 0.0
        self.server: FakeServer | None = None
        self.deadline: float | None = None
        self.scheduled: list[tuple[Any, Any]] = []
        self.effects: list[Any] = []
        #: What the server answered to what the client wrote (the 101).
        self.inbox = b""
        self.raw = b""
        self.broken: BaseException | None = None  # _write raises it once

    def _now(self) -> float:
        return self.now

    def _write(self, data: bytes) -> None:
        if self.broken is not None:
            broken, self.broken = self.broken, None
            raise broken
        if self.server is None or self.server.ws is None:
            self.raw += data  # before any WebSocket: the proxy's CONNECT
            return
        self.inbox += self.server.ws.receive(data)

    def _rearm(self, deadline: float | None) -> None:
        self.deadline = deadline

    def _new_wakeup(self) -> Wakeup:
        return Wakeup()

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

    def _make_subscription(self, channel: str, options: SubscribeOptions) -> Sub:
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

    def replies(self) -> list[CommandReplied]:
        return [e for _, e in self.scheduled if isinstance(e, CommandReplied)]


def outcome(pending: Pending[Any]) -> tuple[str, Any] | None:
    """("result", value), ("error", exception), or None while pending."""
    if not pending.done():
        return None
    try:
        return ("result", pending.outcome())
    except BaseException as exc:
        return ("error", exc)


def connected(**kwargs: Any) -> tuple[Client, FakeServer]:
    client = Client(ENDPOINT, options=options(), **kwargs)
    pending = client._start_connect()
    server = client.open()
    (command,) = server.commands()
    assert command["id"] == 1
    assert "connect" in command
    client.feed(connect_reply(1))
    assert outcome(pending) == ("result", None)
    assert pending.wakeup.sets == 1  # type: ignore[attr-defined]
    return client, server


def test_the_constructor_keeps_the_adapters_settings_and_refuses_bad_ones():
    client = Client(ENDPOINT, ssl_context="ctx")
    assert (client._ssl_context, client._ssl_no_verify) == ("ctx", False)
    assert client.state is ClientState.DISCONNECTED
    assert client.client_id is None
    with pytest.raises(LocalProtocolError, match="not both"):
        Client(ENDPOINT, ssl_context="ctx", ssl_no_verify=True)
    with pytest.raises(LocalProtocolError, match="ClientOptions"):
        Client(ENDPOINT, options={"timeout": 1})  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="callable"):
        Client(ENDPOINT, get_token="token")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        Client("ws://a..b/")  # the core's own check


def test_connect_waits_for_connected_and_is_immediate_once_connected():
    client, _ = connected()
    assert client.state is ClientState.CONNECTED
    assert client.client_id == "client-1"
    assert outcome(client._start_connect()) == ("result", None)
    assert client.deadline == 35.0  # the ping deadline, re-armed after every call


def test_callbacks_by_current_and_seed_names_chain_and_run_off_the_reading_path():
    client, _ = connected()
    seen: list[Any] = []
    assert client.on("message", seen.append).on("connect", seen.append) is client
    with pytest.raises(LocalProtocolError, match="no event is called"):
        client.on("mesage", seen.append)
    with pytest.raises(LocalProtocolError, match="callable"):
        client.on("message", "print")  # type: ignore[arg-type]
    client.feed({"push": {"message": {"data": 1}}})
    assert seen == []  # scheduled, not run
    ((callback, event),) = client.scheduled
    callback(event)
    assert seen[0].data == 1


def test_commands_resolve_their_waits_and_fire_the_seed_reply_callbacks():
    client, server = connected()
    replies: list[CommandReplied] = []
    client.on("publish", replies.append)
    publish = client._start_publish("chat", {"x": 1})
    history = client._start_history("chat", 2, None, False)
    presence = client._start_presence("chat")
    stats = client._start_presence_stats("chat")
    rpc = client._start_rpc("echo", {"y": 2})
    send = client._start_send({"z": 3})
    assert outcome(send) == ("result", None)  # done once written
    ids = [c["id"] for c in server.commands() if "id" in c]
    assert ids == [2, 3, 4, 5, 6]
    client.feed(
        reply(2, publish={}),
        error(3, 108, "not available"),
        reply(4, presence={}),
        reply(5, presence_stats={"num_clients": 1, "num_users": 1}),
        reply(6, rpc={"data": {"y": 2}}),
    )
    assert outcome(publish) == ("result", PublishResult())
    assert outcome(history) == ("error", ReplyError(108, "not available"))
    assert outcome(presence) is not None
    assert outcome(stats) == ("result", PresenceStatsResult(num_clients=1, num_users=1))
    assert outcome(rpc) == ("result", RpcResult(data={"y": 2}))
    (scheduled,) = client.replies()
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


def test_subscriptions_buffer_publications_and_settle_subscribe_waits():
    client, _ = connected()
    sub = client.new_subscription("chat", buffer_size=2, recoverable=True)
    with pytest.raises(LocalProtocolError, match="exists already"):
        client.new_subscription("chat")
    assert client.get_subscription("chat") is sub
    assert client.get_subscription("nope") is None
    assert sub.state is SubscriptionState.UNSUBSCRIBED
    subscribed: list[Any] = []
    client.on("subscribe", subscribed.append)
    pending = sub._start_subscribe()
    client.feed(reply(2, subscribe={"recoverable": True, "epoch": "e", "offset": 4}))
    done = outcome(pending)
    assert done is not None
    assert isinstance(done[1], Subscribed)
    assert sub._buffer.epoch == "e"
    assert sub.delta_stats is None  # no delta asked for, none agreed
    assert outcome(sub._start_subscribe()) == done  # subscribed already
    assert [e.command for e in client.replies()] == ["subscribe"]
    on_pub: list[Any] = []
    sub.on("publication", on_pub.append)
    reader = sub._arm_reader()
    assert sub._arm_reader() is reader  # a second reader waits for the same wake-up
    client.feed(push_pub("chat", {"n": 5}, 5))
    assert reader.sets == 1  # type: ignore[attr-defined]
    later = sub._arm_reader()
    assert later is not reader  # a set one is never reused
    for offset in (6, 7):
        client.feed(push_pub("chat", {"n": offset}, offset))
    # Set once and let go: the second delivery finds no reader waiting.
    assert later.sets == 1  # type: ignore[attr-defined]
    assert sub._arm_reader() is not later
    assert sub._buffered() == 2
    assert sub.dropped == 1  # counted as it was dropped
    assert sub._ready()
    losses: list[Any] = []
    sub.on("publications_lost", losses.append)
    first = sub._take()  # the gap is reported and passed, never raised
    assert first is not None
    assert first.offset == 6
    lost = PublicationsLost(
        channel="chat", since=StreamPosition(4, "e"), reason="buffer full", count=1
    )
    assert sub.last_drop == lost
    assert [e for c, e in client.scheduled if c == losses.append] == [lost]
    assert [e.publication.offset for _, e in client.scheduled if isinstance(e, PublicationReceived)]
    sub._take()
    assert not sub._ready()
    client._start_close()
    assert sub._ready()  # the end, for a reader
    assert sub._take() is None


def test_new_subscription_refuses_what_the_core_could_not_take():
    client = Client(ENDPOINT)
    for channel in ("", b"chat", None):
        with pytest.raises(LocalProtocolError, match="channel"):
            client.new_subscription(channel)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="recoverabel"):
        client.new_subscription("chat", recoverabel=True)  # type: ignore[call-arg]
    with pytest.raises(LocalProtocolError, match="callable"):
        client.new_subscription("chat", get_token="t")  # type: ignore[typeddict-item]
    with pytest.raises(LocalProtocolError, match="buffer_size"):
        client.new_subscription("chat", buffer_size=0)
    assert client.get_subscription("chat") is None  # nothing was kept
    with pytest.raises(LocalProtocolError, match="no subscription"):
        client._subscription("chat")
    with pytest.raises(LocalProtocolError, match="no subscription"):
        client._subscription(b"chat")  # type: ignore[arg-type]
    sub = client._subscription_for("chat", {"join_leave": True})
    assert client._subscription_for("chat", {}) is sub
    assert client._subscription("chat") is sub
    assert sub._options == {"join_leave": True}


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


def test_a_refused_subscribe_fails_its_wait_and_an_unsubscribe_fires_its_callback():
    client, _ = connected()
    sub = client.new_subscription("private")
    pending = sub._start_subscribe()
    client.feed(error(2, 103, "permission denied"))
    assert outcome(pending) == ("error", ReplyError(103, "permission denied"))
    assert [e.command for e in client.replies()] == []
    client.on("subscribe", lambda e: None).on("unsubscribe", lambda e: None)
    sub2 = client.new_subscription("open")
    sub2._start_subscribe()
    client.feed(reply(3, subscribe={}))
    sub2._start_unsubscribe()
    assert [(e.command, e.error) for e in client.replies()] == [
        ("subscribe", None),
        ("unsubscribe", None),
    ]
    third = client.new_subscription("refused")
    third._start_subscribe()
    client.feed(error(5, 103, "permission denied"))  # 4 was the unsubscribe
    assert client.replies()[-1].error == ReplyError(103, "permission denied")


def test_the_callers_unsubscribe_cancels_a_pending_subscribe_and_is_quiet_otherwise():
    client, _ = connected()
    sub = client.new_subscription("chat")
    sub._start_unsubscribe()  # never subscribed: nothing to end
    pending = sub._start_subscribe()
    sub._start_unsubscribe()
    done = outcome(pending)
    assert done is not None
    assert isinstance(done[1], SubscriptionCancelled)
    assert "chat" in str(done[1])
    sub._start_unsubscribe()  # unsubscribed already
    assert sub.state is SubscriptionState.UNSUBSCRIBED


def test_a_subscribe_that_raises_leaves_no_wait_behind():
    client, _ = connected()
    client._start_close()
    sub = client.new_subscription("chat")
    with pytest.raises(LocalProtocolError):
        sub._start_subscribe()  # the core refuses: closed
    assert sub._pending == []


def test_a_connect_that_raises_leaves_no_wait_behind():
    client = Client(ENDPOINT)
    client._start_close()
    with pytest.raises(LocalProtocolError):
        client._start_connect()
    assert client._connecting == []


def test_forget_drops_a_wait_that_gave_up():
    client = Client(ENDPOINT, options=options())
    pending = client._start_connect()
    sub = client.new_subscription("chat")
    sub_pending = sub._start_subscribe()
    client.open()
    client.feed(connect_reply(1))
    command = client._start_publish("chat", 1)
    other = client._start_publish("chat", 2)
    for each in (pending, sub_pending, command):
        client._forget(each)
    assert client._connecting == []
    assert sub._pending == []
    assert [entry[2] for entry in client._requests.values()] == [other]


def test_budgets_and_the_timeout_of_a_wait():
    client = Client(ENDPOINT, options=options(timeout=7.0))
    assert client._budget(None) == 7.0
    assert client._budget(0) == 0.0
    assert client._budget(0.25) == 0.25
    for wrong in (-1, float("nan"), float("inf"), "1", True):
        with pytest.raises(LocalProtocolError, match="timeout"):
            client._budget(wrong)  # type: ignore[arg-type]
    pending = client._start_connect()
    assert str(client._gave_up(pending, "connect", 0.5)) == "connect timed out; it waited 0.5 s"
    assert client._connecting == []
    client._last_error = TransportError("transport failed: refused")
    timed_out = client._gave_up(client._pending(), "subscribe to 'x'", 2)
    assert isinstance(timed_out, CommandTimeout)
    assert str(timed_out) == (
        "subscribe to 'x' timed out (last error: transport failed: refused); it waited 2 s"
    )
    assert timed_out.__cause__ is client._last_error
    assert (
        str(client._gave_up(client._pending(), "publish", 1)) == "publish timed out; it waited 1 s"
    )


def test_transport_failures_reach_ws_error_callbacks_and_fatal_ones_fail_connect():
    class Fatal(Client):
        def _fatal(self, error: BaseException) -> BaseException | None:
            return error if "certificate" in str(error) else None

    client = Fatal(ENDPOINT, options=options())
    failures: list[Any] = []
    client.on("ws_error", failures.append)
    pending = client._start_connect()
    (opened,) = client.effects
    assert isinstance(opened, OpenTransport)
    refused = ConnectionRefusedError("connection refused")
    client._transport_failed(refused)
    assert outcome(pending) is None  # retried: the wait goes on
    assert str(client._gave_up(client._pending(), "connect", 1)) == (
        "connect timed out (last error: transport failed: connection refused); it waited 1 s"
    )
    client.now = client.deadline or 0.0
    client._call(lambda now: client._proto.handle_timeout(now=now))
    certificate = ValueError("certificate verify failed")
    client._transport_failed(certificate)
    assert outcome(pending) == ("error", certificate)
    assert [e.error for _, e in client.scheduled if isinstance(e, TransportFailed)] == [
        refused,
        certificate,
    ]
    fresh = Client(ENDPOINT, options=options())
    fresh._start_connect()
    fresh._transport_failed(KeyError())  # no message: the type names it
    assert str(fresh._last_error) == "transport failed: KeyError"


def test_the_base_makes_no_fatal_errors():
    assert Client(ENDPOINT)._fatal(ValueError("certificate")) is None


def test_whatever_the_loop_hits_becomes_a_transport_failure(monkeypatch):
    client, _ = connected()
    failures: list[Any] = []
    client.on("ws_error", failures.append)
    boom = RuntimeError("a stray one")

    def raising(now: float) -> None:
        raise boom

    client._drive(raising)  # e.g. the timer
    assert client.effects[-1] == "close"  # the socket is dropped; a new one after backoff
    assert [e.error for _, e in client.scheduled if isinstance(e, TransportFailed)] == [boom]
    assert client.state is ClientState.CONNECTING
    assert client.deadline is not None  # re-armed: nothing hangs


def test_a_write_that_raises_is_the_loops_failure_not_the_callers():
    client, _ = connected()
    client.on("ws_error", lambda e: None)
    client.broken = OSError("broken pipe")
    pending = client._start_publish("chat", 1)  # returns: the failure is reported
    assert isinstance(pending, Pending)
    assert [type(e.error) for _, e in client.scheduled if isinstance(e, TransportFailed)] == [
        OSError
    ]
    assert client.state is ClientState.CONNECTING
    other, _ = connected()
    other.on("ws_error", lambda e: None)
    other.broken = OSError("broken again")
    other._call(lambda now: other._proto.disconnect(now=now))  # the same through _call
    assert other.state is ClientState.DISCONNECTED
    assert [type(e) for _, e in other.scheduled] == [TransportFailed]


def test_a_failure_while_handling_a_failure_is_logged_not_recursed(caplog):
    class Breaking(Client):
        def _close_transport(self) -> None:
            self._fail(RuntimeError("again"))

    client = Breaking(ENDPOINT)
    client._fail(RuntimeError("first"))
    assert "failure while handling a failure" in caplog.text
    assert not client._failing


def test_a_transport_failure_the_core_refuses_is_logged(monkeypatch, caplog):
    client = Client(ENDPOINT)

    def refuse(reason: str, *, now: float) -> None:
        raise LocalProtocolError("not now")

    monkeypatch.setattr(client._proto, "transport_failed", refuse)
    client._transport_failed(OSError("refused"))
    assert "transport_failed('refused') raised" in caplog.text


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
    own._start_subscribe()
    (request,) = [e for e in client.effects if isinstance(e, TokenRequested)]
    client._answer_token(request, "own-token", None)
    assert server.commands()[-1]["subscribe"] == {"channel": "own", "token": "own-token"}
    other = client.new_subscription("other", get_token=lambda channel: "")
    other._start_subscribe()
    request = [e for e in client.effects if isinstance(e, TokenRequested)][-1]
    client._answer_token(request, None, RuntimeError("backend down"))
    assert other.state is SubscriptionState.SUBSCRIBING
    client.now = client.deadline or 0.0
    client._call(lambda now: client._proto.handle_timeout(now=now))
    request = [e for e in client.effects if isinstance(e, TokenRequested)][-1]
    client._answer_token(request, None, Unauthorized("no"))
    assert other.state is SubscriptionState.UNSUBSCRIBED


def test_a_token_of_the_wrong_type_or_refused_by_the_core_fails_its_request(monkeypatch, caplog):
    client, _ = connected(token="t0", get_token=lambda channel=None: "t")
    sub = client.new_subscription("chat", get_token=lambda channel: "t")
    sub._start_subscribe()
    request = [e for e in client.effects if isinstance(e, TokenRequested)][-1]
    client._answer_token(request, b"header.payload.sig", None)  # PyJWT 1.x gives bytes
    assert "returned bytes, not str" in caplog.text
    assert sub.state is SubscriptionState.SUBSCRIBING  # retried later, nothing poisoned

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise LocalProtocolError("a lone surrogate")

    monkeypatch.setattr(client._proto, "provide_token", refuse)
    client._answer_token(request, "\udcff", None)
    assert "the core refused it: a lone surrogate" in caplog.text


def test_plain_token_fetches_answer_and_refuse_awaitables(caplog):
    async def later() -> str:
        return "never"

    tokens = iter(["t1"])
    sources: dict[str, Any] = {
        "good": lambda channel: next(tokens),
        "coro": lambda channel: later(),
        "raises": lambda channel: {}["missing"],
    }
    client, server = connected()
    for channel, source in sources.items():
        client.new_subscription(channel, get_token=source)._start_subscribe()
    requests = {e.channel: e for e in client.effects if isinstance(e, TokenRequested)}
    for channel in sources:
        client._fetch_token_now(requests[channel])
    assert server.commands()[-1]["subscribe"] == {"channel": "good", "token": "t1"}
    assert "get_token returned an awaitable" in caplog.text
    assert "get_token failed: KeyError('missing')" in caplog.text
    assert client.get_subscription("coro").state is SubscriptionState.SUBSCRIBING  # type: ignore[union-attr]


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


def test_a_terminal_disconnect_fails_the_connect_wait():
    client = Client(ENDPOINT, options=options())
    pending = client._start_connect()
    client.open()
    client.feed(error(1, 3500, "invalid token"))
    assert outcome(pending) == ("error", ReplyError(3500, "invalid token"))


def test_a_disconnect_without_an_error_fails_the_connect_wait_with_client_disconnected():
    client = Client(ENDPOINT, options=options())
    pending = client._start_connect()
    client._route(Disconnected(code=0, reason="disconnect called"))
    done = outcome(pending)
    assert done is not None
    assert isinstance(done[1], ClientDisconnected)
    assert done[1].reason == "disconnect called"


def test_the_last_error_keeps_what_the_core_reported():
    client = Client(ENDPOINT)
    refusal = TransportError("proxy refused CONNECT: HTTP 407")
    client._route(ErrorOccurred(error=refusal))
    assert client._last_error is refusal
    client._route(ErrorOccurred(error=ReplyError(1, "x"), channel="chat"))  # a channel's
    assert client._last_error is refusal


@pytest.mark.parametrize(
    ("hook", "args"),
    [
        ("_setup", ()),
        ("_now", ()),
        ("_write", (b"",)),
        ("_rearm", (None,)),
        ("_new_wakeup", ()),
        ("_open_transport", (None,)),
        ("_close_transport", ()),
        ("_start_tls", (None,)),
        ("_request_token", (None,)),
        ("_token_requested", (None,)),
        ("_request_signs", (None,)),
        ("_schedule", (None, None)),
        ("_make_subscription", ("chat", {})),
    ],
)
def test_every_hook_is_the_adapters_to_write(hook, args):
    client = Client(ENDPOINT)
    owner = Routing if hasattr(Routing, hook) else ClientBase
    with pytest.raises(NotImplementedError):
        getattr(owner, hook)(client, *args)


def test_the_base_classes_leave_setup_to_the_adapter():
    class NoSetup(ClientBase[Sub]):
        _rng_factory = FixedRandom

    with pytest.raises(NotImplementedError):
        NoSetup(ENDPOINT)


def test_unsubscribed_events_for_unknown_channels_go_to_the_client():
    client, _ = connected()
    seen: list[Any] = []
    client.on("unsubscribed", seen.append)
    client._route(Unsubscribed(channel="ghost", code=0, reason="x"))
    assert [e for _, e in client.scheduled if isinstance(e, Unsubscribed)]
    assert Publication  # re-exported result type used by adapters


def test_a_wait_settled_already_is_left_alone():
    client = Client(ENDPOINT, options=options())
    pending = client._start_connect()
    pending.set_exception(TimeoutError())  # the adapter's own timeout got there first
    server = client.open()
    assert server.commands()
    client.feed(connect_reply(1))  # settles nothing twice: the first outcome stays
    done = outcome(pending)
    assert done is not None
    assert isinstance(done[1], TimeoutError)
    pending.set_result(None)
    assert isinstance(outcome(pending)[1], TimeoutError)  # type: ignore[index]


def test_a_publication_with_no_reader_waiting_wakes_nobody():
    client, _ = connected()
    sub = client.new_subscription("chat")
    sub._start_subscribe()
    client.feed(reply(2, subscribe={}), push_pub("chat", 1))
    assert sub._readable is None
    assert sub._buffered() == 1
    timed_out = sub._no_publication(0.5)
    assert isinstance(timed_out, CommandTimeout)
    assert str(timed_out) == "no publication on 'chat': timed out; it waited 0.5 s"
    assert str(sub._no_publication(None)).endswith("it waited 0 s")


def test_a_wait_is_settled_once_whichever_way():
    pending: Pending[int] = Pending(Wakeup())
    pending.set_exception(ValueError("first"))
    pending.set_exception(KeyError("second"))
    pending.set_result(3)
    assert pending.wakeup.sets == 1  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="first"):
        pending.outcome()


def test_pending_outcome_before_it_is_settled_is_a_bug():
    with pytest.raises(AssertionError, match="before the wait is over"):
        Pending(Wakeup()).outcome()


def test_client_options_are_the_cores():
    client = Client(ENDPOINT, options=ClientOptions(timeout=2.0))
    assert client._budget(None) == 2.0


def test_a_reader_a_quarter_behind_is_reported_until_it_takes_down_to_an_eighth():
    client, _ = connected()
    caught_up: list[None] = []
    client._reader_caught_up = lambda: caught_up.append(None)  # type: ignore[method-assign]
    read = client.new_subscription("read", buffer_size=16)
    idle = client.new_subscription("idle", buffer_size=16)
    for sub in (read, idle):
        sub._start_subscribe()
    client.feed(reply(2, subscribe={}), reply(3, subscribe={}))
    assert client._readers_behind(now=0.0) is False  # nobody took anything yet
    for n in range(1, 9):
        client.feed(push_pub("read", n), push_pub("idle", n))
    # A full buffer nobody reads never counts: it drops its oldest instead.
    assert client._readers_behind(now=0.0) is False
    read._take()  # 7 left: a quarter of 16 or more, and a reader taking
    assert client._watched == [read]
    assert client._readers_behind(now=1.0) is True
    # Put aside for a moment, it still counts; stopped for READER_IDLE, it does not.
    assert client._readers_behind(now=1.0 + READER_IDLE / 2) is True
    assert client._readers_behind(now=1.0 + READER_IDLE) is False
    assert client._watched == []
    read._take()  # watched again from its next take
    read._take()
    assert client._readers_behind(now=5.0) is True  # 5 left
    read._take()
    read._take()
    assert caught_up == []  # 3 left: more than an eighth
    read._take()
    assert caught_up == [None]  # 2 left: caught up, told once
    read._take()
    assert caught_up == [None]
    assert client._readers_behind(now=5.1) is False  # 1 left, under a quarter
    assert client._watched == [read]


def test_the_end_wakes_a_waiting_reader_and_only_one_that_waits():
    client, _ = connected()
    sub = client.new_subscription("chat")
    sub._end()  # nobody waits: nothing to wake
    assert sub._readable is None
    assert sub._ready()
    other = client.new_subscription("news")
    waiting = other._arm_reader()
    other._end()
    assert waiting.sets == 1  # type: ignore[attr-defined]
    assert other._take() is None  # the end, once the buffer is drained


def test_the_adapters_call_the_core_only_through_call_outside_its_reads():
    """The pump writes once, before routing the events, and stays in order because
    routing reaches the core only through ``_call`` (whose own pump writes first).
    A core call that may make output outside ``_call`` would break that: the
    adapters' only direct calls are reads."""
    import re
    from pathlib import Path

    import centrifugo_proto.adapters as adapters

    reads = {"subscription_options", "subscription_state", "delta_stats"}
    found: set[str] = set()
    for path in Path(adapters.__file__).parent.rglob("*.py"):
        for line in path.read_text().splitlines():
            for call in re.findall(r"_proto\.(\w+)\(", line):
                if "lambda now" not in line:
                    found.add(call)
    assert found <= reads, f"direct core calls that may make output: {sorted(found - reads)}"
