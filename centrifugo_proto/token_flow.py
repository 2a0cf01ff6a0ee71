"""Token requests: the core asks, the adapter answers (PROTOCOL.md §6.3, §6.4).

Four purposes need a token: the connection (before an attempt, after 109 or
3014), its refresh, a subscription, and a subscription's refresh. Each request
is a :class:`TokenRequested` event with an id; the answer names it back. An
answer to a request the core no longer waits for (the attempt or subscription
it was for is gone) is ignored: the adapter cannot know (DESIGN "Effects").
An answer naming a request this client never made is the caller's mistake.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import attrs

from .errors import LocalProtocolError
from .events import Event, TokenRequested

__all__ = ["TokenFlow", "TokenPurpose", "TokenRequest"]


class TokenPurpose(enum.Enum):
    CONNECT = "connect"
    REFRESH = "refresh"
    SUBSCRIBE = "subscribe"
    SUB_REFRESH = "sub_refresh"

    @property
    def of_connection(self) -> bool:
        """The answer is only good for the connection it was asked on."""
        return self is not TokenPurpose.SUBSCRIBE


@attrs.frozen
class TokenRequest:
    purpose: TokenPurpose
    #: The subscription's channel; None for the connection token.
    channel: str | None


class TokenFlow:
    def __init__(self, emit: Callable[[Event], None]) -> None:
        self._emit = emit
        self._issued = 0
        self._open: dict[int, TokenRequest] = {}

    def ask(self, purpose: TokenPurpose, channel: str | None = None) -> None:
        self._issued += 1
        self._open[self._issued] = TokenRequest(purpose, channel)
        self._emit(TokenRequested(request_id=self._issued, channel=channel))

    def asking(self, purpose: TokenPurpose, channel: str | None) -> bool:
        return TokenRequest(purpose, channel) in self._open.values()

    def check(self, event: object) -> None:
        """Raise ``LocalProtocolError`` unless ``event`` is a request this client made."""
        if not isinstance(event, TokenRequested):
            raise LocalProtocolError(f"expected a TokenRequested, got {type(event).__name__}")
        request_id = event.request_id
        if type(request_id) is not int or not 0 < request_id <= self._issued:
            raise LocalProtocolError(f"{event!r} was not asked for by this client")

    def peek(self, event: TokenRequested) -> TokenRequest | None:
        """The open request ``event`` answers (left open), or None if it is stale."""
        return self._open.get(event.request_id)

    def take(self, event: TokenRequested) -> TokenRequest | None:
        """The open request ``event`` answers, or None if it is stale (checked first)."""
        return self._open.pop(event.request_id, None)

    def forget_channel(self, channel: str) -> None:
        """The subscription ended: its requests are stale."""
        self._forget(lambda request: request.channel == channel)

    def forget_connection(self) -> None:
        """The connection ended: answers for it (connect, refreshes) are stale."""
        self._forget(lambda request: request.purpose.of_connection)

    def forget_all(self) -> None:
        self._open.clear()

    def _forget(self, stale: Callable[[TokenRequest], bool]) -> None:
        for key in [key for key, request in self._open.items() if stale(request)]:
            del self._open[key]
