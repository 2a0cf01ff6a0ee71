"""The whole client against a model server, as a hypothesis ``RuleBasedStateMachine``.

The machine plays the adapter (opening transports, answering token requests,
moving time) and the server (handshakes, connect replies, replies in any order,
pushes, pings, close frames with random codes, transport failures), and keeps
its own model of where the client should be. After every step:

- no command but ``connect`` went out before the connect reply (DESIGN "No
  optimistic subscribe"), and wire ids only grew on the connection;
- at most one pong per ping, and none without one (or when not asked for);
- ``next_deadline()`` is None or later than ``now`` (in particular after
  ``handle_timeout(now)``);
- the client's state and every subscription's state agree with the model;
- every caller command is resolved exactly once, by its deadline at the latest,
  and the session's pending commands never outnumber what is outstanding;
- a server close (frame or push) makes the client reconnect exactly for the
  reconnect codes of PROTOCOL.md §5.3, and a lost connection comes back within
  the reconnect backoff;
- channel "c" is recoverable and the server keeps its whole history: whatever
  the server does (publications in order, with gaps, duplicated; cuts,
  resubscribe pushes, the caller unsubscribing and subscribing again), the
  client delivers every offset exactly once, in order (PROTOCOL.md §6.5).

The model is written from DESIGN.md and PROTOCOL.md, not from session.py: where
they disagree, one of them is wrong.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from codec_pairs import CODECS, CodecPair
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from profiles import PROFILE, STATEFUL_EXAMPLES, STATEFUL_STEPS

from centrifugo_proto import (
    ClientDisconnected,
    ClientOptions,
    ClientProtocol,
    ClientState,
    CloseTransport,
    CommandFailed,
    CommandSucceeded,
    CommandTimeout,
    Connected,
    Disconnected,
    Event,
    HistoryResult,
    LocalProtocolError,
    OpenTransport,
    PingReceived,
    PresenceResult,
    PresenceStatsResult,
    PublicationReceived,
    PublishResult,
    ReplyError,
    RpcResult,
    Subscribed,
    SubscriptionState,
    TokenRequested,
)
from centrifugo_proto.messages import (
    PING,
    Push,
    Reply,
    ServerDisconnect,
    ServerUnsubscribe,
)
from centrifugo_proto.results import ConnectResult, Publication, SubscribeResult, UnsubscribeResult
from centrifugo_proto.states import Phase
from serverside import ENDPOINT, PONG, Command, FixedRandom, ServerWebSocket

D, CING, CED, X = (
    ClientState.DISCONNECTED,
    ClientState.CONNECTING,
    ClientState.CONNECTED,
    ClientState.CLOSED,
)
U, SING, SED = (
    SubscriptionState.UNSUBSCRIBED,
    SubscriptionState.SUBSCRIBING,
    SubscriptionState.SUBSCRIBED,
)
OPTIONS = ClientOptions(
    timeout=5.0,
    min_reconnect_delay=1.0,
    max_reconnect_delay=8.0,
    min_resubscribe_delay=2.0,
    max_resubscribe_delay=16.0,
    max_server_ping_delay=10.0,
    late_timer_grace=1.0,
)
CHANNELS = st.sampled_from(["a", "b", "c"])
CALLER_METHODS = ("publish", "history", "presence", "presence_stats", "rpc", "send")
RESULTS: dict[str, Any] = {
    "publish": PublishResult(),
    "history": HistoryResult(publications=(), offset=3, epoch="e"),
    "presence": PresenceResult(clients={}),
    "presence_stats": PresenceStatsResult(num_clients=1, num_users=1),
    "rpc": RpcResult(data={"ok": True}),
}
#: WebSocket close codes a server may send (RFC 6455 §7.4), Centrifugo's and apps'.
_TRANSPORT_CODES = [1000, 1001, 1003, 1007, 1008, 1009, 1011]
_SERVER_CODES = [3000, 3001, 3012, 3014, 3499, 3500, 3501, 3999, 4000, 4001, 4499, 4500, 4999]
CLOSE_CODES = st.sampled_from(_TRANSPORT_CODES + _SERVER_CODES) | st.integers(3000, 4999)
#: Retryable (temporary, client codes < 100) and terminal (103; 109 without a token source).
SUBSCRIBE_ERRORS = [
    ReplyError(100, "internal", temporary=True),
    ReplyError(2, "transport"),
    ReplyError(103, "permission denied"),
    ReplyError(109, "token expired"),
    ReplyError(106, "limit exceeded", temporary=True),
]
PUSH_CODES = CLOSE_CODES | st.integers(0, 5999)


class _Fixed:
    """Stands in for ``st.data()`` where a rule calls another with a chosen value."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def draw(self, strategy: Any) -> Any:
        return self.value


