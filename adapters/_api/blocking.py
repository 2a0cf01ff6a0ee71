"""The HTTP and server API clients with blocking sockets, in the caller's thread.

The same steps as the asyncio and trio clients (``_async.py``): kept-alive
connections in a pool, one exchange on the sans-I/O
:class:`~centrifugo_proto.http.HttpConnection`, one retry when the server had
closed an idle connection, a deadline over the whole call. Safe to share between
threads: each call takes its own connection (the pool is locked, the calls are
not). The deadline bounds connecting, TLS and every read and write; name
resolution (``getaddrinfo``) cannot be interrupted and is not bounded by it.

```python
from centrifugo_proto.adapters.blocking import ApiClient   # re-exported there

with ApiClient("http://127.0.0.1:8000/api", api_key=key) as api:
    result = api.publish("chat:room", {"text": "hi"})
```
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from centrifugo_proto.api import (
    ApiError,
    ApiRequest,
    ApiResult,
    BatchRequest,
    BroadcastRequest,
    BroadcastResult,
    ChannelsRequest,
    ChannelsResult,
    DisconnectRequest,
    DisconnectResult,
    HistoryRemoveRequest,
    HistoryRemoveResult,
    HistoryRequest,
    InfoRequest,
    InfoResult,
    LegacyApiError,
    LegacyBatch,
    LegacyBroadcast,
    LegacyChannels,
    LegacyChannelsResult,
    LegacyDisconnect,
    LegacyHistory,
    LegacyHistoryResult,
    LegacyNode,
    LegacyNodeInfo,
    LegacyPresence,
    LegacyPresenceResult,
    LegacyPublish,
    LegacyRequest,
    LegacyResult,
    LegacyStats,
    LegacyStatsResult,
    LegacyUnsubscribe,
    PresenceRequest,
    PresenceStatsRequest,
    PublishRequest,
    PublishResult,
    RefreshRequest,
    RefreshResult,
    RpcRequest,
    SubscribeOverride,
    SubscribeRequest,
    SubscribeResult,
    UnsubscribeRequest,
    UnsubscribeResult,
)
from centrifugo_proto.api.exchange import check_header_secret, http_request, read_response
from centrifugo_proto.api.legacy_exchange import legacy_http_request, read_legacy_response
from centrifugo_proto.api.validate import check_str
from centrifugo_proto.errors import LocalProtocolError, TransportError
from centrifugo_proto.http import (
    HttpConnection,
    HttpFailure,
    HttpRequest,
    HttpResponse,
    HttpState,
)
from centrifugo_proto.http_url import HttpUrl, parse_http_url
from centrifugo_proto.results import (
    HistoryResult,
    PresenceResult,
    PresenceStatsResult,
    RpcResult,
    StreamPosition,
)

from ._common import (
    DEFAULT_TIMEOUT,
    IdlePool,
    call_timeout,
    check_timeout,
    connect_error,
    describe,
    json_post,
    logged,
    peer_spoke,
    timed_out,
    tls_for,
)

__all__ = ["ApiClient", "HttpClient", "LegacyApiClient"]

T = TypeVar("T")
R = TypeVar("R")
Headers = Sequence[tuple[str, str]]
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


class _Conn:
    __slots__ = ("http", "sock")

    def __init__(self, sock: socket.socket, http: HttpConnection) -> None:
        self.sock = sock
        self.http = http

    def close(self) -> None:
        self.sock.close()


class HttpClient:
    """A small HTTP/1.1 client with kept-alive connections, one call at a time per
    connection. Any error of the socket is a :class:`TransportError`, no answer in
    time a :class:`~centrifugo_proto.CommandTimeout`; a bad URL, header or body is a
    :class:`LocalProtocolError` before anything is sent."""

    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
            raise LocalProtocolError("ssl_context must be an ssl.SSLContext or None")
        self.timeout = check_timeout(timeout)
        self._ssl_context = ssl_context
        self._pool: IdlePool[_Conn] = IdlePool()
        self._lock = threading.Lock()
        self._closed = False

    def request(
        self,
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

    def post_json(
        self, url: str, body: Any, *, headers: Headers = (), timeout: float | None = None
    ) -> HttpResponse:
        """POST ``body`` as JSON (``Content-Type: application/json`` unless given)."""
        parsed = parse_http_url(url)
        return self.send(parsed, json_post(parsed, body, headers), timeout=timeout)

    def send(
        self, url: HttpUrl, request: HttpRequest, *, timeout: float | None = None
    ) -> HttpResponse:
        """``request`` (already built for ``url``) on a kept-alive connection."""
        if self._closed:
            raise LocalProtocolError("the HTTP client is closed")
        deadline = _Deadline(call_timeout(timeout, self.timeout))
        for attempt in (1, 2):
            conn = self._checkout(url, deadline)
            try:
                outcome = self._round_trip(conn, request, deadline)
            except BaseException:  # timed out or interrupted mid-exchange: state unknown
                conn.close()
                raise
            if isinstance(outcome, HttpResponse):
                self._checkin(url, conn)
                return outcome
            conn.close()
            if not (outcome.retry_on_new_connection and attempt == 1):
                raise TransportError(outcome.reason)
            # The server closed the kept-alive connection as the request went out.
        raise AssertionError("unreachable: the second attempt returns or raises")

    def close(self) -> None:
        """Close the idle connections; calls after this raise. Idempotent."""
        with self._lock:
            self._closed = True
            idle = list(self._pool.drain())
        for conn in idle:
            conn.close()

    def __enter__(self: T) -> T:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------

    def _checkout(self, url: HttpUrl, deadline: _Deadline) -> _Conn:
        while True:
            with self._lock:
                idle = self._pool.take(url)
            if idle is None:
                break
            if not peer_spoke(idle.sock):
                return idle
            idle.close()
        return _Conn(self._open(url, deadline), HttpConnection(url.host_header))

    def _open(self, url: HttpUrl, deadline: _Deadline) -> socket.socket:
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

    def _checkin(self, url: HttpUrl, conn: _Conn) -> None:
        with self._lock:
            kept = (
                not self._closed
                and conn.http.state is HttpState.IDLE
                and self._pool.give(url, conn)
            )
        if not kept:
            conn.close()

    @staticmethod
    def _round_trip(
        conn: _Conn, request: HttpRequest, deadline: _Deadline
    ) -> HttpResponse | HttpFailure:
        http = conn.http
        http.send(request)
        try:
            conn.sock.settimeout(deadline.left())
            conn.sock.sendall(http.data_to_send())
        except TimeoutError:  # the socket's, or no time left (CommandTimeout): the same
            raise timed_out(deadline.seconds) from None
        except Exception as exc:  # any socket error: the connection is gone
            http.transport_failed(describe(exc))
        while (event := http.next_event()) is None:
            try:
                conn.sock.settimeout(deadline.left())
                data = conn.sock.recv(_CHUNK)
            except TimeoutError:
                raise timed_out(deadline.seconds) from None
            except Exception as exc:
                http.transport_failed(describe(exc))
                continue
            if data:
                http.receive_data(data)
            else:
                http.receive_eof()
        return event


# -- the server API, v6 -----------------------------------------------------------------------


class ApiClient:
    """The server HTTP API of Centrifugo v6: one typed method per route.

    ``url`` is the API's base (``http://127.0.0.1:8000/api``); each method POSTs
    to ``<url>/<method>`` with ``X-API-Key``. Construction does no I/O. Errors:
    :class:`~centrifugo_proto.errors.ApiError` (the server refused the command;
    ``code``, ``message``), :class:`~centrifugo_proto.errors.ApiUnauthorized` (a
    wrong key), :class:`~centrifugo_proto.errors.ApiHttpError` (another status),
    :class:`~centrifugo_proto.DecodeError` (an answer that is not the expected
    JSON), :class:`~centrifugo_proto.TransportError`,
    :class:`~centrifugo_proto.CommandTimeout`, and
    :class:`~centrifugo_proto.LocalProtocolError` for the caller's own input.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._url = parse_http_url(url)
        self._api_key = check_header_secret(api_key, "api_key")
        self.http = HttpClient(timeout=timeout, ssl_context=ssl_context)

    def __repr__(self) -> str:  # never the key (nor a query, which might carry one)
        return f"{type(self).__name__}({self._url.url.split('?')[0]!r})"

    def close(self) -> None:
        self.http.close()

    def __enter__(self: T) -> T:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def call(self, request: ApiRequest[R], *, timeout: float | None = None) -> R:
        """Any request object; its typed result."""
        prepared = http_request(self._url, self._api_key, request)
        response = logged(prepared, self.http.send(self._url, prepared, timeout=timeout))
        return read_response(request, response)

    def publish(
        self,
        channel: str,
        data: Any = None,
        *,
        b64data: str | None = None,
        skip_history: bool = False,
        tags: Mapping[str, str] | None = None,
        idempotency_key: str = "",
        delta: bool = False,
        version: int = 0,
        version_epoch: str = "",
        timeout: float | None = None,
    ) -> PublishResult:
        request = PublishRequest(
            channel,
            data,
            b64data=b64data,
            skip_history=skip_history,
            tags=tags,
            idempotency_key=idempotency_key,
            delta=delta,
            version=version,
            version_epoch=version_epoch,
        )
        return self.call(request, timeout=timeout)

    def broadcast(
        self,
        channels: Sequence[str],
        data: Any = None,
        *,
        b64data: str | None = None,
        skip_history: bool = False,
        tags: Mapping[str, str] | None = None,
        idempotency_key: str = "",
        delta: bool = False,
        version: int = 0,
        version_epoch: str = "",
        timeout: float | None = None,
    ) -> BroadcastResult:
        request = BroadcastRequest(
            channels,
            data,
            b64data=b64data,
            skip_history=skip_history,
            tags=tags,
            idempotency_key=idempotency_key,
            delta=delta,
            version=version,
            version_epoch=version_epoch,
        )
        return self.call(request, timeout=timeout)

    def subscribe(
        self,
        user: str,
        channel: str,
        *,
        client: str = "",
        session: str = "",
        info: Any = None,
        b64info: str | None = None,
        data: Any = None,
        b64data: str | None = None,
        expire_at: int = 0,
        recover_since: StreamPosition | None = None,
        override: SubscribeOverride | None = None,
        timeout: float | None = None,
    ) -> SubscribeResult:
        request = SubscribeRequest(
            user,
            channel,
            client=client,
            session=session,
            info=info,
            b64info=b64info,
            data=data,
            b64data=b64data,
            expire_at=expire_at,
            recover_since=recover_since,
            override=override,
        )
        return self.call(request, timeout=timeout)

    def unsubscribe(
        self,
        user: str,
        channel: str,
        *,
        client: str = "",
        session: str = "",
        timeout: float | None = None,
    ) -> UnsubscribeResult:
        request = UnsubscribeRequest(user, channel, client=client, session=session)
        return self.call(request, timeout=timeout)

    def disconnect(
        self,
        user: str,
        *,
        code: int = 0,
        reason: str = "",
        client: str = "",
        session: str = "",
        whitelist: Sequence[str] = (),
        timeout: float | None = None,
    ) -> DisconnectResult:
        request = DisconnectRequest(
            user, code=code, reason=reason, client=client, session=session, whitelist=whitelist
        )
        return self.call(request, timeout=timeout)

    def refresh(
        self,
        user: str,
        *,
        client: str = "",
        session: str = "",
        expired: bool = False,
        expire_at: int = 0,
        info: Any = None,
        timeout: float | None = None,
    ) -> RefreshResult:
        request = RefreshRequest(
            user, client=client, session=session, expired=expired, expire_at=expire_at, info=info
        )
        return self.call(request, timeout=timeout)

    def presence(self, channel: str, *, timeout: float | None = None) -> PresenceResult:
        return self.call(PresenceRequest(channel), timeout=timeout)

    def presence_stats(self, channel: str, *, timeout: float | None = None) -> PresenceStatsResult:
        return self.call(PresenceStatsRequest(channel), timeout=timeout)

    def history(
        self,
        channel: str,
        *,
        limit: int = 0,
        since: StreamPosition | None = None,
        reverse: bool = False,
        timeout: float | None = None,
    ) -> HistoryResult:
        request = HistoryRequest(channel, limit=limit, since=since, reverse=reverse)
        return self.call(request, timeout=timeout)

    def history_remove(self, channel: str, *, timeout: float | None = None) -> HistoryRemoveResult:
        return self.call(HistoryRemoveRequest(channel), timeout=timeout)

    def channels(self, pattern: str = "", *, timeout: float | None = None) -> ChannelsResult:
        return self.call(ChannelsRequest(pattern=pattern), timeout=timeout)

    def info(self, *, timeout: float | None = None) -> InfoResult:
        return self.call(InfoRequest(), timeout=timeout)

    def rpc(self, method: str, params: Any = None, *, timeout: float | None = None) -> RpcResult:
        return self.call(RpcRequest(method, params), timeout=timeout)

    def batch(
        self,
        commands: Sequence[ApiRequest[Any]],
        *,
        parallel: bool = False,
        timeout: float | None = None,
    ) -> list[ApiResult | ApiError]:
        """One item per command, in order: its result or its :class:`ApiError`."""
        return self.call(BatchRequest(commands, parallel=parallel), timeout=timeout)


