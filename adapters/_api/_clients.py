"""What every driver's HTTP and server API clients share: how they are built, the
methods that only build a request (:func:`~._twin.twin`), the repr."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import Any, Generic, Protocol, TypeVar

from centrifugo_proto.errors import LocalProtocolError
from centrifugo_proto.http import HttpRequest, HttpResponse
from centrifugo_proto.http_url import HttpUrl, parse_http_url

from ._common import DEFAULT_TIMEOUT, IdlePool, call_timeout, check_timeout, json_post
from ._exchange import Conn
from ._twin import twin

__all__ = ["ApiClientBase", "Headers", "HttpClientBase"]

S = TypeVar("S")
H = TypeVar("H", bound="HttpClientBase[Any]")
Headers = Sequence[tuple[str, str]]


class _Sends(Protocol):
    """The body of a twin sees the blocking ``send`` (see ``_twin.py``)."""

    def send(
        self, url: HttpUrl, request: HttpRequest, *, timeout: float | None = None
    ) -> HttpResponse: ...


class HttpClientBase(Generic[S]):
    """A small HTTP/1.1 client with kept-alive connections, one call at a time per
    connection. Any error of the socket is a :class:`~centrifugo_proto.TransportError`,
    no answer in time a :class:`~centrifugo_proto.CommandTimeout`; a bad URL, header
    or body is a :class:`~centrifugo_proto.LocalProtocolError` before anything is
    sent."""

    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
            raise LocalProtocolError("ssl_context must be an ssl.SSLContext or None")
        self.timeout = check_timeout(timeout)
        self._ssl_context = ssl_context
        self._pool: IdlePool[Conn[S]] = IdlePool()

    @twin
    def request(
        self: _Sends,
        method: str,
        url: str,
        *,
        headers: Headers = (),
        body: bytes = b"",
        timeout: float | None = None,
    ) -> HttpResponse:
        """One request to ``url``; the response whatever its status."""
        parsed = parse_http_url(url)
        prepared = HttpRequest(method=method, target=parsed.target, headers=headers, body=body)
        return self.send(parsed, prepared, timeout=timeout)

    @twin
    def post_json(
        self: _Sends, url: str, body: Any, *, headers: Headers = (), timeout: float | None = None
    ) -> HttpResponse:
        """POST ``body`` as JSON (``Content-Type: application/json`` unless given)."""
        parsed = parse_http_url(url)
        return self.send(parsed, json_post(parsed, body, headers), timeout=timeout)

    def _seconds(self, timeout: float | None) -> float:
        """What a call of ``send`` may take; refused once the client is closed."""
        if self._pool.closed:
            raise LocalProtocolError("the HTTP client is closed")
        return call_timeout(timeout, self.timeout)


class ApiClientBase(Generic[H]):
    """A server API client: its base URL and the HTTP client it calls through."""

    _http_class: type[H]
    _url: HttpUrl
    http: H

    def __repr__(self) -> str:  # never the key or secret (nor a query, which might carry one)
        return f"{type(self).__name__}({self._url.url.split('?')[0]!r})"
