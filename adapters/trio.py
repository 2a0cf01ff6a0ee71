"""The trio adapter: the asyncio adapter's API under structured concurrency.

``async with Client(...)`` opens the client's own nursery: a timer task (one
cancel scope whose deadline is ``next_deadline()``), a dispatcher task that
runs callbacks in order, and per connection a reader and a writer. The reader
feeds the core and wakes the writer at once, so a pong never waits for a
callback. Each task runs in a cancel scope of its own: ``close()`` ends them
all, never the body of ``async with``, and an exception raised in that body
comes out as itself, not wrapped in an ``ExceptionGroup``. Outside
``async with`` the client has no tasks and cannot connect. The public API is
the async layer's (``_async.py``).
"""

from __future__ import annotations

import logging
import math
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import trio

from centrifugo_proto import LocalProtocolError, OpenTransport, StartTls

from ._api.trio import ApiClient, HttpClient, LegacyApiClient
from ._async import AsyncClient, AsyncSubscription
from ._base import READ_SIZE, SubscribeOptions, Wakeup
from ._tls import TlsClient
from ._trio_conn import TrioConn, open_socket, start_tls

__all__ = ["ApiClient", "Client", "HttpClient", "LegacyApiClient", "Subscription"]
T = TypeVar("T")


class Subscription(AsyncSubscription["Client"]):
    """A trio client's subscription: iterate it inside the client's ``async with``."""


