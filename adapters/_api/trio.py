"""The HTTP and server API clients on trio: the two primitives the shared code in
``_async.py`` needs (a byte stream to an origin, a deadline), nothing else.

```python
from centrifugo_proto.adapters.trio import ApiClient   # re-exported there

async with ApiClient("http://127.0.0.1:8000/api", api_key=key) as api:
    result = await api.publish("chat:room", {"text": "hi"})
```
No nursery: a call runs in the caller's task. Construction does no I/O.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

import trio

from centrifugo_proto.http_url import HttpUrl

from ._async import AsyncApiClient, AsyncHttpClient, AsyncLegacyApiClient, AsyncStream
from ._common import connect_error, peer_spoke, timed_out, tls_for

__all__ = ["ApiClient", "HttpClient", "LegacyApiClient"]

T = TypeVar("T")
_CHUNK = 65536


class _TrioStream:
    def __init__(self, stream: trio.abc.Stream, sock: Any) -> None:
        self._stream = stream
        self._socket = sock

    async def send_all(self, data: bytes) -> None:
        await self._stream.send_all(data)

    async def receive_some(self) -> bytes:
        return bytes(await self._stream.receive_some(_CHUNK))

    def peer_spoke(self) -> bool:
        return peer_spoke(self._socket)

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self._stream)


class HttpClient(AsyncHttpClient):
    __doc__ = AsyncHttpClient.__doc__

    async def _open(self, url: HttpUrl) -> AsyncStream:
        tls = tls_for(url, self._ssl_context)
        try:
            tcp = await trio.open_tcp_stream(url.host, url.port)
        except Exception as exc:  # refused, DNS, anything: the call cannot go out
            raise connect_error(url, exc) from exc
        if tls is None:
            return _TrioStream(tcp, tcp.socket)
        # https_compatible: HTTPS servers may end without close_notify (RFC 9112 §9.8).
        stream = trio.SSLStream(tcp, tls, server_hostname=url.host, https_compatible=True)
        try:
            await stream.do_handshake()
        except BaseException as exc:
            await trio.aclose_forcefully(stream)
            if isinstance(exc, Exception):
                raise connect_error(url, exc) from exc
            raise
        return _TrioStream(stream, tcp.socket)

    async def _within(self, seconds: float, work: Awaitable[T]) -> T:
        with trio.move_on_after(seconds):
            return await work
        raise timed_out(seconds)


class ApiClient(AsyncApiClient):
    __doc__ = AsyncApiClient.__doc__
    _http_class = HttpClient


class LegacyApiClient(AsyncLegacyApiClient):
    __doc__ = AsyncLegacyApiClient.__doc__
    _http_class = HttpClient
