"""The blocking adapter's public API: the async layer's methods without ``await``.

Every call blocks until done, at most its ``timeout=`` (None: the client's
``options.timeout``; 0: no time at all), and raises ``CommandTimeout`` when it
runs out. The waits are :class:`ThreadWakeup` waits; iteration holds the
client's lock while it takes from the buffer the I/O thread fills.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from centrifugo_proto.events import Subscribed
from centrifugo_proto.results import (
    HistoryResult,
    PingResult,
    PresenceResult,
    PresenceStatsResult,
    Publication,
    PublishResult,
    RpcResult,
    StreamPosition,
)

from ._api.blocking import HttpClient
from ._base import ClientBase, Pending, SubscribeOptions, SubscriptionBase
from ._base.client import connect_credentials
from ._base.signs import SignBatch
from ._base.waiters import Wakeup
from ._jitter import SharedJitter

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

__all__ = ["SyncClient", "SyncSubscription", "ThreadWakeup"]

T = TypeVar("T")
C = TypeVar("C", bound="SyncClient[Any]")


class ThreadWakeup:
    """``threading.Event``'s contract for one wait, set once, on a bare lock.

    The lock is made held and released by ``set()``; a waiter acquires it and
    hands it straight back, so every waiter, then and later, goes through. An
    Event is a Condition: Python code that makes a lock per wait and walks a
    deque of waiters on every set, and under a paced stream (one publication per
    wake-up) that was a good part of the blocking reader's cost per publication.
    """

    __slots__ = ("_lock", "_set")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        # Two set() calls racing may both get here: the second finds the lock free.
        with contextlib.suppress(RuntimeError):
            self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        """True once set; False if ``timeout`` seconds passed first (None: no limit)."""
        if self._set:
            return True
        if timeout is None:
            acquired = self._lock.acquire()
        else:  # acquire refuses negative and over-long timeouts
            acquired = self._lock.acquire(True, min(max(timeout, 0.0), threading.TIMEOUT_MAX))
        if acquired:  # hand it back for the next waiter (a racing set() may have)
            with contextlib.suppress(RuntimeError):
                self._lock.release()
        return self._set


S = TypeVar("S", bound="SyncSubscription[Any]")


class SyncSubscription(SubscriptionBase[C]):
    """``sub.subscribe()``, ``for pub in sub``, ``sub.on(name, callback)``."""

    def subscribe(self, timeout: float | None = None) -> Subscribed:
        """Block until subscribed: a refusal raises ReplyError (§6.4), the caller's own
        ``unsubscribe()`` SubscriptionCancelled, the timeout CommandTimeout."""
        return self.client._run(f"subscribe to {self.channel!r}", timeout, self._start_subscribe)

    def unsubscribe(self) -> None:
        """Unsubscribe; nothing to end (never subscribed, or already) is a no-op."""
        self._start_unsubscribe()

    def publish(
        self, data: Any, *, uid: str | None = None, timeout: float | None = None
    ) -> PublishResult:
        return self.client.publish(self.channel, data, uid=uid, timeout=timeout)

    def history(
        self,
        *,
        limit: int = 0,
        since: StreamPosition | None = None,
        reverse: bool = False,
        uid: str | None = None,
        timeout: float | None = None,
    ) -> HistoryResult:
        return self.client.history(
            self.channel, limit=limit, since=since, reverse=reverse, uid=uid, timeout=timeout
        )

    def presence(self, *, uid: str | None = None, timeout: float | None = None) -> PresenceResult:
        return self.client.presence(self.channel, uid=uid, timeout=timeout)

    def presence_stats(self, *, timeout: float | None = None) -> PresenceStatsResult:
        return self.client.presence_stats(self.channel, timeout=timeout)

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> Publication:
        return self._next()

    def _next(self, timeout: float | None = None) -> Publication:
        """The next publication; StopIteration once the client closed and the buffer
        is drained; CommandTimeout after ``timeout`` (None: no limit)."""
        client = self.client
        while True:
            with client._lock:  # the I/O thread fills the buffer under it
                if self._ready():
                    pub = self._take()
                    break
                wakeup = self._arm_reader()
            if not client._wait_event(wakeup, timeout):
                raise self._no_publication(timeout)
        if pub is None:
            raise StopIteration
        return pub


class SyncClient(ClientBase[S]):
    """The public API of the blocking client."""

    _rng_factory = SharedJitter  # backoff jitter: one source for every client
    _lock_factory = threading.RLock
    #: The HTTP client of the 1.x auth endpoint, made on the first sign request.
    _http: HttpClient | None

    def _start_threads(self) -> None:
        """Start what runs the client (on ``connect()``, not at construction)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _new_wakeup(self) -> Wakeup:
        return ThreadWakeup()

    def _wait_event(self, wakeup: Wakeup, seconds: float | None) -> bool:
        assert isinstance(wakeup, ThreadWakeup)
        return wakeup.wait(seconds)

    def __enter__(self) -> Self:
        try:
            self.connect()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def connect(
        self,
        timeout: float | None = None,
        *,
        user: str | None = None,
        timestamp: str | int | None = None,
        token: str | None = None,
        info: str | None = None,
    ) -> Self:
        """Block until connected: a terminal refusal raises ReplyError, the timeout
        CommandTimeout (naming the last error); the client goes on trying.

        1.x: ``connect(user=, timestamp=, token=, info=)`` connects with those
        credentials (kept for reconnects); without them, with the ones given before.
        Returns the client (the seed's ``connect`` did, for chaining)."""
        credentials = connect_credentials(user, timestamp, token, info)
        self._start_threads()
        self._run("connect", timeout, lambda: self._start_connect(credentials))
        return self

    def disconnect(self) -> None:
        """Back to disconnected (``connect()`` may follow)."""
        self._call(lambda now: self._proto.disconnect(now=now))

    def subscribe(
        self, channel: str, *, timeout: float | None = None, **options: Unpack[SubscribeOptions]
    ) -> S:
        """``new_subscription`` (unless there is one) + ``subscribe()``: returns once subscribed."""
        sub = self._subscription_for(channel, options)
        sub.subscribe(timeout)
        return sub

    def unsubscribe(self, channel: str) -> None:
        self._subscription(channel).unsubscribe()

    def publish(
        self, channel: str, data: Any, *, uid: str | None = None, timeout: float | None = None
    ) -> PublishResult:
        """``uid`` (1.x): the command's own id, else one is made; ``result.uid``."""
        return self._run("publish", timeout, lambda: self._start_publish(channel, data, uid))

    def history(
        self,
        channel: str,
        *,
        limit: int = 0,
        since: StreamPosition | None = None,
        reverse: bool = False,
        uid: str | None = None,
        timeout: float | None = None,
    ) -> HistoryResult:
        """``limit`` 0 gives only the stream's top position, -1 everything (1.x:
        the whole history, oldest first, and no limit)."""
        start = lambda: self._start_history(channel, limit, since, reverse, uid)  # noqa: E731
        return self._run("history", timeout, start)

    def presence(
        self, channel: str, *, uid: str | None = None, timeout: float | None = None
    ) -> PresenceResult:
        return self._run("presence", timeout, lambda: self._start_presence(channel, uid))

    def ping(
        self, data: str = "", *, uid: str | None = None, timeout: float | None = None
    ) -> PingResult:
        """1.x only: the ``ping`` command, ``data`` echoed (LEGACY-V1.md §2.8). The
        current protocol has none (LocalProtocolError): its liveness is the server's
        pings, which the core answers."""
        return self._run("ping", timeout, lambda: self._start_ping(data, uid))

    def _fetch_signs_now(self, batch: SignBatch) -> None:
        """One POST to the auth endpoint for every sign of ``batch`` (LEGACY-V1.md §6),
        on the token thread."""
        if self._http is None:
            self._http = HttpClient(timeout=self._options.timeout, ssl_context=self._ssl_context)
        try:
            response = self._http.post_json(batch.url, batch.body)
        except Exception as exc:  # refused, reset, timed out: every channel fails
            answers = batch.unreachable(exc)
        else:
            answers = batch.answers(response.status, response.body)
        self._answer_signs(batch, answers)

    def presence_stats(self, channel: str, *, timeout: float | None = None) -> PresenceStatsResult:
        return self._run("presence_stats", timeout, lambda: self._start_presence_stats(channel))

    def rpc(self, method: str, data: Any = None, *, timeout: float | None = None) -> RpcResult:
        return self._run("rpc", timeout, lambda: self._start_rpc(method, data))

    def send(self, data: Any, *, timeout: float | None = None) -> None:
        """Fire-and-forget message to the server; done once queued."""
        self._run("send", timeout, lambda: self._start_send(data))

    def _run(self, what: str, timeout: float | None, start: Callable[[], Pending[T]]) -> T:
        """Start a wait and block for it, ``timeout`` at most (None: the client's)."""
        budget = self._budget(timeout)
        pending = start()
        if not pending.done() and not self._wait_event(pending.wakeup, budget):
            raise self._gave_up(pending, what, budget)
        return pending.outcome()
