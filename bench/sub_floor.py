"""The floor rows: what reading the same stream costs with no client library at all.

    python bench/sub_floor.py '{"url": ..., "channel": ..., "mode": "count", "n": ...,
                                "adapter": "" | "asyncio" | "trio"}'

One socket (blocking, or read by an asyncio ``Protocol``, or by a trio stream: the
event loop's own cost per wake-up, which every asyncio or trio client pays too), a
hand-written WebSocket handshake, ``connect`` and ``subscribe`` sent together, then
``recv`` -> a frame parser that knows only final, unmasked, unfragmented frames ->
``json.loads`` per line -> the offset of each publication. No validation, no events,
no buffering, no timers: it is not a client, it is the cost of the socket reads and
the JSON parse that any Python client pays, so the distance of every Python row to
the floor of its own loop is the library's own cost. The server's pings
(``{}``) are answered, as the connect reply asks (PROTOCOL.md section 4).
"""

from __future__ import annotations

import base64
import json
import os
import socket
from typing import Any
from urllib.parse import urlsplit

from common import Spec, Tally


def masked_text(payload: bytes) -> bytes:
    """A client text frame (RFC 6455 section 5.3: client frames are masked)."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = bytes([0x81, 0x80 | length])
    else:
        head = bytes([0x81, 0x80 | 126]) + length.to_bytes(2, "big")
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


def open_socket(spec: Spec) -> tuple[socket.socket, bytes]:
    parts = urlsplit(spec.url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("the server closed during the handshake")
        head += chunk
    status, _, rest = head.partition(b"\r\n\r\n")
    if not status.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"handshake refused: {status!r}")
    commands = {"id": 1, "connect": {}}, {"id": 2, "subscribe": {"channel": spec.channel}}
    sock.sendall(masked_text("\n".join(json.dumps(c) for c in commands).encode()))
    return sock, rest


class Reader:
    """The frame parser and the bookkeeping, fed whatever the socket gave."""

    def __init__(self, spec: Spec, send: Any, buffer: bytes) -> None:
        self.spec, self.send, self.buffer = spec, send, buffer
        self.tally = Tally(spec.n)
        self.latency = spec.mode == "latency"
        self.subscribed = False

    def feed(self, data: bytes) -> bool:
        """Parse what is complete; True once the last publication has come."""
        if not data:
            raise SystemExit("the server closed the connection")
        buffer = self.buffer + data if self.buffer else data
        loads, tally = json.loads, self.tally
        pos, end = 0, len(buffer)
        while pos + 2 <= end:
            length = buffer[pos + 1] & 0x7F
            head = 2
            if length == 126:
                length, head = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                length, head = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), 10
            if pos + head + length > end:
                break
            text = buffer[pos + head : pos + head + length].decode()
            pos += head + length
            for line in text.split("\n"):
                reply = loads(line)
                push = reply.get("push")
                if push is not None:
                    pub = push.get("pub")
                    if pub is not None:
                        if self.latency:
                            tally.stamp(int(pub["data"]["t"]))
                        if tally.seen(pub.get("offset", 0)):
                            tally.finish()
                            return True
                elif not reply:  # a server ping: pong (PROTOCOL.md section 4)
                    self.send(masked_text(b"{}"))
                elif reply.get("id") == 2 and not self.subscribed:
                    if "error" in reply:
                        raise SystemExit(f"subscribe refused: {reply}")
                    self.subscribed = True
                    tally.ready(self.spec)
        self.buffer = buffer[pos:]
        return False


def read_blocking(spec: Spec, sock: socket.socket, rest: bytes) -> None:
    reader = Reader(spec, sock.sendall, rest)
    feed, recv = reader.feed, sock.recv
    while not feed(recv(65536)):
        pass


def read_asyncio(spec: Spec, sock: socket.socket, rest: bytes) -> None:
    import asyncio

    class FloorProtocol(asyncio.Protocol):
        def __init__(self, done: asyncio.Future[None]) -> None:
            self.done = done

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.reader = Reader(spec, transport.write, rest)

        def data_received(self, data: bytes) -> None:
            if self.reader.feed(data) and not self.done.done():
                self.done.set_result(None)

        def connection_lost(self, exc: Exception | None) -> None:
            if not self.done.done():
                self.done.set_exception(SystemExit("the server closed the connection"))

    async def run() -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        transport, _ = await loop.create_connection(lambda: FloorProtocol(done), sock=sock)
        try:
            await done
        finally:
            transport.close()

    asyncio.run(run())


def read_trio(spec: Spec, sock: socket.socket, rest: bytes) -> None:
    import trio

    async def run() -> None:
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(sock))
        pongs: list[bytes] = []
        reader = Reader(spec, pongs.append, rest)
        while True:
            done = reader.feed(await stream.receive_some(65536))
            while pongs:
                await stream.send_all(pongs.pop(0))
            if done:
                return

    trio.run(run)


def main() -> None:
    spec = Spec.from_argv()
    sock, rest = open_socket(spec)
    {"": read_blocking, "asyncio": read_asyncio, "trio": read_trio}[spec.adapter](spec, sock, rest)


if __name__ == "__main__":
    main()
