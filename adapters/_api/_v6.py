"""The typed methods of Centrifugo v6's server API, written once for every driver:
each builds its request object (:mod:`centrifugo_proto.api`) and returns what the
driver's ``call`` does with it (:func:`~._twin.twin`)."""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
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
from centrifugo_proto.api.exchange import check_header_secret
from centrifugo_proto.http_url import parse_http_url
from centrifugo_proto.results import (
    HistoryResult,
    PresenceResult,
    PresenceStatsResult,
    RpcResult,
    StreamPosition,
)

from ._clients import ApiClientBase, H
from ._common import DEFAULT_TIMEOUT
from ._twin import twin

__all__ = ["V6Api"]

R = TypeVar("R")


class _Calls(Protocol):
    """The body of a twin sees the blocking ``call`` (see ``_twin.py``)."""

    def call(self, request: ApiRequest[R], *, timeout: float | None = None) -> R: ...


class V6Api(ApiClientBase[H]):
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
        self.http = self._http_class(timeout=timeout, ssl_context=ssl_context)

    @twin
    def publish(
        self: _Calls,
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

    @twin
    def broadcast(
        self: _Calls,
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

    @twin
    def subscribe(
        self: _Calls,
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

    @twin
    def unsubscribe(
        self: _Calls,
        user: str,
        channel: str,
        *,
        client: str = "",
        session: str = "",
        timeout: float | None = None,
    ) -> UnsubscribeResult:
        request = UnsubscribeRequest(user, channel, client=client, session=session)
        return self.call(request, timeout=timeout)

    @twin
    def disconnect(
        self: _Calls,
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

    @twin
    def refresh(
        self: _Calls,
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

    @twin
    def presence(self: _Calls, channel: str, *, timeout: float | None = None) -> PresenceResult:
        return self.call(PresenceRequest(channel), timeout=timeout)

    @twin
    def presence_stats(
        self: _Calls, channel: str, *, timeout: float | None = None
    ) -> PresenceStatsResult:
        return self.call(PresenceStatsRequest(channel), timeout=timeout)

    @twin
    def history(
        self: _Calls,
        channel: str,
        *,
        limit: int = 0,
        since: StreamPosition | None = None,
        reverse: bool = False,
        timeout: float | None = None,
    ) -> HistoryResult:
        request = HistoryRequest(channel, limit=limit, since=since, reverse=reverse)
        return self.call(request, timeout=timeout)

    @twin
    def history_remove(
        self: _Calls, channel: str, *, timeout: float | None = None
    ) -> HistoryRemoveResult:
        return self.call(HistoryRemoveRequest(channel), timeout=timeout)

    @twin
    def channels(
        self: _Calls, pattern: str = "", *, timeout: float | None = None
    ) -> ChannelsResult:
        return self.call(ChannelsRequest(pattern=pattern), timeout=timeout)

    @twin
    def info(self: _Calls, *, timeout: float | None = None) -> InfoResult:
        return self.call(InfoRequest(), timeout=timeout)

    @twin
    def rpc(
        self: _Calls, method: str, params: Any = None, *, timeout: float | None = None
    ) -> RpcResult:
        return self.call(RpcRequest(method, params), timeout=timeout)

    @twin
    def batch(
        self: _Calls,
        commands: Sequence[ApiRequest[Any]],
        *,
        parallel: bool = False,
        timeout: float | None = None,
    ) -> list[ApiResult | ApiError]:
        """One item per command, in order: its result or its :class:`ApiError`."""
        return self.call(BatchRequest(commands, parallel=parallel), timeout=timeout)
