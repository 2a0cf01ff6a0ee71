"""The blocking adapter: the asyncio adapter's API for plain threaded code.

Three threads per client, started by ``connect()`` (``Client(...)`` starts
nothing): an I/O thread that only moves bytes between non-blocking sockets
(``selectors``) and the core, a dispatcher thread that runs callbacks in order,
and a token thread for ``get_token``, so neither a pong nor a token waits for a
slow callback. A lock serialises every call into the core; names are resolved
without it. A socketpair wakes the I/O thread when a caller's command queues
bytes. The threads hold the client only while they work, never while they
wait: a client nobody closes is collected, and its finalizer ends them and
closes its sockets. The public API is in ``_sync.py``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import random
import selectors
import socket
import ssl
import threading
import time
import weakref
from typing import Any

from centrifugo_proto import OpenTransport, StartTls, TokenRequested, TransportError

from ._base import Callback, Dialing, SubscribeOptions
from ._sync import SyncClient, SyncSubscription
from ._threads import Threads
from ._tls import TlsClient

__all__ = ["Client", "Subscription"]
_R, _W = selectors.EVENT_READ, selectors.EVENT_WRITE
_AGAIN = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)
_Dialed = tuple[socket.socket, float]  # a socket connecting, and when it has had its time


class _Conn:
    """One connection attempt, then one socket: dialing, TLS, open; bytes to send."""

    def __init__(self, event: OpenTransport, dialing: Dialing[Any], dialed: _Dialed) -> None:
        self.event, self.dialing = event, dialing
        self.sock, self.give_up = dialed  # give_up: when this address has had its share
        self.out, self.phase, self.want, self.closing = bytearray(), "connect", _W, False
        self.tunnel = self.start_tls = False  # TLS inside a proxy tunnel: asked, started


class Subscription(SyncSubscription["Client"]):
    """``sub.subscribe()``, ``for pub in sub``, ``sub.on(name, callback)``."""


class Client(TlsClient, SyncClient[Subscription]):
    """``with Client(url, token=...) as client:``; the API of ``docs/adapters.md``."""

    _rng_factory = random.Random
    _awaits_tokens = False
    _log = logging.getLogger("centrifugo_proto.blocking")

    def _setup(self) -> None:
        self._conn: _Conn | None = None
        self._closing: list[_Conn] = []
        self._open_request: OpenTransport | None = None
        self._opening: OpenTransport | None = None  # being resolved, without the lock
        self._deadline: float | None = None
        self._shared = Threads()
        weakref.finalize(self, self._shared.release)

    def _start_threads(self) -> None:
        if not self._shared.threads and not self._shared.stopping:
            self._shared.start(self)

    def close(self) -> None:
        """Final: close the socket (after its close frame), end the threads; callbacks
        queued before run first. It may be called from a callback."""
        self._start_close()
        self._shared.release()
        for thread in self._shared.threads:
            if thread is not threading.current_thread():
                thread.join(self._options.timeout)

    # -- the hooks of the base (called with the lock held) ----------------------------

    def _now(self) -> float:
        return time.monotonic()

    def _write(self, data: bytes) -> None:
        if self._conn is not None:
            self._conn.out += data
            self._shared.wake()

    def _rearm(self, deadline: float | None) -> None:
        if deadline != self._deadline:
            self._deadline = deadline
            self._shared.wake()

    def _open_transport(self, event: OpenTransport) -> None:
        self._open_request = event  # the I/O thread opens it
        self._shared.wake()

    def _close_transport(self) -> None:
        self._open_request = self._opening = None
        if self._conn is not None:
            self._conn.closing = True  # the I/O thread flushes the close frame, then closes
            self._closing.append(self._conn)
            self._conn = None
            self._shared.wake()

    def _start_tls(self, event: StartTls) -> None:
        if self._conn is not None:
            self._conn.start_tls = True  # _read wraps the socket after this read

    def _request_token(self, event: TokenRequested) -> None:
        self._shared.start_tokens()
        self._shared.tokens.put(event)  # its own thread: no callback can hold it up

    def _schedule(self, callback: Callback, event: Any) -> None:
        self._start_threads()  # a callback before connect() (a subscribe's) runs too
        self._shared.callbacks.put((callback, event))

    def _make_subscription(self, channel: str, options: SubscribeOptions) -> Subscription:
        return Subscription(self, channel, options)

    # -- the I/O thread ---------------------------------------------------------------

    def _io_prepare(self) -> float | None:
        """Open what the core asked for, flush; the select timeout. Never raises."""
        try:
            with self._lock:
                request, self._open_request = self._open_request, None
                self._opening = request or self._opening
            if request is not None:
                self._dial(request)
            with self._lock:
                for conn in [self._conn, *self._closing]:
                    if conn is not None:
                        self._on_ready(conn, 0)
                conn = self._conn
                due = [self._deadline, conn.give_up if conn and conn.phase == "connect" else None]
        except Exception as error:
            self._fail(error)
            return 0.0
        deadlines = [d for d in due if d is not None]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def _io_ready(self, ready: list[tuple[selectors.SelectorKey, int]]) -> None:
        try:
            with self._lock:
                for key, mask in ready:
                    if key.data is None:
                        with contextlib.suppress(BlockingIOError):
                            while self._shared.wake_r.recv(4096):
                                pass
                    else:
                        self._on_ready(key.data, mask)
                conn, now = self._conn, time.monotonic()
                if conn is not None and conn.phase == "connect" and now >= conn.give_up:
                    self._next_address(
                        conn, TransportError(f"connect to {conn.event.host} timed out")
                    )
            if self._deadline is not None and time.monotonic() >= self._deadline:
                self._drive(lambda now: self._proto.handle_timeout(now=now))
        except Exception as error:
            self._fail(error)

    def _io_finish(self) -> None:
        with self._lock:
            for conn in [self._conn, *self._closing]:
                if conn is not None:
                    self._on_ready(conn, 0)  # best effort: the close frame
                    self._drop(conn)

    def _resolve(self, host: str, port: int) -> list[Any]:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)

    def _dial(self, event: OpenTransport) -> None:
        """Resolve without the lock (it may take long), then dial the first address."""
        try:
            addresses, failure = self._resolve(event.host, event.port), None
        except Exception as error:
            addresses, failure = [], error
        with self._lock:
            if self._opening is not event:
                return  # given up meanwhile: a close, or a newer attempt
            self._opening = None
            deadline = time.monotonic() + self._options.timeout
            dialing = Dialing(event.host, addresses, deadline)
            if failure is not None:
                dialing.failed(failure)
            try:
                conn = self._conn = _Conn(event, dialing, self._dial_next(dialing))
            except Exception as error:
                self._transport_failed(error)
                return
            self._shared.selector.modify(conn.sock.fileno(), _W, conn)

    def _open_socket(self, address: Any) -> socket.socket:
        family, kind, proto, _, sockaddr = address
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            code = sock.connect_ex(sockaddr)
            if code not in (0, errno.EINPROGRESS):
                raise OSError(code, os.strerror(code))
        except BaseException:
            sock.close()
            raise
        return sock

    def _dial_next(self, dialing: Dialing[Any]) -> _Dialed:
        """Start connecting to the next address that takes a socket; else the last error."""
        while (step := dialing.next(time.monotonic())) is not None:
            try:
                sock = self._open_socket(step[0])
            except Exception as failed:
                dialing.failed(failed)
                continue
            self._shared.sockets.add(sock)
            self._shared.selector.register(sock.fileno(), _W, None)
            return sock, time.monotonic() + step[1]
        raise dialing.error()

    def _next_address(self, conn: _Conn, error: BaseException) -> None:
        """The address being dialed failed: the next one, else the attempt failed."""
        conn.dialing.failed(error)
        self._unregister(conn)
        try:
            conn.sock, conn.give_up = self._dial_next(conn.dialing)
        except Exception as failed:
            self._lost(conn, failed)
            return
        self._shared.selector.modify(conn.sock.fileno(), _W, conn)

    def _on_ready(self, conn: _Conn, mask: int) -> None:
        """Advance ``conn`` on readiness ``mask`` (0: only flush)."""
        try:
            if mask and conn.phase == "connect":
                code = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:  # refused: the next address, in what is left of the budget
                    self._next_address(conn, OSError(code, os.strerror(code)))
                    return
                conn.phase = "open"
                if conn.event.tls:
                    self._wrap(conn)
                else:
                    self._opened(conn)
            if mask and conn.phase == "tls":
                assert isinstance(conn.sock, ssl.SSLSocket)
                try:
                    conn.sock.do_handshake()
                    conn.phase = "open"
                    self._opened(conn)
                except ssl.SSLWantReadError:
                    conn.want = _R
                except ssl.SSLWantWriteError:
                    conn.want = _W
            elif mask & _R and conn.phase == "open":
                self._read(conn)
            self._flush(conn)  # right after reading: a pong never waits for a callback
        except Exception as error:
            self._lost(conn, error)

    def _opened(self, conn: _Conn) -> None:
        if conn is self._conn:
            done = self._proto.tls_started if conn.tunnel else self._proto.transport_opened
            self._drive(lambda now: done(now=now))

    def _read(self, conn: _Conn) -> None:
        proto = self._proto
        try:
            while conn is self._conn:
                data = conn.sock.recv(65536)
                if not data:
                    self._drive(lambda now: proto.receive_eof(now=now))
                    return
                self._drive(lambda now: proto.receive_data(data, now=now))  # noqa: B023
                if conn.start_tls:  # the tunnel is up: TLS inside it, then the WebSocket
                    conn.start_tls, conn.tunnel = False, True
                    self._wrap(conn)
                    return
                if not isinstance(conn.sock, ssl.SSLSocket) or not conn.sock.pending():
                    return
        except _AGAIN:
            return

    def _wrap(self, conn: _Conn) -> None:
        self._shared.sockets.discard(conn.sock)
        conn.sock = self._tls_context().wrap_socket(
            conn.sock, server_hostname=conn.event.server_hostname, do_handshake_on_connect=False
        )
        self._shared.sockets.add(conn.sock)
        conn.phase, conn.want = "tls", _W

    def _flush(self, conn: _Conn) -> None:
        if conn.phase == "open":
            try:
                while conn.out:
                    del conn.out[: conn.sock.send(conn.out)]
            except _AGAIN:
                pass
            except OSError:
                if conn is self._conn:
                    raise
                conn.out.clear()  # a socket given up on: its close frame is best effort
            conn.want = _R | _W if conn.out else _R
        if conn.closing and not (conn.out and conn.phase == "open"):
            self._drop(conn)
        elif self._shared.selector.get_key(conn.sock.fileno()).events != conn.want:
            self._shared.selector.modify(conn.sock.fileno(), conn.want, conn)

    def _lost(self, conn: _Conn, error: BaseException) -> None:
        """``conn`` broke: reported if it is the current one; dropped."""
        if conn is self._conn:
            self._conn = None
            self._transport_failed(error)
        self._drop(conn)

    def _unregister(self, conn: _Conn) -> None:
        with contextlib.suppress(KeyError, ValueError):  # not registered, or closed
            self._shared.selector.unregister(conn.sock)
        self._shared.sockets.discard(conn.sock)
        conn.sock.close()

    def _drop(self, conn: _Conn) -> None:
        if conn is self._conn:
            self._conn = None
        if conn in self._closing:
            self._closing.remove(conn)
        self._unregister(conn)
