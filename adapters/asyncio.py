"""The asyncio adapter: one loop around :class:`ClientProtocol` (DESIGN "Adapters").

Socket callbacks feed the core; the base's pump writes ``data_to_send()`` first
(a pong goes out before any callback runs), routes the events and re-arms the
one timer. The public API is the async layer's (``_async.py``); this module
keeps only the loop: its clock, its sockets, its timer, its waits. The client
binds to the loop of its first call, so it may be built before
``asyncio.run()``. A plain function that blocks inside a callback blocks the
loop: use ``asyncio.to_thread`` or the blocking adapter for that.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from centrifugo_proto import OpenTransport, StartTls

from ._api.asyncio import ApiClient, HttpClient, LegacyApiClient
from ._async import AsyncClient, AsyncSubscription
from ._base import READ_SIZE, SubscribeOptions, Wakeup
from ._tls import TlsClient

__all__ = ["ApiClient", "Client", "HttpClient", "LegacyApiClient", "Subscription"]
T = TypeVar("T")
#: One read buffer of READ_SIZE per thread, not per connection: a read copies out of
#: it at once (``buffer_updated``). asyncio's own reads of 256 KiB held more small
#: publications than a default buffer (test_flood.py dropped 5,306 in Protobuf).
_reads = threading.local()


class _Stream(asyncio.BufferedProtocol):
    """One socket's bytes, fed to the core while it is the client's current one."""

    def __init__(self, client: Client) -> None:
        self.client, self.lost = client, client._bound().create_future()

    def get_buffer(self, sizehint: int) -> memoryview:
        view: memoryview | None = getattr(_reads, "view", None)
        if view is None:
            view = _reads.view = memoryview(bytearray(READ_SIZE))
        return view

    def buffer_updated(self, nbytes: int) -> None:
        data = bytes(_reads.view[:nbytes])
        self.client._feed(self, lambda now: self.client._proto.receive_data(data, now=now))

    def eof_received(self) -> None:
        self.client._feed(self, lambda now: self.client._proto.receive_eof(now=now))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        if exc is not None:
            self.client._lost(self, exc)
        else:
            self.client._feed(self, lambda now: self.client._proto.receive_eof(now=now))


class _Wakeup:
    """What a wait waits for, set once: asyncio.Event's contract without its deque
    of waiters, which every idle client kept two of (760 B each); a waiter's future
    is made when it waits, each its own, so one cancelled wait leaves the others."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def set(self) -> None:
        if not self._set:
            self._set = True
            for waiter in self._waiters or ():
                if not waiter.done():
                    waiter.set_result(None)

    def is_set(self) -> bool:
        return self._set

    async def wait(self) -> None:
        if self._set:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            self._waiters.remove(waiter)


class Subscription(AsyncSubscription["Client"]):
    """An asyncio client's subscription (``Client.subscribe``, ``Client.new_subscription``)."""


