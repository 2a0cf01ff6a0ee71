"""The blocking adapter: the asyncio adapter's API for plain threaded code.

Two threads per client (the paho-mqtt ``loop_start`` model): one I/O thread
that only moves bytes between a non-blocking socket (``selectors``) and the
core, and a dispatcher thread that runs callbacks in order. A lock serialises
every call into the core; a socketpair wakes the I/O thread when a caller's
command queues bytes. Calls block until done, with timeouts. A slow callback
never delays a pong (the I/O thread flushes right after each read), and a
callback may call the client (publish from a publication handler).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import logging
import os
import queue
import random
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

from centrifugo_proto import (
    OpenTransport,
    Publication,
    StartTls,
    Subscribed,
    TokenRequested,
)
from centrifugo_proto.adapter_base import Callback, ClientBase, SubscriptionBase, Waiter
from centrifugo_proto.endpoints import Endpoint

from ._tls import certificate_error, client_context

__all__ = ["Client", "Subscription"]
log = logging.getLogger("centrifugo_proto.blocking")
_END: Any = object()
_R, _W = selectors.EVENT_READ, selectors.EVENT_WRITE
_AGAIN = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class _Conn:
    def __init__(self, sock: socket.socket, endpoint: Endpoint) -> None:
        self.sock, self.endpoint, self.fd = sock, endpoint, sock.fileno()
        self.out, self.phase, self.want, self.closing = bytearray(), "connect", _W, False
        self.tunnel = self.start_tls = False  # TLS inside a proxy tunnel: asked, started


class Subscription(SubscriptionBase):
    client: Client

    def __init__(self, client: Client, channel: str, options: dict[str, Any]) -> None:
        super().__init__(client, channel, options)
        # The I/O thread fills the buffer, the reader's thread empties it.
        self._readable = threading.Condition()

    def _wake(self) -> None:
        with self._readable:
            self._readable.notify_all()

    def _deliver(self, pub: Publication) -> None:
        with self._readable:
            super()._deliver(pub)

    def _next(self, timeout: float | None = None) -> Publication:
        with self._readable:
            if not self._readable.wait_for(self._ready, timeout):
                raise TimeoutError(f"no publication on {self.channel!r} within {timeout}s")
            pub = self._take()
        if pub is None:
            raise StopIteration
        return pub

    def subscribe(self, timeout: float | None = None) -> Subscribed:
        """Wait until subscribed; a terminal error raises ReplyError (§6.4)."""
        waiter = self.client._start_subscribe(self)
        if isinstance(waiter, Subscribed):
            return waiter
        result: Subscribed = self.client._wait(waiter, timeout, f"subscribe to {self.channel!r}")
        return result

    def unsubscribe(self) -> None:
        self.client._call(lambda now: self.client._proto.unsubscribe(self.channel, now=now))

    def __iter__(self) -> Iterator[Publication]:
        return self

    def __next__(self) -> Publication:
        return self._next()


class Client(ClientBase[Subscription]):
    _rng_factory = random.Random
    _lock_factory = threading.RLock

    def _setup(self, ssl_context: ssl.SSLContext | None, ssl_no_verify: bool) -> None:
        self._tls = client_context(ssl_context, ssl_no_verify)
        self._conn: _Conn | None = None
        self._closing: list[_Conn] = []
        self._open_request: OpenTransport | None = None
        self._deadline: float | None = None
        self._stopping = False
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        for end in (self._wake_r, self._wake_w):
            end.setblocking(False)
        self._selector.register(self._wake_r, _R)
        self._callback_queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._io = threading.Thread(target=self._run_io, name="centrifugo-io", daemon=True)
        self._dispatcher = threading.Thread(
            target=self._run_callbacks, name="centrifugo-callbacks", daemon=True
        )
        self._io.start()
        self._dispatcher.start()

    def __enter__(self) -> Client:
        try:
            self.connect()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the hooks of ClientBase (called with the lock held) --------------------------

    def _now(self) -> float:
        return time.monotonic()

    def _wake(self) -> None:
        if threading.current_thread() is not self._io:
            with contextlib.suppress(OSError):  # full (a wake-up is pending) or closed
                self._wake_w.send(b"\0")

    def _write(self, data: bytes) -> None:
        if self._conn is not None:
            self._conn.out += data
            self._wake()

    def _rearm(self, deadline: float | None) -> None:
        if deadline != self._deadline:
            self._deadline = deadline
            self._wake()

    def _new_waiter(self) -> Waiter:
        return concurrent.futures.Future()

    def _open_transport(self, event: OpenTransport) -> None:
        self._open_request = event  # the I/O thread opens it
        self._wake()

    def _close_transport(self) -> None:
        self._open_request = None
        if self._conn is not None:
            self._conn.closing = True  # the I/O thread flushes the close frame, then closes
            self._closing.append(self._conn)
            self._conn = None
            self._wake()

    def _start_tls(self, event: StartTls) -> None:
        if self._conn is not None:
            self._conn.start_tls = True  # _read wraps the socket after this read

    def _request_token(self, event: TokenRequested) -> None:
        self._schedule(self._fetch_token, event)  # on the dispatcher: it may block

    def _schedule(self, callback: Callback, event: Any) -> None:
        self._callback_queue.put((callback, event))

    def _make_subscription(self, channel: str, options: dict[str, Any]) -> Subscription:
        return Subscription(self, channel, options)

    # -- the I/O thread ---------------------------------------------------------------

    def _run_io(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    break
                if self._open_request is not None:
                    self._start_open(self._open_request)
                for conn in [self._conn, *self._closing]:
                    if conn is not None:
                        self._on_ready(conn, 0)
                deadline = self._deadline
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            for key, mask in self._selector.select(timeout):
                with self._lock:
                    if key.data is None:
                        self._drain_wake()
                    else:
                        self._on_ready(key.data, mask)
            if deadline is not None and time.monotonic() >= deadline:
                self._call(lambda now: self._proto.handle_timeout(now=now))
        with self._lock:
            for conn in [self._conn, *self._closing]:
                if conn is not None:
                    self._on_ready(conn, 0)  # best effort: the close frame
                    self._drop(conn)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._wake_r.recv(4096):
                pass

    def _start_open(self, event: OpenTransport) -> None:
        self._open_request, endpoint = None, event.endpoint
        sock = None
        try:
            via = endpoint.proxy or endpoint  # TLS, if any, after CONNECT (StartTls)
            family, kind, proto, _, address = socket.getaddrinfo(
                via.host, via.port, type=socket.SOCK_STREAM
            )[0]
            sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
            code = sock.connect_ex(address)
            if code not in (0, errno.EINPROGRESS):
                raise OSError(code, os.strerror(code))
        except OSError as exc:
            if sock is not None:
                sock.close()
            self._transport_failed(exc)
            return
        self._conn = _Conn(sock, endpoint)
        self._selector.register(sock.fileno(), _W, self._conn)

    def _on_ready(self, conn: _Conn, mask: int) -> None:
        """Advance ``conn`` on readiness ``mask`` (0: only flush)."""
        try:
            opened = False
            if mask and conn.phase == "connect":
                code = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    raise OSError(code, os.strerror(code))
                conn.phase, opened = "open", True
                if conn.endpoint.tls and conn.endpoint.proxy is None:
                    self._wrap(conn)
                    opened = False
            if mask and conn.phase == "tls":
                assert isinstance(conn.sock, ssl.SSLSocket)
                try:
                    conn.sock.do_handshake()
                    conn.phase, opened = "open", True
                except ssl.SSLWantReadError:
                    conn.want = _R
                except ssl.SSLWantWriteError:
                    conn.want = _W
            if opened and conn is self._conn and conn.tunnel:
                self._call(lambda now: self._proto.tls_started(now=now))
            elif opened and conn is self._conn:
                self._call(lambda now: self._proto.transport_opened(now=now))
            elif mask & _R and conn.phase == "open":
                self._read(conn)
            self._flush(conn)  # right after reading: a pong never waits for a callback
        except OSError as exc:
            if conn is self._conn:
                self._conn = None
                cert_error = certificate_error(exc)
                self._transport_failed(cert_error or exc, fatal=cert_error is not None)
            self._drop(conn)

    def _read(self, conn: _Conn) -> None:
        proto = self._proto
        try:
            while conn is self._conn:
                data = conn.sock.recv(65536)
                if not data:
                    self._call(lambda now: proto.receive_eof(now=now))
                    return
                self._call(lambda now: proto.receive_data(data, now=now))  # noqa: B023
                if conn.start_tls:  # the tunnel is up: TLS inside it, then the WebSocket
                    conn.start_tls, conn.tunnel = False, True
                    self._wrap(conn)
                    return
                if not isinstance(conn.sock, ssl.SSLSocket) or not conn.sock.pending():
                    return
        except _AGAIN:
            return

    def _wrap(self, conn: _Conn) -> None:
        conn.sock = self._tls.wrap_socket(
            conn.sock, server_hostname=conn.endpoint.host, do_handshake_on_connect=False
        )
        conn.phase, conn.want = "tls", _W

    def _flush(self, conn: _Conn) -> None:
        if conn.phase == "open":
            try:
                while conn.out:
                    del conn.out[: conn.sock.send(conn.out)]
            except _AGAIN:
                pass
            except OSError:
                if conn is not self._conn:
                    conn.out.clear()
                else:
                    raise
            conn.want = _R | _W if conn.out else _R
        if conn.closing and not (conn.out and conn.phase == "open"):
            self._drop(conn)
        elif self._selector.get_key(conn.fd).events != conn.want:
            self._selector.modify(conn.fd, conn.want, conn)

    def _drop(self, conn: _Conn) -> None:
        if conn is self._conn:
            self._conn = None
        if conn in self._closing:
            self._closing.remove(conn)
        if conn.fd in self._selector.get_map():
            self._selector.unregister(conn.fd)
        conn.sock.close()

    # -- the dispatcher thread --------------------------------------------------------

    def _run_callbacks(self) -> None:
        while (item := self._callback_queue.get()) is not _END:
            callback, event = item
            try:
                callback(event)
            except Exception:  # a callback cannot hurt the client
                log.exception("callback %r raised on %r", callback, event)

    def _fetch_token(self, event: TokenRequested) -> None:
        try:
            token = self._token_source(event)()
        except Exception as exc:
            log.warning("get_token failed: %r", exc)
            self._answer_token(event, None, exc)
        else:
            self._answer_token(event, token, None)

    def _wait(self, waiter: Waiter, timeout: float | None, what: str) -> Any:
        assert isinstance(waiter, concurrent.futures.Future)
        try:
            return waiter.result(timeout or self._options.timeout)
        except concurrent.futures.TimeoutError:
            raise self._timed_out(what) from None
        finally:
            self._forget(waiter)

    # -- public API -------------------------------------------------------------------

    def connect(self, timeout: float | None = None) -> None:
        """Wait until connected; a terminal failure raises ReplyError/ClientDisconnected."""
        waiter = self._start_connect()
        if waiter is not None:
            self._wait(waiter, timeout, "connect")

    def disconnect(self) -> None:
        self._call(lambda now: self._proto.disconnect(now=now))

    def close(self) -> None:
        """Final: close the socket, end both threads (callbacks queued before run first)."""
        self._start_close()
        with self._lock:
            self._stopping = True
            self._wake()
        self._callback_queue.put(_END)
        for thread in (self._io, self._dispatcher):
            if thread is not threading.current_thread() and thread.is_alive():
                thread.join(self._options.timeout)

    def subscribe(self, channel: str, **options: Any) -> Subscription:
        """``new_subscription`` + ``subscribe()``: returns once subscribed."""
        timeout = options.pop("timeout", None)
        sub = self._subs.get(channel) or self.new_subscription(channel, **options)
        sub.subscribe(timeout)
        return sub

    def unsubscribe(self, channel: str) -> None:
        self._subs[channel].unsubscribe()

    def _request(self, command: str, *args: Any, **kwargs: Any) -> Any:
        waiter = self._start_request(command, *args, **kwargs)
        assert isinstance(waiter, concurrent.futures.Future)
        # The core times commands out; the bound here only guards against a dead loop.
        return waiter.result(3 * self._options.timeout)
