"""The blocking adapter: the asyncio adapter's API for plain threaded code.

Up to three threads per client, none started by ``Client(...)``: an I/O thread
that only moves bytes between non-blocking sockets (``selectors``) and the core,
from ``connect()``; a dispatcher thread that runs callbacks in order, from the
first callback to run; and a token thread for ``get_token``, from the first
token request; so neither a pong nor a token waits for a slow callback, and an
idle client without callbacks costs one thread (about 16 KiB resident each).
A lock serialises every call into the core; names are resolved without it. A
socketpair wakes the I/O thread when a caller's command queues bytes. The
threads hold the client only while they work, never while they wait: a client
nobody closes is collected, and its finalizer ends them and closes its sockets.
The public API is in ``_sync.py``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import selectors
import socket
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from centrifugo_proto import OpenTransport, StartTls, TokenRequested, TransportError

from ._api.blocking import ApiClient, HttpClient, LegacyApiClient
from ._base import READ_SIZE, Callback, Dialing, SubscribeOptions
from ._base.signs import SignBatch
from ._base.waiters import Wakeup
from ._conn import AGAIN, Conn, R
from ._sync import SyncClient, SyncSubscription
from ._threads import Threads
from ._tls import TlsClient

__all__ = ["ApiClient", "Client", "HttpClient", "LegacyApiClient", "Subscription"]


class Subscription(SyncSubscription["Client"]):
    """A blocking client's subscription; ``for pub in sub`` blocks its thread."""


