"""The asyncio adapter: one loop around :class:`ClientProtocol` (DESIGN "Adapters").

Socket callbacks feed the core; :meth:`ClientBase._pump` writes
``data_to_send()`` first (a pong goes out before any callback runs), routes
the events and re-arms the one timer. User callbacks run in a dispatcher
task, in order, never on the reading path. A plain function that blocks
inside a callback still blocks the loop: use ``asyncio.to_thread`` or the
blocking adapter for that.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

from centrifugo_proto import (
    OpenTransport,
    Publication,
    StartTls,
    Subscribed,
    TokenRequested,
)
from centrifugo_proto.adapter_base import Callback, ClientBase, SubscriptionBase, Waiter

from ._tls import certificate_error, client_context

__all__ = ["Client", "Subscription"]
log = logging.getLogger("centrifugo_proto.asyncio")
_END = object()  # ends ``async for`` over a subscription, and the dispatcher


class _Stream(asyncio.Protocol):
    def __init__(self, client: Client) -> None:
        self.client, self.lost = client, client._loop.create_future()

    def data_received(self, data: bytes) -> None:
        self.client._feed(self, lambda now: self.client._proto.receive_data(data, now=now))

    def eof_received(self) -> None:
        self.client._feed(self, lambda now: self.client._proto.receive_eof(now=now))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set_result(None)
        if exc is not None and self is self.client._stream:
            self.client._stream = None
            self.client._transport_failed(exc)
        else:
            self.client._feed(self, lambda now: self.client._proto.receive_eof(now=now))


class Subscription(SubscriptionBase):
    client: Client

    def __init__(self, client: Client, channel: str, options: dict[str, Any]) -> None:
        super().__init__(client, channel, options)
        self._readable = asyncio.Event()

    def _wake(self) -> None:
        self._readable.set()

    async def _next(self) -> Publication:
        while not self._ready():
            self._readable.clear()
            await self._readable.wait()
        pub = self._take()
        if pub is None:
            raise StopAsyncIteration
        return pub

    async def subscribe(self, timeout: float | None = None) -> Subscribed:
        """Wait until subscribed; a terminal error raises ReplyError (§6.4)."""
        waiter = self.client._start_subscribe(self)
        if isinstance(waiter, Subscribed):
            return waiter
        result: Subscribed = await self.client._wait(
            waiter, timeout, f"subscribe to {self.channel!r}"
        )
        return result

    async def unsubscribe(self) -> None:
        self.client._call(lambda now: self.client._proto.unsubscribe(self.channel, now=now))

    def __aiter__(self) -> AsyncIterator[Publication]:
        return self

    async def __anext__(self) -> Publication:
        return await self._next()


class Client(ClientBase[Subscription]):
    _rng_factory = random.Random

    def _setup(self, ssl_context: ssl.SSLContext | None, ssl_no_verify: bool) -> None:
        self._tls = client_context(ssl_context, ssl_no_verify)
        self._loop = asyncio.get_running_loop()
        self._stream: _Stream | None = None
        self._transport: asyncio.Transport | None = None
        self._opening: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._callback_queue: asyncio.Queue[Any] = asyncio.Queue()
        self._dispatcher = self._loop.create_task(self._run_callbacks())
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed: tuple[asyncio.Transport, _Stream] | None = None

    async def __aenter__(self) -> Client:
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- the hooks of ClientBase ------------------------------------------------------

    def _now(self) -> float:
        return self._loop.time()

    def _write(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.write(data)

    def _rearm(self, deadline: float | None) -> None:
        if self._timer is None or deadline != self._timer.when():
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None if deadline is None else self._loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._call(lambda now: self._proto.handle_timeout(now=now))

    def _new_waiter(self) -> Waiter:
        return self._loop.create_future()

    def _open_transport(self, event: OpenTransport) -> None:
        self._opening = self._spawn(self._open(event))

    def _close_transport(self) -> None:
        if self._opening is not None:
            self._opening.cancel()
            self._opening = None
        if self._transport is not None and self._stream is not None:
            self._transport.close()  # TLS: the close_notify exchange finishes later
            self._closed = (self._transport, self._stream)
        self._transport = self._stream = None

    def _start_tls(self, event: StartTls) -> None:
        self._opening = self._spawn(self._upgrade(event))

    def _request_token(self, event: TokenRequested) -> None:
        self._spawn(self._fetch_token(event))

    def _schedule(self, callback: Callback, event: Any) -> None:
        self._callback_queue.put_nowait((callback, event))

    def _make_subscription(self, channel: str, options: dict[str, Any]) -> Subscription:
        return Subscription(self, channel, options)

    # -- I/O --------------------------------------------------------------------------

    def _feed(self, stream: _Stream, action: Callable[[float], None]) -> None:
        if stream is self._stream:  # bytes of an older socket are stale
            self._call(action)

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _open(self, event: OpenTransport) -> None:
        endpoint, via = event.endpoint, event.endpoint.proxy
        tls = self._tls if endpoint.tls and via is None else None  # else TLS after CONNECT
        try:
            transport, stream = await self._loop.create_connection(
                lambda: _Stream(self), via.host if via else endpoint.host,
                via.port if via else endpoint.port, ssl=tls,
                server_hostname=endpoint.host if tls else None,
            )  # fmt: skip
        except (OSError, ssl.SSLError) as exc:
            self._opening = None
            self._failed(exc)
            return
        self._opening = None
        self._transport, self._stream = transport, stream
        self._call(lambda now: self._proto.transport_opened(now=now))

    async def _upgrade(self, event: StartTls) -> None:
        transport, stream = self._transport, self._stream
        assert transport is not None
        assert stream is not None
        try:
            upgraded = await self._loop.start_tls(
                transport, stream, self._tls, server_hostname=event.endpoint.host
            )
        except (OSError, ssl.SSLError) as exc:
            self._opening = None
            if stream is self._stream:
                self._stream = None
                self._failed(exc)
            return
        self._opening = None
        if stream is self._stream and isinstance(upgraded, asyncio.Transport):
            self._transport = upgraded
            self._call(lambda now: self._proto.tls_started(now=now))

    def _failed(self, exc: BaseException) -> None:
        cert_error = certificate_error(exc)
        self._transport_failed(cert_error or exc, fatal=cert_error is not None)

    async def _fetch_token(self, event: TokenRequested) -> None:
        try:
            token = self._token_source(event)()
            if inspect.isawaitable(token):
                token = await asyncio.wait_for(token, self._options.timeout)
        except Exception as exc:
            log.warning("get_token failed: %r", exc)
            self._answer_token(event, None, exc)
        else:
            self._answer_token(event, token, None)

    async def _run_callbacks(self) -> None:
        while (item := await self._callback_queue.get()) is not _END:
            callback, event = item
            try:
                result = callback(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # a callback cannot hurt the client
                log.exception("callback %r raised on %r", callback, event)

    async def _wait(self, waiter: Waiter, timeout: float | None, what: str) -> Any:
        assert isinstance(waiter, asyncio.Future)
        try:
            return await asyncio.wait_for(waiter, timeout or self._options.timeout)
        except TimeoutError:
            raise self._timed_out(what) from None
        finally:
            self._forget(waiter)

    # -- public API -------------------------------------------------------------------

    async def connect(self, timeout: float | None = None) -> None:
        """Wait until connected; a terminal failure raises ReplyError/ClientDisconnected."""
        waiter = self._start_connect()
        if waiter is not None:
            await self._wait(waiter, timeout, "connect")

    async def disconnect(self) -> None:
        self._call(lambda now: self._proto.disconnect(now=now))

    async def close(self) -> None:
        """Final: release the socket, the timer and the tasks."""
        self._start_close()
        if self._timer is not None:
            self._timer.cancel()
        # Let callbacks for the last events run (bounded), then end every task.
        self._callback_queue.put_nowait(_END)
        await asyncio.wait([self._dispatcher], timeout=self._options.timeout)
        for task in [self._dispatcher, *self._tasks]:
            task.cancel()
        await asyncio.gather(self._dispatcher, *self._tasks, return_exceptions=True)
        if self._closed is not None:  # the last socket is closed when close() returns
            transport, stream = self._closed
            await asyncio.wait([stream.lost], timeout=1.0)
            transport.abort()

    async def subscribe(self, channel: str, **options: Any) -> Subscription:
        """``new_subscription`` + ``subscribe()``: returns once subscribed."""
        timeout = options.pop("timeout", None)
        sub = self._subs.get(channel) or self.new_subscription(channel, **options)
        await sub.subscribe(timeout)
        return sub

    async def unsubscribe(self, channel: str) -> None:
        await self._subs[channel].unsubscribe()

    async def _request(self, command: str, *args: Any, **kwargs: Any) -> Any:
        waiter = self._start_request(command, *args, **kwargs)
        assert isinstance(waiter, asyncio.Future)
        return await waiter  # the core times commands out (CommandTimeout)
