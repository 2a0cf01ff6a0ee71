"""What every adapter does besides I/O (DESIGN "Adapters"), written once.

An adapter subclasses :class:`ClientBase` and :class:`SubscriptionBase` and
supplies only the I/O: a clock, a socket, one timer, waiters (futures) and a
place where callbacks run. Everything else is pure bookkeeping and lives here:
driving the core (flush, drain, re-arm, in that order), routing events to
waiters, subscription buffers and callbacks (with the seed's names,
:mod:`.dispatch`), and what a finished wait means (a result or an exception).

Nothing here reads a clock, touches a socket, starts a thread or draws a
random number; the adapter passes those in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from .backoff import RandomSource
from .buffer import DEFAULT_BUFFER_LIMIT, PublicationBuffer
from .client import ClientProtocol
from .dispatch import CommandReplied, TransportFailed, callback_target, event_name
from .errors import (
    CentrifugoError,
    ClientDisconnected,
    CommandTimeout,
    PublicationsDropped,
    ReplyError,
    Unauthorized,
)
from .events import (
    CloseTransport,
    CommandFailed,
    CommandSucceeded,
    Connected,
    Disconnected,
    ErrorOccurred,
    Event,
    OpenTransport,
    PublicationReceived,
    PublicationsLost,
    StartTls,
    Subscribed,
    TokenRequested,
    Unsubscribed,
)
from .options import ClientOptions
from .results import Publication, StreamPosition
from .states import ClientState, SubscriptionState

__all__ = ["Callback", "Callbacks", "ClientBase", "SubscriptionBase", "Waiter"]

Callback = Callable[[Any], Any]
_C = TypeVar("_C", bound="Callbacks")
_S = TypeVar("_S", bound="SubscriptionBase")


class Waiter(Protocol):
    """What the adapter waits on: ``asyncio.Future`` and ``concurrent.futures.Future``
    fit as they are; the trio adapter has a small class of its own."""

    def done(self) -> bool: ...
    def set_result(self, result: Any, /) -> None: ...
    def set_exception(self, exception: BaseException, /) -> None: ...


def _settle(waiter: Waiter, result: Any = None, error: BaseException | None = None) -> None:
    if not waiter.done():
        if error is None:
            waiter.set_result(result)
        else:
            waiter.set_exception(error)


class Callbacks:
    """``on(name, callback)``: current and seed names alike (``docs/events.md``)."""

    def __init__(self) -> None:
        self._callbacks: dict[str, list[Callback]] = {}

    def on(self: _C, name: str, callback: Callback) -> _C:
        """Call ``callback(event)`` for every event called ``name``; returns self."""
        self._callbacks.setdefault(event_name(name), []).append(callback)
        return self


class SubscriptionBase(Callbacks):
    """Options as the core's ``subscribe`` takes them, plus ``buffer_size`` (the
    bound of the publication buffer, docs/resilience.md) and ``get_token(channel)``
    (plain or async: this subscription's token source; else the client's)."""

    def __init__(self, client: ClientBase[Any], channel: str, options: dict[str, Any]) -> None:
        super().__init__()
        options = dict(options)
        self._buffer = PublicationBuffer(channel, options.pop("buffer_size", DEFAULT_BUFFER_LIMIT))
        self.get_token: Callable[..., Any] | None = options.pop("get_token", None)
        if self.get_token is not None:
            options["has_token_source"] = True
        self.client, self.channel, self._options = client, channel, options
        self._waiters: list[Waiter] = []
        self._last_subscribed: Subscribed | None = None
        self._ended = False

    @property
    def state(self) -> SubscriptionState:
        return self.client._proto.subscription_state(self.channel) or SubscriptionState.UNSUBSCRIBED

    # Commands on this channel: what the client's return (awaitables in the async adapters).

    def publish(self, data: Any) -> Any:
        return self.client.publish(self.channel, data)

    def history(
        self, *, limit: int = 0, since: StreamPosition | None = None, reverse: bool = False
    ) -> Any:
        return self.client.history(self.channel, limit=limit, since=since, reverse=reverse)

    def presence(self) -> Any:
        return self.client.presence(self.channel)

    def presence_stats(self) -> Any:
        return self.client.presence_stats(self.channel)

    def _wake(self) -> None:
        """Wake a reader waiting in ``for``/``async for`` (the adapter's event)."""
        raise NotImplementedError

    def _deliver(self, pub: Publication) -> None:
        """Buffer ``pub`` for ``for``/``async for``; the oldest goes when full."""
        self._buffer.push(pub)
        self._wake()

    def _end(self) -> None:
        """The client closed: iteration ends once the buffer is drained."""
        self._ended = True
        self._wake()

    def _buffered(self) -> int:
        """How many publications wait in the buffer."""
        return len(self._buffer)

    def _ready(self) -> bool:
        """A reader has something to take: a publication, a gap, or the end."""
        return self._ended or len(self._buffer) > 0

    def _take(self) -> Publication | None:
        """The next publication; None at the end. Raises ``PublicationsDropped``
        where the full buffer dropped some (call again to go on after the gap).
        Only when ``_ready()``."""
        item = self._buffer.pop()
        if isinstance(item, PublicationsLost):
            raise PublicationsDropped(item)
        return item


class ClientBase(Callbacks, Generic[_S]):
    """The adapter-independent half of a client: the constructor every adapter
    shares, and the commands. Adapters implement the hooks below (``_setup`` ...
    ``_make_subscription``), ``_request`` and the methods that wait.

    Args:
        endpoints: one WebSocket URL or several (tried in turn on reconnect).
        token: connection JWT; ``get_token(channel=None)`` (plain or async) gets
            fresh ones (on expiry, refresh, 109); raise ``Unauthorized`` to stop.
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

    def __init__(
        self,
        endpoints: str | Sequence[str],
        *,
        token: str | None = None,
        get_token: Callable[..., Any] | None = None,
        data: Any = None,
        name: str = "python",
        version: str = "",
        options: ClientOptions | None = None,
        headers: Sequence[tuple[str, str]] = (),
        ssl_context: Any = None,  # an ssl.SSLContext (the core imports no ssl)
        ssl_no_verify: bool = False,
        proxy: str | None = None,
    ) -> None:
        super().__init__()
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
        )
        self._get_token = get_token
        #: Serialises every call into the core (the blocking adapter's threads).
        self._lock = type(self)._lock_factory()
        self._subs: dict[str, _S] = {}
        self._requests: dict[int, tuple[str, str | None, Waiter]] = {}
        self._connect_waiters: list[Waiter] = []
        #: The last connection error, for the message of a connect that times out.
        self._last_error: str | None = None
        self._setup(ssl_context, ssl_no_verify)

    # -- hooks the adapter implements -----------------------------------------------------

    def _setup(self, ssl_context: Any, ssl_no_verify: bool) -> None:
        """The adapter's own state (TLS context, loop, threads), at the end of __init__."""
        raise NotImplementedError

    def _request(self, command: str, *args: Any, **kwargs: Any) -> Any:
        """Issue a command with ``_start_request`` and wait for its waiter."""
        raise NotImplementedError

    def _now(self) -> float:
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _rearm(self, deadline: float | None) -> None:
        raise NotImplementedError

    def _new_waiter(self) -> Waiter:
        raise NotImplementedError

    def _open_transport(self, event: OpenTransport) -> None:
        raise NotImplementedError

    def _close_transport(self) -> None:
        raise NotImplementedError

    def _start_tls(self, event: StartTls) -> None:
        """Start TLS on the open socket (inside a proxy tunnel), then ``tls_started``."""
        raise NotImplementedError

    def _request_token(self, event: TokenRequested) -> None:
        raise NotImplementedError

    def _schedule(self, callback: Callback, event: Any) -> None:
        """Run ``callback(event)`` later, in order, off the reading path."""
        raise NotImplementedError

    def _make_subscription(self, channel: str, options: dict[str, Any]) -> _S:
        raise NotImplementedError

    # -- state and subscriptions ----------------------------------------------------------

    @property
    def state(self) -> ClientState:
        return self._proto.state

    @property
    def client_id(self) -> str | None:
        return self._proto.client_id

    def new_subscription(self, channel: str, **options: Any) -> _S:
        if channel in self._subs:
            raise ValueError(f"a subscription to {channel!r} exists already")
        sub = self._subs[channel] = self._make_subscription(channel, options)
        return sub

    def get_subscription(self, channel: str) -> _S | None:
        return self._subs.get(channel)

    # -- driving the core -----------------------------------------------------------------

    def _call(self, action: Callable[[float], Any]) -> Any:
        with self._lock:
            result = action(self._now())
            self._pump()
        return result

    def _pump(self) -> None:
        """Flush, drain, re-arm: after every call into the core (docs/integrating.md)."""
        proto = self._proto
        while True:
            data = proto.data_to_send()
            if data:
                self._write(data)
            event = proto.next_event()
            if event is None:
                break
            self._route(event)
        self._rearm(proto.next_deadline())

    def _transport_failed(self, error: BaseException | str, *, fatal: bool = False) -> None:
        """The adapter's socket could not open, or broke: the seed's ``ws_error``.

        ``fatal`` (a certificate that does not verify): a waiting ``connect()``
        raises ``error`` at once instead of timing out; the core still retries.
        """
        with self._lock:
            failure = TransportFailed(error=error)
            for callback in self._callbacks.get("ws_error", ()):
                self._schedule(callback, failure)
            if fatal and isinstance(error, BaseException):
                waiters, self._connect_waiters = self._connect_waiters, []
                for waiter in waiters:
                    _settle(waiter, error=error)
            self._call(lambda now: self._proto.transport_failed(str(error), now=now))

    def _token_source(self, event: TokenRequested) -> Callable[[], Any]:
        """What answers ``event``: the subscription's ``get_token(channel)`` if it has
        one, else the client's (``get_token()`` for the connection token)."""
        channel = event.channel
        sub = self._subs.get(channel) if channel is not None else None
        getter = sub.get_token if sub is not None and sub.get_token is not None else self._get_token
        if getter is None:
            raise Unauthorized(f"no get_token for {channel!r}")
        if channel is None:
            return getter
        return partial(getter, channel)

    def _answer_token(self, event: TokenRequested, token: Any, error: BaseException | None) -> None:
        proto = self._proto
        if isinstance(error, Unauthorized):
            self._call(lambda now: proto.token_failed(event, True, now=now))
        elif error is not None:
            self._call(lambda now: proto.token_failed(event, now=now))
        else:
            self._call(lambda now: proto.provide_token(event, token or "", now=now))

    def _route(self, event: Event) -> None:
        kind = type(event)
        if kind is PublicationReceived:  # the hot path first
            assert isinstance(event, PublicationReceived)
            sub = None if event.server_side else self._subs.get(event.publication.channel)
            if sub is not None:
                sub._deliver(event.publication)
            for callback in (sub or self)._callbacks.get("publication", ()):
                self._schedule(callback, event)
            return
        if isinstance(event, CommandSucceeded | CommandFailed):
            self._command_done(event)
            return
        if kind is OpenTransport:
            self._open_transport(event)  # type: ignore[arg-type]
        elif kind is CloseTransport:
            self._close_transport()
        elif isinstance(event, TokenRequested):
            self._request_token(event)
        elif isinstance(event, StartTls):
            self._start_tls(event)
        elif isinstance(event, ErrorOccurred) and event.channel is None:
            self._last_error = str(event.error)  # "transport failed: ..." and the like
        elif isinstance(event, Connected | Disconnected):
            waiters, self._connect_waiters = self._connect_waiters, []
            for waiter in waiters:
                _settle(waiter, error=_stop_error(event))
        target = callback_target(event)
        if target is None:
            return
        channel, name = target
        sub = self._subs.get(channel) if channel is not None else None
        if sub is not None and isinstance(event, Subscribed | Unsubscribed):
            self._subscription_done(sub, event)
        for callback in (sub or self)._callbacks.get(name, ()):
            self._schedule(callback, event)

    def _command_done(self, event: CommandSucceeded | CommandFailed) -> None:
        entry = self._requests.pop(event.request, None)
        if entry is None:
            return
        command, channel, waiter = entry
        if isinstance(event, CommandSucceeded):
            result, error = event.result, None
        else:
            result, error = None, event.error
        _settle(waiter, result, error)
        callbacks = self._callbacks.get(command)
        if callbacks:
            reply = CommandReplied(
                command=command, request=event.request, channel=channel, result=result, error=error
            )
            for callback in callbacks:
                self._schedule(callback, reply)

    def _subscription_done(self, sub: SubscriptionBase, event: Subscribed | Unsubscribed) -> None:
        result: Subscribed | None = None
        error: CentrifugoError | None = None
        if isinstance(event, Subscribed):
            sub._last_subscribed = result = event
            if event.position is not None:
                sub._buffer.epoch = event.position.epoch
            reply = CommandReplied(command="subscribe", channel=sub.channel, result=event.result)
        else:
            error = event.error or ReplyError(event.code, event.reason)
            if event.error is not None:  # refused by the server or the token source
                reply = CommandReplied(command="subscribe", channel=sub.channel, error=event.error)
            else:
                reply = CommandReplied(command="unsubscribe", channel=sub.channel)
        waiters, sub._waiters = sub._waiters, []
        for waiter in waiters:
            _settle(waiter, result, error)
        for callback in self._callbacks.get(reply.command, ()):
            self._schedule(callback, reply)

    # -- the start of each wait (the adapter does the waiting) ----------------------------

    def _start_connect(self) -> Waiter | None:
        """None when connected already; else a waiter for Connected (result None)
        or a terminal Disconnected (``ReplyError`` / ``ClientDisconnected``)."""
        if self.state is ClientState.CONNECTED:
            return None
        waiter = self._new_waiter()
        self._connect_waiters.append(waiter)
        self._call(lambda now: self._proto.connect(now=now))
        return waiter

    def _start_subscribe(self, sub: SubscriptionBase) -> Waiter | Subscribed:
        """The last Subscribed when subscribed already; else a waiter for the next
        Subscribed, or ``ReplyError`` for a refused or cancelled subscribe (§6.4)."""
        if sub.state is SubscriptionState.SUBSCRIBED and sub._last_subscribed is not None:
            return sub._last_subscribed
        waiter = self._new_waiter()
        sub._waiters.append(waiter)
        try:
            self._call(lambda now: self._proto.subscribe(sub.channel, now=now, **sub._options))
        except BaseException:
            sub._waiters.remove(waiter)
            raise
        return waiter

    def _start_request(self, command: str, *args: Any, **kwargs: Any) -> Waiter:
        """``proto.<command>(*args, **kwargs, now=...)``; the waiter gets its result or
        error (the core times commands out). ``args[0]`` is the channel, except
        for ``rpc`` and ``send``."""
        waiter = self._new_waiter()
        channel = None if command in ("rpc", "send") else args[0]
        with self._lock:
            request = getattr(self._proto, command)(*args, now=self._now(), **kwargs)
            self._requests[request] = (command, channel, waiter)
            self._pump()  # after registering: the reply may be queued already
        return waiter

    # -- commands: what ``_request`` returns (awaitables in the async adapters) -------------

    def publish(self, channel: str, data: Any) -> Any:
        return self._request("publish", channel, data)

    def history(
        self,
        channel: str,
        *,
        limit: int = 0,
        since: StreamPosition | None = None,
        reverse: bool = False,
    ) -> Any:
        """``limit`` 0 gives only the stream's top position, -1 everything."""
        return self._request("history", channel, limit=limit, since=since, reverse=reverse)

    def presence(self, channel: str) -> Any:
        return self._request("presence", channel)

    def presence_stats(self, channel: str) -> Any:
        return self._request("presence_stats", channel)

    def rpc(self, method: str, data: Any = None) -> Any:
        return self._request("rpc", method, data)

    def send(self, data: Any) -> Any:
        """Fire-and-forget message to the server; done once written."""
        return self._request("send", data)

    def _forget(self, waiter: Waiter) -> None:
        """A wait gave up (timeout, cancellation): drop its waiter."""
        with self._lock:
            for waiters in (self._connect_waiters, *(s._waiters for s in self._subs.values())):
                if waiter in waiters:
                    waiters.remove(waiter)

    def _timed_out(self, what: str) -> CommandTimeout:
        detail = f" (last error: {self._last_error})" if self._last_error else ""
        return CommandTimeout(f"{what} timed out{detail}")

    def _start_close(self) -> None:
        """Close the core (final) and end every subscription's iteration."""
        if self.state is not ClientState.CLOSED:
            self._call(lambda now: self._proto.close(now=now))
        for sub in self._subs.values():
            sub._end()


def _stop_error(event: Connected | Disconnected) -> BaseException | None:
    if isinstance(event, Connected):
        return None
    return event.error or ClientDisconnected(event.reason)
