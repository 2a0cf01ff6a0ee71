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
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from centrifugo_proto.backoff import RandomSource
from centrifugo_proto.client import ClientProtocol
from centrifugo_proto.codecs import Codec
from centrifugo_proto.dialect import Dialect
from centrifugo_proto.errors import CommandTimeout, LocalProtocolError, Unauthorized
from centrifugo_proto.events import TokenRequested
from centrifugo_proto.options import ClientOptions
from centrifugo_proto.results import (
    HistoryResult,
    PresenceResult,
    PresenceStatsResult,
    PublishResult,
    RpcResult,
    StreamPosition,
)
from centrifugo_proto.states import ClientState

from .names import TransportFailed
from .routing import Routing
from .subscription import SubscribeOptions, SubscriptionBase, TokenSource
from .tokens import check_token_source, not_awaitable, source_for
from .waiters import Pending, Wakeup, budget_text

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["ClientBase"]

T = TypeVar("T")
S = TypeVar("S", bound=SubscriptionBase[Any])


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
    """

    #: Made once per client: backoff jitter, and the lock around core calls.
    _rng_factory: ClassVar[Callable[[], RandomSource]]
    _lock_factory: ClassVar[Callable[[], AbstractContextManager[Any]]] = nullcontext
    #: The adapter awaits what a token source returns (False: async sources refused).
    _awaits_tokens: ClassVar[bool] = True
    _log: ClassVar[logging.Logger] = logging.getLogger("centrifugo_proto.adapters")

    def __init__(
        self,
        endpoints: str | Sequence[str],
        *,
        token: str | None = None,
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
    ) -> None:
        super().__init__()
        if options is not None and not isinstance(options, ClientOptions):
            raise LocalProtocolError(f"options must be ClientOptions, got {options!r}")
        if ssl_context is not None and ssl_no_verify:
            raise LocalProtocolError("give ssl_context or ssl_no_verify, not both")
        check_token_source(get_token, awaitable=self._awaits_tokens)
        self._options = options or ClientOptions()
        self._proto = ClientProtocol(
            endpoints,
            token,
            data,
            name,
            version,
            options=self._options,
            rng=type(self)._rng_factory(),
            has_token_source=get_token is not None,
            headers=headers,
            proxy=proxy,
            codec=codec,
            protocol=protocol,
        )
        self._get_token = get_token
        self._ssl_context, self._ssl_no_verify = ssl_context, ssl_no_verify
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
            while True:
                data = proto.data_to_send()
                if data:
                    self._write(data)
                event = proto.next_event()
                if event is None:
                    break
                self._route(event)
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

    def _token_source(self, event: TokenRequested) -> Callable[[], Any]:
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
        if error is None and token is not None and not isinstance(token, str):
            error = LocalProtocolError(f"get_token returned {type(token).__name__}, not str")
            self._log.error("get_token for %r: %s", event.channel, error)
        if isinstance(error, Unauthorized):
            self._drive(lambda now: proto.token_failed(event, True, now=now))
        elif error is not None:
            self._drive(lambda now: proto.token_failed(event, now=now))
        else:
            try:
                self._call(lambda now: proto.provide_token(event, str(token or ""), now=now))
            except LocalProtocolError as refused:
                self._log.error("get_token for %r: the core refused it: %s", event.channel, refused)
                self._drive(lambda now: proto.token_failed(event, now=now))

    # -- the start of each wait (the adapter does the waiting) ----------------------------

    def _pending(self) -> Pending[Any]:
        return Pending(self._new_wakeup())

    def _start_connect(self) -> Pending[None]:
        """Settled at once when connected; else by Connected, or a terminal
        Disconnected (``ReplyError`` / ``Unauthorized`` / ``ClientDisconnected``)."""
        pending: Pending[None] = self._pending()
        if self.state is ClientState.CONNECTED:
            pending.set_result(None)
            return pending
        self._connecting.append(pending)
        try:
            self._call(lambda now: self._proto.connect(now=now))
        except BaseException:
            self._connecting.remove(pending)
            raise
        return pending

    def _command(
        self, name: str, channel: str | None, issue: Callable[[float], int], kind: type[T]
    ) -> Pending[T]:
        """Issue a command; its Pending gets the core's result or error (``kind`` is
        the result's type, for mypy). The core times commands out by itself."""
        pending: Pending[T] = self._pending()
        with self._lock:
            request = issue(self._now())
            self._requests[request] = (name, channel, pending)
            try:
                self._pump()  # after registering: the reply may be queued already
            except Exception as error:
                self._fail(error)
        return pending

    def _start_publish(self, channel: str, data: Any) -> Pending[PublishResult]:
        proto = self._proto
        issue = lambda now: proto.publish(channel, data, now=now)  # noqa: E731
        return self._command("publish", channel, issue, PublishResult)

    def _start_history(
        self, channel: str, limit: int, since: StreamPosition | None, reverse: bool
    ) -> Pending[HistoryResult]:
        """``limit`` 0 gives only the stream's top position, -1 everything (§2.3)."""
        proto = self._proto

        def issue(now: float) -> int:
            return proto.history(channel, now=now, limit=limit, since=since, reverse=reverse)

        return self._command("history", channel, issue, HistoryResult)

    def _start_presence(self, channel: str) -> Pending[PresenceResult]:
        proto = self._proto
        issue = lambda now: proto.presence(channel, now=now)  # noqa: E731
        return self._command("presence", channel, issue, PresenceResult)

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
            for request, (_, _, waiting) in list(self._requests.items()):
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
