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
``adapter.handler(fn)``, ``adapter.sleeper(s)`` and ``adapter.waiting(event, seen)``
make callbacks in the adapter's style (coroutines for the async adapters);
``adapter.flaky(...)`` makes a method raise once, in the style of the method it
replaces; ``adapter.leftovers(client)`` says what of a closed client still runs.

Every such test runs once per codec too (the ``codec`` fixture, crossed with
``adapter``: JSON and Protobuf): every ``Client(...)`` a runner builds gets
``codec=adapter.codec`` unless the test names one. Payloads are JSON values in
JSON mode and bytes in Protobuf mode, so a test writes values once and goes
through ``adapter.payload(value)`` (what to publish) and ``adapter.value(data)``
(what arrived, as a value: Protobuf payloads are the JSON text of the value,
which is also what the server HTTP API publishes as ``data``). A module whose
tests concern one codec only overrides the ``codec`` fixture, with its reason.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import itertools
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import pytest
import trio
import trio.testing

from centrifugo_proto import connection_token
from centrifugo_proto.adapters import asyncio as asyncio_adapter
from centrifugo_proto.adapters import blocking as blocking_adapter
from centrifugo_proto.adapters import trio as trio_adapter
from harness import CentrifugoServer

T = TypeVar("T")
TIMEOUT = 10.0
CALL_BOUND = 60.0  # no single call of a test may take longer
ADAPTERS = ("asyncio", "trio", "blocking")
CODECS = ("json", "protobuf")
#: How many scenarios ``on_every_adapter`` runs at once (every adapter, every codec).
EVERY = len(ADAPTERS) * len(CODECS)
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


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


def _from_json_bytes(data: Any) -> Any:
    assert isinstance(data, bytes), f"a Protobuf payload is bytes, not {type(data).__name__}"
    return json.loads(data)


def _same(value: Any) -> Any:
    assert not isinstance(value, bytes), "a JSON payload is a JSON value, not bytes"
    return value


#: Per codec: (a JSON value to the payload the client takes, a payload to its value).
PAYLOADS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "json": (_same, _same),
    "protobuf": (_json_bytes, _from_json_bytes),
}


