"""One connection of the blocking adapter: a non-blocking socket through its
phases (dialing each address in turn, TLS, open) and the bytes it has to send.

It knows nothing of the core: ``blocking.py`` drives it from the I/O thread
and feeds the core what it reads. Every socket it opens is in the threads'
``sockets`` set until it is closed, so a finalizer can close what is left.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import ssl
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from centrifugo_proto import OpenTransport

from ._base import Dialing

if TYPE_CHECKING:
    from ._threads import Threads

__all__ = ["AGAIN", "Conn"]

R, W = selectors.EVENT_READ, selectors.EVENT_WRITE
#: Nothing to read or no room to write right now: try again on readiness.
AGAIN = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class Conn:
    """Dials the first address that takes a socket at once (else raises the
    attempt's error); ``phase`` is "connect", "tls" or "open"."""

    def __init__(
        self,
        event: OpenTransport,
        dialing: Dialing[Any],
        threads: Threads,
        open_socket: Callable[[Any], socket.socket],
    ) -> None:
        self.event, self.dialing, self._threads = event, dialing, threads
        self.out, self.phase, self.want, self.closing = bytearray(), "connect", W, False
        self.tunnel = self.start_tls = False  # TLS inside a proxy tunnel: started, asked
        self.give_up = 0.0  # when the address being dialed has had its share
        self.sock = self._dial(open_socket)

    # ``open_socket`` (the client's) is passed in, never kept: the selector holds this
    # object, and through it the client would never be collected.

    def _dial(self, open_socket: Callable[[Any], socket.socket]) -> socket.socket:
        while (step := self.dialing.next(time.monotonic())) is not None:
            address, seconds = step
            try:
                sock = open_socket(address)
            except Exception as error:  # this address takes no socket: the next one
                self.dialing.failed(error)
                continue
            self.give_up = time.monotonic() + seconds
            self._threads.sockets.add(sock)
            self._threads.selector.register(sock, W, self)
            return sock
        raise self.dialing.error()

    def next_address(
        self, error: BaseException, open_socket: Callable[[Any], socket.socket]
    ) -> None:
        """The address being dialed failed: the next one; raises when none is left."""
        self.dialing.failed(error)
        self.close()
        self.sock = self._dial(open_socket)

    def connect_error(self) -> OSError | None:
        """Why the non-blocking connect failed, once the socket is writable."""
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        return OSError(code, os.strerror(code)) if code else None

    def wrap(self, context: ssl.SSLContext) -> None:
        self._threads.sockets.discard(self.sock)
        self.sock = context.wrap_socket(
            self.sock, server_hostname=self.event.server_hostname, do_handshake_on_connect=False
        )
        self._threads.sockets.add(self.sock)
        self.phase, self.want = "tls", W

    def handshake(self) -> bool:
        """Advance the TLS handshake; True once it is done."""
        assert isinstance(self.sock, ssl.SSLSocket)
        try:
            self.sock.do_handshake()
        except ssl.SSLWantReadError:
            self.want = R
            return False
        except ssl.SSLWantWriteError:
            self.want = W
            return False
        self.phase = "open"
        return True

    def more_to_read(self) -> bool:
        """Decrypted bytes wait in the TLS layer (the selector will not say so)."""
        return isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0

    def flush(self, current: bool) -> bool:
        """Send what the socket takes; True once a closing connection is done. A
        send error raises for the ``current`` connection; for one given up on, its
        close frame was best effort."""
        if self.phase == "open":
            try:
                while self.out:
                    del self.out[: self.sock.send(self.out)]
            except AGAIN:
                pass
            except OSError:
                if current:
                    raise
                self.out.clear()
            self.want = R | W if self.out else R
        if self.closing and not (self.out and self.phase == "open"):
            return True
        if self._threads.selector.get_key(self.sock).events != self.want:
            self._threads.selector.modify(self.sock, self.want, self)
        return False

    def close(self) -> None:
        with contextlib.suppress(KeyError, ValueError):  # not registered, or closed
            self._threads.selector.unregister(self.sock)
        self._threads.sockets.discard(self.sock)
        self.sock.close()