def reconnects(code: int) -> bool:
    """PROTOCOL.md §5.3: no reconnect for 3500-3999, 4500-4999 and 1009."""
    return not (3500 <= code <= 3999 or 4500 <= code <= 4999 or code == 1009)


@attrs.define
class Handle:
    method: str
    deadline: float
    wire_id: int | None = None
    #: The reply the server sent: a result or a ReplyError.
    answer: Any = None
    #: The client may fail it with ClientDisconnected (its connection went away).
    may_disconnect: bool = False


@attrs.define
class Conn:
    ws: ServerWebSocket
    #: The server's 101, sent when the client's handshake request was read.
    accept: bytes = b""
    accepted: bool = False
    connected: bool = False
    pong: bool = False
    last_id: int = 0
    #: wire id -> (command, sent at)
    inflight: dict[int, tuple[Command, float]] = attrs.Factory(dict)
    answered: set[int] = attrs.Factory(set)
    #: Caller commands that timed out: one late reply each is dropped quietly.
    timed_out: set[int] = attrs.Factory(set)
    pings: int = 0
    pongs: int = 0


class ClientMachine(RuleBasedStateMachine):
    codec: CodecPair = CODECS[0]

    # -- set-up -----------------------------------------------------------------------

    @initialize(token_source=st.booleans(), jitter=st.floats(0.0, 1.0), closable=st.booleans())
    def start(self, token_source: bool, jitter: float, closable: bool) -> None:
        self.client = ClientProtocol(
            ENDPOINT,
            token=None if token_source else "static-token",
            codec=self.codec.name,
            options=OPTIONS,
            rng=FixedRandom(jitter),
            has_token_source=token_source,
        )
        self.token_source = token_source
        self.closable = closable
        self.now = 0.0
        self.state = D
        #: idle, backoff, token, opening, handshake, connect, connected
        self.phase = "idle"
        self.conn: Conn | None = None
        self.open_request: OpenTransport | None = None
        self.token_request: TokenRequested | None = None
        self.stale_tokens: list[TokenRequested] = []
        self.has_token = not token_source
        self.attempt_deadline: float | None = None
        self.backoff_since: float | None = None
        self.ping_window = 0.0
        self.ping_due: float | None = None
        self.grace_used = False
        self.subs: dict[str, SubscriptionState] = {}
        self.sub_wire: dict[str, int] = {}
        self.resub_due: dict[str, float] = {}
        self.handles: dict[int, Handle] = {}
        self.unsent: list[int] = []
        # What the current step allows (set by rules, checked in sync()).
        self.expect_connected = False
        self.expect_pongs = 0
        self.expect_pings = 0
        self.expect_pubs = 0
        self.events: list[Event] = []
        self.steps = 0
        #: Channel "c": the server's stream top, the client's position as the model
        #: sees it (None: none), the last offset delivered, a resync under way.
        self.top = 0
        self.c_pos: int | None = None
        self.c_delivered: int | None = None
        self.c_resync = False
        #: subscribe wire id -> the offset it asked to recover from (None: no recovery)
        self.c_asked: dict[int, int | None] = {}

    # -- the adapter's half: bytes and events after every call -------------------------

    def sync(self) -> None:
        """Flush and drain as an adapter does, checking each command and event."""
        events = []
        while True:
            data = self.client.data_to_send()
            if data:
                assert self.conn is not None, "bytes with no transport open"
                self.conn.ws.receive(data)
                raw, self.conn.ws.messages = self.conn.ws.messages, []
                for message in raw:
                    for command in self.codec.server_decode(message):
                        self.on_command(command)
            event = self.client.next_event()
            if event is None:
                break
            events.append(event)
            self.on_event(event)
        self.events = events
        self.steps += 1
        assert self.expect_pongs == 0, "a ping went unanswered"
        assert self.expect_pubs == 0, "a publication for a subscribed channel was not delivered"
        self.expect_connected = False
        self.expect_pings = 0

    def on_command(self, command: Command) -> None:
        conn = self.conn
        assert conn is not None
        assert conn.accepted
        if not conn.connected:
            assert command.method == "connect", f"{command} before the connect reply"
            assert command.id == 1 == conn.last_id + 1, command
            assert self.phase == "handshake"
            self.phase = "connect"
            conn.last_id = 1
            conn.inflight[1] = (command, self.now)
            return
        if command == PONG:
            assert conn.pong, "a pong nobody asked for"
            assert self.expect_pongs > 0, "a pong without a ping"
            self.expect_pongs -= 1
            conn.pongs += 1
            assert conn.pongs <= conn.pings
            return
        if command.method == "send":
            assert command.id == 0
            self._match_caller(command)
            return
        assert command.id > conn.last_id, f"wire id {command.id} after {conn.last_id}: reused"
        conn.last_id = command.id
        conn.inflight[command.id] = (command, self.now)
        if command.method == "subscribe":
            channel = command.params["channel"]
            assert self.subs.get(channel) is SING, (
                f"subscribe to {channel} while {self.subs.get(channel)}"
            )
            assert channel not in self.sub_wire, "two subscribes in flight for one channel"
            self.sub_wire[channel] = command.id
            self.resub_due.pop(channel, None)
            if channel == "c":
                params = command.params
                assert params.get("recoverable") is True
                if self.c_pos is None:
                    assert "recover" not in params, params
                    self.c_asked[command.id] = None
                else:  # recovery from exactly what was delivered (§6.5)
                    assert params["recover"] is True
                    assert (params.get("offset", 0), params.get("epoch", "")) == (
                        self.c_pos,
                        "e",
                    ), params
                    self.c_asked[command.id] = self.c_pos
        elif command.method == "unsubscribe":
            channel = command.params["channel"]
            if channel == "c" and self.c_resync:
                self.c_resync = False  # the resync's unsubscribe, before its subscribe
            else:
                assert self.subs.get(channel) in (U, None)
        else:
            assert command.method in CALLER_METHODS, command
            handle = self._match_caller(command)
            handle.wire_id = command.id

    def _match_caller(self, command: Command) -> Handle:
        assert self.unsent, f"{command} that no caller issued"
        request = self.unsent.pop(0)
        handle = self.handles[request]
        assert handle.method == command.method, (handle, command)
        return handle

    def on_event(self, event: Event) -> None:
        if isinstance(event, OpenTransport):
            assert self.state is CING
            assert self.phase in ("idle", "backoff", "token"), self.phase
            if self.phase != "token":
                assert self.has_token, "a transport before the token it needs"
                self.attempt_deadline = self.now + OPTIONS.timeout
            assert self.open_request is None
            self.open_request = event
            self.phase = "opening"
            self.backoff_since = None
        elif isinstance(event, TokenRequested):
            # (A token source without a token always asks first: see OpenTransport.)
            assert event.channel is None, "no subscription here has a token source"
            assert self.token_source
            assert self.phase in ("idle", "backoff"), self.phase
            assert not self.has_token
            self.phase = "token"
            self.attempt_deadline = self.now + OPTIONS.timeout
            self.token_request = event
            self.backoff_since = None
        elif isinstance(event, CloseTransport):
            self.conn = None
            self.open_request = None
        elif isinstance(event, Connected):
            assert self.expect_connected
        elif isinstance(event, Disconnected):
            assert self.state in (D, X)
        elif isinstance(event, PingReceived):
            assert self.expect_pings > 0
            self.expect_pings -= 1
        elif isinstance(event, PublicationReceived):
            channel = event.publication.channel
            assert self.subs.get(channel) is SED
            if channel == "c":  # exactly once, in order
                offset = event.publication.offset
                if self.c_delivered is not None:
                    assert offset == self.c_delivered + 1, (self.c_delivered, offset)
                self.c_delivered = offset
            else:
                assert self.expect_pubs > 0
                self.expect_pubs -= 1
        elif isinstance(event, Subscribed):
            assert self.subs.get(event.channel) is SED
        elif isinstance(event, CommandSucceeded | CommandFailed):
            handle = self.handles.pop(event.request, None)
            assert handle is not None, f"{event}: not outstanding (or resolved twice)"
            if event.request in self.unsent:
                self.unsent.remove(event.request)
            if isinstance(event, CommandSucceeded):
                if handle.method == "send":
                    assert event.result is None
                else:
                    assert event.result == handle.answer, (event, handle)
            elif isinstance(event.error, ReplyError):
                assert event.error == handle.answer
            elif isinstance(event.error, CommandTimeout):
                assert self.now >= handle.deadline
            else:
                assert isinstance(event.error, ClientDisconnected), event
                assert handle.may_disconnect or self.state in (D, X), (event, handle)

    # -- the model's transitions ---------------------------------------------------------

    def lose(self) -> None:
        """The connection went away and the client reconnects after backoff."""
        self._teardown()
        if self.state is CED:
            self.state = CING
        if self.state is CING:
            self.phase = "backoff"
            self.backoff_since = self.now

    def refuse(self) -> None:
        """A terminal refusal: stop, no reconnect."""
        self._teardown()
        if self.state in (CING, CED):
            self.state = D
            self._stopped()

    def _teardown(self) -> None:
        for handle in self.handles.values():
            if handle.wire_id is not None:  # on the wire: fails with its connection
                handle.may_disconnect = True
        for channel, state in self.subs.items():
            if state is SED:
                self.subs[channel] = SING
        self.sub_wire.clear()
        self.resub_due.clear()
        if self.token_request is not None:
            self.stale_tokens.append(self.token_request)
            self.token_request = None
        self.phase = "idle"
        self.ping_due = None
        self.grace_used = False
        self.attempt_deadline = None

    def _stopped(self) -> None:
        """Disconnected or closed: what waited for a connection fails now."""
        self.phase = "idle"
        self.backoff_since = None
        for handle in self.handles.values():
            handle.may_disconnect = True

    # -- caller rules --------------------------------------------------------------------

    @rule()
    def connect(self) -> None:
        if self.state is X:
            with pytest.raises(LocalProtocolError):
                self.client.connect(now=self.now)
            return
        if self.state is D:
            self.state = CING
        self.client.connect(now=self.now)
        self.sync()
        if self.state is CING and self.phase == "idle":
            raise AssertionError("connect() started no attempt")

    # disconnect() and close() end most of what is interesting: only now and then.
    @precondition(lambda self: self.steps % 4 == 3)
    @rule()
    def disconnect(self) -> None:
        if self.state is X:
            with pytest.raises(LocalProtocolError):
                self.client.disconnect(now=self.now)
            return
        self._teardown()
        self.state = D
        self._stopped()
        self.client.disconnect(now=self.now)
        self.sync()

    @precondition(lambda self: self.closable and self.steps > 20)
    @rule()
    def close(self) -> None:
        if self.state is not X:
            self._teardown()
            self.state = X
            self._stopped()
            for channel in self.subs:
                self.subs[channel] = U
        self.client.close(now=self.now)
        self.sync()

    @rule(channel=CHANNELS)
    def subscribe(self, channel: str) -> None:
        if self.state is X:
            with pytest.raises(LocalProtocolError):
                self.client.subscribe(channel, now=self.now)
            return
        if self.subs.get(channel, U) is U:
            self.subs[channel] = SING
        self.client.subscribe(channel, now=self.now, recoverable=channel == "c")
        self.sync()
        if self.phase == "connected" and self.subs[channel] is SING:
            assert channel in self.sub_wire or channel in self.resub_due

    @rule(channel=CHANNELS)
    def unsubscribe(self, channel: str) -> None:
        if channel not in self.subs:
            with pytest.raises(LocalProtocolError):
                self.client.unsubscribe(channel, now=self.now)
            return
        self.subs[channel] = U
        self.sub_wire.pop(channel, None)
        self.resub_due.pop(channel, None)
        self.client.unsubscribe(channel, now=self.now)
        self.sync()

    @rule(method=st.sampled_from(CALLER_METHODS))
    def command(self, method: str) -> None:
        call = {
            "publish": lambda: self.client.publish("a", self.codec.payload({"n": 1}), now=self.now),
            "history": lambda: self.client.history("a", limit=5, now=self.now),
            "presence": lambda: self.client.presence("a", now=self.now),
            "presence_stats": lambda: self.client.presence_stats("a", now=self.now),
            "rpc": lambda: self.client.rpc("m", self.codec.payload({"x": 1}), now=self.now),
            "send": lambda: self.client.send(self.codec.payload({"x": 1}), now=self.now),
        }[method]
        if self.state is X:
            with pytest.raises(LocalProtocolError):
                call()
            return
        # Handles are assigned in order; the model learns it from the return value.
        request = call()
        handle = Handle(method, self.now + OPTIONS.timeout, may_disconnect=self.state is D)
        self.handles[request] = handle
        if self.state is not D:
            self.unsent.append(request)
        self.sync()
        if self.phase == "connected":
            assert request not in self.unsent, "a command waited although connected"

    # -- adapter rules ---------------------------------------------------------------------

    @precondition(lambda self: self.open_request is not None)
    @rule(fails=st.booleans())
    def adapter_opens_transport(self, fails: bool) -> None:
        self.open_request = None
        if fails:
            self.lose()
            self.client.transport_failed("connection refused", now=self.now)
            self.sync()
            return
        self.client.transport_opened(now=self.now)
        self.conn = Conn(ServerWebSocket())
        self.phase = "handshake"
        self.conn.accept = self.conn.ws.receive(self.client.data_to_send())
        assert self.conn.ws.request is not None
        self.sync()

    @precondition(lambda self: self.token_request is not None or self.stale_tokens)
    @rule(answer=st.sampled_from(["token", "empty", "failed", "unauthorized"]), stale=st.booleans())
    def adapter_answers_token(self, answer: str, stale: bool) -> None:
        if self.token_request is None or (stale and self.stale_tokens):
            request = self.stale_tokens.pop()
        else:
            request = self.token_request
            self.token_request = None
            if answer == "token":
                self.has_token = True
                self.client.provide_token(request, "fresh-token", now=self.now)
                self.sync()
                assert self.phase == "opening", "no transport after the token"
                return
            if answer == "failed":
                self.lose()
            else:
                self.refuse()
        if answer in ("token", "empty"):
            self.client.provide_token(
                request, "" if answer == "empty" else "late-token", now=self.now
            )
        else:
            self.client.token_failed(request, unauthorized=answer == "unauthorized", now=self.now)
        self.sync()

    @precondition(lambda self: self.conn is not None)
    @rule(how=st.sampled_from(["failed", "eof"]))
    def transport_ends(self, how: str) -> None:
        self.lose()
        if how == "failed":
            self.client.transport_failed("reset by peer", now=self.now)
        else:
            self.client.receive_eof(now=self.now)
        self.sync()
        assert self.conn is None, "the client kept a transport that ended"

    @rule(dt=st.sampled_from([0.01, 0.5, 1.0, 2.0, 4.9, 5.0, 9.0, 16.0, 36.0, 40.0]))
    def time_passes(self, dt: float) -> None:
        now = self.now = self.now + dt
        lost = False
        if self.phase == "connected" and self.ping_due is not None and self.ping_due <= now:
            if now - self.ping_due > OPTIONS.late_timer_grace and not self.grace_used:
                self.grace_used = True
                self.ping_due = now + OPTIONS.late_timer_grace
            else:
                lost = True
        if self.phase in ("token", "opening", "handshake", "connect"):
            assert self.attempt_deadline is not None
            lost = lost or self.attempt_deadline <= now
        if self.conn is not None:
            for command, sent in self.conn.inflight.values():
                internal = command.method in ("subscribe", "unsubscribe")
                if internal and sent + OPTIONS.timeout <= now:
                    lost = True
        # Caller commands whose deadline passed are timed out (or failed by the loss).
        due = [r for r, h in self.handles.items() if h.deadline <= now]
        if self.conn is not None:
            for request in due:
                wire_id = self.handles[request].wire_id
                if wire_id is not None and wire_id in self.conn.inflight:
                    del self.conn.inflight[wire_id]
                    self.conn.timed_out.add(wire_id)
        if lost:
            self.lose()
        deadline = self.client.next_deadline()
        if lost or due:
            assert deadline is not None, "the client has no timer for what is due"
            assert deadline <= now, "the client's timer is later than what is due"
        if deadline is not None and deadline <= now:
            self.client.handle_timeout(now=now)
            after = self.client.next_deadline()
            assert after is None or after > now, (now, after)
        self.sync()
        for request in due:
            assert request not in self.handles, "a command outlived its timeout"
        if self.backoff_since is not None:
            assert now < self.backoff_since + OPTIONS.max_reconnect_delay, "no reconnect"
        if self.phase == "connected":
            for channel, due_at in self.resub_due.items():
                assert now < due_at, f"no resubscribe to {channel}"

    # -- server rules ---------------------------------------------------------------------

    def feed(self, *messages: Any) -> None:
        assert self.conn is not None
        self.client.receive_data(self.codec.frame(self.conn.ws, messages), now=self.now)
        if self.phase == "connected" and self.ping_window:
            self.ping_due = self.now + self.ping_window
            self.grace_used = False

    @precondition(lambda self: self.conn is not None and not self.conn.accepted)
    @rule()
    def server_accepts_handshake(self) -> None:
        conn = self.conn
        assert conn is not None
        conn.accepted = True
        self.client.receive_data(conn.accept, now=self.now)
        self.sync()
        assert self.phase == "connect", "no connect after the handshake"

    @precondition(lambda self: self.conn is not None and self.phase == "connect")
    @rule(
        outcome=st.sampled_from(["ok", "ok", "ok", "temporary", "100", "109", "101", "3500"]),
        pong=st.booleans(),
        ping=st.sampled_from([0, 1, 25]),
    )
    def server_answers_connect(self, outcome: str, pong: bool, ping: int) -> None:
        conn = self.conn
        assert conn is not None
        conn.inflight.pop(1)
        conn.answered.add(1)
        if outcome == "ok":
            self.expect_connected = True
            conn.connected = True
            conn.pong = pong
            self.state = CED
            self.phase = "connected"
            self.attempt_deadline = None
            self.ping_window = ping + OPTIONS.max_server_ping_delay if ping else 0.0
            self.ping_due = self.now + self.ping_window if ping else None
            self.grace_used = False
            reply = Reply(1, ConnectResult(client="c", ping=ping, pong=pong))
            self.client.receive_data(self.codec.frame(conn.ws, [reply]), now=self.now)
            self.sync()
            # What waited for the connection went out with the reply.
            assert self.unsent == [], "queued commands did not go out on connect"
            for channel, state in self.subs.items():
                if state is SING:
                    assert channel in self.sub_wire, f"no subscribe to {channel} after connect"
            return
        code = {"temporary": 104, "100": 100, "109": 109, "101": 101, "3500": 3500}[outcome]
        error = ReplyError(code, "refused", temporary=outcome == "temporary")
        if code == 109:
            # Expired: a token source is asked again; a static token would fail forever.
            retry = self.token_source
            self.has_token = not self.token_source
        else:
            retry = error.code < 100 or error.temporary
        if retry:
            self.lose()
        else:
            self.refuse()
        self.client.receive_data(self.codec.frame(conn.ws, [Reply(1, None, error)]), now=self.now)
        self.sync()

    def _connected(self) -> bool:
        return self.conn is not None and self.conn.connected

    @precondition(lambda self: self._connected() and self.conn is not None and self.conn.inflight)
    @rule(data=st.data(), ok=st.booleans())
    def server_replies(self, data: st.DataObject, ok: bool) -> None:
        conn = self.conn
        assert conn is not None
        wire_id = data.draw(st.sampled_from(sorted(conn.inflight)))
        command, _ = conn.inflight.pop(wire_id)
        conn.answered.add(wire_id)
        method = command.method
        if method == "subscribe":
            channel = command.params["channel"]
            current = self.sub_wire.get(channel) == wire_id
            if current:
                del self.sub_wire[channel]
            if ok and channel == "c":
                # The server recovers everything after the position asked for.
                since = self.c_asked.pop(wire_id)
                missing = () if since is None else range(since + 1, self.top + 1)
                pubs = tuple(
                    Publication(channel="", data=self.codec.payload({"n": o}), offset=o)
                    for o in missing
                )
                result = SubscribeResult(
                    recoverable=True,
                    epoch="e",
                    offset=self.top,
                    publications=pubs,
                    recovered=since is not None,
                    was_recovering=since is not None,
                )
                reply = Reply(wire_id, result)
                if current:
                    self.subs[channel] = SED
                    self.c_pos = self.top
            elif ok:
                reply = Reply(wire_id, SubscribeResult())
                if current:
                    self.subs[channel] = SED
            else:
                error = data.draw(st.sampled_from(SUBSCRIBE_ERRORS))
                reply = Reply(wire_id, None, error)
                if current:
                    if error.code != 109 and (error.code < 100 or error.temporary):
                        self.resub_due[channel] = self.now + OPTIONS.max_resubscribe_delay
                    else:
                        self.subs[channel] = U
        elif method == "unsubscribe":
            if ok:
                reply = Reply(wire_id, UnsubscribeResult())
            else:
                reply = Reply(wire_id, None, ReplyError(100, "internal", True))
                self.lose()  # the server may still hold it: reconnect to be sure (§6.1)
        else:
            handle = next(h for h in self.handles.values() if h.wire_id == wire_id)
            answer = RESULTS[method]
            if isinstance(answer, RpcResult):
                answer = RpcResult(data=self.codec.payload(answer.data))
            handle.answer = answer if ok else ReplyError(1000, "app error")
            reply = Reply(wire_id, handle.answer if ok else None, None if ok else handle.answer)
        self.feed(reply)
        self.sync()

    @precondition(lambda self: self._connected())
    @rule(kind=st.sampled_from(["late", "never issued", "answered twice"]))
    def server_sends_stray_reply(self, kind: str) -> None:
        conn = self.conn
        assert conn is not None
        if kind == "late" and conn.timed_out:
            wire_id = conn.timed_out.pop()
            conn.answered.add(wire_id)
        else:
            # Not a late reply: bad input, the client closes and reconnects.
            wire_id = conn.last_id + 1 if kind == "never issued" else min(conn.answered)
            self.lose()
        self.feed(Reply(wire_id, PublishResult()))
        self.sync()

    @precondition(lambda self: self.conn is not None and self.conn.accepted)
    @rule()
    def server_pings(self) -> None:
        conn = self.conn
        assert conn is not None
        if conn.connected:
            conn.pings += 1
            self.expect_pings = 1
            if conn.pong:
                self.expect_pongs = 1
        self.feed(PING)
        self.sync()

    @precondition(lambda self: self._connected())
    @rule(channel=CHANNELS, offset=st.integers(0, 3))
    def server_publishes(self, channel: str, offset: int) -> None:
        if channel == "c":
            self._publish_c(("next", "next", "gap", "duplicate")[offset])
            return
        if self.subs.get(channel) is SED:
            self.expect_pubs = 1
        self.feed(
            Publication(channel=channel, data=self.codec.payload({"n": offset}), offset=offset)
        )
        self.sync()

    @precondition(lambda self: self._connected())
    @rule(kind=st.sampled_from(["next", "next", "gap", "duplicate"]))
    def server_publishes_on_c(self, kind: str) -> None:
        self._publish_c(kind)

    def _publish_c(self, kind: str) -> None:
        """A publication on the recoverable channel: the next offset, one after a
        gap (a publication this connection missed), or the last one again."""
        if kind == "duplicate" and self.top:
            offset = self.top
        else:
            self.top += 2 if kind == "gap" else 1
            offset = self.top
        resync = False
        if self.subs.get("c") is SED:
            assert self.c_pos is not None
            if offset == self.c_pos + 1:
                self.c_pos = offset  # delivered (checked in on_event)
            elif offset > self.c_pos + 1:
                # A gap: resubscribe at once, recovering from the position (§6.5).
                self.subs["c"] = SING
                self.c_resync = resync = True
        self.feed(Publication(channel="c", data=self.codec.payload({"n": offset}), offset=offset))
        self.sync()
        if resync:
            assert "c" in self.sub_wire, "no resubscribe after an offset gap"
            assert not self.c_resync, "no unsubscribe before the resubscribe"

    @precondition(lambda self: self._connected())
    @rule(channel=CHANNELS, code=st.sampled_from([0, 2000, 2499, 2500, 2501, 2502, 2999]))
    def server_unsubscribes(self, channel: str, code: int) -> None:
        # Acted on only while subscribed: otherwise it is news of an older subscription.
        held = self.subs.get(channel) is SED
        if held:
            self.subs[channel] = SING if code >= 2500 else U
            if channel == "c" and code == 2502:  # the position is invalid: start over
                self.c_pos = self.c_delivered = None
        self.feed(Push(channel, ServerUnsubscribe(code, "server unsubscribe")))
        self.sync()
        if held and code >= 2500:
            assert channel in self.sub_wire, "no resubscribe after an unsubscribe push >= 2500"

    @precondition(lambda self: self.conn is not None and self.conn.accepted)
    @rule(push=st.booleans(), data=st.data())
    def server_disconnects(self, push: bool, data: st.DataObject) -> None:
        conn = self.conn
        assert conn is not None
        # A close frame carries a WebSocket close code; the disconnect advice as a
        # push (other transports, §1.3) any number.
        code = data.draw(PUSH_CODES if push else CLOSE_CODES)
        if reconnects(code):
            if code == 3014:
                # State invalidated: positions are forgotten, and the token is too.
                self.c_pos = self.c_delivered = None
                if self.token_source:
                    self.has_token = False
            self.lose()
        else:
            self.refuse()
        if push:
            self.feed(Push("", ServerDisconnect(code, "bye")))
        else:
            self.client.receive_data(conn.ws.close_frame(code, "bye"), now=self.now)
        self.sync()
        assert self.conn is None, "the client kept a transport the server closed"

    # -- the next step of the dance -----------------------------------------------------------
    # Rules are drawn evenly, and most are always enabled: without these the five
    # steps from connect() to a reply in flight rarely happen in a row. Each does the
    # obvious next thing, the way a healthy adapter and server would.

    def _advance(self) -> None:
        conn = self.conn
        if self.state is D:
            self.connect()
        elif self.open_request is not None:
            self.adapter_opens_transport(fails=False)
        elif self.token_request is not None:
            self.adapter_answers_token("token", stale=False)
        elif conn is not None and not conn.accepted:
            self.server_accepts_handshake()
        elif conn is not None and self.phase == "connect":
            self.server_answers_connect("ok", pong=True, ping=25)
        elif conn is not None and conn.connected and conn.inflight:
            self._reply_oldest()
        elif conn is not None and conn.connected and self.resub_due:
            # Wait for the resubscribe the client promised (its backoff at the most).
            self.time_passes(max(self.resub_due.values()) - self.now)
        elif conn is not None and conn.connected and self.subs.get("c") is SED:
            self._publish_c(("next", "gap", "next", "duplicate")[self.steps % 4])
        elif conn is not None and conn.connected and len(self.subs) < 3:
            self.subscribe("abc"[len(self.subs)])
        elif self.state is not X:
            self.time_passes(1.0)

    def _reply_oldest(self) -> None:
        conn = self.conn
        assert conn is not None
        wire_id = min(conn.inflight)
        self.server_replies(_Fixed(wire_id), ok=True)

    @rule()
    def advance(self) -> None:
        self._advance()

    @rule()
    def advance_more(self) -> None:
        self._advance()

    @rule()
    def advance_again(self) -> None:
        self._advance()

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def states_agree(self) -> None:
        if not hasattr(self, "client"):
            return
        assert self.client.state is self.state, (self.client.state, self.state, self.phase)
        for channel, state in self.subs.items():
            assert self.client.subscription_state(channel) is state, (channel, state)

    @invariant()
    def phase_agrees_with_state(self) -> None:
        """The connection's phase table (docs/states.md) and the client's state agree."""
        if not hasattr(self, "client"):
            return
        phase, state = self.client.phase, self.client.state
        assert (phase is Phase.CONNECTED) == (state is ClientState.CONNECTED), (phase, state)
        if state in (ClientState.DISCONNECTED, ClientState.CLOSED):
            assert phase is Phase.IDLE, (phase, state)
        if state is ClientState.CONNECTING:
            assert phase not in (Phase.IDLE, Phase.CONNECTED), (phase, state)

    @invariant()
    def deadlines_are_ahead(self) -> None:
        if not hasattr(self, "client"):
            return
        deadline = self.client.next_deadline()
        assert deadline is None or deadline > self.now, (deadline, self.now)

    @invariant()
    def pending_commands_are_bounded(self) -> None:
        if not hasattr(self, "client"):
            return
        registry = self.client._session._outbox.registry
        internal = 2 * len(self.subs) + 2  # subscribe + unsubscribe per channel, connect
        assert len(registry._inflight) + len(registry.queued or ()) <= len(self.handles) + internal
        if self.conn is not None:
            assert len(registry._timed_out) <= self.conn.last_id
        for handle in self.handles.values():
            assert handle.deadline > self.now, "an outstanding command is past its deadline"


#: The machine's budget (profiles.py): programs and steps per program.
MACHINE_SETTINGS = settings(
    max_examples=STATEFUL_EXAMPLES[PROFILE],
    stateful_step_count=STATEFUL_STEPS,
    deadline=None,
)


def _machine_for(codec: CodecPair) -> type[RuleBasedStateMachine]:
    machine = type(f"ClientMachine_{codec.name}", (ClientMachine,), {"codec": codec})
    machine.TestCase.settings = MACHINE_SETTINGS
    return machine


for _codec in CODECS:
    globals()[f"TestClientMachine_{_codec.name}"] = _machine_for(_codec).TestCase
del _codec
