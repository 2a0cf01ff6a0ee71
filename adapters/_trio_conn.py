"""One connection of the trio adapter: its cancel scope, its send buffer and the
writer's wake-up, and the socket and TLS mechanics that open it.

It knows nothing of the core: ``trio.py`` runs its tasks and feeds the core
what they read, as ``_conn.py`` does for the blocking adapter.
"""

from __future__ import annotations

import ssl
from typing import Any

import trio

from centrifugo_proto import StartTls

__all__ = ["TrioConn", "open_socket", "start_tls"]


class TrioConn:
    """One socket: its scope (cancelled to drop it), its send buffer and writer wake-up."""

    def __init__(self) -> None:
        self.scope, self.out = trio.CancelScope(), bytearray()
        self.stream: trio.abc.Stream | None = None
        self.wake, self.done, self.closing = trio.Event(), trio.Event(), False
        self.upgrade: StartTls | None = None  # TLS to start inside the proxy tunnel


async def open_socket(address: Any) -> trio.socket.SocketType:
    """A socket connected to one ``getaddrinfo`` address; closed if that fails."""
    family, kind, proto, _, sockaddr = address
    sock = trio.socket.socket(family, kind, proto)
    try:
        await sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


async def start_tls(
    stream: trio.abc.Stream, context: ssl.SSLContext, hostname: str | None
) -> trio.SSLStream[trio.abc.Stream]:
    """TLS over ``stream``, handshake done: a certificate error shows here, not on the
    first read. Whatever fails closes ``stream``. For ``wss://`` and for TLS inside a
    proxy's tunnel alike."""
    try:
        tls = trio.SSLStream(stream, context, server_hostname=hostname)
        await tls.do_handshake()
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    return tls
