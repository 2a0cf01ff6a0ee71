"""The asyncio adapter: one loop around :class:`ClientProtocol` (DESIGN "Adapters").

Socket callbacks feed the core and :meth:`Client._pump` does the rest after
every call: write ``data_to_send()``, act on events, re-arm the one timer
(the aioquic model, STYLE-ANCHORS L1). User callbacks run in a dispatcher
task, in order, never on the reading path: a slow callback cannot delay a
pong. A plain function that blocks inside a callback still blocks the loop;
use ``asyncio.to_thread`` or the blocking adapter for that.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

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
    OpenTransport,
    Publication,
    PublicationReceived,
    ReplyError,
    StreamPosition,
    Subscribed,
    SubscriptionState,
    TokenRequested,
    Unauthorized,
    Unsubscribed,
)
from centrifugo_proto.dispatch import callback_target

__all__ = ["Client", "Subscription"]
log = logging.getLogger("centrifugo_proto.asyncio")
_END = object()  # ends ``async for`` over a subscription


def _stop_dispatcher(event: Event) -> None:
    """Marks the end of the callback queue."""


class _Stream(asyncio.Protocol):
    def __init__(self, client: Client) -> None:
        self.client = client

    def data_received(self, data: bytes) -> None:
        self.client._feed(self, lambda now: self.client._proto.receive_data(data, now=now))

    def eof_received(self) -> None:
        self.client._feed(self, lambda now: self.client._proto.receive_eof(now=now))

    def connection_lost(self, exc: Exception | None) -> None:
        proto = self.client._proto
        self.client._feed(
            self,
            lambda now: (
                proto.transport_failed(str(exc), now=now) if exc else proto.receive_eof(now=now)
            ),
        )


class _Callbacks:
    def __init__(self) -> None:
        self._callbacks: dict[str, list[Callable[[Any], Any]]] = {}

    def on(self, name: str, callback: Callable[[Any], Any]) -> Any:
        self._callbacks.setdefault(name, []).append(callback)
        return self


class Subscription(_Callbacks):
    def __init__(self, client: Client, channel: str, options: dict[str, Any]) -> None:
        super().__init__()
        self.client, self.channel, self._options = client, channel, options
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._waiters: list[asyncio.Future[Event]] = []
        self._last_subscribed: Subscribed | None = None

    @property
    def state(self) -> SubscriptionState:
        return self.client._proto.subscription_state(self.channel) or SubscriptionState.UNSUBSCRIBED

    async def subscribe(self, timeout: float | None = None) -> Subscribed:
        """Wait until subscribed; a terminal error raises ReplyError (§6.4)."""
        if self.state is SubscriptionState.SUBSCRIBED and self._last_subscribed is not None:
            return self._last_subscribed
        waiter = self.client._loop.create_future()
        self._waiters.append(waiter)
        self.client._call(
            lambda now: self.client._proto.subscribe(self.channel, now=now, **self._options)
        )
        try:
            event = await asyncio.wait_for(waiter, timeout or self.client._options.timeout)
        except TimeoutError:
            raise CommandTimeout(f"subscribe to {self.channel!r} timed out") from None
        finally:
            self._waiters.remove(waiter)
        if isinstance(event, Unsubscribed):
            raise ReplyError(event.code, event.reason)
        assert isinstance(event, Subscribed)
        return event

    async def unsubscribe(self) -> None:
        self.client._call(lambda now: self.client._proto.unsubscribe(self.channel, now=now))

    async def publish(self, data: Any) -> Any:
        return await self.client.publish(self.channel, data)

    async def history(self, **kwargs: Any) -> Any:
        return await self.client.history(self.channel, **kwargs)

    async def presence(self) -> Any:
        return await self.client.presence(self.channel)

    async def presence_stats(self) -> Any:
        return await self.client.presence_stats(self.channel)

    def __aiter__(self) -> AsyncIterator[Publication]:
        return self

    async def __anext__(self) -> Publication:
        item = await self._queue.get()
        if item is _END:
            raise StopAsyncIteration
        assert isinstance(item, Publication)
        return item


class Client(_Callbacks):
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
        ssl_context: ssl.SSLContext | None = None,
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
            rng=random.Random(),
            has_token_source=get_token is not None,
            headers=headers,
        )
        self._get_token, self._ssl_context = get_token, ssl_context
        self._loop = asyncio.get_running_loop()
        self._stream: _Stream | None = None
        self._transport: asyncio.Transport | None = None
        self._opening: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._requests: dict[int, asyncio.Future[Any]] = {}
        self._state_waiters: list[asyncio.Future[Event]] = []
        self._subs: dict[str, Subscription] = {}
        self._callback_queue: asyncio.Queue[tuple[Callable[[Any], Any], Event]] = asyncio.Queue()
        self._dispatcher = self._loop.create_task(self._run_callbacks())
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Client:
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def state(self) -> ClientState:
        return self._proto.state

    @property
    def client_id(self) -> str | None:
        return self._proto.client_id

    # -- driving the core -------------------------------------------------------------

    def _call(self, action: Callable[[float], Any]) -> Any:
        result = action(self._loop.time())
        self._pump()
        return result

    def _feed(self, stream: _Stream, action: Callable[[float], None]) -> None:
        if stream is self._stream:  # bytes of an older socket are stale
            self._call(action)

    def _pump(self) -> None:
        proto = self._proto
        while True:
            data = proto.data_to_send()
            if data and self._transport is not None:
                self._transport.write(data)
            event = proto.next_event()
            if event is None:
                break
            self._handle(event)
        deadline = proto.next_deadline()
        if self._timer is None or deadline != self._timer.when():
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None if deadline is None else self._loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._call(lambda now: self._proto.handle_timeout(now=now))

    def _handle(self, event: Event) -> None:
        if isinstance(event, CommandSucceeded | CommandFailed):
            future = self._requests.pop(event.request, None)
            if future is not None and not future.done():
                if isinstance(event, CommandSucceeded):
                    future.set_result(event.result)
                else:
                    future.set_exception(event.error)
            return
        if isinstance(event, OpenTransport):
            self._opening = self._spawn(self._open(event))
        elif isinstance(event, CloseTransport):
            self._drop_transport()
        elif isinstance(event, TokenRequested):
            self._spawn(self._fetch_token(event))
        elif isinstance(event, Connected | Disconnected):
            for waiter in self._state_waiters:
                if not waiter.done():
                    waiter.set_result(event)
        target = callback_target(event)
        if target is None:
            return
        channel, name = target
        sub = self._subs.get(channel) if channel is not None else None
        if sub is not None:
            if isinstance(event, PublicationReceived):
                sub._queue.put_nowait(event.publication)
            elif isinstance(event, Subscribed | Unsubscribed):
                if isinstance(event, Subscribed):
                    sub._last_subscribed = event
                for waiter in sub._waiters:
                    if not waiter.done():
                        waiter.set_result(event)
        for callback in (sub or self)._callbacks.get(name, ()):
            self._callback_queue.put_nowait((callback, event))

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _open(self, event: OpenTransport) -> None:
        endpoint = event.endpoint
        ssl_arg: ssl.SSLContext | None = None
        if endpoint.tls:
            ssl_arg = self._ssl_context or ssl.create_default_context()
        try:
            transport, stream = await self._loop.create_connection(
                lambda: _Stream(self),
                endpoint.host,
                endpoint.port,
                ssl=ssl_arg,
                server_hostname=endpoint.host if ssl_arg else None,
            )
        except (OSError, ssl.SSLError) as exc:
            reason = str(exc)
            self._opening = None
            self._call(lambda now: self._proto.transport_failed(reason, now=now))
            return
        self._opening = None
        self._transport, self._stream = transport, stream
        self._call(lambda now: self._proto.transport_opened(now=now))

    def _drop_transport(self) -> None:
        if self._opening is not None:
            self._opening.cancel()
            self._opening = None
        if self._transport is not None:
            self._transport.close()
        self._transport = self._stream = None

    async def _fetch_token(self, event: TokenRequested) -> None:
        assert self._get_token is not None
        try:
            args = () if event.channel is None else (event.channel,)
            token = self._get_token(*args)
            if inspect.isawaitable(token):
                token = await asyncio.wait_for(token, self._options.timeout)
        except Unauthorized:
            self._call(lambda now: self._proto.token_failed(event, True, now=now))
        except Exception:
            log.exception("get_token failed")
            self._call(lambda now: self._proto.token_failed(event, now=now))
        else:
            self._call(lambda now: self._proto.provide_token(event, token or "", now=now))

    async def _run_callbacks(self) -> None:
        while True:
            callback, event = await self._callback_queue.get()
            if callback is _stop_dispatcher:
                return
            try:
                result = callback(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # a callback cannot hurt the client (issue "adapters")
                log.exception("callback %r raised on %r", callback, event)

    # -- public API -------------------------------------------------------------------

    async def connect(self, timeout: float | None = None) -> None:
        """Wait until connected; a terminal failure raises ReplyError/ClientDisconnected."""
        if self.state is ClientState.CONNECTED:
            return
        waiter = self._loop.create_future()
        self._state_waiters.append(waiter)
        try:
            self._call(lambda now: self._proto.connect(now=now))
            event = await asyncio.wait_for(waiter, timeout or self._options.timeout)
        except TimeoutError:
            raise CommandTimeout("connect timed out") from None
        finally:
            self._state_waiters.remove(waiter)
        if isinstance(event, Disconnected):
            if event.code >= 100:
                raise ReplyError(event.code, event.reason)
            raise ClientDisconnected(event.reason)

    async def disconnect(self) -> None:
        self._call(lambda now: self._proto.disconnect(now=now))

    async def close(self) -> None:
        """Final: release the socket, the timer and the tasks."""
        if self.state is not ClientState.CLOSED:
            self._call(lambda now: self._proto.close(now=now))
        for sub in self._subs.values():
            sub._queue.put_nowait(_END)
        if self._timer is not None:
            self._timer.cancel()
        # Let callbacks for the last events run (bounded), then end every task.
        self._callback_queue.put_nowait((_stop_dispatcher, Disconnected(code=0, reason="")))
        await asyncio.wait([self._dispatcher], timeout=self._options.timeout)
        for task in [self._dispatcher, *self._tasks]:
            task.cancel()
        await asyncio.gather(self._dispatcher, *self._tasks, return_exceptions=True)

    def new_subscription(self, channel: str, **options: Any) -> Subscription:
        if channel in self._subs:
            raise ValueError(f"a subscription to {channel!r} exists already")
        sub = self._subs[channel] = Subscription(self, channel, options)
        return sub

    def get_subscription(self, channel: str) -> Subscription | None:
        return self._subs.get(channel)

    async def subscribe(self, channel: str, **options: Any) -> Subscription:
        """``new_subscription`` + ``subscribe()``: returns once subscribed."""
        timeout = options.pop("timeout", None)
        sub = self._subs.get(channel) or self.new_subscription(channel, **options)
        await sub.subscribe(timeout)
        return sub

    async def unsubscribe(self, channel: str) -> None:
        await self._subs[channel].unsubscribe()

    async def _request(self, call: Callable[[float], int]) -> Any:
        request = call(self._loop.time())
        future = self._loop.create_future()
        self._requests[request] = future
        self._pump()  # after registering: the reply event may already be queued
        return await future

    async def publish(self, channel: str, data: Any) -> Any:
        return await self._request(lambda now: self._proto.publish(channel, data, now=now))

    async def history(
        self,
        channel: str,
        *,
        limit: int = 0,
        since: StreamPosition | None = None,
        reverse: bool = False,
    ) -> Any:
        return await self._request(
            lambda now: self._proto.history(
                channel, now=now, limit=limit, since=since, reverse=reverse
            )
        )

    async def presence(self, channel: str) -> Any:
        return await self._request(lambda now: self._proto.presence(channel, now=now))

    async def presence_stats(self, channel: str) -> Any:
        return await self._request(lambda now: self._proto.presence_stats(channel, now=now))

    async def rpc(self, method: str, data: Any = None) -> Any:
        return await self._request(lambda now: self._proto.rpc(method, data, now=now))

    async def send(self, data: Any) -> None:
        await self._request(lambda now: self._proto.send(data, now=now))
