"""The trio adapter: the asyncio adapter's API under structured concurrency.

``async with Client(...)`` opens the client's own nursery: a timer task (one
cancel scope whose deadline is ``next_deadline()``), a dispatcher task that
runs callbacks in order, and per connection a reader and a writer. The reader
feeds the core and wakes the writer at once, so a pong never waits for a
callback. Outside ``async with`` the client has no tasks and cannot connect.
"""

from __future__ import annotations

import inspect
import logging
import math
import random
import ssl
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import outcome
import trio

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
log = logging.getLogger("centrifugo_proto.trio")
_END: Any = object()


class _Future:
    """A Waiter: one result or exception, awaited with ``get()``."""

    def __init__(self) -> None:
        self._event = trio.Event()
        self._outcome: outcome.Outcome[Any] | None = None

    def done(self) -> bool:
        return self._outcome is not None

    def set_result(self, result: Any, /) -> None:
        self._outcome = outcome.Value(result)
        self._event.set()

    def set_exception(self, exception: BaseException, /) -> None:
        self._outcome = outcome.Error(exception)
        self._event.set()

    async def get(self) -> Any:
        await self._event.wait()
        assert self._outcome is not None
        return self._outcome.unwrap()


class _Conn:
    """One socket: its scope (cancelled to drop it), its send buffer and writer wake-up."""

    def __init__(self) -> None:
        self.scope, self.out = trio.CancelScope(), bytearray()
        self.stream: trio.abc.Stream | None = None
        self.wake, self.done, self.closing = trio.Event(), trio.Event(), False
        self.upgrade: StartTls | None = None  # TLS to start inside the proxy tunnel


