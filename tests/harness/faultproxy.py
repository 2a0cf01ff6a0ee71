"""A loopback TCP proxy that injects network faults between a client and a server.

```
with FaultProxy(("127.0.0.1", server.port)) as proxy:
    client connects to proxy.url                # ws://127.0.0.1:PORT/connection/websocket
    proxy.cut()                # every current connection closed, both sides (FIN)
    proxy.cut(reset=True)      # the same with RST: the peers see "connection reset"
    proxy.freeze()             # no byte forwarded either way; sockets stay open, no EOF
    proxy.thaw()               # forwarding resumes with what was held back
    proxy.delay(0.2)           # each chunk read from now on is forwarded 0.2 s later
    proxy.retarget("127.0.0.1", other.port)     # new connections go there
```

The proxy runs one thread of its own (a `selectors` loop over non-blocking sockets),
so it works under any client adapter (asyncio, trio, blocking threads). The controls
are thread-safe and synchronous: when `cut()`, `freeze()`, `thaw()`, `delay()` or
`retarget()` returns, the loop has applied it.

Semantics in detail:

- A client connection is accepted on 127.0.0.1 and paired with a new connection to
  the target. If the target refuses, the client's connection is reset.
- `freeze()` stops reading and writing on every paired socket (also ones accepted while
  frozen). The peers' kernel buffers fill, and nobody sees an EOF: a half-open network.
  Whatever a peer did meanwhile (a close, a reset) reaches the other side after `thaw()`.
- `delay(seconds)` holds each chunk read after the call for `seconds` before writing
  it on, in each direction (a request and its reply take 2 x `seconds` longer); order
  is kept, so a smaller delay set later never overtakes earlier chunks.
- An EOF from one side is passed on (after the delay) as a half-close of the other
  side; a reset from one side resets the other.

It is bounded: at most `max_connections` pairs (more are reset on accept), at most
`max_buffer` bytes held per direction (reading stops until they drain), and after
`lifetime` seconds the proxy closes itself. Target and listener are loopback only.
Standard library only.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import ipaddress
import selectors
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar, cast

from .centrifugo import LOOPBACK, HarnessError

__all__ = ["FaultProxy"]

_T = TypeVar("_T")
_CHUNK = 65536
# SO_LINGER on, timeout 0: close() sends RST instead of FIN.
_LINGER_RESET = struct.pack("ii", 1, 0)


def _check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise HarnessError(f"the fault proxy forwards to loopback addresses only, not {host!r}")


def _close(sock: socket.socket, *, reset: bool) -> None:
    try:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class _Pipe:
    """One direction of a pair: bytes read from `src`, held, then written to `dst`."""

    def __init__(self, src: socket.socket, dst: socket.socket) -> None:
        self.src = src
        self.dst = dst
        # (due time, chunk); None stands for the EOF read from src.
        self.queue: deque[tuple[float, bytes | None]] = deque()
        self.held = 0
        self.eof_read = False
        self.eof_sent = False

    def due(self, now: float) -> bool:
        return bool(self.queue) and self.queue[0][0] <= now


class _Link:
    """A client connection and its connection to the target."""

    def __init__(self, client: socket.socket, upstream: socket.socket, connecting: bool) -> None:
        self.client = client
        self.upstream = upstream
        self.connecting = connecting
        self.up = _Pipe(client, upstream)
        self.down = _Pipe(upstream, client)

    @property
    def finished(self) -> bool:
        return self.up.eof_sent and self.down.eof_sent


class FaultProxy:
    """A TCP proxy from a free port on 127.0.0.1 to `target`, with fault controls."""

    def __init__(
        self,
        target: tuple[str, int],
        *,
        max_connections: int = 32,
        max_buffer: int = 1 << 20,
        lifetime: float = 900.0,
    ) -> None:
        _check_loopback(target[0])
        self._target = target
        self.max_connections = max_connections
        self.max_buffer = max_buffer
        self.lifetime = lifetime
        self._frozen = False
        self._delay = 0.0
        self._links: dict[socket.socket, _Link] = {}
        self._stats_lock = threading.Lock()
        self._connections = 0
        self._accepted = 0
        self._commands: deque[tuple[Callable[[], object], _Call]] = deque()
        self._commands_lock = threading.Lock()
        self._stopping = False
        self._loop_done = False  # set (under _commands_lock) once commands are refused
        self._error: BaseException | None = None

        self._selector = selectors.DefaultSelector()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(64)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._deadline = time.monotonic() + lifetime
        self._thread = threading.Thread(
            target=self._run, name=f"fault-proxy-{self.port}", daemon=True
        )
        self._thread.start()
        atexit.register(self.close)

    # -- addresses and state ----------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        return (LOOPBACK, self.port)

    @property
    def url(self) -> str:
        """The Centrifugo WebSocket endpoint, reached through this proxy."""
        return f"ws://{LOOPBACK}:{self.port}/connection/websocket"

    @property
    def target(self) -> tuple[str, int]:
        return self._target

    @property
    def connections(self) -> int:
        """Client connections open through the proxy right now."""
        with self._stats_lock:
            return self._connections

    @property
    def accepted(self) -> int:
        """Client connections accepted since the proxy started (refused ones included)."""
        with self._stats_lock:
            return self._accepted

    @property
    def frozen(self) -> bool:
        return self._frozen

    @property
    def closed(self) -> bool:
        return self._loop_done

    def wait_for_connections(self, count: int, timeout: float = 10.0) -> None:
        """Wait until exactly `count` client connections are open; HarnessError if not."""
        deadline = time.monotonic() + timeout
        while self.connections != count:
            if time.monotonic() >= deadline:
                raise HarnessError(
                    f"fault proxy: {self.connections} connections open after {timeout:g}s, "
                    f"expected {count}"
                )
            time.sleep(0.01)

    # -- controls -------------------------------------------------------------------------

    def cut(self, *, reset: bool = False) -> int:
        """Close every current connection on both sides; how many pairs were cut.

        FIN by default (the peers read EOF); with `reset`, RST (the peers get
        "connection reset"). New connections are accepted as before.
        """
        return self._call(lambda: self._cut_all(reset=reset))

    def freeze(self) -> None:
        """Stop forwarding in both directions; connections stay open (half-open)."""
        self._call(lambda: setattr(self, "_frozen", True))

    def thaw(self) -> None:
        """Resume forwarding, starting with what was held back while frozen."""
        self._call(lambda: setattr(self, "_frozen", False))

    def delay(self, seconds: float) -> None:
        """Hold each chunk read from now on for `seconds` (0 turns the delay off)."""
        if seconds < 0:
            raise ValueError("delay must be >= 0")
        self._call(lambda: setattr(self, "_delay", float(seconds)))

    def retarget(self, host: str, port: int) -> None:
        """Send new connections to (host, port); current ones stay where they are."""
        _check_loopback(host)
        self._call(lambda: setattr(self, "_target", (host, port)))

    def close(self) -> None:
        """Stop the proxy: every connection is closed, the port released. Idempotent."""
        if self._thread.is_alive():
            self._stopping = True
            self._wake()
            self._thread.join(timeout=10.0)
        atexit.unregister(self.close)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<FaultProxy 127.0.0.1:{self.port} -> {self._target[0]}:{self._target[1]} "
            f"connections={self.connections} accepted={self.accepted} frozen={self._frozen} "
            f"delay={self._delay:g}s{' closed' if self.closed else ''}>"
        )

    # -- calls into the loop thread ---------------------------------------------------------

    def _call(self, fn: Callable[[], _T]) -> _T:
        call = _Call()
        with self._commands_lock:
            if self._loop_done:
                raise HarnessError(f"fault proxy on port {self.port} is closed") from self._error
            self._commands.append((fn, call))
        self._wake()
        if not call.done.wait(timeout=10.0):
            raise HarnessError(f"fault proxy on port {self.port} did not answer a control call")
        if call.error is not None:
            raise call.error
        return cast(_T, call.result)

    def _wake(self) -> None:
        # OSError: a wake-up is pending already (buffer full), or the loop is gone.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _run_commands(self) -> None:
        while True:
            with self._commands_lock:
                if not self._commands:
                    return
                fn, call = self._commands.popleft()
            try:
                call.result = fn()
            except BaseException as exc:
                call.error = exc
            call.done.set()

    # -- the loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping and time.monotonic() < self._deadline:
                self._step()
        except BaseException as exc:
            self._error = exc
        finally:
            self._shutdown()

    def _step(self) -> None:
        now = time.monotonic()
        timeout = min(1.0, self._deadline - now)
        for link in self._pairs():
            if not self._frozen:
                for pipe in (link.up, link.down):
                    if pipe.queue and pipe.queue[0][0] > now:
                        timeout = min(timeout, pipe.queue[0][0] - now)
            self._update_interest(link, now)
        for key, events in self._selector.select(max(timeout, 0.0)):
            sock = key.fileobj
            if sock is self._wake_r:
                self._drain_wakeups()
                self._run_commands()
            elif sock is self._listener:
                self._accept()
            else:
                assert isinstance(sock, socket.socket)
                ready = self._links.get(sock)
                if ready is not None:
                    self._on_ready(ready, sock, events)
        now = time.monotonic()
        for link in self._pairs():
            if not self._frozen and not link.connecting:
                self._flush(link, link.up, now)
                self._flush(link, link.down, now)
            if link.finished:
                self._drop(link, reset=False)

    def _pairs(self) -> list[_Link]:
        """Each link once (`_links` maps both of its sockets to it)."""
        return list(dict.fromkeys(self._links.values()))

    def _update_interest(self, link: _Link, now: float) -> None:
        client_events = upstream_events = 0
        if link.connecting:
            upstream_events = selectors.EVENT_WRITE
        elif not self._frozen:
            if not link.up.eof_read and link.up.held < self.max_buffer:
                client_events |= selectors.EVENT_READ
            if not link.down.eof_read and link.down.held < self.max_buffer:
                upstream_events |= selectors.EVENT_READ
            if link.up.due(now):
                upstream_events |= selectors.EVENT_WRITE
            if link.down.due(now):
                client_events |= selectors.EVENT_WRITE
        self._set_events(link.client, client_events)
        self._set_events(link.upstream, upstream_events)

    def _set_events(self, sock: socket.socket, events: int) -> None:
        try:
            current = self._selector.get_key(sock).events
        except KeyError:
            current = 0
        if events == current:
            return
        if current == 0:
            self._selector.register(sock, events)
        elif events == 0:
            self._selector.unregister(sock)
        else:
            self._selector.modify(sock, events)

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except BlockingIOError:
                return
            with self._stats_lock:
                self._accepted += 1
            if len(self._links) >= self.max_connections:
                _close(client, reset=True)
                continue
            client.setblocking(False)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            upstream.setblocking(False)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code = upstream.connect_ex(self._target)
            if code not in (0, errno.EINPROGRESS):
                _close(upstream, reset=True)
                _close(client, reset=True)
                continue
            link = _Link(client, upstream, connecting=code != 0)
            self._links[client] = link
            self._links[upstream] = link
            with self._stats_lock:
                self._connections += 1

    def _on_ready(self, link: _Link, sock: socket.socket, events: int) -> None:
        if link.connecting:
            if sock is link.upstream and events & selectors.EVENT_WRITE:
                if link.upstream.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    self._drop(link, reset=True)
                else:
                    link.connecting = False
            return
        if self._frozen:
            return
        if events & selectors.EVENT_READ:
            pipe = link.up if sock is link.client else link.down
            try:
                data = sock.recv(_CHUNK)
            except BlockingIOError:
                return
            except OSError:
                self._drop(link, reset=True)
                return
            pipe.queue.append((time.monotonic() + self._delay, data or None))
            pipe.held += len(data)
            if not data:
                pipe.eof_read = True

    def _flush(self, link: _Link, pipe: _Pipe, now: float) -> None:
        while pipe.due(now):
            _, chunk = pipe.queue[0]
            if chunk is None:
                pipe.queue.popleft()
                pipe.eof_sent = True
                with contextlib.suppress(OSError):
                    pipe.dst.shutdown(socket.SHUT_WR)
                continue
            try:
                sent = pipe.dst.send(chunk)
            except BlockingIOError:
                return
            except OSError:
                self._drop(link, reset=True)
                return
            pipe.held -= sent
            if sent < len(chunk):
                pipe.queue[0] = (pipe.queue[0][0], chunk[sent:])
                return
            pipe.queue.popleft()

    def _drop(self, link: _Link, *, reset: bool) -> None:
        if self._links.pop(link.client, None) is None:
            return
        self._links.pop(link.upstream, None)
        # Counted out before the peers can notice the close.
        with self._stats_lock:
            self._connections -= 1
        for sock in (link.client, link.upstream):
            self._set_events(sock, 0)
            _close(sock, reset=reset)

    def _cut_all(self, *, reset: bool) -> int:
        links = self._pairs()
        for link in links:
            self._drop(link, reset=reset)
        return len(links)

    def _shutdown(self) -> None:
        with self._commands_lock:
            self._loop_done = True
            pending = list(self._commands)
            self._commands.clear()
        for _, call in pending:
            call.error = HarnessError(f"fault proxy on port {self.port} is closed")
            call.done.set()
        self._cut_all(reset=False)
        self._selector.close()
        for sock in (self._listener, self._wake_r, self._wake_w):
            sock.close()


class _Call:
    """A control call waiting for the loop thread."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: object = None
        self.error: BaseException | None = None
