"""The adapter-independent half of a client: construction, driving the core,
failures, and the start of every wait (DESIGN "Adapters").

An adapter subclasses :class:`ClientBase` and supplies only the I/O: a clock, a
socket, one timer, wake-ups to wait on and a place where callbacks run (the
hooks below). Driving the core (flush, drain, re-arm, in that order) and
routing its events (:mod:`.routing`) are written once, here. The typed
``_start_*`` methods begin each wait; the adapter's public methods wait for the
:class:`Pending` they return with its own timeout primitive.

Nothing here reads a clock, touches a socket, starts a thread or draws a
random number; the adapter passes those in.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from centrifugo_proto.backoff import RandomSource
from centrifugo_proto.client import ClientProtocol
from centrifugo_proto.codecs import Codec
from centrifugo_proto.dialect import Dialect, resolve_dialect
from centrifugo_proto.errors import CommandTimeout, LocalProtocolError, Unauthorized
from centrifugo_proto.events import TokenRequested
from centrifugo_proto.http_url import parse_http_url
from centrifugo_proto.legacy import ChannelSign, Credentials
from centrifugo_proto.options import ClientOptions
from centrifugo_proto.results import (
    HistoryResult,
    PingResult,
    PresenceResult,
    PresenceStatsResult,
    PublishResult,
    RpcResult,
    StreamPosition,
)
from centrifugo_proto.states import ClientState

from .names import TransportFailed, client_wide
from .routing import Routing
from .signs import SignAnswers, SignBatch
from .subscription import SubscribeOptions, SubscriptionBase, TokenSource
from .tokens import check_token_source, not_awaitable, source_for
from .waiters import Pending, Wakeup, budget_text

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["ClientBase", "CredentialsSource", "connect_credentials"]

T = TypeVar("T")
S = TypeVar("S", bound=SubscriptionBase[Any])

#: How long a subscription's reader may take nothing and still count as reading
#: (``_readers_behind``): longer than the system keeps a busy thread waiting for a
#: core, short enough that a reader that stopped slows a flood for a moment only.
READER_IDLE = 0.5
#: ``get_credentials()``: 1.x connection credentials (plain, or async in the async adapters).
CredentialsSource = Callable[[], "Credentials | Awaitable[Credentials]"]
#: What a token source may hand back: a JWT, 1.x credentials, a ``$`` channel's sign.
_TOKEN_TYPES = (str, Credentials, ChannelSign)


def connect_credentials(
    user: str | None, timestamp: str | int | None, token: str | None, info: str | None
) -> object:
    """``connect(user=, timestamp=, token=, info=)``'s credentials: None when none
    is given, the token alone (a JWT) when only it is, else 1.x ``Credentials``
    (each sent as a string; LocalProtocolError for one missing)."""
    if user is None and timestamp is None and info is None:
        return token
    return Credentials(user, timestamp, token, "" if info is None else info)


def _refuse(proto: ClientProtocol, request: TokenRequested, reason: str, now: float) -> None:
    proto.token_failed(request, True, now=now, reason=reason)


def _keepalive(
    options: ClientOptions, max_alive_period: float | None, refresh_period: float | None
) -> ClientOptions:
    """The seed's keepalive options over ``options`` (LEGACY-V1.md §8 "Keepalive")."""
    changes: dict[str, float] = {}
    if max_alive_period is not None:
        changes["max_alive_period"] = _seconds("max_alive_period", max_alive_period, 0.0)
    if refresh_period is not None:
        changes["refresh_period"] = _seconds("refresh_period", refresh_period, None)
    return attrs.evolve(options, **changes) if changes else options


