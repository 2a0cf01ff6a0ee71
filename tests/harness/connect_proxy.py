"""A small HTTP CONNECT proxy on loopback, for the clients' `proxy=` option.

```
with ConnectProxy() as proxy:                       # http://127.0.0.1:<port>
    Client(server.ws_url, proxy=proxy.url)
    proxy.tunnels                                   # ["127.0.0.1:8000", ...]
with ConnectProxy(refuse=407) as proxy: ...         # answers CONNECT with 407
```
Each tunnel gets a thread that pipes both ways until either side closes; only
loopback targets are allowed. Standard library only.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType

__all__ = ["ConnectProxy"]

_LOOPBACK = "127.0.0.1"


class ConnectProxy:
    def __init__(self, *, refuse: int | None = None) -> None:
        self.refuse = refuse
        self.tunnels: list[str] = []
        self._listener = socket.create_server((_LOOPBACK, 0))
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._accepting = threading.Thread(target=self._accept, name="connect-proxy", daemon=True)
        self._accepting.start()

    @property
    def url(self) -> str:
        return f"http://{_LOOPBACK}:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            with self._lock:  # started under the lock: close() never joins one not started
                self._sockets.add(client)
                self._threads.append(thread)
                thread.start()

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            host, _, port = target.rpartition(":")
            if self.refuse is not None or method != "CONNECT" or host != _LOOPBACK:
                status = self.refuse or 403
                client.sendall(f"HTTP/1.1 {status} Refused by test proxy\r\n\r\n".encode())
                return
            upstream = socket.create_connection((host, int(port)), timeout=5)
            upstream.settimeout(None)
            with self._lock:
                self._sockets.add(upstream)
                self.tunnels.append(target)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._pipe(client, upstream)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    sock.close()

    def _pipe(self, one: socket.socket, other: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(one, selectors.EVENT_READ, other)
            selector.register(other, selectors.EVENT_READ, one)
            while True:
                for key, _ in selector.select():
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            threads = list(self._threads)
        for thread in threads:
            thread.join(5)
        self._accepting.join(5)

    def __enter__(self) -> ConnectProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
