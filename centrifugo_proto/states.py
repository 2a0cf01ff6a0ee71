"""The client and subscription state machines as tables (PROTOCOL.md §6.1, §6.4).

Rules of this module:

1. Every transition of :class:`ClientState` and :class:`SubscriptionState`
   is a row here; the session asks the table and never assigns a state itself.
2. Every (state, input) pair has a row: a next state, :data:`STAY` (the input
   is legal and changes nothing) or :data:`INVALID` (the caller asked for
   something this state does not allow: :class:`LocalProtocolError`, no state
   changes). The property tests check the tables are total, and the docs'
   diagrams are drawn from them.

What the session *does* on a transition (events, commands, timers) lives in
``session.py``; which transitions exist lives here.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = [
    "CLIENT_TRANSITIONS",
    "INVALID",
    "STAY",
    "SUBSCRIPTION_TRANSITIONS",
    "ClientInput",
    "ClientState",
    "Outcome",
    "SubscriptionInput",
    "SubscriptionState",
]


class ClientState(enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    #: Final: ``close()`` was called; every later call raises.
    CLOSED = "closed"


class ClientInput(enum.Enum):
    CONNECT_CALLED = "connect called"
    CONNECT_SUCCEEDED = "connect reply ok"
    #: Transport lost, or a fault the client retries (§5.3 reconnect codes).
    CONNECTION_LOST = "connection lost"
    #: A terminal close code, error or token refusal (§5.3, §6.1).
    CONNECTION_REFUSED = "connection refused"
    DISCONNECT_CALLED = "disconnect called"
    CLOSE_CALLED = "close called"


class SubscriptionState(enum.Enum):
    UNSUBSCRIBED = "unsubscribed"
    SUBSCRIBING = "subscribing"
    SUBSCRIBED = "subscribed"


class SubscriptionInput(enum.Enum):
    SUBSCRIBE_CALLED = "subscribe called"
    SUBSCRIBE_SUCCEEDED = "subscribe reply ok"
    #: code < 100, temporary, or 109 with a token source (§5.1): try again later.
    SUBSCRIBE_RETRYABLE_ERROR = "subscribe reply retryable error"
    SUBSCRIBE_TERMINAL_ERROR = "subscribe reply terminal error"
    UNSUBSCRIBE_CALLED = "unsubscribe called"
    CONNECTION_LOST = "connection lost"
    #: ``unsubscribe`` push with code >= 2500 (§5.2).
    SERVER_RESUBSCRIBE = "server asks to resubscribe"
    #: ``unsubscribe`` push with code < 2500, or a terminal sub_refresh error.
    SERVER_UNSUBSCRIBE = "server unsubscribed"
    CLIENT_CLOSED = "client closed"


class Outcome(enum.Enum):
    STAY = "stay"
    INVALID = "invalid"


STAY: Final = Outcome.STAY
INVALID: Final = Outcome.INVALID

_D, _CING, _CED, _X = (
    ClientState.DISCONNECTED,
    ClientState.CONNECTING,
    ClientState.CONNECTED,
    ClientState.CLOSED,
)
_CI = ClientInput

#: (state, input) → next state | STAY | INVALID  (§6.1)
CLIENT_TRANSITIONS: Final[dict[tuple[ClientState, ClientInput], ClientState | Outcome]] = {
    (_D, _CI.CONNECT_CALLED): _CING,
    (_D, _CI.CONNECT_SUCCEEDED): INVALID,  # no transport while disconnected
    (_D, _CI.CONNECTION_LOST): STAY,  # late news of a transport already given up
    (_D, _CI.CONNECTION_REFUSED): STAY,
    (_D, _CI.DISCONNECT_CALLED): STAY,
    (_D, _CI.CLOSE_CALLED): _X,
    (_CING, _CI.CONNECT_CALLED): STAY,
    (_CING, _CI.CONNECT_SUCCEEDED): _CED,
    (_CING, _CI.CONNECTION_LOST): STAY,  # stays connecting; backoff, then a new attempt
    (_CING, _CI.CONNECTION_REFUSED): _D,
    (_CING, _CI.DISCONNECT_CALLED): _D,
    (_CING, _CI.CLOSE_CALLED): _X,
    (_CED, _CI.CONNECT_CALLED): STAY,
    (_CED, _CI.CONNECT_SUCCEEDED): INVALID,  # one connect reply per connection
    (_CED, _CI.CONNECTION_LOST): _CING,
    (_CED, _CI.CONNECTION_REFUSED): _D,
    (_CED, _CI.DISCONNECT_CALLED): _D,
    (_CED, _CI.CLOSE_CALLED): _X,
    (_X, _CI.CONNECT_CALLED): INVALID,  # closed is final
    (_X, _CI.CONNECT_SUCCEEDED): INVALID,
    (_X, _CI.CONNECTION_LOST): STAY,
    (_X, _CI.CONNECTION_REFUSED): STAY,
    (_X, _CI.DISCONNECT_CALLED): INVALID,
    (_X, _CI.CLOSE_CALLED): STAY,  # close() twice is harmless
}

_U, _SING, _SED = (
    SubscriptionState.UNSUBSCRIBED,
    SubscriptionState.SUBSCRIBING,
    SubscriptionState.SUBSCRIBED,
)
_SI = SubscriptionInput

#: (state, input) → next state | STAY | INVALID  (§6.4)
SUBSCRIPTION_TRANSITIONS: Final[
    dict[tuple[SubscriptionState, SubscriptionInput], SubscriptionState | Outcome]
] = {
    (_U, _SI.SUBSCRIBE_CALLED): _SING,
    (_U, _SI.SUBSCRIBE_SUCCEEDED): STAY,  # a reply to a subscribe given up on
    (_U, _SI.SUBSCRIBE_RETRYABLE_ERROR): STAY,
    (_U, _SI.SUBSCRIBE_TERMINAL_ERROR): STAY,
    (_U, _SI.UNSUBSCRIBE_CALLED): STAY,
    (_U, _SI.CONNECTION_LOST): STAY,
    (_U, _SI.SERVER_RESUBSCRIBE): STAY,
    (_U, _SI.SERVER_UNSUBSCRIBE): STAY,
    (_U, _SI.CLIENT_CLOSED): STAY,
    (_SING, _SI.SUBSCRIBE_CALLED): STAY,
    (_SING, _SI.SUBSCRIBE_SUCCEEDED): _SED,
    (_SING, _SI.SUBSCRIBE_RETRYABLE_ERROR): STAY,  # resubscribe after backoff
    (_SING, _SI.SUBSCRIBE_TERMINAL_ERROR): _U,
    (_SING, _SI.UNSUBSCRIBE_CALLED): _U,
    (_SING, _SI.CONNECTION_LOST): STAY,
    (_SING, _SI.SERVER_RESUBSCRIBE): STAY,
    (_SING, _SI.SERVER_UNSUBSCRIBE): _U,
    (_SING, _SI.CLIENT_CLOSED): _U,
    (_SED, _SI.SUBSCRIBE_CALLED): STAY,
    (_SED, _SI.SUBSCRIBE_SUCCEEDED): INVALID,  # one reply per subscribe command
    (_SED, _SI.SUBSCRIBE_RETRYABLE_ERROR): INVALID,
    (_SED, _SI.SUBSCRIBE_TERMINAL_ERROR): INVALID,
    (_SED, _SI.UNSUBSCRIBE_CALLED): _U,
    (_SED, _SI.CONNECTION_LOST): _SING,
    (_SED, _SI.SERVER_RESUBSCRIBE): _SING,
    (_SED, _SI.SERVER_UNSUBSCRIBE): _U,
    (_SED, _SI.CLIENT_CLOSED): _U,
}
