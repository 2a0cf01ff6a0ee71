"""One integration suite, three adapters: a synchronous facade per adapter.

Tests take the ``adapter`` fixture (parametrised: asyncio, trio, blocking) and
drive real clients through it with plain calls:

```
with adapter.connected(server.ws_url, token=...) as client:   # the adapter's own `with`
    sub = client.subscribe(channel)                            # awaited in the adapter's home
    client.publish(channel, {"n": 1})
    (pub,) = sub.take(1)
```
A :class:`Proxy` runs every attribute read and call in the adapter's home (the
asyncio loop thread, the trio thread, or the caller's thread for the blocking
adapter) and waits for awaitables there. Callbacks run where the adapter runs
them; :class:`Events` collects them through a thread-safe queue.
``adapter.handler(fn)`` and ``adapter.sleeper(s)`` make callbacks in the
adapter's style (coroutines for the async adapters).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import itertools
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
import trio

from centrifugo_proto import connection_token
from centrifugo_proto.adapters import asyncio as asyncio_adapter
from centrifugo_proto.adapters import blocking as blocking_adapter
from centrifugo_proto.adapters import trio as trio_adapter
from harness import CentrifugoServer

T = TypeVar("T")
TIMEOUT = 10.0
CALL_BOUND = 60.0  # no single call of a test may take longer
ADAPTERS = ("asyncio", "trio", "blocking")
_counter = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}-{uuid.uuid4().hex[:8]}"


def token_for(server: CentrifugoServer, user: str, **claims: Any) -> str:
    return connection_token(server.hmac_secret, user, exp=int(time.time()) + 3600, **claims)


def call_api(server: CentrifugoServer, method: str, params: dict[str, Any]) -> dict[str, Any]:
    reply = server.api(method, params)
    assert "error" not in reply, reply
    return reply


class Events:
    """Collects a client's (or subscription's) callback events in order, from any thread."""

    def __init__(self, target: Any, *names: str) -> None:
        self.events: queue.Queue[Any] = queue.Queue()
        for name in names:
            target.on(name, self.events.put)

    def next(self, kind: type[T], timeout: float = TIMEOUT) -> T:
        """The next event of ``kind``; others before it are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            if isinstance(event, kind):
                return event

    def empty(self) -> bool:
        return self.events.empty()


class Proxy:
    """A client or subscription of any adapter, driven with plain calls."""

    def __init__(self, runner: Runner, target: Any) -> None:
        object.__setattr__(self, "_runner", runner)
        object.__setattr__(self, "real", target)

    def __getattr__(self, name: str) -> Any:
        runner, value = self._runner, self._runner.call(getattr, self.real, name)
        if inspect.ismethod(value):
            return lambda *args, **kwargs: runner.wrap(runner.call(value, *args, **kwargs))
        return runner.wrap(value)

    def take(self, count: int, timeout: float = TIMEOUT) -> list[Any]:
        """The next ``count`` publications of this subscription (``for``/``async for``)."""
        return [self._runner.next(self.real, timeout) for _ in range(count)]