class Client(TlsClient[Subscription], SyncClient[Subscription]):
    """``with Client(url, token=...) as client:``; the API of ``docs/adapters.md``."""

    _awaits_tokens = False
    _log = logging.getLogger("centrifugo_proto.adapters.blocking")

    def _setup(self) -> None:
        self._conn: Conn | None = None
        self._closing: list[Conn] = []
        self._open_request: OpenTransport | None = None
        self._opening: OpenTransport | None = None  # being resolved, without the lock
        self._deadline: float | None = None
        self._threads = Threads()
        self._http: HttpClient | None = None
        weakref.finalize(self, self._threads.release)

    def _start_threads(self) -> None:
        if not self._threads.threads and not self._threads.stopping:
            self._threads.start(self)

    def close(self) -> None:
        """Final: close the socket (after its close frame), end the threads; callbacks
        queued before run first. It may be called from a callback."""
        self._start_close()
        self._threads.release()
        for thread in self._threads.threads:
            if thread is not threading.current_thread():
                thread.join(self._options.timeout)
        if self._http is not None:
            self._http.close()

    # -- the hooks of the base (called with the lock held) ----------------------------

    def _now(self) -> float:
        return time.monotonic()

    def _write(self, data: bytes) -> None:
        if self._conn is not None:
            self._conn.out += data
            self._threads.wake()

    def _rearm(self, deadline: float | None) -> None:
        if deadline != self._deadline:
            self._deadline = deadline
            self._threads.wake()

    def _open_transport(self, event: OpenTransport) -> None:
        self._open_request = event  # the I/O thread opens it
        self._threads.wake()

    def _close_transport(self) -> None:
        self._open_request = self._opening = None
        if self._conn is not None:
            self._conn.closing = True  # the I/O thread flushes the close frame, then closes
            self._closing.append(self._conn)
            self._conn = None
            self._threads.wake()

    def _start_tls(self, event: StartTls) -> None:
        if self._conn is not None:
            self._conn.start_tls = True  # _read wraps the socket after this read

    def _request_token(self, event: TokenRequested) -> None:
        self._threads.start_tokens()
        self._threads.tokens.put(event)  # its own thread: no callback can hold it up

    def _request_signs(self, batch: SignBatch) -> None:
        self._threads.start_tokens()
        self._threads.tokens.put(batch)  # the token thread POSTs it (_fetch_signs_now)

    def _schedule(self, callback: Callback, event: Any) -> None:
        self._start_threads()  # a callback before connect() (a subscribe's) runs too
        self._threads.start_callbacks()
        self._threads.callbacks.put((callback, event))

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

    def _io_ready(self, ready: list[tuple[selectors.SelectorKey, int]]) -> bool:
        """Read, write, time out; True if a reader fell behind (see _threads.py)."""
        try:
            return self._io_turn(ready)
        finally:
            self._threads.wake_readers()

    def _wake_reader(self, wakeup: Wakeup) -> None:
        if threading.current_thread() is self._threads.io_thread:
            self._threads.readers_to_wake.append(wakeup)  # once the turn let the lock go
        else:
            wakeup.set()

    def _io_turn(self, ready: list[tuple[selectors.SelectorKey, int]]) -> bool:
        try:
            with self._lock:
                for key, mask in ready:
                    if key.data is None:
                        with contextlib.suppress(BlockingIOError):
                            while self._threads.wake_r.recv(4096):
                                pass
                    else:
                        self._on_ready(key.data, mask)
                conn = self._conn
                if conn and conn.phase == "connect" and time.monotonic() >= conn.give_up:
                    slow = TransportError(f"connect to {conn.event.host} timed out")
                    self._advance(conn, lambda: conn.next_address(slow, self._open_socket))
            if self._deadline is not None and time.monotonic() >= self._deadline:
                self._drive(lambda now: self._proto.handle_timeout(now=now))
        except Exception as error:
            self._fail(error)
            return False
        with self._lock:
            behind = self._readers_behind(time.monotonic())
            if behind:
                self._threads.caught_up.clear()
            return behind

    def _reader_caught_up(self) -> None:
        self._threads.caught_up.set()

    def _io_finish(self) -> None:
        with self._lock:
            for conn in [self._conn, *self._closing]:
                if conn is not None:
                    self._on_ready(conn, 0)  # best effort: the close frame
                    self._drop(conn)

    def _resolve(self, host: str, port: int) -> list[Any]:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)

    def _open_socket(self, address: Any) -> socket.socket:
        """A socket connecting (non-blocking) to one ``getaddrinfo`` entry."""
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
            dialing = Dialing(event.host, addresses, time.monotonic() + self._options.timeout)
            if failure is not None:
                dialing.failed(failure)
            try:
                self._conn = Conn(event, dialing, self._threads, self._open_socket)
            except Exception as error:
                self._transport_failed(error)

    def _advance(self, conn: Conn, step: Callable[[], object]) -> None:
        """One step of ``conn``; whatever it raises drops it (reported if current)."""
        try:
            step()
        except Exception as error:
            if conn is self._conn:
                self._conn = None
                self._transport_failed(error)
            self._drop(conn)

    def _on_ready(self, conn: Conn, mask: int) -> None:
        """Advance ``conn`` on readiness ``mask`` (0: only flush)."""
        self._advance(conn, lambda: self._step(conn, mask))

    def _step(self, conn: Conn, mask: int) -> None:
        if mask and conn.phase == "connect":
            error = conn.connect_error()
            if error is not None:  # refused: the next address, in what is left of the budget
                conn.next_address(error, self._open_socket)
                return
            conn.phase = "open"
            if conn.event.tls:
                conn.wrap(self._tls_context())
            else:
                self._opened(conn)
        if mask and conn.phase == "tls":
            if conn.handshake():
                self._opened(conn)
        elif mask & R and conn.phase == "open":
            self._read(conn)
        if conn.flush(conn is self._conn):  # right after reading: a pong never waits
            self._drop(conn)

    def _opened(self, conn: Conn) -> None:
        if conn is self._conn:
            done = self._proto.tls_started if conn.tunnel else self._proto.transport_opened
            self._drive(lambda now: done(now=now))

    def _read(self, conn: Conn) -> None:
        proto = self._proto
        with contextlib.suppress(*AGAIN):
            while conn is self._conn:
                data = conn.sock.recv(READ_SIZE)
                if not data:
                    self._drive(lambda now: proto.receive_eof(now=now))
                    return
                self._drive(lambda now: proto.receive_data(data, now=now))  # noqa: B023
                if conn.start_tls:  # the tunnel is up: TLS inside it, then the WebSocket
                    conn.start_tls, conn.tunnel = False, True
                    conn.wrap(self._tls_context())
                    return
                if not conn.more_to_read():
                    return

    def _drop(self, conn: Conn) -> None:
        if conn is self._conn:
            self._conn = None
        if conn in self._closing:
            self._closing.remove(conn)
        conn.close()
