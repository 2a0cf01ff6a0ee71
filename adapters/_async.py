"""One async layer for asyncio and trio (STYLE-ANCHORS L18): their public methods,
iteration, callback dispatch, token fetches and the dialing policy, written once.

What differs between the two loops is left to each adapter, as hooks: how to
wait for a wake-up with a timeout (``_wait_event``), how to bound an awaitable
(``_within``), how to start a task (``_spawn``) and which task runs
(``_current_task``), how to resolve a name and open a socket, and how to end
its tasks on ``close()`` (``_stop``).
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from centrifugo_proto.events import OpenTransport, Subscribed, TokenRequested
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

from ._api._async import AsyncHttpClient
from ._base import Callback, ClientBase, Dialing, Pending, SubscribeOptions, SubscriptionBase
from ._base.client import connect_credentials
from ._base.signs import SignBatch
from ._base.waiters import Wakeup
from ._jitter import SharedJitter

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

__all__ = ["AsyncClient", "AsyncSubscription"]

T = TypeVar("T")
C = TypeVar("C", bound="AsyncClient[Any]")
S = TypeVar("S", bound="AsyncSubscription[Any]")
#: ``_dispatcher`` while its task is started but not yet running (no task is that).
_STARTING = object()


class AsyncSubscription(SubscriptionBase[C]):
    """A subscription of an async client: ``await sub.subscribe()``, ``async for``."""

    async def subscribe(self, timeout: float | None = None) -> Subscribed:
        """Wait until subscribed: a refusal raises ReplyError (§6.4), the caller's own
        ``unsubscribe()`` SubscriptionCancelled, the timeout CommandTimeout."""
        return await self.client._run(
            f"subscribe to {self.channel!r}", timeout, self._start_subscribe
        )

    async def unsubscribe(self) -> None:
        """Unsubscribe; nothing to end (never subscribed, or already) is a no-op."""
        self._start_unsubscribe()

    async def publish(
        self, data: Any, *, uid: str | None = None, timeout: float | None = None
    ) -> PublishResult:
        return await self.client.publish(self.channel, data, uid=uid, timeout=timeout)

    async def history(
        self,
        *,
        limit: int = 0,
        since: StreamPosition | None = None,
        reverse: bool = False,
        uid: str | None = None,
        timeout: float | None = None,
    ) -> HistoryResult:
        return await self.client.history(
            self.channel, limit=limit, since=since, reverse=reverse, uid=uid, timeout=timeout
        )

    async def presence(
        self, *, uid: str | None = None, timeout: float | None = None
    ) -> PresenceResult:
        return await self.client.presence(self.channel, uid=uid, timeout=timeout)

    async def presence_stats(self, *, timeout: float | None = None) -> PresenceStatsResult:
        return await self.client.presence_stats(self.channel, timeout=timeout)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Publication:
        if self._ready():  # a publication (or the end) waits: no second coroutine
            pub = self._take()
            if pub is None:
                raise StopAsyncIteration
            return pub
        return await self._next()

    async def _next(self, timeout: float | None = None) -> Publication:
        """The next publication; StopAsyncIteration once the client closed and the
        buffer is drained; CommandTimeout after ``timeout`` (None: no limit)."""
        while not self._ready():
            if not await self.client._wait_event(self._arm_reader(), timeout):
                raise self._no_publication(timeout)
        pub = self._take()
        if pub is None:
            raise StopAsyncIteration
        return pub


class AsyncClient(ClientBase[S]):
    """The public API of the asyncio and trio clients (only ``await`` differs from
    the blocking one)."""

    _rng_factory = SharedJitter  # backoff jitter: one source for every client
    #: The adapter's HTTP client, for the 1.x auth endpoint.
    _http_class: type[AsyncHttpClient]

    __slots__ = ("_closing", "_dispatched", "_dispatcher", "_http", "_more", "_queue")

    # -- hooks of the loop --------------------------------------------------------------

    async def _wait_event(self, wakeup: Wakeup, seconds: float | None) -> bool:
        """Wait until ``wakeup`` is set (True) or ``seconds`` pass (False; None: forever)."""
        raise NotImplementedError

    async def _within(self, seconds: float, awaitable: Awaitable[T]) -> T:
        """``await awaitable``, raising an Exception if it takes over ``seconds``."""
        raise NotImplementedError

    def _spawn(self, fn: Callable[..., Awaitable[None]], *args: Any) -> object:
        raise NotImplementedError

    def _current_task(self) -> object:
        raise NotImplementedError

    async def _resolve(self, host: str, port: int) -> list[Any]:
        """``getaddrinfo(host, port, type=SOCK_STREAM)`` (the adapter's resolver)."""
        raise NotImplementedError

    async def _open_socket(self, address: Any) -> Any:
        """A TCP socket connected to one ``getaddrinfo`` entry (the adapter's kind)."""
        raise NotImplementedError

    async def _stop(self) -> None:
        """End every task of the client but the running one; close the last socket."""
        raise NotImplementedError

    def _check_running(self) -> None:
        """Raise LocalProtocolError where the client cannot run (trio: outside ``async with``)."""

    def _setup(self) -> None:
        #: Callbacks to run, and the task that runs them (its wake-ups too), from the
        #: first callback: a client without callbacks has none (issue 12: a task and
        #: its wake-ups were a good part of an idle trio client).
        self._queue: deque[tuple[Callback, Any]] | None = None
        self._more: Wakeup | None = None
        self._dispatcher: object = None
        self._dispatched: Wakeup | None = None
        self._closing = False
        self._http: AsyncHttpClient | None = None

    # -- public API -----------------------------------------------------------------------

    async def connect(
        self,
        timeout: float | None = None,
        *,
        user: str | None = None,
        timestamp: str | int | None = None,
        token: str | None = None,
        info: str | None = None,
    ) -> Self:
        """Wait until connected: a terminal refusal raises ReplyError, the timeout
        CommandTimeout (naming the last error); the client goes on trying.

        1.x: ``connect(user=, timestamp=, token=, info=)`` connects with those
        credentials (kept for reconnects); without them, with the ones given before.
        Returns the client (the seed's ``connect`` did, for chaining)."""
        self._check_running()
        credentials = connect_credentials(user, timestamp, token, info)
        await self._run("connect", timeout, lambda: self._start_connect(credentials))
        return self

    async def disconnect(self) -> None:
        """Back to disconnected (``connect()`` may follow)."""
        self._call(lambda now: self._proto.disconnect(now=now))

    async def close(self) -> None:
        """Final: release the socket, the timer and the tasks. Callbacks for the
        last events run first (bounded by the client's timeout), unless close()
        runs inside a callback, which it then does not wait for."""
        self._start_close()
        self._closing = True
        if self._more is not None:
            self._more.set()
        dispatched = self._dispatched
        if dispatched is not None and self._current_task() is not self._dispatcher:
            await self._wait_event(dispatched, self._options.timeout)
        await self._stop()
        if self._http is not None:
            await self._http.aclose()

    async def subscribe(
        self, channel: str, *, timeout: float | None = None, **options: Unpack[SubscribeOptions]
    ) -> S:
        """``new_subscription`` (unless there is one) + ``subscribe()``: returns once subscribed."""
        sub = self._subscription_for(channel, options)
        await sub.subscribe(timeout)
        return sub

    async def unsubscribe(self, channel: str) -> None:
        await self._subscription(channel).unsubscribe()

    async def publish(
        self, channel: str, data: Any, *, uid: str | None = None, timeout: float | None = None
    ) -> PublishResult:
        """``uid`` (1.x): the command's own id, else one is made; ``result.uid``."""
        start = lambda: self._start_publish(channel, data, uid)  # noqa: E731
        return await self._run("publish", timeout, start)

    async def history(
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
        return await self._run("history", timeout, start)

    async def presence(
        self, channel: str, *, uid: str | None = None, timeout: float | None = None
    ) -> PresenceResult:
        start = lambda: self._start_presence(channel, uid)  # noqa: E731
        return await self._run("presence", timeout, start)

    async def ping(
        self, data: str = "", *, uid: str | None = None, timeout: float | None = None
    ) -> PingResult:
        """1.x only: the ``ping`` command, ``data`` echoed (LEGACY-V1.md §2.8). The
        current protocol has none (LocalProtocolError): its liveness is the server's
        pings, which the core answers."""
        return await self._run("ping", timeout, lambda: self._start_ping(data, uid))

    async def presence_stats(
        self, channel: str, *, timeout: float | None = None
    ) -> PresenceStatsResult:
        start = lambda: self._start_presence_stats(channel)  # noqa: E731
        return await self._run("presence_stats", timeout, start)

    async def rpc(
        self, method: str, data: Any = None, *, timeout: float | None = None
    ) -> RpcResult:
        return await self._run("rpc", timeout, lambda: self._start_rpc(method, data))

    async def send(self, data: Any, *, timeout: float | None = None) -> None:
        """Fire-and-forget message to the server; done once queued."""
        await self._run("send", timeout, lambda: self._start_send(data))

    # -- waiting --------------------------------------------------------------------------

    async def _run(self, what: str, timeout: float | None, start: Callable[[], Pending[T]]) -> T:
        """Start a wait and wait for it, ``timeout`` at most (None: the client's)."""
        budget = self._budget(timeout)
        pending = start()
        if not pending.done():
            try:
                arrived = await self._wait_event(pending.wakeup, budget)
            except BaseException:  # cancelled: nobody waits for it any more
                self._forget(pending)
                raise
            if not arrived:
                raise self._gave_up(pending, what, budget)
        return pending.outcome()

    # -- tasks the loop runs ----------------------------------------------------------------

    def _schedule(self, callback: Callback, event: Any) -> None:
        queue = self._queue
        if queue is None:
            queue = self._queue = deque()
            self._start_callbacks()
        queue.append((callback, event))
        if self._more is not None:
            self._more.set()

    def _start_callbacks(self) -> None:
        """The task that runs the callbacks (trio: only inside ``async with``)."""
        if self._dispatched is None:
            # close() waits for it from now on, even before it first runs.
            self._dispatched = self._new_wakeup()
            self._dispatcher = _STARTING
            self._spawn(self._run_callbacks)

    async def _run_callbacks(self) -> None:
        """Callbacks in order, in a task of their own: never on the reading path."""
        self._dispatcher = self._current_task()
        assert self._dispatched is not None  # made by _start_callbacks, with this task
        try:
            while True:
                while queue := self._queue:
                    callback, event = queue.popleft()
                    try:
                        result = callback(event)
                        if inspect.isawaitable(result):
                            await result
                    except Exception:  # a callback cannot hurt the client
                        self._log.exception("callback %r raised on %r", callback, event)
                if self._closing:
                    return
                self._more = self._new_wakeup()
                await self._wait_event(self._more, None)
        finally:
            self._dispatched.set()

    def _request_token(self, event: TokenRequested) -> None:
        self._spawn(self._fetch_token, event)

    def _request_signs(self, batch: SignBatch) -> None:
        self._spawn(self._fetch_signs, batch)

    async def _fetch_signs(self, batch: SignBatch) -> None:
        """One POST to the auth endpoint for every sign of ``batch`` (LEGACY-V1.md §6)."""
        if self._http is None:
            self._http = self._http_class(
                timeout=self._options.timeout, ssl_context=self._ssl_context
            )
        try:
            response = await self._http.post_json(batch.url, batch.body)
        except Exception as exc:  # refused, reset, timed out: every channel fails
            answers = batch.unreachable(exc)
        else:
            answers = batch.answers(response.status, response.body)
        self._answer_signs(batch, answers)

    async def _fetch_token(self, event: TokenRequested) -> None:
        """Plain or async sources alike; an async one gets the client's timeout."""
        try:
            token = self._token_source(event)()
            if inspect.isawaitable(token):
                token = await self._within(self._options.timeout, token)
        except Exception as exc:
            self._log.warning("get_token failed: %r", exc)
            self._answer_token(event, None, exc)
        else:
            self._answer_token(event, token, None)

    async def _dial(self, event: OpenTransport) -> Any:
        """Resolve ``event.host``, then every address in order, each within its share
        of the attempt's budget (``Dialing``); the last error when none connects."""
        dialing = Dialing(
            event.host,
            await self._resolve(event.host, event.port),
            self._now() + self._options.timeout,
        )
        while (step := dialing.next(self._now())) is not None:
            address, seconds = step
            try:
                return await self._within(seconds, self._open_socket(address))
            except Exception as error:  # refused, unreachable, too slow: the next one
                dialing.failed(error)
        raise dialing.error()