def _seconds(name: str, value: object, zero: float | None) -> float:
    """A finite number of seconds, above 0 (or also 0 when ``zero`` is given)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LocalProtocolError(f"{name} must be a number of seconds, got {value!r}")
    if value < 0 or (value == 0 and zero is None):
        least = "at least 0" if zero is not None else "above 0"
        raise LocalProtocolError(f"{name} must be {least}, got {value!r}")
    return float(value)


def _auth_endpoint(url: str | None, dialect: Dialect) -> str | None:
    """``auth_endpoint``, checked: an http(s) URL, for a dialect that takes signs."""
    if url is None:
        return None
    parse_http_url(url)  # LocalProtocolError for what is not an http(s) URL
    try:
        dialect.check_sub_token(ChannelSign("probe"))
    except LocalProtocolError:
        raise LocalProtocolError(
            f"auth_endpoint is for the 1.x dialect's $ channels (protocol='v1'); the "
            f"{dialect.name} protocol's private channels take get_token"
        ) from None
    return url


class ClientBase(Routing[S]):
    """Args (every adapter's ``Client``):
    endpoints: one WebSocket URL or several (tried in turn on reconnect).
    token: connection JWT; ``get_token(channel=None)`` gets fresh ones (on
        expiry, refresh, 109); raise ``Unauthorized`` to stop.
    data: connect data; name, version: sent on connect.
    options: timeouts, backoff, ping delay (``ClientOptions``).
    headers: extra HTTP headers for the WebSocket handshake.
    ssl_context: TLS settings for ``wss://`` (default: verify with the system CAs).
    ssl_no_verify: do not verify the server's certificate (logs a warning).
    proxy: ``http://[user:password@]host:port``: connect through this HTTP
        CONNECT proxy (its handshake is the core's, ``proxy.py``).
    codec, protocol: as ``ClientProtocol``'s (``protocol="v1"``: Centrifugo 1.x).

    1.x only (DESIGN "The 1.x dialect"; ``docs/legacy.md``):
    auth_endpoint: where ``$`` channels get their signs (LEGACY-V1.md §6); the
        signs asked for in one step go in one POST.
    max_alive_period, refresh_period: the seed's keepalive (seconds): a ``ping``
        when nothing was heard for ``max_alive_period`` (0: never), checked every
        ``refresh_period``; they override those of ``options``.
    get_credentials: ``get_credentials() -> Credentials`` for refresh and for
        reconnects after ``expired``; raise ``Unauthorized`` to stop.
    """

    #: Made once per client: backoff jitter, and the lock around core calls.
    _rng_factory: ClassVar[Callable[[], RandomSource]]
    _lock_factory: ClassVar[Callable[[], AbstractContextManager[Any]]] = nullcontext
    #: The adapter awaits what a token source returns (False: async sources refused).
    _awaits_tokens: ClassVar[bool] = True
    _log: ClassVar[logging.Logger] = logging.getLogger("centrifugo_proto.adapters")

    __slots__ = (
        "_auth_endpoint",
        "_failing",
        "_get_credentials",
        "_get_token",
        "_lock",
        "_options",
        "_proto",
        "_sign_batch",
        "_ssl_context",
        "_ssl_no_verify",
        "_tls",
        "_watched",
    )

    def __init__(
        self,
        endpoints: str | Sequence[str],
        *,
        token: str | Credentials | None = None,
        get_token: TokenSource | None = None,
        data: Any = None,
        name: str = "python",
        version: str = "",
        options: ClientOptions | None = None,
        headers: Sequence[tuple[str, str]] = (),
        ssl_context: Any = None,  # an ssl.SSLContext (nothing here imports ssl)
        ssl_no_verify: bool = False,
        proxy: str | None = None,
        codec: str | Codec = "json",
        protocol: str | Dialect = "current",
        auth_endpoint: str | None = None,
        max_alive_period: float | None = None,
        refresh_period: float | None = None,
        get_credentials: CredentialsSource | None = None,
    ) -> None:
        super().__init__()
        if options is not None and not isinstance(options, ClientOptions):
            raise LocalProtocolError(f"options must be ClientOptions, got {options!r}")
        if ssl_context is not None and ssl_no_verify:
            raise LocalProtocolError("give ssl_context or ssl_no_verify, not both")
        check_token_source(get_token, awaitable=self._awaits_tokens)
        check_token_source(get_credentials, awaitable=self._awaits_tokens, what="get_credentials")
        dialect = resolve_dialect(protocol)
        self._options = _keepalive(options or ClientOptions(), max_alive_period, refresh_period)
        self._auth_endpoint = _auth_endpoint(auth_endpoint, dialect)
        self._client_wide = client_wide(dialect.name)
        self._messages = "message" in self._client_wide
        #: Sign requests of this step, for one POST to the auth endpoint.
        self._sign_batch: list[TokenRequested] = []
        #: Subscriptions whose reader took something lately (``_readers_behind``).
        self._watched: list[S] = []
        self._proto = ClientProtocol(
            endpoints,
            token,
            data,
            name,
            version,
            options=self._options,
            rng=type(self)._rng_factory(),
            has_token_source=get_token is not None or get_credentials is not None,
            headers=headers,
            proxy=proxy,
            codec=codec,
            protocol=dialect,
        )
        self._get_token = get_token
        self._get_credentials = get_credentials
        self._ssl_context, self._ssl_no_verify = ssl_context, ssl_no_verify
        #: The TLS context from these, made when first needed (``TlsClient``; an
        #: ``ssl.SSLContext``, and nothing here imports ssl).
        self._tls: Any = None
        #: Serialises every call into the core (the blocking adapter's threads).
        self._lock = type(self)._lock_factory()
        self._failing = False
        self._setup()

    # -- hooks the adapter implements -----------------------------------------------------

    def _setup(self) -> None:
        """The adapter's own state, at the end of __init__: no I/O, no loop needed."""
        raise NotImplementedError

    def _now(self) -> float:
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        """Queue bytes for the socket; never raises (a failure is the loop's to report)."""
        raise NotImplementedError

    def _rearm(self, deadline: float | None) -> None:
        raise NotImplementedError

    def _new_wakeup(self) -> Wakeup:
        raise NotImplementedError

    def _make_subscription(self, channel: str, options: SubscribeOptions) -> S:
        raise NotImplementedError

    def _fatal(self, error: BaseException) -> BaseException | None:
        """What a waiting ``connect()`` raises at once for ``error`` (a certificate
        that does not verify: retrying will not help); None to go on waiting."""
        return None

    # -- state and subscriptions ----------------------------------------------------------

    @property
    def state(self) -> ClientState:
        return self._proto.state

    @property
    def client_id(self) -> str | None:
        return self._proto.client_id

    def new_subscription(self, channel: str, **options: Unpack[SubscribeOptions]) -> S:
        """A subscription to ``channel``, not subscribed yet (``subscribe()`` does);
        it buffers publications from now on."""
        if not isinstance(channel, str) or not channel:
            raise LocalProtocolError(f"channel must be a non-empty str, got {channel!r}")
        unknown = options.keys() - SubscribeOptions.__optional_keys__
        if unknown:
            raise LocalProtocolError(f"unknown subscription options: {', '.join(sorted(unknown))}")
        if channel in self._subs:
            raise LocalProtocolError(f"a subscription to {channel!r} exists already")
        check_token_source(options.get("get_token"), awaitable=self._awaits_tokens)
        sub = self._subs[channel] = self._make_subscription(channel, options)
        return sub

    def _readers_behind(self, now: float) -> bool:
        """A reader that is taking is a quarter of its buffer behind: an I/O loop on
        a thread of its own gives it a moment (the blocking adapter, _threads.py).
        A reader counts as taking until it took nothing for ``READER_IDLE``: one the
        system put aside for a few milliseconds still counts, one that stopped does
        not, and a buffer nobody reads fills and drops its oldest, never slowing the
        connection. Only subscriptions read lately are looked at: idle ones cost
        nothing."""
        if not self._watched:
            return False
        behind, watched = False, []
        for sub in self._watched:
            if sub._taken != sub._taken_seen:
                sub._taken_seen, sub._taken_at = sub._taken, now
            elif now - sub._taken_at >= READER_IDLE:
                sub._watched = sub._behind = False
                continue
            watched.append(sub)
            waiting = len(sub._buffer)
            sub._behind = waiting > 0 and waiting >= sub._buffer.limit // 4
            behind = behind or sub._behind
        self._watched = watched
        return behind

    def _reader_caught_up(self) -> None:
        """A reader that was behind is down to an eighth of its buffer; the blocking
        adapter's I/O thread, if it paused for it, goes on."""

    def _wake_reader(self, wakeup: Wakeup) -> None:
        """A publication for a waiting reader: wake it (the blocking adapter's I/O
        thread waits until its turn let the client's lock go)."""
        wakeup.set()

    def get_subscription(self, channel: str) -> S | None:
        return self._subs.get(channel)

    def _subscription(self, channel: str) -> S:
        """The subscription to ``channel``; LocalProtocolError when there is none."""
        sub = self._subs.get(channel) if isinstance(channel, str) else None
        if sub is None:
            raise LocalProtocolError(f"no subscription to {channel!r}")
        return sub

    def _subscription_for(self, channel: str, options: SubscribeOptions) -> S:
        """``client.subscribe``'s subscription: the one to ``channel``, else a new one."""
        return self._subs.get(channel) or self.new_subscription(channel, **options)

    # -- driving the core -----------------------------------------------------------------

    def _call(self, action: Callable[[float], T]) -> T:
        """``action(now)`` on the core, then pump. The caller's misuse raises from
        ``action`` before anything changed; what the pump hits is the loop's."""
        with self._lock:
            result = action(self._now())
            try:
                self._pump()
            except Exception as error:
                self._fail(error)
        return result

    def _pump(self) -> None:
        """Flush, drain, re-arm: after every call into the core (docs/integrating.md).
        The timer is re-armed whatever happened, so a failure never leaves it unarmed."""
        proto = self._proto
        try:
            # The bytes go before the events are routed: a close frame before the
            # CloseTransport after it. Routing calls the core only through _call,
            # whose own pump writes what that call made before the events after it,
            # so one flush here keeps the order (no data_to_send per publication).
            data = proto.data_to_send()
            if data:
                self._write(data)
            while (event := proto.next_event()) is not None:
                self._route(event)
            if self._sign_batch:  # every sign this step asked for, in one request
                requests, self._sign_batch = self._sign_batch, []
                assert self._auth_endpoint is not None
                client_id = proto.client_id or ""  # none: the requests are stale already
                self._request_signs(SignBatch(self._auth_endpoint, client_id, requests))
        finally:
            self._rearm(proto.next_deadline())

    def _drive(self, action: Callable[[float], object]) -> None:
        """A call the loop makes (bytes read, the timer, a socket opened): whatever
        it raises becomes a transport failure, so nothing kills the loop."""
        try:
            self._call(action)
        except Exception as error:
            self._fail(error)

    def _fail(self, error: BaseException) -> None:
        """Something broke on the I/O path: drop the socket, report it (the core
        reconnects with backoff)."""
        with self._lock:
            if self._failing:  # handling the failure broke again: log, do not recurse
                self._log.error("failure while handling a failure: %r", error)
                return
            self._failing = True
            try:
                self._close_transport()
                self._transport_failed(error)
            finally:
                self._failing = False

    def _transport_failed(self, error: BaseException) -> None:
        """The socket could not open, or broke: ``ws_error`` gets ``error`` itself (a
        fatal one as ``_fatal`` gives it, which also fails a waiting ``connect()`` at
        once); the core retries."""
        with self._lock:
            fatal = self._fatal(error)
            failure = TransportFailed(error=fatal or error)
            for callback in self._callbacks.get("ws_error", ()):
                self._schedule(callback, failure)
            if fatal is not None:
                self._settle_connects(None, fatal)
            reason = str(error) or type(error).__name__
            try:
                self._call(lambda now: self._proto.transport_failed(reason, now=now))
            except Exception:  # the core refused the news: its bug; the loop goes on
                self._log.exception("transport_failed(%r) raised", reason)

    # -- tokens -----------------------------------------------------------------------------

    def _request_signs(self, batch: SignBatch) -> None:
        """POST ``batch.body`` to the auth endpoint where user callbacks cannot block
        it, then ``_answer_signs`` (the adapter's HTTP client)."""
        raise NotImplementedError

    def _token_requested(self, event: TokenRequested) -> None:
        """A ``$`` channel's sign comes from the auth endpoint unless its subscription
        has a ``get_token`` of its own; everything else from the token sources."""
        sub = self._subs.get(event.channel) if event.channel is not None else None
        if self._auth_endpoint is None or event.channel is None or getattr(sub, "get_token", None):
            self._request_token(event)
        else:
            self._sign_batch.append(event)

    def _answer_signs(self, batch: SignBatch, answers: SignAnswers) -> None:
        """Each sign to its request; a refusal ends that subscription with the
        reason (the client stays connected, LEGACY-V1.md §6)."""
        proto = self._proto
        for request, outcome in answers:
            if isinstance(outcome, ChannelSign):
                self._answer_token(request, outcome, None)
                continue
            self._log.warning("no sign for %r: %s", request.channel, outcome.reason)
            self._drive(partial(_refuse, proto, request, outcome.reason))

    def _token_source(self, event: TokenRequested) -> Callable[[], Any]:
        if event.channel is None and self._get_credentials is not None:
            return self._get_credentials
        return source_for(event, self._get_token, self._subs)

    def _fetch_token_now(self, event: TokenRequested) -> None:
        """Fetch from a plain source and answer (the blocking adapter's token thread)."""
        try:
            token = not_awaitable(self._token_source(event)())
        except LocalProtocolError as exc:
            self._log.error("get_token failed: %s", exc)
            self._answer_token(event, None, exc)
        except Exception as exc:
            self._log.warning("get_token failed: %r", exc)
            self._answer_token(event, None, exc)
        else:
            self._answer_token(event, token, None)

    def _answer_token(
        self, event: TokenRequested, token: object, error: BaseException | None
    ) -> None:
        """Tell the core: ``Unauthorized`` stops, another error retries later, a str
        is the token (None or "": unauthorized, §6.3). A token of another type (bytes
        from PyJWT 1.x), or one the core refuses, fails the request, logged."""
        proto = self._proto
        if error is None and token is not None and not isinstance(token, _TOKEN_TYPES):
            error = LocalProtocolError(f"get_token returned {type(token).__name__}, not str")
            self._log.error("get_token for %r: %s", event.channel, error)
        if isinstance(error, Unauthorized):
            self._drive(lambda now: proto.token_failed(event, True, now=now))
        elif error is not None:
            self._drive(lambda now: proto.token_failed(event, now=now))
        else:
            try:
                self._call(lambda now: proto.provide_token(event, token or "", now=now))
            except LocalProtocolError as refused:
                self._log.error("get_token for %r: the core refused it: %s", event.channel, refused)
                self._drive(lambda now: proto.token_failed(event, now=now))

    # -- the start of each wait (the adapter does the waiting) ----------------------------

    def _pending(self) -> Pending[Any]:
        return Pending(self._new_wakeup())

    def _start_connect(self, credentials: object = None) -> Pending[None]:
        """Settled at once when connected; else by Connected, or a terminal
        Disconnected (``ReplyError`` / ``Unauthorized`` / ``ClientDisconnected``).
        ``credentials`` (``connect_credentials``) replace those given before."""
        pending: Pending[None] = self._pending()
        connect = lambda now: self._proto.connect(now=now, credentials=credentials)  # noqa: E731
        if self.state is ClientState.CONNECTED:
            if credentials is not None:  # kept for the next connection
                self._call(connect)
            pending.set_result(None)
            return pending
        self._connecting.append(pending)
        try:
            self._call(connect)
        except BaseException:
            self._connecting.remove(pending)
            raise
        return pending

    def _command(
        self,
        name: str,
        channel: str | None,
        issue: Callable[[float], int],
        kind: type[T],
        uid: str | None = None,
    ) -> Pending[T]:
        """Issue a command; its Pending gets the core's result or error (``kind`` is
        the result's type, for mypy). The core times commands out by itself."""
        pending: Pending[T] = self._pending()
        with self._lock:
            request = issue(self._now())
            self._requests[request] = (name, channel, pending, uid or "")
            try:
                self._pump()  # after registering: the reply may be queued already
            except Exception as error:
                self._fail(error)
        return pending

    def _start_publish(
        self, channel: str, data: Any, uid: str | None = None
    ) -> Pending[PublishResult]:
        proto = self._proto
        issue = lambda now: proto.publish(channel, data, now=now, uid=uid)  # noqa: E731
        return self._command("publish", channel, issue, PublishResult, uid)

    def _start_history(
        self,
        channel: str,
        limit: int,
        since: StreamPosition | None,
        reverse: bool,
        uid: str | None = None,
    ) -> Pending[HistoryResult]:
        """``limit`` 0 gives only the stream's top position, -1 everything (§2.3)."""
        proto = self._proto

        def issue(now: float) -> int:
            return proto.history(
                channel, now=now, limit=limit, since=since, reverse=reverse, uid=uid
            )

        return self._command("history", channel, issue, HistoryResult, uid)

    def _start_presence(self, channel: str, uid: str | None = None) -> Pending[PresenceResult]:
        proto = self._proto
        issue = lambda now: proto.presence(channel, now=now, uid=uid)  # noqa: E731
        return self._command("presence", channel, issue, PresenceResult, uid)

    def _start_ping(self, data: str, uid: str | None = None) -> Pending[PingResult]:
        """1.x: the client ``ping`` command, ``data`` echoed (LEGACY-V1.md §2.8);
        the current protocol has none (the core says so: LocalProtocolError)."""
        proto = self._proto
        issue = lambda now: proto.ping(data, now=now, uid=uid)  # noqa: E731
        return self._command("ping", None, issue, PingResult, uid)

    def _start_presence_stats(self, channel: str) -> Pending[PresenceStatsResult]:
        proto = self._proto
        issue = lambda now: proto.presence_stats(channel, now=now)  # noqa: E731
        return self._command("presence_stats", channel, issue, PresenceStatsResult)

    def _start_rpc(self, method: str, data: Any) -> Pending[RpcResult]:
        proto = self._proto
        issue = lambda now: proto.rpc(method, data, now=now)  # noqa: E731
        return self._command("rpc", None, issue, RpcResult)

    def _start_send(self, data: Any) -> Pending[None]:
        """Done once queued: the server sends no reply (§2.3)."""
        proto = self._proto
        return self._command("send", None, lambda now: proto.send(data, now=now), type(None))

    # -- the end of a wait ------------------------------------------------------------------

    def _budget(self, timeout: float | None) -> float:
        """A wait's own ``timeout=``: None is the client's default, 0 no time at all."""
        if timeout is None:
            return self._options.timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise LocalProtocolError(f"timeout must be a number of seconds, got {timeout!r}")
        if not timeout >= 0 or math.isinf(timeout):
            raise LocalProtocolError(f"timeout must be finite and at least 0, got {timeout!r}")
        return float(timeout)

    def _forget(self, pending: Pending[Any]) -> None:
        """A wait gave up (timeout, cancellation): nothing will settle ``pending``."""
        with self._lock:
            lists: list[list[Pending[Any]]] = [self._connecting]
            lists += (sub._pending for sub in self._subs.values())
            for pendings in lists:
                if pending in pendings:
                    pendings.remove(pending)
            for request, (_, _, waiting, _) in list(self._requests.items()):
                if waiting is pending:
                    del self._requests[request]

    def _gave_up(self, pending: Pending[Any], what: str, budget: float) -> CommandTimeout:
        """The CommandTimeout of a wait that ran out of time. A connect or subscribe
        names the last connection error (also its ``__cause__``)."""
        self._forget(pending)
        cause = self._last_error if what.startswith(("connect", "subscribe")) else None
        detail = "" if cause is None else f" (last error: {cause})"
        error = CommandTimeout(f"{what} timed out{detail}; it waited {budget_text(budget)}")
        error.__cause__ = cause
        return error

    def _start_close(self) -> None:
        """Close the core (final) and end every subscription's iteration."""
        if self.state is not ClientState.CLOSED:
            self._call(lambda now: self._proto.close(now=now))
        for sub in self._subs.values():
            sub._end()