class Runner:
    kind: str
    module: Any

    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="test-bg")

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` in the adapter's home, awaited there if awaitable."""
        raise NotImplementedError

    def next(self, sub: Any, timeout: float) -> Any:
        raise NotImplementedError

    def _create(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(self.module.Client, *args, **kwargs)

    def wrap(self, value: Any) -> Any:
        if isinstance(value, self.module.Client | self.module.Subscription):
            return Proxy(self, value)
        return value

    def client(self, *args: Any, **kwargs: Any) -> Proxy:
        """A client, not connected (close it)."""
        return Proxy(self, self._create(*args, **kwargs))

    @contextlib.contextmanager
    def connected(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """``with``/``async with Client(...)``: connected inside, closed after."""
        client = self._create(*args, **kwargs)
        self.call(client.__aenter__)
        try:
            yield Proxy(self, client)
        finally:
            self.call(client.__aexit__, None, None, None)

    def background(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Start a (blocking) call and return its future."""
        return self._pool.submit(fn, *args, **kwargs)

    def handler(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """A callback in the adapter's style calling ``fn(event)`` (awaiting what it returns)."""

        async def callback(event: Any) -> None:
            result = fn(event)
            if inspect.isawaitable(result):
                await result

        return callback

    def sleeper(self, seconds: float) -> Callable[[Any], Any]:
        raise NotImplementedError

    def stop(self) -> None:
        self._pool.shutdown(wait=True)


class AsyncioRunner(Runner):
    kind, module = "asyncio", asyncio_adapter

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-asyncio")
        self.thread.start()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        async def run() -> Any:
            result = fn(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        bounded = asyncio.wait_for(run(), CALL_BOUND)
        return asyncio.run_coroutine_threadsafe(bounded, self.loop).result()

    def next(self, sub: Any, timeout: float) -> Any:
        return self.call(lambda: asyncio.wait_for(sub._next(), timeout))

    def sleeper(self, seconds: float) -> Callable[[Any], Any]:
        async def sleep(event: Any) -> None:
            await asyncio.sleep(seconds)

        return sleep

    def stop(self) -> None:
        super().stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class TrioRunner(Runner):
    kind, module = "trio", trio_adapter

    def __init__(self) -> None:
        super().__init__()
        started = threading.Event()
        self.stop_event: trio.Event | None = None

        async def main() -> None:
            self.token = trio.lowlevel.current_trio_token()
            self.stop_event = trio.Event()
            async with trio.open_nursery() as self.nursery:
                started.set()
                await self.stop_event.wait()
                self.nursery.cancel_scope.cancel()

        self.thread = threading.Thread(target=trio.run, args=(main,), name="test-trio")
        self.thread.start()
        started.wait()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        async def run() -> Any:
            with trio.fail_after(CALL_BOUND):
                result = fn(*args, **kwargs)
                return await result if inspect.isawaitable(result) else result

        return trio.from_thread.run(run, trio_token=self.token)

    def next(self, sub: Any, timeout: float) -> Any:
        async def bounded() -> Any:
            with trio.fail_after(timeout):
                return await sub._next()

        return self.call(bounded)

    def _create(self, *args: Any, **kwargs: Any) -> Any:
        """The trio client lives in a task of its own that holds its nursery."""
        client = self.call(self.module.Client, *args, **kwargs)

        async def host(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
            async with client._running():
                task_status.started()
                await trio.sleep_forever()

        self.call(self.nursery.start, host)
        return client

    @contextlib.contextmanager
    def connected(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """``async with Client(...)`` in a host task (a nursery stays in its task)."""
        client = self.call(self.module.Client, *args, **kwargs)
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        async def host(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
            started = False
            try:
                async with client:
                    task_status.started()
                    started = True
                    await trio.sleep_forever()
            except Exception as exc:
                if not started:
                    raise  # nursery.start() raises it: the `with` fails as it should
                done.set_exception(exc)
                return
            done.set_result(None)

        self.call(self.nursery.start, host)
        try:
            yield Proxy(self, client)
        finally:
            self.call(client.close)
            done.result(CALL_BOUND)

    def sleeper(self, seconds: float) -> Callable[[Any], Any]:
        async def sleep(event: Any) -> None:
            await trio.sleep(seconds)

        return sleep

    def stop(self) -> None:
        super().stop()
        assert self.stop_event is not None
        trio.from_thread.run_sync(self.stop_event.set, trio_token=self.token)
        self.thread.join()


class BlockingRunner(Runner):
    kind, module = "blocking", blocking_adapter

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    def next(self, sub: Any, timeout: float) -> Any:
        return sub._next(timeout)

    @contextlib.contextmanager
    def connected(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with self.module.Client(*args, **kwargs) as client:
            yield Proxy(self, client)

    def handler(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return fn

    def sleeper(self, seconds: float) -> Callable[[Any], Any]:
        def sleep(event: Any) -> None:
            time.sleep(seconds)

        return sleep


RUNNERS: dict[str, type[Runner]] = {
    "asyncio": AsyncioRunner,
    "trio": TrioRunner,
    "blocking": BlockingRunner,
}


@pytest.fixture(params=ADAPTERS)
def adapter(request: pytest.FixtureRequest) -> Iterator[Runner]:
    """The same test, once per adapter (asyncio, trio, blocking)."""
    runner = RUNNERS[request.param]()
    try:
        yield runner
    finally:
        runner.stop()


def on_every_adapter(scenario: Callable[[Runner], T]) -> dict[str, T]:
    """Run ``scenario(runner)`` for asyncio, trio and blocking **at the same time**,
    each in a thread of its own (a long scenario costs its length once, not three
    times); raise if any of them failed, naming which."""
    runners = {name: RUNNERS[name]() for name in ADAPTERS}
    try:
        with concurrent.futures.ThreadPoolExecutor(len(runners)) as pool:
            futures = {name: pool.submit(scenario, runner) for name, runner in runners.items()}
            concurrent.futures.wait(futures.values())
    finally:
        for runner in runners.values():
            runner.stop()
    failed = {name: f.exception() for name, f in futures.items() if f.exception() is not None}
    if failed:
        name, error = next(iter(failed.items()))
        raise AssertionError(f"failed on {sorted(failed)}; {name}: {error!r}") from error
    return {name: future.result() for name, future in futures.items()}