class Subscription(SubscriptionBase):
    client: Client

    def __init__(self, client: Client, channel: str, options: dict[str, Any]) -> None:
        super().__init__(client, channel, options)
        self._readable = trio.Event()

    def _wake(self) -> None:
        self._readable.set()

    async def _next(self) -> Publication:
        while not self._ready():
            if self._readable.is_set():
                self._readable = trio.Event()  # trio events cannot be cleared
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
        return await self.client._wait(waiter, timeout, f"subscribe to {self.channel!r}")  # type: ignore[no-any-return]

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
        self._nursery: trio.Nursery | None = None
        self._conn: _Conn | None = None
        self._timer, self._deadline = trio.CancelScope(), math.inf
        self._callbacks_in, self._callbacks_out = trio.open_memory_channel[Any](math.inf)
        self._lifetime: AbstractAsyncContextManager[None] | None = None
        self._dispatched = trio.Event()

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
        return await self._lifetime.__aexit__(*exc_info)  # True: our nursery took a Cancelled

    @asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        """The client's nursery and tasks, without connecting; closes the client at exit."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._run_timer)
            nursery.start_soon(self._run_callbacks)
            try:
                yield
            finally:
                with trio.CancelScope(shield=True):
                    await self.close()
                nursery.cancel_scope.cancel()

    # -- the hooks of ClientBase ------------------------------------------------------

    def _now(self) -> float:
        return trio.current_time()

    def _write(self, data: bytes) -> None:
        if self._conn is not None:
            self._conn.out += data
            self._conn.wake.set()

    def _rearm(self, deadline: float | None) -> None:
        self._deadline = self._timer.deadline = math.inf if deadline is None else deadline

    def _new_waiter(self) -> Waiter:
        return _Future()

    def _open_transport(self, event: OpenTransport) -> None:
        if self._nursery is None:
            raise RuntimeError("the trio client runs inside `async with Client(...)`")
        self._conn = _Conn()
        self._nursery.start_soon(self._connection, self._conn, event)

    def _close_transport(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and conn.stream is None:
            conn.scope.cancel()  # still opening
        elif conn is not None:
            conn.closing = True  # the writer flushes the close frame, then drops the socket
            conn.wake.set()

    def _start_tls(self, event: StartTls) -> None:
        if self._conn is not None:
            self._conn.upgrade = event  # the reader starts it after this read

    def _request_token(self, event: TokenRequested) -> None:
        assert self._nursery is not None
        self._nursery.start_soon(self._fetch_token, event)

    def _schedule(self, callback: Callback, event: Any) -> None:
        self._callbacks_in.send_nowait((callback, event))

    def _make_subscription(self, channel: str, options: dict[str, Any]) -> Subscription:
        return Subscription(self, channel, options)

    # -- tasks ------------------------------------------------------------------------

    async def _run_timer(self) -> None:
        while True:
            with trio.CancelScope(deadline=self._deadline) as self._timer:
                await trio.sleep_forever()
            if trio.current_time() >= self._deadline:
                self._call(lambda now: self._proto.handle_timeout(now=now))

    async def _connection(self, conn: _Conn, event: OpenTransport) -> None:
        try:
            with conn.scope:
                try:
                    await self._connect_stream(conn, event.endpoint)
                except (OSError, trio.BrokenResourceError) as exc:
                    cert_error = certificate_error(exc)
                    self._transport_failed(cert_error or exc, fatal=cert_error is not None)
                    return
                assert conn.stream is not None
                async with conn.stream, trio.open_nursery() as nursery:
                    nursery.start_soon(self._writer, conn)
                    self._call(lambda now: self._proto.transport_opened(now=now))
                    await self._reader(conn)
        finally:
            conn.done.set()

    async def _connect_stream(self, conn: _Conn, endpoint: Any) -> None:
        if endpoint.proxy is not None:  # TLS, if any, after CONNECT (StartTls)
            conn.stream = await trio.open_tcp_stream(endpoint.proxy.host, endpoint.proxy.port)
        elif endpoint.tls:
            tls = await trio.open_ssl_over_tcp_stream(
                endpoint.host, endpoint.port, ssl_context=self._tls
            )
            try:
                await tls.do_handshake()  # certificate errors show here, not on first read
            except BaseException:
                await trio.aclose_forcefully(tls)
                raise
            conn.stream = tls
        else:
            conn.stream = await trio.open_tcp_stream(endpoint.host, endpoint.port)

    async def _reader(self, conn: _Conn) -> None:
        assert conn.stream is not None
        proto = self._proto
        try:
            while self._conn is conn:
                chunk = await conn.stream.receive_some(65536)
                data = chunk if isinstance(chunk, bytes) else bytes(chunk)
                if self._conn is not conn:
                    break
                if not data:
                    self._call(lambda now: proto.receive_eof(now=now))
                    break
                self._call(lambda now: proto.receive_data(data, now=now))  # noqa: B023
                if conn.upgrade is not None:
                    await self._upgrade(conn, conn.upgrade)
        except (OSError, trio.BrokenResourceError) as exc:
            if self._conn is conn:
                cert_error = certificate_error(exc)
                self._transport_failed(cert_error or exc, fatal=cert_error is not None)
        conn.scope.cancel()

    async def _upgrade(self, conn: _Conn, event: StartTls) -> None:
        assert conn.stream is not None
        conn.upgrade = None
        tls = trio.SSLStream(conn.stream, self._tls, server_hostname=event.endpoint.host)
        await tls.do_handshake()
        conn.stream = tls
        self._call(lambda now: self._proto.tls_started(now=now))

    async def _writer(self, conn: _Conn) -> None:
        assert conn.stream is not None
        while True:
            await conn.wake.wait()
            conn.wake = trio.Event()
            data, conn.out = bytes(conn.out), bytearray()
            try:
                if data:
                    await conn.stream.send_all(data)
            except (OSError, trio.BrokenResourceError) as exc:
                if self._conn is conn:
                    self._transport_failed(exc)
                conn.closing = True
            if conn.closing:
                conn.scope.cancel()
                return

    async def _fetch_token(self, event: TokenRequested) -> None:
        try:
            token = self._token_source(event)()
            if inspect.isawaitable(token):
                with trio.fail_after(self._options.timeout):
                    token = await token
        except Exception as exc:
            log.warning("get_token failed: %r", exc)
            self._answer_token(event, None, exc)
        else:
            self._answer_token(event, token, None)

    async def _run_callbacks(self) -> None:
        async for item in self._callbacks_out:
            if item is _END:
                break
            callback, event = item
            try:
                result = callback(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # a callback cannot hurt the client
                log.exception("callback %r raised on %r", callback, event)
        self._dispatched.set()

    async def _wait(self, waiter: Waiter, timeout: float | None, what: str) -> Any:
        assert isinstance(waiter, _Future)
        try:
            with trio.fail_after(timeout or self._options.timeout):
                return await waiter.get()
        except trio.TooSlowError:
            raise self._timed_out(what) from None
        finally:
            self._forget(waiter)

    # -- public API -------------------------------------------------------------------

    async def connect(self, timeout: float | None = None) -> None:
        """Wait until connected; a terminal failure raises ReplyError/ClientDisconnected."""
        if self._nursery is None:
            raise RuntimeError("the trio client runs inside `async with Client(...)`")
        waiter = self._start_connect()
        if waiter is not None:
            await self._wait(waiter, timeout, "connect")

    async def disconnect(self) -> None:
        self._call(lambda now: self._proto.disconnect(now=now))

    async def close(self) -> None:
        """Final: close the socket (after its close frame), end the callbacks and tasks."""
        conn = self._conn
        self._start_close()
        self._callbacks_in.send_nowait(_END)
        if self._nursery is None:
            return
        with trio.move_on_after(self._options.timeout):
            if conn is not None:
                await conn.done.wait()  # the writer flushed the close frame
            await self._dispatched.wait()  # callbacks for the last events ran
        self._nursery.cancel_scope.cancel()

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
        assert isinstance(waiter, _Future)
        return await waiter.get()  # the core times commands out (CommandTimeout)
