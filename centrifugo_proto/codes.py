"""Codes and the rules that act on them, as data (PROTOCOL.md §5).

The server's codes decide whether the client reconnects (disconnect codes,
§5.3), whether a subscription resubscribes (unsubscribe codes, §5.2) and
whether an error reply is worth another try (§5.1). Each rule is a row of a
table here, not an ``if`` on a literal elsewhere: the session asks
:func:`close_rule`, :func:`unsubscribe_rule` and :func:`reply_error_rule` and
acts on the flags it gets back.

The client's own codes (§5.4) label state changes the client causes itself;
they stay below the server ranges so one ``code`` field can hold either.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

from .errors import ReplyError

__all__ = [
    "INSUFFICIENT_STATE",
    "MESSAGE_TOO_BIG",
    "TOKEN_EXPIRED",
    "CloseRule",
    "ConnectingCode",
    "DisconnectedCode",
    "ReplyErrorRule",
    "SubscribingCode",
    "UnsubscribeRule",
    "UnsubscribedCode",
    "close_rule",
    "reply_error_rule",
    "unsubscribe_rule",
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


#: WebSocket "message too big": the SDKs stop instead of looping (§5.3, centrifuge-go #128).
MESSAGE_TOO_BIG: Final = 1009
#: The server's "insufficient state" unsubscribe code (§5.2); the client uses it too
#: for a gap it detects itself.
INSUFFICIENT_STATE: Final = 2500
#: Error 109 "token expired" (§5.1): a new token may succeed where the old one failed.
TOKEN_EXPIRED: Final = 109


# -- disconnect codes (§5.3) ------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CloseRule:
    """What a close from the server with some code means for the client."""

    reconnect: bool
    #: Forget the connection token or credentials: a token source is asked again
    #: (3014; the 1.x "expired").
    forget_token: bool = False
    #: Forget every recovery position: the server dropped what it knew of us (3014).
    forget_positions: bool = False
    #: Report the close under the client's own code instead of the server's, with
    #: this reason when the server gave none (transport-level closes below 3000).
    client_code: int | None = None
    default_reason: str = ""


_TRANSPORT_CLOSED: Final = CloseRule(
    reconnect=True, client_code=ConnectingCode.TRANSPORT_CLOSED, default_reason="transport closed"
)
_RECONNECT: Final = CloseRule(reconnect=True, default_reason="transport closed")
_TERMINAL: Final = CloseRule(reconnect=False, default_reason="disconnected by the server")

#: (first code, last code, rule), first match wins (§5.3 and the SDK rules).
_CLOSE_RULES: Final[tuple[tuple[int, int, CloseRule], ...]] = (
    (
        MESSAGE_TOO_BIG,
        MESSAGE_TOO_BIG,
        CloseRule(
            reconnect=False,
            client_code=DisconnectedCode.MESSAGE_SIZE_LIMIT,
            default_reason="message size limit",
        ),
    ),
    (0, 2999, _TRANSPORT_CLOSED),
    (
        3014,
        3014,
        CloseRule(
            reconnect=True,
            forget_token=True,
            forget_positions=True,
            default_reason="transport closed",
        ),
    ),
    (3500, 3999, _TERMINAL),
    (4500, 4999, _TERMINAL),
)


def close_rule(code: int) -> CloseRule:
    """The rule for a server close with ``code``: no reconnect for 3500-3999 and
    4500-4999 and 1009, a reconnect for everything else (§5.3)."""
    for first, last, rule in _CLOSE_RULES:
        if first <= code <= last:
            return rule
    return _RECONNECT


# -- unsubscribe codes (§5.2) -----------------------------------------------------------


@attrs.frozen(kw_only=True)
class UnsubscribeRule:
    resubscribe: bool
    #: Ask the token source for a new subscription token before resubscribing.
    forget_token: bool = False
    #: The position is no longer valid: resubscribe without recovery.
    forget_position: bool = False


_UNSUBSCRIBE_RULES: Final[tuple[tuple[int, int, UnsubscribeRule], ...]] = (
    # 2501: the subscription token expired; 2502: its state was invalidated.
    (2501, 2501, UnsubscribeRule(resubscribe=True, forget_token=True)),
    (2502, 2502, UnsubscribeRule(resubscribe=True, forget_token=True, forget_position=True)),
    (INSUFFICIENT_STATE, 2**32 - 1, UnsubscribeRule(resubscribe=True)),
)
_UNSUBSCRIBED: Final = UnsubscribeRule(resubscribe=False)


def unsubscribe_rule(code: int) -> UnsubscribeRule:
    """The rule for an ``unsubscribe`` push: from 2500 up the client resubscribes."""
    for first, last, rule in _UNSUBSCRIBE_RULES:
        if first <= code <= last:
            return rule
    return _UNSUBSCRIBED


# -- error replies (§5.1) ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ReplyErrorRule:
    #: The operation may succeed later as it is (client codes, temporary errors).
    retry: bool
    #: The token expired: a new one may succeed (only with a token source).
    token_expired: bool


def reply_error_rule(error: ReplyError) -> ReplyErrorRule:
    """The SDK rule: retryable if ``code < 100`` or temporary; 109 asks for a token."""
    return ReplyErrorRule(
        retry=error.code < 100 or error.temporary, token_expired=error.code == TOKEN_EXPIRED
    )
