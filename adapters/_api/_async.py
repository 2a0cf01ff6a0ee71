"""What the asyncio and trio HTTP and server API clients share, written once.

Each adapter supplies two primitives (:meth:`AsyncHttpClient._open`, a byte
stream to an origin, and :meth:`AsyncHttpClient._within`, a deadline around an
awaitable); the exchange (``_exchange.py``) runs on its streams, and the typed
methods of the server API (``_v6.py``, ``_legacy.py``) are the blocking
client's too: what is here is only what awaits.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable
from typing import Protocol, TypeVar

from centrifugo_proto.api import ApiRequest, LegacyRequest
from centrifugo_proto.api.exchange import http_request, read_response
from centrifugo_proto.api.legacy_exchange import legacy_http_request, read_legacy_response
from centrifugo_proto.http import HttpRequest, HttpResponse
from centrifugo_proto.http_url import HttpUrl

from ._clients import HttpClientBase
from ._common import logged
from ._exchange import exchange
from ._legacy import LegacyApi
from ._twin import Awaiting
from ._v6 import V6Api

__all__ = ["AsyncApiClient", "AsyncHttpClient", "AsyncLegacyApiClient", "AsyncStream"]

T = TypeVar("T")
R = TypeVar("R")


class AsyncStream(Protocol):
    """A connected byte stream, as each adapter makes one."""

    async def send_all(self, data: bytes) -> None: ...

    async def receive_some(self) -> bytes:
        """Up to some bytes; ``b""`` at EOF."""
        ...

    def peer_spoke(self) -> bool:
        """Anything (an EOF, stray bytes) arrived while the connection was idle."""
        ...

    async def aclose(self) -> None:
        """Close now, without waiting on the peer; never raises."""
        ...


class AsyncHttpClient(Awaiting, HttpClientBase[AsyncStream]):
    __doc__ = HttpClientBase.__doc__

    @abc.abstractmethod
    async def _open(self, url: HttpUrl) -> AsyncStream:
        """A stream to ``url``'s origin (TLS for https); :class:`TransportError`
        for anything that goes wrong."""

    @abc.abstractmethod
    async def _within(self, seconds: float, work: Awaitable[T]) -> T:
        """``await work``, or :class:`~centrifugo_proto.CommandTimeout` after ``seconds``."""

    async def send(
        self, url: HttpUrl, request: HttpRequest, *, timeout: float | None = None
    ) -> HttpResponse:
        """``request`` (already built for ``url``) on a kept-alive connection."""
        seconds = self._seconds(timeout)
        return await self._within(seconds, exchange(self._pool, _Streams(self), url, request))

    async def aclose(self) -> None:
        """Close the idle connections; calls after this raise. Idempotent."""
        for conn in self._pool.close():
            await conn.stream.aclose()


class _Streams:
    """The exchange's I/O (``_exchange.StreamIO``) on an adapter's streams."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncHttpClient) -> None:
        self._client = client

    async def open(self, url: HttpUrl) -> AsyncStream:
        return await self._client._open(url)

    async def send_all(self, stream: AsyncStream, data: bytes) -> None:
        await stream.send_all(data)

    async def receive_some(self, stream: AsyncStream) -> bytes:
        return await stream.receive_some()

    def peer_spoke(self, stream: AsyncStream) -> bool:
        return stream.peer_spoke()

    async def discard(self, stream: AsyncStream) -> None:
        await stream.aclose()


class AsyncApiClient(Awaiting, V6Api[AsyncHttpClient]):
    __doc__ = V6Api.__doc__

    async def call(self, request: ApiRequest[R], *, timeout: float | None = None) -> R:
        """Any request object; its typed result."""
        prepared = http_request(self._url, self._api_key, request)
        response = logged(prepared, await self.http.send(self._url, prepared, timeout=timeout))
        return read_response(request, response)

    async def aclose(self) -> None:
        await self.http.aclose()


class AsyncLegacyApiClient(Awaiting, LegacyApi[AsyncHttpClient]):
    __doc__ = LegacyApi.__doc__

    async def call(self, request: LegacyRequest[R], *, timeout: float | None = None) -> R:
        prepared = legacy_http_request(self._url, self._secret, request)
        response = logged(prepared, await self.http.send(self._url, prepared, timeout=timeout))
        return read_legacy_response(request, response)

    async def aclose(self) -> None:
        await self.http.aclose()
