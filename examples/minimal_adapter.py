"""A complete minimal adapter: the sans-I/O core on a blocking selectors loop.

The worked example of docs/integrating.md: it connects, subscribes, publishes three
messages, prints each publication it receives and closes. Environment:
CENTRIFUGO_WS_URL and CENTRIFUGO_HMAC_SECRET, as for examples/quickstart.py.
"""

from __future__ import annotations

import os
import selectors
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

import centrifugo_proto as cp

CHANNEL, COUNT = "chat:minimal", 3
TLS = ssl.create_default_context()  # verifies certificates (wss://)


class SelectorLoop:
    """Owns the socket and the timer; the core owns everything else."""

    def __init__(self, proto: cp.ClientProtocol, handle: Callable[[cp.Event], None]) -> None:
        self.proto, self.handle = proto, handle
        self.selector = selectors.DefaultSelector()
        self.sock: socket.socket | None = None

    def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Every call into the core: with ``now``, then flush and drain."""
        method(*args, now=time.monotonic(), **kwargs)
        self.pump()

    def pump(self) -> None:
        """Flush, then act on each event: effects here, the rest to ``handle``."""
        while True:
            self.flush()
            event = self.proto.next_event()
            if event is None:
                return
            if isinstance(event, cp.OpenTransport):
                self.open(event)
            elif isinstance(event, cp.StartTls):  # only through a proxy: TLS inside the tunnel
                assert self.sock is not None
                self.sock = TLS.wrap_socket(self.sock, server_hostname=event.endpoint.host)
                self.proto.tls_started(now=time.monotonic())
            elif isinstance(event, cp.CloseTransport):
                self.drop()
            elif isinstance(event, cp.TokenRequested):
                self.answer(event)
            else:
                self.handle(event)

    def answer(self, event: cp.TokenRequested) -> None:
        """Override to fetch tokens: ``provide_token(event, token, now=...)``, or
        ``token_failed(event, now=...)`` to retry later. None here: refused for good."""
        self.proto.token_failed(event, unauthorized=True, now=time.monotonic())

    def fail(self, reason: str) -> None:
        self.drop()
        self.proto.transport_failed(reason, now=time.monotonic())

    def flush(self) -> None:
        data = self.proto.data_to_send()
        if data and self.sock is not None:
            try:
                self.sock.sendall(data)
            except OSError as exc:
                self.fail(f"write failed: {exc}")

    def open(self, event: cp.OpenTransport) -> None:
        try:  # blocking connect: fine for a sketch; a real adapter dials asynchronously
            sock = socket.create_connection((event.host, event.port), timeout=5)
            if event.tls:
                sock = TLS.wrap_socket(sock, server_hostname=event.server_hostname)
        except OSError as exc:
            return self.fail(f"connect failed: {exc}")
        self.sock = sock
        self.selector.register(sock, selectors.EVENT_READ)
        self.proto.transport_opened(now=time.monotonic())

    def drop(self) -> None:
        if self.sock is not None:
            self.selector.unregister(self.sock)
            self.sock.close()
            self.sock = None

    def run(self) -> None:
        """While connecting or connected: wait for bytes or the deadline, feed the core."""
        while self.proto.state in (cp.ClientState.CONNECTING, cp.ClientState.CONNECTED):
            deadline = self.proto.next_deadline()
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if (sock := self.sock) is None:  # between two attempts: only the timer
                time.sleep(0.05 if wait is None else wait)
            elif (isinstance(sock, ssl.SSLSocket) and sock.pending()) or self.selector.select(wait):
                self.read(sock)  # (TLS may hold decrypted bytes that select cannot see)
            if (due := self.proto.next_deadline()) is not None and time.monotonic() >= due:
                self.call(self.proto.handle_timeout)

    def read(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except OSError as exc:
            self.fail(f"read failed: {exc}")
            return self.pump()
        if data:
            self.call(self.proto.receive_data, data)
        else:  # the peer closed its side
            self.drop()
            self.call(self.proto.receive_eof)


def main() -> None:
    url = os.environ.get("CENTRIFUGO_WS_URL", "ws://127.0.0.1:8000/connection/websocket")
    secret = os.environ.get("CENTRIFUGO_HMAC_SECRET", "test-hmac-secret")
    jwt = cp.connection_token(secret, "minimal", exp=int(time.time()) + 600)
    proto = cp.ClientProtocol(url, token=jwt, name="minimal-adapter")
    received = 0

    def handle(event: cp.Event) -> None:
        nonlocal received
        if isinstance(event, cp.Connected):
            print(f"connected as client {event.client_id}")
        elif isinstance(event, cp.Subscribed):
            print(f"subscribed to {event.channel}")
            # A handler's calls need no pump: the one that called it goes on.
            for n in range(1, COUNT + 1):  # each returns a handle; replies come as events
                proto.publish(CHANNEL, {"n": n}, now=time.monotonic())
        elif isinstance(event, cp.PublicationReceived):
            pub = event.publication
            print(f"publication #{pub.offset} in {pub.channel}: {pub.data}")
            received += 1
            if received == COUNT:
                proto.close(now=time.monotonic())
        elif isinstance(event, cp.CommandFailed | cp.ErrorOccurred):
            print(f"trouble: {event.error!r}")

    loop = SelectorLoop(proto, handle)
    loop.call(proto.connect)
    loop.call(proto.subscribe, CHANNEL)  # waits in the core for the connect reply
    loop.run()
    print("closed")


if __name__ == "__main__":
    main()
