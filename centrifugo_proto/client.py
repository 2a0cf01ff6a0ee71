"""``ClientProtocol``: the facade adapters drive (DESIGN "The contract with adapters").

It wires the byte pipeline (:mod:`.pipeline`: proxy tunnel, TLS start, the
WebSocket layer, the codec's frames) and the session together: bytes in, bytes
and events out, one deadline to arm. After every call the adapter
flushes :meth:`ClientProtocol.data_to_send`, drains
:meth:`ClientProtocol.next_event` and re-arms its one timer at
:meth:`ClientProtocol.next_deadline`.

Nothing raises out of :meth:`~ClientProtocol.receive_data`,
:meth:`~ClientProtocol.receive_eof` or :meth:`~ClientProtocol.handle_timeout`:
bad input from the server becomes a "bad protocol" reconnect. Any other
exception from them is a bug (the fuzzers check exactly this). Misuse by the
caller raises :class:`LocalProtocolError` and changes no state: every argument
is checked (:mod:`.validate`) and every command encoded before the session
hears of it (STYLE-ANCHORS L16).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .backoff import RandomSource
from .codecs import Codec
from .commands import (
    Command,
    HistoryRequest,
    PingRequest,
    PresenceRequest,
    PresenceStatsRequest,
    PublishRequest,
    RpcRequest,
    SendRequest,
)
from .delta import DeltaStats
from .dialect import Dialect, resolve_dialect
from .endpoints import parse_endpoint
from .errors import LocalProtocolError
from .events import Event, TokenRequested
from .filters import FilterNode
from .legacy import Credentials
from .options import ClientOptions, SubscribeKwargs, SubscriptionOptions
from .pipeline import BytePipeline
from .proxy import parse_proxy
from .results import StreamPosition
from .session import Session
from .states import ClientState, Phase, SubscriptionState
from .token_flow import TokenPurpose
from .validate import (
    check_bool,
    check_channel,
    check_limit,
    check_now,
    check_position,
    check_str,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["ClientProtocol"]

#: Requests answered with connection credentials (the others with a channel's token).
_CONNECTION_PURPOSES = frozenset({TokenPurpose.CONNECT, TokenPurpose.REFRESH})

#: The ``delta=`` of subscribe: none, or Fossil (the only type Centrifugo has, §7).
_DELTA_TYPES = frozenset({"", "fossil"})


class _MidpointJitter:
    """Used when no rng is given: the core owns no randomness, so without one
    every delay sits in the middle of its range (deterministic, no jitter)."""

    def random(self) -> float:
        return 0.5


def _pick_codec(dialect: Dialect, codec: str | Codec) -> Codec:
    """``codec=``: a name the dialect speaks, or a :class:`Codec` the caller made."""
    if isinstance(codec, str):
        factory = dialect.codecs.get(codec)
        if factory is None:
            known = ", ".join(dialect.codecs)
            raise LocalProtocolError(
                f"unknown codec {codec!r} for the {dialect.name} protocol; known: {known}"
            )
        return factory()
    if isinstance(codec, Codec):
        return codec
    raise LocalProtocolError(f"codec must be a name or a Codec, got {type(codec).__name__}")


class ClientProtocol:
    """A Centrifugo client connection as a pure state machine.

    Args:
        endpoints: one WebSocket URL or several (tried in turn on reconnect).
        token: connection JWT (1.x: :class:`~centrifugo_proto.legacy.Credentials`);
            None connects anonymously (or asks for one through
            :class:`TokenRequested` when ``has_token_source``).
        data: connect data (passed to a connect proxy).
        name, version: client name and application version sent on connect.
        codec: ``"json"``, ``"protobuf"``, or a :class:`~centrifugo_proto.codecs.Codec` of your own.
        protocol: ``"current"`` (Centrifugo v5/v6), or a
            :class:`~centrifugo_proto.dialect.Dialect` of your own.
        options: timeouts, backoff, ping delay.
        rng: anything with ``random()``: jitter for backoff.
        has_token_source: the adapter answers ``TokenRequested`` events
            (token refresh, 109 handling).
        headers: extra HTTP headers for the WebSocket handshake.
        proxy: ``http://[user:password@]host:port`` of an HTTP CONNECT proxy.
    """

    def __init__(
        self,
        endpoints: str | Sequence[str],
        token: str | Credentials | None = None,
        data: Any = None,
        name: str = "python",
        version: str = "",
        codec: str | Codec = "json",
        options: ClientOptions | None = None,
        rng: RandomSource | None = None,
        *,
        has_token_source: bool = False,
        headers: Sequence[tuple[str, str]] = (),
        proxy: str | None = None,
        protocol: str | Dialect = "current",
    ) -> None:
        self._dialect = dialect = resolve_dialect(protocol)
        self._codec = codec_ = _pick_codec(dialect, codec)
        credentials = None if token is None else dialect.check_credentials(token)
        check_str(name, "name")
        check_str(version, "version")
        if data is not None:
            codec_.check_payload(data)
        urls = [endpoints] if isinstance(endpoints, str) else list(endpoints)
        if not urls:
            raise LocalProtocolError("no endpoint given")
        via = None if proxy is None else parse_proxy(proxy)
        subprotocols = () if codec_.subprotocol is None else (codec_.subprotocol,)
        extra = tuple((check_str(k, "header"), check_str(v, "header")) for k, v in headers)
        parsed = [parse_endpoint(u, subprotocols, extra, via) for u in urls]
        # The events, in a FIFO of two lists: the session and the pipeline append to
        # _events; next_event takes from _taken, refilled from _events oldest last.
        # A deque would cost the same per event, but it takes a 64-slot block when made
        # and keeps one while empty (0.7 KiB per idle client); empty lists keep none.
        self._events: list[Event] = []
        self._taken: list[Event] = []
        self._out = bytearray()
        #: The bytes of the transport: proxy tunnel, TLS start, WebSocket, frames.
        self._pipe = pipe = BytePipeline(codec_, dialect, self._events, self._out)
        self._session = pipe.session = Session(
            endpoints=parsed,
            transport=pipe,
            events=self._events,
            options=options or ClientOptions(),
            rng=rng or _MidpointJitter(),
            dialect=self._dialect,
            encode=codec_.encode,
            codec=codec_,
            credentials=credentials,
            data=data,
            name=name,
            version=version,
            has_token_source=has_token_source,
        )

    # -- state ----------------------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        return self._session.state

    @property
    def phase(self) -> Phase:
        """The connection's finer phase (``docs/states.md``)."""
        return self._session.phase

    @property
    def client_id(self) -> str | None:
        """The connection id from the last connect reply."""
        return self._session.client_id

    def subscription_state(self, channel: str) -> SubscriptionState | None:
        return self._session.subscription_states().get(channel)

    def subscription_states(self) -> dict[str, SubscriptionState]:
        """Every subscription this client holds, by channel."""
        return self._session.subscription_states()

    def delta_stats(self, channel: str) -> DeltaStats | None:
        """What delta compression did on ``channel`` since it was negotiated (§7)."""
        return self._session.delta_stats(channel)

    # -- outputs --------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Bytes to write to the socket now."""
        if not self._out:
            return b""
        out = bytes(self._out)
        self._out.clear()
        return out

    def next_event(self) -> Event | None:
        taken = self._taken
        if taken:
            return taken.pop()
        events = self._events
        if not events:
            return None
        if len(events) == 1:  # most calls: one event since the last
            return events.pop()
        # Older events first: those appended from now on wait behind these.
        taken += reversed(events)
        events.clear()
        return taken.pop()

    def next_deadline(self) -> float | None:
        """When to call :meth:`handle_timeout`; None if nothing is due."""
        return self._session.next_deadline()

    # -- inputs from the adapter ----------------------------------------------------------

    def connect(self, *, now: float, credentials: Any = None) -> None:
        """Connect (again); ``credentials`` (a token, or 1.x :class:`Credentials`)
        replace the ones given before."""
        now = check_now(now)
        if credentials is not None:
            credentials = self._dialect.check_credentials(credentials)
            self._session.set_credentials(credentials)
        self._session.connect(now)
        self._pipe.flush()

    def disconnect(self, *, now: float) -> None:
        self._session.disconnect(check_now(now))
        self._pipe.flush()

    def close(self, *, now: float) -> None:
        self._session.close(check_now(now))

    def transport_opened(self, *, now: float) -> None:
        """The socket (TCP, TLS) is up: the WebSocket handshake is queued."""
        check_now(now)
        self._pipe.transport_opened()

    def tls_started(self, *, now: float) -> None:
        """TLS asked for by :class:`StartTls` is up: the WebSocket handshake is queued."""
        check_now(now)
        self._pipe.tls_started()

    def transport_failed(self, reason: str, *, now: float) -> None:
        """Could not connect, or a read or write failed."""
        reason = check_str(reason, "reason")
        self._pipe.transport_failed(reason, check_now(now))

    def receive_data(self, data: bytes, *, now: float) -> None:
        """Bytes from the socket."""
        now = check_now(now)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise LocalProtocolError(f"data must be bytes, got {type(data).__name__}")
        if data:
            self._pipe.receive_data(bytes(data), now)

    def receive_eof(self, *, now: float) -> None:
        """The peer closed its side."""
        self._pipe.receive_data(None, check_now(now))

    def handle_timeout(self, *, now: float) -> None:
        """Fire whatever is due at ``now`` (``next_deadline()`` has passed)."""
        self._session.handle_timeout(check_now(now))
        self._pipe.flush()

    # -- tokens ---------------------------------------------------------------------------

    def provide_token(self, token_request: TokenRequested, token: object, *, now: float) -> None:
        """Answer a :class:`TokenRequested`: a JWT (current protocol), 1.x
        :class:`~centrifugo_proto.legacy.Credentials` for the connection or a
        :class:`~centrifugo_proto.legacy.ChannelSign` for a ``$`` channel; an
        empty token means "unauthorized"."""
        now = check_now(now)
        flow = self._session.tokens
        flow.check(token_request)
        pending = flow.peek(token_request)
        checked: Any = token
        if token != "":  # "" is the convention for "unauthorized", in every dialect
            dialect = self._dialect
            # An answer for a request gone stale is checked by the kind its event
            # names (a channel's token or the connection's), then ignored.
            connection = (
                token_request.channel is None
                if pending is None
                else pending.purpose in _CONNECTION_PURPOSES
            )
            checked = (
                dialect.check_credentials(token) if connection else dialect.check_sub_token(token)
            )
        request = flow.take(token_request)
        if request is not None:  # else: for an older attempt or subscription (DESIGN "Effects")
            self._session.provide_token(request, checked, now)
            self._pipe.flush()

    def token_failed(
        self,
        token_request: TokenRequested,
        unauthorized: bool = False,
        *,
        now: float,
        reason: str = "",
    ) -> None:
        """The token could not be had: retried later, or ``unauthorized`` stops (the
        connection, or that subscription); ``reason`` says why, in the error events
        (for example the 1.x auth endpoint's answer)."""
        now = check_now(now)
        flow = self._session.tokens
        flow.check(token_request)
        check_bool(unauthorized, "unauthorized")
        check_str(reason, "reason")
        request = flow.take(token_request)
        if request is not None:
            self._session.token_failed(request, unauthorized, now, reason)
            self._pipe.flush()

    # -- subscriptions --------------------------------------------------------------------

    def subscription_options(
        self,
        channel: str,
        *,
        token: str | None = None,
        data: Any = None,
        recoverable: bool = False,
        positioned: bool = False,
        join_leave: bool = False,
        since: StreamPosition | None = None,
        has_token_source: bool = False,
        delta: str = "",
        tags_filter: FilterNode | None = None,
    ) -> SubscriptionOptions:
        """The options of a subscribe to ``channel``, checked (``LocalProtocolError``)
        but not applied: an adapter checks them when it makes a subscription object,
        so a refused option leaves nothing behind."""
        if type(delta) is not str or delta not in _DELTA_TYPES:
            raise LocalProtocolError(f"delta must be one of {sorted(_DELTA_TYPES)}, got {delta!r}")
        if tags_filter is not None and not isinstance(tags_filter, FilterNode):
            kind = type(tags_filter).__name__
            raise LocalProtocolError(f"tags_filter must be a FilterNode (filters.tags), got {kind}")
        if delta and tags_filter is not None:
            raise LocalProtocolError("a tags filter and delta compression cannot be combined")
        dialect = self._dialect
        check_bool(has_token_source, "has_token_source")
        check_channel(channel)
        if data is not None:
            self._codec.check_payload(data)
        return SubscriptionOptions(
            token=None if token is None else dialect.check_sub_token(token),
            # 1.x ``$`` channels always get their sign from the source (LEGACY-V1.md §6).
            has_token_source=has_token_source or dialect.needs_sub_token(channel),
            data=data,
            recoverable=check_bool(recoverable, "recoverable"),
            positioned=check_bool(positioned, "positioned"),
            join_leave=check_bool(join_leave, "join_leave"),
            since=None if since is None else check_position(since),
            delta=delta,
            tags_filter=tags_filter,
        )

    def subscribe(self, channel: str, *, now: float, **options: Unpack[SubscribeKwargs]) -> None:
        """Subscribe to ``channel`` (again); events tell how it goes. The options are
        :meth:`subscription_options`'.

        ``delta="fossil"`` asks for delta compression (§7; the namespace needs
        ``allowed_delta_types``); ``tags_filter`` (a :mod:`~centrifugo_proto.filters`
        tree) asks the server for the publications whose tags match (Centrifugo
        >= 6.4, ``allow_tags_filter``). The server cannot filter a delta stream: the
        two cannot be combined.
        """
        now = check_now(now)
        checked = self.subscription_options(channel, **options)
        self._session.subscribe(channel, checked, now)
        self._pipe.flush()

    def unsubscribe(self, channel: str, *, now: float) -> None:
        now = check_now(now)
        self._session.unsubscribe(check_channel(channel), now)
        self._pipe.flush()

    def remove_subscription(self, channel: str) -> None:
        """Forget an unsubscribed subscription (and its recovery position)."""
        self._session.remove_subscription(check_channel(channel))

    # -- commands: each returns a request handle ------------------------------------------

    def _command(
        self, command: Command, now: float, channel: str = "", uid: str | None = None
    ) -> int:
        dialect = self._dialect
        if type(command) not in dialect.caller_commands:
            raise LocalProtocolError(
                f"{type(command).__name__} is not in the {dialect.name} protocol"
            )
        if uid is not None:
            if not dialect.caller_ids:
                raise LocalProtocolError(f"the {dialect.name} protocol has no caller uids")
            if not check_str(uid, "uid"):
                raise LocalProtocolError("uid must not be empty")
        encoded = self._codec.encode(command)  # refused here, not in a later receive_data
        request = self._session.command(command, encoded, now, channel, uid)
        self._pipe.flush()
        return request

    def _wire(self, channel: object) -> str:
        """The channel as sent on this connection (1.x ``&`` client channels)."""
        return self._dialect.wire_channel(check_channel(channel), self._session.client_id)

    def publish(self, channel: str, data: Any, *, now: float, uid: str | None = None) -> int:
        now = check_now(now)
        return self._command(PublishRequest(self._wire(channel), data), now, channel, uid)

    def history(
        self,
        channel: str,
        *,
        now: float,
        limit: int = 0,
        since: StreamPosition | None = None,
        reverse: bool = False,
        uid: str | None = None,
    ) -> int:
        """History of ``channel``: ``limit`` 0 gives only the top position, -1 all (§2.3)."""
        now = check_now(now)
        request = HistoryRequest(
            channel=self._wire(channel),
            limit=check_limit(limit),
            since=None if since is None else check_position(since),
            reverse=check_bool(reverse, "reverse"),
        )
        return self._command(request, now, channel, uid)

    def presence(self, channel: str, *, now: float, uid: str | None = None) -> int:
        now = check_now(now)
        return self._command(PresenceRequest(self._wire(channel)), now, channel, uid)

    def presence_stats(self, channel: str, *, now: float) -> int:
        now = check_now(now)
        return self._command(PresenceStatsRequest(check_channel(channel)), now, channel)

    def rpc(self, method: str, data: Any = None, *, now: float) -> int:
        now = check_now(now)
        return self._command(RpcRequest(check_str(method, "method"), data), now)

    def send(self, data: Any, *, now: float) -> int:
        """Fire-and-forget message to the server; succeeds once written (§2.3)."""
        now = check_now(now)
        return self._command(SendRequest(data), now)

    def ping(self, data: str = "", *, now: float, uid: str | None = None) -> int:
        """1.x only: a ping command, ``data`` echoed back (LEGACY-V1.md §2.8). The
        current protocol has none: its server answers a ping command with 108, and
        liveness there comes from the server's pings (PROTOCOL.md §4)."""
        now = check_now(now)
        return self._command(PingRequest(check_str(data, "data")), now, uid=uid)