class Runner:
    kind: str
    module: Any
    #: The codec of every client this runner builds (set by the ``adapter`` fixture).
    codec: str = "json"

    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="test-bg")

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` in the adapter's home, awaited there if awaitable."""
        raise NotImplementedError

    def next(self, sub: Any, timeout: float) -> Any:
        """The next publication of ``sub`` (``CommandTimeout`` after ``timeout``)."""
        return self.call(sub._next, timeout)

    def payload(self, value: Any) -> Any:
        """The JSON value ``value`` as this runner's codec carries it."""
        return PAYLOADS[self.codec][0](value)

    def value(self, data: Any) -> Any:
        """A payload of this runner's codec (received) as the JSON value it holds."""
        return PAYLOADS[self.codec][1](data)

    def options(self, **kwargs: Any) -> dict[str, Any]:
        """``Client(...)`` keyword arguments with this runner's codec, unless named."""
        return {"codec": self.codec, **kwargs}

    def _create(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(self.module.Client, *args, **self.options(**kwargs))

    def build(self, *args: Any, **kwargs: Any) -> Any:
        """``Client(...)`` in the adapter's home, nothing started (for ``enter``)."""
        return self.call(self.module.Client, *args, **self.options(**kwargs))

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
        with self.enter(self.build(*args, **kwargs)) as client:
            yield client

    @contextlib.contextmanager
    def enter(self, client: Any) -> Iterator[Any]:
        """``with``/``async with client``: an existing client, connected inside."""
        self.call(client.__aenter__)
        try:
            yield Proxy(self, client)
        finally:
            self.call(client.__aexit__, None, None, None)

    def raised_in_body(self, error: BaseException, *args: Any, **kwargs: Any) -> BaseException:
        """What comes out of ``with``/``async with Client(...)`` whose body raises ``error``
        (after a publish, so the client's tasks are busy)."""

        async def body() -> None:
            async with self.module.Client(*args, **self.options(**kwargs)) as client:
                await client.publish("public:body", self.payload("x"))
                raise error

        try:
            self.call(body)
        except BaseException as exc:
            return exc
        raise AssertionError("the body's exception vanished")

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

    def waiting(self, event: threading.Event, seen: list[bool]) -> Callable[..., Any]:
        """A callback (or token source: it returns "") that waits for ``event`` without
        blocking the adapter's loop and appends whether it came within TIMEOUT."""
        raise NotImplementedError

    def flaky(
        self,
        monkeypatch: pytest.MonkeyPatch,
        owner: type,
        name: str,
        error: BaseException | None,
    ) -> list[tuple[Any, ...]]:
        """``owner.name`` raises ``error`` on its first call (None: never), then behaves
        as before; the list returned records the arguments of every call. A
        coroutine method is replaced by a coroutine method."""
        original, calls = getattr(owner, name), []

        def check(args: tuple[Any, ...]) -> None:
            calls.append(args)
            if len(calls) == 1 and error is not None:
                raise error

        if inspect.iscoroutinefunction(original):

            async def patched_async(self: Any, *args: Any, **kwargs: Any) -> Any:
                check(args)
                return await original(self, *args, **kwargs)

            monkeypatch.setattr(owner, name, patched_async)
        else:

            def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
                check(args)
                return original(self, *args, **kwargs)

            monkeypatch.setattr(owner, name, patched)
        return calls

    def leftovers(self, client: Any) -> list[str]:
        """What of ``client`` still runs once it is closed (each given TIMEOUT to end)."""
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

    def sleeper(self, seconds: float) -> Callable[[Any], Any]:
        async def sleep(event: Any) -> None:
            await asyncio.sleep(seconds)

        return sleep

    def waiting(self, event: threading.Event, seen: list[bool]) -> Callable[..., Any]:
        async def wait(*_: Any) -> str:
            seen.append(await asyncio.to_thread(event.wait, TIMEOUT))
            return ""

        return wait

    def leftovers(self, client: Any) -> list[str]:
        async def running() -> list[str]:
            mine = [t for t in asyncio.all_tasks() if _module_of(t).startswith(_ADAPTERS)]
            if mine:
                await asyncio.wait(mine, timeout=TIMEOUT)
            return [repr(t) for t in mine if not t.done()]

        return self.call(running)

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

    def _create(self, *args: Any, **kwargs: Any) -> Any:
        """The trio client lives in a task of its own that holds its nursery."""
        client = self.call(self.module.Client, *args, **self.options(**kwargs))

        async def host(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
            async with client._running():
                task_status.started()
                await trio.sleep_forever()

        self.call(self.nursery.start, host)
        return client

    @contextlib.contextmanager
    def enter(self, client: Any) -> Iterator[Any]:
        """``async with client`` in a host task (a nursery stays in its task), left
        when the test's ``with`` ends."""
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        leave = trio.Event()

        async def host(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
            started = False
            try:
                async with client:
                    task_status.started()
                    started = True
                    await leave.wait()
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
            self.call(leave.set)
            done.result(CALL_BOUND)

    def sleeper(self, seconds: float) -> Callable[[Any], Any]:
        async def sleep(event: Any) -> None:
            await trio.sleep(seconds)

        return sleep

    def waiting(self, event: threading.Event, seen: list[bool]) -> Callable[..., Any]:
        async def wait(*_: Any) -> str:
            seen.append(await trio.to_thread.run_sync(event.wait, TIMEOUT))
            return ""

        return wait

    def leftovers(self, client: Any) -> list[str]:
        """The tasks of the adapters still alive once every task is blocked (a task
        of a closed client that is still there waits for something: a leak)."""

        async def running() -> list[str]:
            with trio.move_on_after(TIMEOUT):
                await trio.testing.wait_all_tasks_blocked(0.01)
            return [task.name for task in _trio_tasks(_ADAPTERS)]

        return self.call(running)

    def stop(self) -> None:
        super().stop()
        assert self.stop_event is not None
        trio.from_thread.run_sync(self.stop_event.set, trio_token=self.token)
        self.thread.join()


class BlockingRunner(Runner):
    kind, module = "blocking", blocking_adapter

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    @contextlib.contextmanager
    def connected(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with self.module.Client(*args, **self.options(**kwargs)) as client:
            yield Proxy(self, client)

    def handler(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return fn

    def sleeper(self, seconds: float) -> Callable[[Any], Any]:
        def sleep(event: Any) -> None:
            time.sleep(seconds)

        return sleep

    def build(self, *args: Any, **kwargs: Any) -> Any:
        return self.module.Client(*args, **self.options(**kwargs))

    @contextlib.contextmanager
    def enter(self, client: Any) -> Iterator[Any]:
        with client:
            yield Proxy(self, client)

    def raised_in_body(self, error: BaseException, *args: Any, **kwargs: Any) -> BaseException:
        try:
            with self.module.Client(*args, **self.options(**kwargs)) as client:
                client.publish("public:body", self.payload("x"))
                raise error
        except BaseException as exc:
            return exc
        raise AssertionError("the body's exception vanished")

    def waiting(self, event: threading.Event, seen: list[bool]) -> Callable[..., Any]:
        def wait(*_: Any) -> str:
            seen.append(event.wait(TIMEOUT))
            return ""

        return wait

    def leftovers(self, client: Any) -> list[str]:
        """The client's threads (``centrifugo-*``) still alive."""
        threads = [t for t in threading.enumerate() if t.name.startswith("centrifugo-")]
        for thread in threads:
            thread.join(TIMEOUT)
        return [t.name for t in threads if t.is_alive()]


_ADAPTERS = "centrifugo_proto.adapters"


def _module_of(task: asyncio.Task[Any]) -> str:
    """The module whose coroutine ``task`` runs ("" when it runs none any more)."""
    frame = getattr(task.get_coro(), "cr_frame", None)
    return "" if frame is None else str(frame.f_globals.get("__name__", ""))


def _trio_tasks(prefix: str) -> list[Any]:
    """Every task of the trio run whose function comes from ``prefix`` (the adapter)."""
    found, todo = [], [trio.lowlevel.current_root_task()]
    while todo:
        task = todo.pop()
        if task is not None:
            if task.name.startswith(prefix):
                found.append(task)
            todo.extend(child for nursery in task.child_nurseries for child in nursery.child_tasks)
    return found


RUNNERS: dict[str, type[Runner]] = {
    "asyncio": AsyncioRunner,
    "trio": TrioRunner,
    "blocking": BlockingRunner,
}


@pytest.fixture(params=CODECS)
def codec(request: pytest.FixtureRequest) -> str:
    """The clients' codec: the same test once per codec (JSON, Protobuf)."""
    name: str = request.param
    return name


@pytest.fixture(params=ADAPTERS)
def adapter(request: pytest.FixtureRequest, codec: str) -> Iterator[Runner]:
    """The same test, once per adapter (asyncio, trio, blocking) and codec."""
    runner = RUNNERS[request.param]()
    runner.codec = codec
    try:
        yield runner
    finally:
        runner.stop()


def every_runner(codecs: Sequence[str] = CODECS) -> dict[str, Runner]:
    """A runner per adapter and codec, named "asyncio/json" and so on (stop them)."""
    runners: dict[str, Runner] = {}
    for codec in codecs:
        for kind in ADAPTERS:
            runner = runners[f"{kind}/{codec}"] = RUNNERS[kind]()
            runner.codec = codec
    return runners


def on_every_adapter(
    scenario: Callable[[Runner], T], codecs: Sequence[str] = CODECS
) -> dict[str, T]:
    """Run ``scenario(runner)`` for asyncio, trio and blocking, in each of ``codecs``,
    **at the same time**, each in a thread of its own (a long scenario costs its
    length once, not six times); raise if any of them failed, naming which. The
    results are keyed "asyncio/json", "asyncio/protobuf" and so on."""
    runners = every_runner(codecs)
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
