"""The blocking adapter's threads and what they share, started by ``connect()``
(``Client(...)`` starts nothing) and ended by ``close()`` or, for a client
nobody closed, by its finalizer.

The thread bodies hold the client through a weak reference, and only while
they work, never while they wait (in ``select``, on a queue): so a client that
is no longer referenced is collected, its ``weakref.finalize`` runs
:meth:`Threads.release`, and the I/O thread closes every socket on its way out.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import queue
import selectors
import socket
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._base.signs import SignBatch
from ._base.tokens import not_awaitable
from ._base.waiters import Wakeup

if TYPE_CHECKING:
    from .blocking import Client

__all__ = ["END", "Threads"]

#: Ends a queue's thread.
END: Any = object()
#: The longest the I/O thread waits for a reader that fell behind, per turn: long
#: enough for the reader to get the GIL and the client's lock, short enough that a
#: reader that crawls never delays a pong (the server waits seconds, PROTOCOL.md §4)
#: and a stopped one (``READER_IDLE``) costs a flood little.
READER_PAUSE = 0.02


class Threads:
    """What the threads and the finalizer hold (never the client): the queues, and
    from ``start()`` on the selector, the wake-up pair and the sockets."""

    def __init__(self) -> None:
        self.callbacks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.tokens: queue.SimpleQueue[Any] = queue.SimpleQueue()
        #: Every thread started, the I/O thread first (``close()`` joins them).
        self.threads: list[threading.Thread] = []
        self._dispatching = self._fetching = False
        self.sockets: set[socket.socket] = set()
        self.stopping = self.closed = False
        #: Set by a reader that was behind and took its buffer down (``_reader_caught_up``).
        self.caught_up = threading.Event()
        #: Readers the I/O thread delivered to this turn, woken when the turn ends: a
        #: reader woken at once would wait for the client's lock and the GIL, both
        #: still held, and hand each back (two futex calls fewer per publication when
        #: they come one per frame, strace).
        self.readers_to_wake: list[Wakeup] = []
        self._lock = threading.Lock()

    def start(self, client: Client) -> None:
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = socket.socketpair()
        for end in (self.wake_r, self.wake_w):
            end.setblocking(False)
        self.selector.register(self.wake_r, selectors.EVENT_READ)
        self.ref, self._log = weakref.ref(client), client._log
        self._start("centrifugo-io", _io_thread, self.ref, self)
        if not self.tokens.empty():  # asked for before the threads ran
            self.start_tokens()

    def start_callbacks(self) -> None:
        """The dispatcher thread, on the first callback to run: a client nobody gave a
        callback never has one (a thread costs about 16 KiB of resident memory)."""
        with self._lock:
            if self._dispatching or not self.threads or self.stopping:
                return
            self._dispatching = True
            self._start("centrifugo-callbacks", _dispatch, self.callbacks, self._log)

    def start_tokens(self) -> None:
        """The token thread, on the first token request (most clients never need it)."""
        with self._lock:
            if self._fetching or not self.threads or self.stopping:
                return
            self._fetching = True
            self._start("centrifugo-tokens", _fetch_tokens, self.ref, self.tokens)

    def _start(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    @property
    def io_thread(self) -> threading.Thread | None:
        return self.threads[0] if self.threads else None

    def wake_readers(self) -> None:
        if self.readers_to_wake:
            readers, self.readers_to_wake = self.readers_to_wake, []
            for wakeup in readers:
                wakeup.set()

    def wake(self) -> None:
        if self.threads and threading.current_thread() is not self.threads[0]:
            with contextlib.suppress(OSError):  # full (a wake-up is pending) or closed
                self.wake_w.send(b"\0")

    def release(self) -> None:
        """Stop every thread; the I/O thread closes the sockets (here if it is gone)."""
        self.stopping = True
        self.caught_up.set()
        self.callbacks.put(END)
        self.tokens.put(END)
        self.wake()
        if not (self.threads and self.threads[0].is_alive()):
            self.close()

    def close(self) -> None:
        with self._lock:
            if self.closed or not self.threads:
                return
            self.closed = True
        for sock in [*self.sockets, self.wake_r, self.wake_w]:
            sock.close()
        self.selector.close()


def _io_thread(ref: weakref.ref[Client], shared: Threads) -> None:
    """Each turn takes the client, works, and lets it go before it waits."""
    while (client := ref()) is not None and not shared.stopping:
        timeout = client._io_prepare()
        del client
        shared.wake_readers()  # before the wait: what the preparing delivered, if anything
        ready = shared.selector.select(timeout)
        behind = (client := ref()) is not None and client._io_ready(ready)
        del client
        if behind:
            # A reader fell behind: this thread, which always has more to read under
            # a flood, would keep the GIL and the client's lock from it; a moment
            # off both lets it take (the blocking adapter only: asyncio and trio read
            # and deliver on one thread).
            shared.caught_up.wait(READER_PAUSE)
    if (client := ref()) is not None:
        client._io_finish()
    del client
    shared.close()


def _dispatch(callbacks: queue.SimpleQueue[Any], log: logging.Logger) -> None:
    while (item := callbacks.get()) is not END:
        callback, event = item
        try:
            result = callback(event)
            if inspect.isawaitable(result):  # nothing here awaits it: say so, once
                not_awaitable(result, f"callback {callback!r}")
        except Exception:  # a callback cannot hurt the client
            log.exception("callback %r raised on %r", callback, event)


def _fetch_tokens(ref: weakref.ref[Client], tokens: queue.SimpleQueue[Any]) -> None:
    while (event := tokens.get()) is not END and (client := ref()) is not None:
        try:
            if isinstance(event, SignBatch):  # 1.x signs, for the auth endpoint
                client._fetch_signs_now(event)
            else:
                client._fetch_token_now(event)
        except Exception:  # answering the core broke: its bug; the next fetch goes on
            client._log.exception("answering %r failed", event)
        del client
