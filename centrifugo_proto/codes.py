"""Codes and the rules that act on them, as data (PROTOCOL.md §5).

The server's codes decide whether the client reconnects (disconnect codes,
§5.3) or a subscription resubscribes (unsubscribe codes, §5.2). The client's
own codes (§5.4) label state changes the client causes itself; they stay below
the server ranges so one ``code`` field can hold either.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = [
    "ConnectingCode",
    "DisconnectedCode",
    "SubscribingCode",
    "UnsubscribedCode",
    "disconnect_reconnects",
    "unsubscribe_resubscribes",
]


class ConnectingCode(enum.IntEnum):
    """Why the client is (re)connecting. 0-4 as in centrifuge-js/-python (§5.4)."""

    CONNECT_CALLED = 0
    TRANSPORT_CLOSED = 1
    NO_PING = 2
    SUBSCRIBE_TIMEOUT = 3
    UNSUBSCRIBE_ERROR = 4
    #: Ours: the server sent bytes that are not the protocol (DESIGN "Errors").
    BAD_PROTOCOL = 5
    #: Ours: transport, handshake and connect reply did not finish within the timeout.
    CONNECT_TIMEOUT = 6
    #: Ours: a connect reply error the SDK rule calls retryable (§5.1).
    CONNECT_ERROR = 7
    #: Ours: the connection token was refused with 109; a new one is needed.
    TOKEN_EXPIRED = 8


class DisconnectedCode(enum.IntEnum):
    """Why the client stopped (§5.4)."""

    DISCONNECT_CALLED = 0
    UNAUTHORIZED = 1
    BAD_PROTOCOL = 2
    MESSAGE_SIZE_LIMIT = 3
    #: Ours: ``close()`` was called; the client is final.
    CLOSED = 4


class SubscribingCode(enum.IntEnum):
    SUBSCRIBE_CALLED = 0
    TRANSPORT_CLOSED = 1


class UnsubscribedCode(enum.IntEnum):
    UNSUBSCRIBE_CALLED = 0
    UNAUTHORIZED = 1
    CLIENT_CLOSED = 2


#: Close code ranges with no reconnect (§5.3): (first, last) inclusive.
_TERMINAL_DISCONNECT_RANGES: Final = ((3500, 3999), (4500, 4999))

#: WebSocket "message too big": the SDKs stop instead of looping (§5.3, centrifuge-go #128).
MESSAGE_TOO_BIG: Final = 1009

#: Unsubscribe push codes at or above this resubscribe (§5.2).
RESUBSCRIBE_FROM: Final = 2500


def disconnect_reconnects(code: int) -> bool:
    """Whether a server close with ``code`` should be followed by a reconnect (§5.3).

    Codes below 3000 are transport-level: reconnect, except 1009.
    """
    if code == MESSAGE_TOO_BIG:
        return False
    return not any(first <= code <= last for first, last in _TERMINAL_DISCONNECT_RANGES)


def unsubscribe_resubscribes(code: int) -> bool:
    """Whether an ``unsubscribe`` push with ``code`` means "resubscribe" (§5.2)."""
    return code >= RESUBSCRIBE_FROM
