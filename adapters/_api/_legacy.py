"""The typed methods of Centrifugo 1.x's server API, written once for every
driver: each builds its request object (:mod:`centrifugo_proto.api`) and returns
what the driver's ``call`` does with it (:func:`~._twin.twin`)."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from centrifugo_proto.api import (
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
)
from centrifugo_proto.api.validate import check_str
from centrifugo_proto.http_url import parse_http_url

from ._clients import ApiClientBase, H
from ._common import DEFAULT_TIMEOUT
from ._twin import twin

__all__ = ["LegacyApi"]

R = TypeVar("R")


class _Calls(Protocol):
    """The body of a twin sees the blocking ``call`` (see ``_twin.py``)."""

    def call(self, request: LegacyRequest[R], *, timeout: float | None = None) -> R: ...


class LegacyApi(ApiClientBase[H]):
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
        self.http = self._http_class(timeout=timeout, ssl_context=ssl_context)

    @twin
    def publish(
        self: _Calls,
        channel: str,
        data: Any,
        *,
        client: str = "",
        uid: str = "",
        timeout: float | None = None,
    ) -> None:
        return self.call(LegacyPublish(channel, data, client=client, uid=uid), timeout=timeout)

    @twin
    def broadcast(
        self: _Calls,
        channels: Sequence[str],
        data: Any,
        *,
        client: str = "",
        timeout: float | None = None,
    ) -> None:
        return self.call(LegacyBroadcast(channels, data, client=client), timeout=timeout)

    @twin
    def unsubscribe(self: _Calls, channel: str, user: str, *, timeout: float | None = None) -> None:
        return self.call(LegacyUnsubscribe(channel, user), timeout=timeout)

    @twin
    def disconnect(self: _Calls, user: str, *, timeout: float | None = None) -> None:
        return self.call(LegacyDisconnect(user), timeout=timeout)

    @twin
    def presence(
        self: _Calls, channel: str, *, timeout: float | None = None
    ) -> LegacyPresenceResult:
        return self.call(LegacyPresence(channel), timeout=timeout)

    @twin
    def history(self: _Calls, channel: str, *, timeout: float | None = None) -> LegacyHistoryResult:
        return self.call(LegacyHistory(channel), timeout=timeout)

    @twin
    def channels(self: _Calls, *, timeout: float | None = None) -> LegacyChannelsResult:
        return self.call(LegacyChannels(), timeout=timeout)

    @twin
    def stats(self: _Calls, *, timeout: float | None = None) -> LegacyStatsResult:
        return self.call(LegacyStats(), timeout=timeout)

    @twin
    def node(self: _Calls, *, timeout: float | None = None) -> LegacyNodeInfo:
        return self.call(LegacyNode(), timeout=timeout)

    @twin
    def batch(
        self: _Calls, commands: Sequence[LegacyRequest[Any]], *, timeout: float | None = None
    ) -> list[LegacyResult | LegacyApiError]:
        """One item per command, in order: its result or its :class:`LegacyApiError`."""
        return self.call(LegacyBatch(commands), timeout=timeout)
