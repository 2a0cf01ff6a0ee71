"""What the asyncio and trio HTTP and server API clients share, written once.

Each adapter supplies two primitives (:meth:`AsyncHttpClient._open`, a byte
stream to an origin, and :meth:`AsyncHttpClient._within`, a deadline around an
awaitable); everything else is here: the kept-alive pool, one exchange on the
sans-I/O :class:`~centrifugo_proto.http.HttpConnection`, the one retry a
connection closed while idle allows, and every typed method of the server API
(v6 and 1.x). The blocking twin in ``blocking.py`` follows the same steps.
"""

from __future__ import annotations

import abc
import ssl
from collections.abc import Awaitable, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, TypeVar

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
    describe,
    json_post,
    logged,
)

__all__ = ["AsyncApiClient", "AsyncHttpClient", "AsyncLegacyApiClient", "AsyncStream"]

T = TypeVar("T")
R = TypeVar("R")
Headers = Sequence[tuple[str, str]]


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


class _Conn:
    __slots__ = ("http", "stream")

    def __init__(self, stream: AsyncStream, http: HttpConnection) -> None:
        self.stream = stream
        self.http = http


class AsyncHttpClient(abc.ABC):
    """A small HTTP/1.1 client with kept-alive connections, one call at a time per
    connection. Any error of the socket is a :class:`TransportError`, no answer in
    time a :class:`~centrifugo_proto.CommandTimeout`; a bad URL, header or body is
    a :class:`LocalProtocolError` before anything is sent."""

    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
            raise LocalProtocolError("ssl_context must be an ssl.SSLContext or None")
        self.timeout = check_timeout(timeout)
        self._ssl_context = ssl_context
        self._pool: IdlePool[_Conn] = IdlePool()
        self._closed = False

    # -- the adapter's primitives ----------------------------------------------------------

    @abc.abstractmethod
    async def _open(self, url: HttpUrl) -> AsyncStream:
        """A stream to ``url``'s origin (TLS for https); :class:`TransportError`
        for anything that goes wrong."""

    @abc.abstractmethod
    async def _within(self, seconds: float, work: Awaitable[T]) -> T:
        """``await work``, or :class:`~centrifugo_proto.CommandTimeout` after ``seconds``."""

    # -- public ---------------------------------------------------------------------------

    async def request(
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
        return await self.send(parsed, prepared, timeout=timeout)

    async def post_json(
        self, url: str, body: Any, *, headers: Headers = (), timeout: float | None = None
    ) -> HttpResponse:
        """POST ``body`` as JSON (``Content-Type: application/json`` unless given)."""
        parsed = parse_http_url(url)
        prepared = json_post(parsed, body, headers)
        return await self.send(parsed, prepared, timeout=timeout)

    async def send(
        self, url: HttpUrl, request: HttpRequest, *, timeout: float | None = None
    ) -> HttpResponse:
        """``request`` (already built for ``url``) on a kept-alive connection."""
        if self._closed:
            raise LocalProtocolError("the HTTP client is closed")
        seconds = call_timeout(timeout, self.timeout)
        return await self._within(seconds, self._exchange(url, request))

    async def aclose(self) -> None:
        """Close the idle connections; calls after this raise. Idempotent."""
        self._closed = True
        for conn in list(self._pool.drain()):
            await conn.stream.aclose()

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- one exchange -------------------------------------------------------------------------

    async def _exchange(self, url: HttpUrl, request: HttpRequest) -> HttpResponse:
        for attempt in (1, 2):
            conn = await self._checkout(url)
            try:
                outcome = await self._round_trip(conn, request)
            except BaseException:  # cancelled or timed out mid-exchange: state unknown
                await conn.stream.aclose()
                raise
            if isinstance(outcome, HttpResponse):
                await self._checkin(url, conn)
                return outcome
            await conn.stream.aclose()
            if not (outcome.retry_on_new_connection and attempt == 1):
                raise TransportError(outcome.reason)
            # The server closed the kept-alive connection as the request went out
            # (nothing of a response came): once more, on a new connection.
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _checkout(self, url: HttpUrl) -> _Conn:
        while (idle := self._pool.take(url)) is not None:
            if not idle.stream.peer_spoke():
                return idle
            await idle.stream.aclose()
        stream = await self._open(url)
        return _Conn(stream, HttpConnection(url.host_header))

    async def _checkin(self, url: HttpUrl, conn: _Conn) -> None:
        if self._closed or conn.http.state is not HttpState.IDLE or not self._pool.give(url, conn):
            await conn.stream.aclose()

    @staticmethod
    async def _round_trip(conn: _Conn, request: HttpRequest) -> HttpResponse | HttpFailure:
        http = conn.http
        http.send(request)
        try:
            await conn.stream.send_all(http.data_to_send())
        except Exception as exc:  # any socket error: the connection is gone
            http.transport_failed(describe(exc))
        while (event := http.next_event()) is None:
            try:
                data = await conn.stream.receive_some()
            except Exception as exc:
                http.transport_failed(describe(exc))
                continue
            if data:
                http.receive_data(data)
            else:
                http.receive_eof()
        return event


# -- the server API, v6 -----------------------------------------------------------------------


class AsyncApiClient:
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

    _http_class: type[AsyncHttpClient]

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
        self.http = self._http_class(timeout=timeout, ssl_context=ssl_context)

    def __repr__(self) -> str:  # never the key (nor a query, which might carry one)
        return f"{type(self).__name__}({self._url.url.split('?')[0]!r})"

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def call(self, request: ApiRequest[R], *, timeout: float | None = None) -> R:
        """Any request object; its typed result."""
        prepared = http_request(self._url, self._api_key, request)
        response = logged(prepared, await self.http.send(self._url, prepared, timeout=timeout))
        return read_response(request, response)

    async def publish(
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
        return await self.call(request, timeout=timeout)

    async def broadcast(
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
        return await self.call(request, timeout=timeout)

    async def subscribe(
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
        return await self.call(request, timeout=timeout)

    async def unsubscribe(
        self,
        user: str,
        channel: str,
        *,
        client: str = "",
        session: str = "",
        timeout: float | None = None,
    ) -> UnsubscribeResult:
        request = UnsubscribeRequest(user, channel, client=client, session=session)
        return await self.call(request, timeout=timeout)

    async def disconnect(
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
        return await self.call(request, timeout=timeout)

    async def refresh(
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
        return await self.call(request, timeout=timeout)

    async def presence(self, channel: str, *, timeout: float | None = None) -> PresenceResult:
        return await self.call(PresenceRequest(channel), timeout=timeout)

    async def presence_stats(
        self, channel: str, *, timeout: float | None = None
    ) -> PresenceStatsResult:
        return await self.call(PresenceStatsRequest(channel), timeout=timeout)

    async def history(
        self,
        channel: str,
        *,
        limit: int = 0,
        since: StreamPosition | None = None,
        reverse: bool = False,
        timeout: float | None = None,
    ) -> HistoryResult:
        request = HistoryRequest(channel, limit=limit, since=since, reverse=reverse)
        return await self.call(request, timeout=timeout)

    async def history_remove(
        self, channel: str, *, timeout: float | None = None
    ) -> HistoryRemoveResult:
        return await self.call(HistoryRemoveRequest(channel), timeout=timeout)

    async def channels(self, pattern: str = "", *, timeout: float | None = None) -> ChannelsResult:
        return await self.call(ChannelsRequest(pattern=pattern), timeout=timeout)

    async def info(self, *, timeout: float | None = None) -> InfoResult:
        return await self.call(InfoRequest(), timeout=timeout)

    async def rpc(
        self, method: str, params: Any = None, *, timeout: float | None = None
    ) -> RpcResult:
        return await self.call(RpcRequest(method, params), timeout=timeout)

    async def batch(
        self,
        commands: Sequence[ApiRequest[Any]],
        *,
        parallel: bool = False,
        timeout: float | None = None,
    ) -> list[ApiResult | ApiError]:
        """One item per command, in order: its result or its :class:`ApiError`."""
        return await self.call(BatchRequest(commands, parallel=parallel), timeout=timeout)


# -- the server API, 1.x ----------------------------------------------------------------------


class AsyncLegacyApiClient:
    """The server HTTP API of Centrifugo 1.x (LEGACY-V1.md §5, §11.9).

    ``url`` is the server's API endpoint (``http://127.0.0.1:8000/api/``); every
    body is signed with ``X-API-Sign = generate_token(secret, body)``. A failed
    command raises :class:`~centrifugo_proto.errors.LegacyApiError` (in a batch
    it is an item); a wrong secret is :class:`~centrifugo_proto.errors.ApiUnauthorized`.
    """

    _http_class: type[AsyncHttpClient]

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
        self.http = self._http_class(timeout=timeout, ssl_context=ssl_context)

    def __repr__(self) -> str:  # never the secret
        return f"{type(self).__name__}({self._url.url.split('?')[0]!r})"

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def call(self, request: LegacyRequest[R], *, timeout: float | None = None) -> R:
        prepared = legacy_http_request(self._url, self._secret, request)
        response = logged(prepared, await self.http.send(self._url, prepared, timeout=timeout))
        return read_legacy_response(request, response)

    async def publish(
        self,
        channel: str,
        data: Any,
        *,
        client: str = "",
        uid: str = "",
        timeout: float | None = None,
    ) -> None:
        await self.call(LegacyPublish(channel, data, client=client, uid=uid), timeout=timeout)

    async def broadcast(
        self,
        channels: Sequence[str],
        data: Any,
        *,
        client: str = "",
        timeout: float | None = None,
    ) -> None:
        await self.call(LegacyBroadcast(channels, data, client=client), timeout=timeout)

    async def unsubscribe(self, channel: str, user: str, *, timeout: float | None = None) -> None:
        await self.call(LegacyUnsubscribe(channel, user), timeout=timeout)

    async def disconnect(self, user: str, *, timeout: float | None = None) -> None:
        await self.call(LegacyDisconnect(user), timeout=timeout)

    async def presence(self, channel: str, *, timeout: float | None = None) -> LegacyPresenceResult:
        return await self.call(LegacyPresence(channel), timeout=timeout)

    async def history(self, channel: str, *, timeout: float | None = None) -> LegacyHistoryResult:
        return await self.call(LegacyHistory(channel), timeout=timeout)

    async def channels(self, *, timeout: float | None = None) -> LegacyChannelsResult:
        return await self.call(LegacyChannels(), timeout=timeout)

    async def stats(self, *, timeout: float | None = None) -> LegacyStatsResult:
        return await self.call(LegacyStats(), timeout=timeout)

    async def node(self, *, timeout: float | None = None) -> LegacyNodeInfo:
        return await self.call(LegacyNode(), timeout=timeout)

    async def batch(
        self, commands: Sequence[LegacyRequest[Any]], *, timeout: float | None = None
    ) -> list[LegacyResult | LegacyApiError]:
        """One item per command, in order: its result or its :class:`LegacyApiError`."""
        return await self.call(LegacyBatch(commands), timeout=timeout)
