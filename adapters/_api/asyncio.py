"""The HTTP and server API clients on asyncio: the two primitives the shared code
in ``_async.py`` needs (a byte stream to an origin, a deadline), nothing else.

```python
from centrifugo_proto.adapters.asyncio import ApiClient   # re-exported there

async with ApiClient("http://127.0.0.1:8000/api", api_key=key) as api:
    result = await api.publish("chat:room", {"text": "hi"})   # PublishResult(offset, epoch)
```
Construction does no I/O and needs no running loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable
from typing import TypeVar

from centrifugo_proto.errors import CentrifugoError
from centrifugo_proto.http_url import HttpUrl

from ._async import AsyncApiClient, AsyncHttpClient, AsyncLegacyApiClient, AsyncStream
from ._common import connect_error, timed_out, tls_for

__all__ = ["ApiClient", "HttpClient", "LegacyApiClient"]

T = TypeVar("T")
_CHUNK = 65536


class _StreamProtocol(asyncio.Protocol):
    """Bytes and EOF as they arrive, so an idle connection knows when the server
    closed it (a StreamReader would keep that in its private buffer)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.ended = False
        self.error: BaseException | None = None
        self._readable: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self._wake_reader()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake_reader()
        return False  # close the transport: HTTP has nothing to send after the peer's EOF

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.error = exc
        self._wake_reader()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_reader(self) -> None:
        waiter, self._readable = self._readable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_writable(self) -> None:
        if self._writable is not None:
            await self._writable

    async def wait_readable(self) -> None:
        self._readable = asyncio.get_running_loop().create_future()
        await self._readable


class _AsyncioStream:
    def __init__(self, protocol: _StreamProtocol) -> None:
        self._protocol = protocol

    async def send_all(self, data: bytes) -> None:
        protocol = self._protocol
        if protocol.ended or protocol.transport is None or protocol.transport.is_closing():
            raise ConnectionResetError("the connection is closed")
        protocol.transport.write(data)
        await protocol.wait_writable()

    async def receive_some(self) -> bytes:
        protocol = self._protocol
        while not protocol.chunks:
            if protocol.ended:
                if protocol.error is not None:
                    raise protocol.error
                return b""
            await protocol.wait_readable()
        return protocol.chunks.popleft()

    def peer_spoke(self) -> bool:
        return bool(self._protocol.chunks) or self._protocol.ended

    async def aclose(self) -> None:
        transport = self._protocol.transport
        if transport is None or transport.is_closing():
            return
        with contextlib.suppress(Exception):  # a transport of a loop that is gone
            transport.abort()
            await asyncio.sleep(0)  # let connection_lost run and release the socket


class HttpClient(AsyncHttpClient):
    __doc__ = AsyncHttpClient.__doc__

    async def _open(self, url: HttpUrl) -> AsyncStream:
        tls = tls_for(url, self._ssl_context)
        protocol = _StreamProtocol()
        try:
            await asyncio.get_running_loop().create_connection(
                lambda: protocol,
                url.host,
                url.port,
                ssl=tls,
                server_hostname=url.host if tls is not None else None,
            )
        except Exception as exc:  # refused, DNS, TLS, anything: the call cannot go out
            raise connect_error(url, exc) from exc
        return _AsyncioStream(protocol)

    async def _within(self, seconds: float, work: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(work, seconds)
        except asyncio.TimeoutError as exc:
            if isinstance(exc, CentrifugoError):  # CommandTimeout is a TimeoutError too
                raise
            raise timed_out(seconds) from None


class ApiClient(AsyncApiClient):
    __doc__ = AsyncApiClient.__doc__
    _http_class = HttpClient


class LegacyApiClient(AsyncLegacyApiClient):
    __doc__ = AsyncLegacyApiClient.__doc__
    _http_class = HttpClient
