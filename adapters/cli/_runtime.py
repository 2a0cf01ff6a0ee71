"""The three adapters behind one face, so every command is written once.

Each command is an ``async def`` over a :class:`Session` (a connected client)
or an :class:`Http` (the server API's HTTP client). asyncio and trio give
their clients to it as they are, and their own loop runs it. The blocking
adapter's client is wrapped in ``async def`` methods that call it and block:
nothing in them ever suspends, so :func:`run_awaitless` drives the whole
command in one ``send``, in the caller's thread, while the adapter's own
threads do the I/O. One copy of each command, three real adapters.

An adapter is imported only when it is picked (trio is an optional extra).
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs

from centrifugo_proto.events import Subscribed
from centrifugo_proto.http import HttpResponse
from centrifugo_proto.options import ClientOptions
from centrifugo_proto.results import (
    HistoryResult,
    PresenceResult,
    Publication,
    PublishResult,
    RpcResult,
)

from .._api._twin import awaitless

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

    from .._base import SubscribeOptions

__all__ = ["ADAPTERS", "Http", "Runtime", "Session", "Subscription", "run_awaitless", "runtime"]

T = TypeVar("T")
Callback = Callable[[Any], object]
Main = Callable[[], Coroutine[Any, Any, T]]

#: ``--adapter`` choices; the first is the default.
ADAPTERS = ("asyncio", "trio", "blocking")


class Subscription(Protocol):
    """What the commands use of a subscription."""

    def on(self, name: str, callback: Callback) -> object: ...

    async def subscribe(self, timeout: float | None = None) -> Subscribed: ...

    def __aiter__(self) -> AsyncIterator[Publication]: ...


class Session(Protocol):
    """What the commands use of a client: ``async with`` connects and closes."""

    async def __aenter__(self) -> object: ...

    async def __aexit__(self, *exc_info: Any) -> object: ...

    def on(self, name: str, callback: Callback) -> object: ...

    def new_subscription(self, channel: str, **options: Unpack[SubscribeOptions]) -> Any: ...

    async def publish(
        self, channel: str, data: Any, *, timeout: float | None = None
    ) -> PublishResult: ...

    async def history(
        self, channel: str, *, limit: int = 0, reverse: bool = False, timeout: float | None = None
    ) -> HistoryResult: ...

    async def presence(self, channel: str, *, timeout: float | None = None) -> PresenceResult: ...

    async def rpc(
        self, method: str, data: Any = None, *, timeout: float | None = None
    ) -> RpcResult: ...


class Http(Protocol):
    """What the ``api`` command uses of an HTTP client: ``async with`` closes it."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: Any) -> object: ...

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        timeout: float | None = None,
    ) -> HttpResponse: ...


# -- the blocking adapter, awaitless -----------------------------------------------------------


class _BlockingSubscription:
    def __init__(self, sub: Any) -> None:
        self._sub = sub

    def on(self, name: str, callback: Callback) -> object:
        return self._sub.on(name, callback)

    async def subscribe(self, timeout: float | None = None) -> Subscribed:
        result: Subscribed = self._sub.subscribe(timeout)
        return result

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Publication:
        try:
            pub: Publication = next(self._sub)
        except StopIteration:
            raise StopAsyncIteration from None
        return pub


class _BlockingSession:
    def __init__(self, client: Any) -> None:
        self._client = client

    async def __aenter__(self) -> Self:
        self._client.__enter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self._client.__exit__(*exc_info)

    def on(self, name: str, callback: Callback) -> object:
        return self._client.on(name, callback)

    def new_subscription(
        self, channel: str, **options: Unpack[SubscribeOptions]
    ) -> _BlockingSubscription:
        return _BlockingSubscription(self._client.new_subscription(channel, **options))

    async def publish(
        self, channel: str, data: Any, *, timeout: float | None = None
    ) -> PublishResult:
        result: PublishResult = self._client.publish(channel, data, timeout=timeout)
        return result

    async def history(
        self, channel: str, *, limit: int = 0, reverse: bool = False, timeout: float | None = None
    ) -> HistoryResult:
        result: HistoryResult = self._client.history(
            channel, limit=limit, reverse=reverse, timeout=timeout
        )
        return result

    async def presence(self, channel: str, *, timeout: float | None = None) -> PresenceResult:
        result: PresenceResult = self._client.presence(channel, timeout=timeout)
        return result

    async def rpc(
        self, method: str, data: Any = None, *, timeout: float | None = None
    ) -> RpcResult:
        result: RpcResult = self._client.rpc(method, data, timeout=timeout)
        return result


class _BlockingHttp:
    def __init__(self, http: Any) -> None:
        self._http = http

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._http.close()

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        timeout: float | None = None,
    ) -> HttpResponse:
        response: HttpResponse = self._http.request(
            method, url, headers=headers, body=body, timeout=timeout
        )
        return response


def run_awaitless(main: Main[T]) -> T:
    """Run a coroutine that never suspends (the blocking adapter's commands) to its end."""
    return awaitless(main())


# -- picking one ------------------------------------------------------------------------------


@attrs.frozen
class Runtime:
    """One adapter: how to run a command, make a client, make an HTTP client."""

    name: str
    run: Callable[[Main[Any]], Any]
    _module: Any
    _wrap_client: Callable[[Any], Session]
    _wrap_http: Callable[[Any], Http]
    _closer: Callable[[Any], Callable[[], object]]

    def client(self, endpoint: str, *, options: ClientOptions, **kwargs: Any) -> Session:
        """A client (no I/O yet): ``LocalProtocolError`` for what it refuses."""
        return self._wrap_client(self._module.Client(endpoint, options=options, **kwargs))

    def http(self, timeout: float) -> Http:
        return self._wrap_http(self._module.HttpClient(timeout=timeout))

    def closer(self, session: Session) -> Callable[[], object]:
        """What a callback calls (and returns) to close ``session`` from inside it: the
        async adapters' ``close()`` gives a coroutine their dispatchers await; the
        blocking client's closes before it returns (both allowed in a callback)."""
        return self._closer(session)


def _run_asyncio(main: Main[T]) -> T:
    import asyncio

    return asyncio.run(main())


def _run_trio(main: Main[T]) -> T:
    import trio

    result: T = trio.run(main)
    return result


def _same(value: Any) -> Any:
    return value


def _async_close(client: Any) -> Callable[[], object]:
    close: Callable[[], object] = client.close
    return close


def _blocking_close(session: _BlockingSession) -> Callable[[], object]:
    close: Callable[[], object] = session._client.close
    return close


#: name → (run, wrap the client, wrap the HTTP client, the callback's closer)
_KINDS: dict[str, tuple[Callable[[Main[Any]], Any], Any, Any, Any]] = {
    "asyncio": (_run_asyncio, _same, _same, _async_close),
    "trio": (_run_trio, _same, _same, _async_close),
    "blocking": (run_awaitless, _BlockingSession, _BlockingHttp, _blocking_close),
}


def runtime(name: str) -> Runtime:
    """The adapter called ``name`` (one of :data:`ADAPTERS`), imported now."""
    module = importlib.import_module(f"centrifugo_proto.adapters.{name}")
    run, wrap_client, wrap_http, closer = _KINDS[name]
    return Runtime(name, run, module, wrap_client, wrap_http, closer)
