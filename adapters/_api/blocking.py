"""The HTTP and server API clients with blocking sockets, in the caller's thread.

The same steps as the asyncio and trio clients, the same code: the exchange
(``_exchange.py``: kept-alive connections in a pool, one exchange on the sans-I/O
:class:`~centrifugo_proto.http.HttpConnection`, one retry when the server had
closed an idle connection) runs on blocking sockets, and the typed methods are
``_v6.py``'s and ``_legacy.py``'s; here are the sockets and the deadline over the
whole call. Safe to share between threads: each call takes its own connection
(the pool is locked, the calls are not). The deadline bounds connecting, TLS and
every read and write; name resolution (``getaddrinfo``) cannot be interrupted and
is not bounded by it.

```python
from centrifugo_proto.adapters.blocking import ApiClient   # re-exported there

with ApiClient("http://127.0.0.1:8000/api", api_key=key) as api:
    result = api.publish("chat:room", {"text": "hi"})
```
"""

from __future__ import annotations

import socket
import ssl
import time
from typing import TypeVar

from centrifugo_proto.api import ApiRequest, LegacyRequest
from centrifugo_proto.api.exchange import http_request, read_response
from centrifugo_proto.api.legacy_exchange import legacy_http_request, read_legacy_response
from centrifugo_proto.http import HttpRequest, HttpResponse
from centrifugo_proto.http_url import HttpUrl

from ._clients import HttpClientBase
from ._common import connect_error, logged, peer_spoke, timed_out, tls_for
from ._exchange import exchange
from ._legacy import LegacyApi
from ._twin import Blocking, awaitless
from ._v6 import V6Api

__all__ = ["ApiClient", "HttpClient", "LegacyApiClient"]

R = TypeVar("R")
_CHUNK = 65536


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; :class:`~centrifugo_proto.CommandTimeout` once there are none."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise timed_out(self.seconds)
        return left


class HttpClient(Blocking, HttpClientBase[socket.socket]):
    __doc__ = HttpClientBase.__doc__

    def send(
        self, url: HttpUrl, request: HttpRequest, *, timeout: float | None = None
    ) -> HttpResponse:
        """``request`` (already built for ``url``) on a kept-alive connection."""
        sockets = _Sockets(self._ssl_context, _Deadline(self._seconds(timeout)))
        return awaitless(exchange(self._pool, sockets, url, request))

    def close(self) -> None:
        """Close the idle connections; calls after this raise. Idempotent."""
        for conn in self._pool.close():
            conn.stream.close()


class _Sockets:
    """The exchange's I/O (``_exchange.StreamIO``) on blocking sockets, for one call:
    coroutines that block and return (``awaitless``), each within the deadline."""

    __slots__ = ("_deadline", "_ssl_context")

    def __init__(self, ssl_context: ssl.SSLContext | None, deadline: _Deadline) -> None:
        self._ssl_context = ssl_context
        self._deadline = deadline

    async def open(self, url: HttpUrl) -> socket.socket:
        deadline = self._deadline
        tls = tls_for(url, self._ssl_context)
        try:
            sock = socket.create_connection((url.host, url.port), timeout=deadline.left())
        except TimeoutError:  # the socket's, or no time left (CommandTimeout): the same
            raise timed_out(deadline.seconds) from None
        except Exception as exc:  # refused, DNS, anything: the call cannot go out
            raise connect_error(url, exc) from exc
        if tls is None:
            return sock
        try:
            sock.settimeout(deadline.left())
            return tls.wrap_socket(sock, server_hostname=url.host)
        except TimeoutError:
            sock.close()
            raise timed_out(deadline.seconds) from None
        except Exception as exc:  # the handshake failed: a certificate, a broken peer
            sock.close()
            raise connect_error(url, exc) from exc
        except BaseException:
            sock.close()
            raise

    async def send_all(self, sock: socket.socket, data: bytes) -> None:
        try:
            sock.settimeout(self._deadline.left())
            sock.sendall(data)
        except TimeoutError:  # the socket's, or no time left (CommandTimeout): the same
            raise timed_out(self._deadline.seconds) from None

    async def receive_some(self, sock: socket.socket) -> bytes:
        try:
            sock.settimeout(self._deadline.left())
            return sock.recv(_CHUNK)
        except TimeoutError:
            raise timed_out(self._deadline.seconds) from None

    def peer_spoke(self, sock: socket.socket) -> bool:
        return peer_spoke(sock)

    async def discard(self, sock: socket.socket) -> None:
        sock.close()


class ApiClient(Blocking, V6Api[HttpClient]):
    __doc__ = V6Api.__doc__
    _http_class = HttpClient

    def call(self, request: ApiRequest[R], *, timeout: float | None = None) -> R:
        """Any request object; its typed result."""
        prepared = http_request(self._url, self._api_key, request)
        response = logged(prepared, self.http.send(self._url, prepared, timeout=timeout))
        return read_response(request, response)

    def close(self) -> None:
        self.http.close()


class LegacyApiClient(Blocking, LegacyApi[HttpClient]):
    __doc__ = LegacyApi.__doc__
    _http_class = HttpClient

    def call(self, request: LegacyRequest[R], *, timeout: float | None = None) -> R:
        prepared = legacy_http_request(self._url, self._secret, request)
        response = logged(prepared, self.http.send(self._url, prepared, timeout=timeout))
        return read_legacy_response(request, response)

    def close(self) -> None:
        self.http.close()