class Client(TlsClient[Subscription], AsyncClient[Subscription]):
    """The trio client: it runs inside ``async with Client(url, token=...) as client:``,
    which holds its nursery (docs/adapters.md)."""

    _http_class = HttpClient
    _log = logging.getLogger("centrifugo_proto.adapters.trio")

    def _setup(self) -> None:
        super()._setup()
        self._nursery: trio.Nursery | None = None
        self._conn: TrioConn | None = None
        self._last_conn: TrioConn | None = None
        self._timer: trio.CancelScope | None = None
        self._stopped = False  # _stop ran: the timer's task ends
        self._deadline = math.inf
        self._scopes: dict[object, trio.CancelScope] = {}  # task → its scope
        self._lifetime: AbstractAsyncContextManager[None] | None = None

    async def __aenter__(self) -> Client:
        self._lifetime = self._running()
        await self._lifetime.__aenter__()
        try:
            await self.connect()
        except BaseException:
            await self._lifetime.__aexit__(None, None, None)  # close; raise the error as is
            raise
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        assert self._lifetime is not None
        try:
            return await self._lifetime.__aexit__(*exc_info)
        except BaseException as raised:
            if exc_info[1] is not None and _only(raised, exc_info[1]):
                return False  # the body's own exception goes on, as itself
            raise

    @asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        """The client's nursery and tasks, without connecting; closes the client at exit."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._run_timer)
            if self._queue is not None:  # callbacks from before, still to run
                self._start_callbacks()
            try:
                yield
            finally:
                with trio.CancelScope(shield=True):
                    await self.close()
                self._nursery = None  # it takes no new task: the client is outside it now

    # -- the hooks of the base and the async layer ------------------------------------

    def _now(self) -> float:
        return trio.current_time()

    def _write(self, data: bytes) -> None:
        if self._conn is not None:
            self._conn.out += data
            self._conn.wake.set()

    def _rearm(self, deadline: float | None) -> None:
        deadline = math.inf if deadline is None else deadline
        if deadline != self._deadline:  # most calls: unchanged (the core's lazy ping watch)
            self._deadline = deadline
            if self._timer is not None:
                self._timer.deadline = deadline

    def _new_wakeup(self) -> Wakeup:
        return trio.Event()

    async def _wait_event(self, wakeup: Wakeup, seconds: float | None) -> bool:
        assert isinstance(wakeup, trio.Event)
        if seconds is None:  # a reader's wait: no cancel scope, an eighth of a paced wake-up
            await wakeup.wait()
            return True
        with trio.move_on_after(seconds):
            await wakeup.wait()
            return True
        return False

    async def _within(self, seconds: float, awaitable: Awaitable[T]) -> T:
        with trio.fail_after(seconds):
            return await awaitable

    def _spawn(
        self,
        fn: Callable[..., Awaitable[None]],
        *args: Any,
        scope: trio.CancelScope | None = None,
    ) -> None:
        self._check_running()
        assert self._nursery is not None
        self._nursery.start_soon(self._scoped, fn, args, scope, name=fn)

    async def _scoped(
        self,
        fn: Callable[..., Awaitable[None]],
        args: tuple[Any, ...],
        scope: trio.CancelScope | None,
    ) -> None:
        """Run a task of the client in a scope ``close()`` can cancel (``scope``, else a
        new one); an exception that escapes it (a bug) is logged, never the nursery's."""
        task = trio.lowlevel.current_task()
        with trio.CancelScope() if scope is None else scope as self._scopes[task]:
            try:
                await fn(*args)
            except Exception:
                self._log.exception("task %r failed", fn)
            finally:
                del self._scopes[task]

    def _current_task(self) -> object:
        return trio.lowlevel.current_task()

    def _start_callbacks(self) -> None:
        if self._nursery is not None:  # else once ``async with`` starts it
            super()._start_callbacks()

    def _check_running(self) -> None:
        if self._nursery is None:
            raise LocalProtocolError("the trio client runs inside `async with Client(...)`")

    def _open_transport(self, event: OpenTransport) -> None:
        self._conn = conn = TrioConn()
        # The connection's own scope is its task's: a scope each costs 0.8 KiB (issue 12).
        self._spawn(self._connection, conn, event, scope=conn.scope)

    def _close_transport(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        self._last_conn = conn
        if conn.stream is None:
            conn.scope.cancel()  # still opening
        else:
            conn.closing = True  # the writer flushes the close frame, then drops the socket
            conn.wake.set()

    def _start_tls(self, event: StartTls) -> None:
        if self._conn is not None:
            self._conn.upgrade = event  # the reader starts it after this read

    def _make_subscription(self, channel: str, options: SubscribeOptions) -> Subscription:
        return Subscription(self, channel, options)

    async def _stop(self) -> None:
        """The writer flushes the close frame (bounded), then every task but this one ends."""
        conn, self._last_conn = self._last_conn, None
        if conn is not None:
            with trio.move_on_after(self._options.timeout):
                await conn.done.wait()
        current = trio.lowlevel.current_task()
        for task, scope in list(self._scopes.items()):
            if task is not current:
                scope.cancel()
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()  # _run_timer wakes, and ends

    # -- tasks ------------------------------------------------------------------------

    async def _run_timer(self) -> None:
        """The core's deadline, for the client's life. A task of the nursery itself,
        without a scope of its own in ``_scopes`` (0.8 KiB per client): ``_stop`` ends
        it, by ``_stopped`` and by cancelling the scope it sleeps in. It raises nothing
        (``_drive`` catches what the core raises)."""
        while not self._stopped:
            with trio.CancelScope(deadline=self._deadline) as self._timer:
                await trio.sleep_forever()
            if not self._stopped and trio.current_time() >= self._deadline:
                self._drive(lambda now: self._proto.handle_timeout(now=now))

    def _lost(self, conn: TrioConn, error: BaseException) -> None:
        """``conn`` broke: reported if it is still the current one; dropped."""
        if self._conn is conn:
            self._conn = None
            self._transport_failed(error)
        conn.scope.cancel()

    async def _connection(self, conn: TrioConn, event: OpenTransport) -> None:
        """The socket's task, in ``conn.scope`` (``_open_transport``)."""
        try:
            try:
                conn.stream = await self._connect_stream(event)
            except Exception as error:  # refused, TLS, a resolver that raised, ...
                self._lost(conn, error)
                return
            async with conn.stream, trio.open_nursery() as nursery:
                nursery.start_soon(self._writer, conn)
                self._drive(lambda now: self._proto.transport_opened(now=now))
                await self._reader(conn)
        finally:
            conn.done.set()

    async def _resolve(self, host: str, port: int) -> list[Any]:
        return await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)

    async def _open_socket(self, address: Any) -> trio.socket.SocketType:
        return await open_socket(address)

    async def _connect_stream(self, event: OpenTransport) -> trio.abc.Stream:
        stream = trio.SocketStream(await self._dial(event))
        if not event.tls:
            return stream
        return await start_tls(stream, self._tls_context(), event.server_hostname)

    async def _reader(self, conn: TrioConn) -> None:
        assert conn.stream is not None
        proto = self._proto
        try:
            while self._conn is conn:
                data = bytes(await conn.stream.receive_some(READ_SIZE))
                if self._conn is not conn:
                    break
                if not data:
                    self._drive(lambda now: proto.receive_eof(now=now))
                    break
                self._drive(lambda now: proto.receive_data(data, now=now))  # noqa: B023
                if conn.upgrade is not None:
                    await self._upgrade(conn, conn.upgrade)
        except Exception as error:
            self._lost(conn, error)
        conn.scope.cancel()

    async def _upgrade(self, conn: TrioConn, event: StartTls) -> None:
        assert conn.stream is not None
        conn.upgrade = None
        conn.stream = await start_tls(conn.stream, self._tls_context(), event.endpoint.host)
        self._drive(lambda now: self._proto.tls_started(now=now))

    async def _writer(self, conn: TrioConn) -> None:
        assert conn.stream is not None
        try:
            while True:
                await conn.wake.wait()
                conn.wake = trio.Event()
                data, conn.out = bytes(conn.out), bytearray()
                if data:
                    await conn.stream.send_all(data)
                if conn.closing:
                    break
        except Exception as error:
            self._lost(conn, error)
        conn.scope.cancel()


def _only(raised: BaseException, error: BaseException) -> bool:
    """``raised`` is ``error``, or (trio's strict nursery) groups holding only it."""
    inner = getattr(raised, "exceptions", None)
    if raised is error:
        return True
    return isinstance(inner, tuple) and bool(inner) and all(_only(e, error) for e in inner)