class Client(TlsClient[Subscription], AsyncClient[Subscription]):
    """The asyncio client: ``async with Client(url, token=...) as client:`` (docs/adapters.md).
    It may be built before ``asyncio.run()``: it binds to the loop of its first call."""

    _http_class = HttpClient
    _log = logging.getLogger("centrifugo_proto.adapters.asyncio")

    # No __dict__ (issue 12): every class up the chain is slotted too.
    __slots__ = ("_closed", "_loop", "_opening", "_stream", "_tasks", "_timer", "_transport")

    def _setup(self) -> None:
        super()._setup()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stream: _Stream | None = None
        self._transport: asyncio.Transport | None = None
        self._opening: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed: tuple[asyncio.Transport, _Stream] | None = None

    def _bound(self) -> asyncio.AbstractEventLoop:
        """The loop of the client's first call (nothing before needs one)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    async def __aenter__(self) -> Client:
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- the hooks of the base and the async layer ------------------------------------

    def _now(self) -> float:
        return self._bound().time()

    def _write(self, data: bytes) -> None:
        if self._transport is not None and self._stream is not None:
            try:
                self._transport.write(data)
            except Exception as error:  # reported by the loop, never to the caller
                self._bound().call_soon(self._lost, self._stream, error)

    def _rearm(self, deadline: float | None) -> None:
        if self._timer is None or deadline != self._timer.when():
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None if deadline is None else self._bound().call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._drive(lambda now: self._proto.handle_timeout(now=now))

    def _new_wakeup(self) -> Wakeup:
        return _Wakeup()

    async def _wait_event(self, wakeup: Wakeup, seconds: float | None) -> bool:
        assert isinstance(wakeup, _Wakeup)
        if seconds is None:  # a reader's wait: no wait_for coroutine around it
            await wakeup.wait()
            return True
        try:
            await asyncio.wait_for(wakeup.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        return True

    async def _within(self, seconds: float, awaitable: Awaitable[T]) -> T:
        return await asyncio.wait_for(awaitable, seconds)

    def _spawn(self, fn: Callable[..., Awaitable[None]], *args: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = self._bound().create_task(fn(*args))  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _current_task(self) -> object:
        return asyncio.current_task()

    def _open_transport(self, event: OpenTransport) -> None:
        self._opening = self._spawn(self._open, event)

    def _close_transport(self) -> None:
        if self._opening is not None:
            self._opening.cancel()
            self._opening = None
        if self._transport is not None and self._stream is not None:
            self._transport.close()  # TLS: the close_notify exchange finishes later
            self._closed = (self._transport, self._stream)
        self._transport = self._stream = None

    def _start_tls(self, event: StartTls) -> None:
        self._opening = self._spawn(self._upgrade, event)

    def _make_subscription(self, channel: str, options: SubscribeOptions) -> Subscription:
        return Subscription(self, channel, options)

    async def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        others = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        if self._closed is not None:  # the last socket is closed when close() returns
            transport, stream = self._closed
            await asyncio.wait([stream.lost], timeout=1.0)
            transport.abort()

    # -- I/O ----------------------------------------------------------------------------

    def _feed(self, stream: _Stream, action: Callable[[float], object]) -> None:
        if stream is self._stream:  # bytes of an older socket are stale
            self._drive(action)

    def _lost(self, stream: _Stream | None, error: BaseException) -> None:
        """``stream`` broke: reported if it is still the current one."""
        if stream is not None and stream is self._stream:
            transport, self._stream, self._transport = self._transport, None, None
            if transport is not None:
                transport.abort()
            self._transport_failed(error)

    async def _resolve(self, host: str, port: int) -> list[Any]:
        try:  # an IP literal needs no resolver (and no executor thread)
            return socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
            )
        except socket.gaierror:
            return await self._bound().getaddrinfo(host, port, type=socket.SOCK_STREAM)

    async def _open_socket(self, address: Any) -> socket.socket:
        family, kind, proto, _, sockaddr = address
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            await self._bound().sock_connect(sock, sockaddr)
        except BaseException:
            sock.close()
            raise
        return sock

    async def _open(self, event: OpenTransport) -> None:
        """Dial, start TLS if asked (``OpenTransport.tls``), then ``transport_opened``.
        Any exception on the way is this attempt's failure: the core retries."""
        stream, sock = _Stream(self), None
        try:
            sock = await self._dial(event)
            tls = self._tls_context() if event.tls else None
            name = event.server_hostname if tls else None
            transport, _ = await self._bound().create_connection(
                lambda: stream, sock=sock, ssl=tls, server_hostname=name
            )
        except BaseException as error:  # the transport, if any, closed its socket already
            if sock is not None:
                sock.close()
            self._opening = None
            if not isinstance(error, Exception):
                raise  # cancelled: the core gave up on this attempt
            self._transport_failed(error)
            return
        self._opening = None
        self._transport, self._stream = transport, stream
        self._drive(lambda now: self._proto.transport_opened(now=now))

    async def _upgrade(self, event: StartTls) -> None:
        """TLS inside the proxy's tunnel, then ``tls_started``."""
        transport, stream = self._transport, self._stream
        if transport is None or stream is None:
            return
        try:
            upgraded = await self._bound().start_tls(
                transport, stream, self._tls_context(), server_hostname=event.endpoint.host
            )
        except Exception as error:
            self._opening = None
            self._lost(stream, error)
            return
        self._opening = None
        if stream is self._stream and isinstance(upgraded, asyncio.Transport):
            self._transport = upgraded
            self._drive(lambda now: self._proto.tls_started(now=now))