# -- the server API, 1.x ----------------------------------------------------------------------


class LegacyApiClient:
    """The server HTTP API of Centrifugo 1.x (LEGACY-V1.md §5, §11.9).

    ``url`` is the server's API endpoint (``http://127.0.0.1:8000/api/``); every
    body is signed with ``X-API-Sign = generate_token(secret, body)``. A failed
    command raises :class:`~centrifugo_proto.errors.LegacyApiError` (in a batch
    it is an item); a wrong secret is :class:`~centrifugo_proto.errors.ApiUnauthorized`.
    """

    def __init__(
        self,
        url: str,
        *,
        secret: str,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._url = parse_http_url(url)
        self._secret = check_str(secret, "secret")
        self.http = HttpClient(timeout=timeout, ssl_context=ssl_context)

    def __repr__(self) -> str:  # never the secret
        return f"{type(self).__name__}({self._url.url.split('?')[0]!r})"

    def close(self) -> None:
        self.http.close()

    def __enter__(self: T) -> T:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def call(self, request: LegacyRequest[R], *, timeout: float | None = None) -> R:
        prepared = legacy_http_request(self._url, self._secret, request)
        response = logged(prepared, self.http.send(self._url, prepared, timeout=timeout))
        return read_legacy_response(request, response)

    def publish(
        self,
        channel: str,
        data: Any,
        *,
        client: str = "",
        uid: str = "",
        timeout: float | None = None,
    ) -> None:
        self.call(LegacyPublish(channel, data, client=client, uid=uid), timeout=timeout)

    def broadcast(
        self,
        channels: Sequence[str],
        data: Any,
        *,
        client: str = "",
        timeout: float | None = None,
    ) -> None:
        self.call(LegacyBroadcast(channels, data, client=client), timeout=timeout)

    def unsubscribe(self, channel: str, user: str, *, timeout: float | None = None) -> None:
        self.call(LegacyUnsubscribe(channel, user), timeout=timeout)

    def disconnect(self, user: str, *, timeout: float | None = None) -> None:
        self.call(LegacyDisconnect(user), timeout=timeout)

    def presence(self, channel: str, *, timeout: float | None = None) -> LegacyPresenceResult:
        return self.call(LegacyPresence(channel), timeout=timeout)

    def history(self, channel: str, *, timeout: float | None = None) -> LegacyHistoryResult:
        return self.call(LegacyHistory(channel), timeout=timeout)

    def channels(self, *, timeout: float | None = None) -> LegacyChannelsResult:
        return self.call(LegacyChannels(), timeout=timeout)

    def stats(self, *, timeout: float | None = None) -> LegacyStatsResult:
        return self.call(LegacyStats(), timeout=timeout)

    def node(self, *, timeout: float | None = None) -> LegacyNodeInfo:
        return self.call(LegacyNode(), timeout=timeout)

    def batch(
        self, commands: Sequence[LegacyRequest[Any]], *, timeout: float | None = None
    ) -> list[LegacyResult | LegacyApiError]:
        """One item per command, in order: its result or its :class:`LegacyApiError`."""
        return self.call(LegacyBatch(commands), timeout=timeout)
