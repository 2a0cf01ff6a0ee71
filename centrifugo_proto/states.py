"""The state machines as tables (PROTOCOL.md §6.1, §6.4).

Three machines: the public :class:`ClientState` and :class:`SubscriptionState`,
and the connection's finer :class:`Phase` (opening the socket, tunnelling through
a proxy, TLS inside the tunnel, the WebSocket handshake, waiting for the connect
reply, connected), which decides whether a command goes out, whether transport
news counts and whether bytes are read at all.

Rules of this module:

1. Every transition of :class:`ClientState`, :class:`SubscriptionState` and
   :class:`Phase` is a row here; the session asks the table and never assigns
   a state itself.
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
    "IGNORED",
    "INVALID",
    "PHASE_TRANSITIONS",
    "STAY",
    "SUBSCRIPTION_TRANSITIONS",
    "ClientInput",
    "ClientState",
    "Outcome",
    "Phase",
    "PhaseInput",
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
    #: Phases only: news about a transport no attempt waits for (stale): dropped,
    #: and a socket opened for it is closed again.
    IGNORED = "ignored"


STAY: Final = Outcome.STAY
INVALID: Final = Outcome.INVALID
IGNORED: Final = Outcome.IGNORED

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


# -- the connection's phases --------------------------------------------------------------


class Phase(enum.Enum):
    """Where the current connection attempt is (finer than :class:`ClientState`)."""

    #: No attempt: disconnected or closed.
    IDLE = "idle"
    #: Waiting out the reconnect delay (§6.2).
    BACKOFF = "backoff"
    #: Waiting for a connection token (§6.3).
    TOKEN = "token"
    #: ``OpenTransport`` asked for; waiting for ``transport_opened``.
    OPENING = "opening"
    #: HTTP CONNECT to the proxy under way (proxy.py).
    TUNNEL = "tunnel"
    #: The tunnel is up; ``StartTls`` asked for; waiting for ``tls_started``.
    TLS = "tls"
    #: The WebSocket upgrade under way.
    HANDSHAKE = "handshake"
    #: The connect command went out alone; waiting for its reply.
    CONNECT_SENT = "connect sent"
    CONNECTED = "connected"

    @property
    def has_transport(self) -> bool:
        """A socket is open or opening: a teardown must close it."""
        return self in _WITH_TRANSPORT

    @property
    def reads_messages(self) -> bool:
        """Decoded messages count (the connect reply or later)."""
        return self is Phase.CONNECT_SENT or self is Phase.CONNECTED


_WITH_TRANSPORT: Final = frozenset(
    {
        Phase.OPENING,
        Phase.TUNNEL,
        Phase.TLS,
        Phase.HANDSHAKE,
        Phase.CONNECT_SENT,
        Phase.CONNECTED,
    }
)


class PhaseInput(enum.Enum):
    # The session's own steps.
    NEED_TOKEN = "need a token"
    OPEN = "open transport"
    BACK_OFF = "back off"
    WEBSOCKET_OPENED = "websocket opened, connect sent"
    CONNECT_ACCEPTED = "connect reply ok"
    TEAR_DOWN = "tear down"
    # News from the adapter (it may be stale: the attempt was given up meanwhile).
    TRANSPORT_OPENED = "transport opened"
    TRANSPORT_OPENED_TO_PROXY = "transport opened to the proxy"
    TUNNEL_OPENED = "tunnel opened"
    TUNNEL_OPENED_FOR_TLS = "tunnel opened, TLS next"
    TLS_STARTED = "tls started"


_P = Phase
_PI = PhaseInput

#: The defined moves; every other (phase, input) pair is filled in below.
_PHASE_MOVES: Final[dict[tuple[Phase, PhaseInput], Phase]] = {
    (_P.IDLE, _PI.NEED_TOKEN): _P.TOKEN,
    (_P.BACKOFF, _PI.NEED_TOKEN): _P.TOKEN,
    (_P.IDLE, _PI.OPEN): _P.OPENING,
    (_P.BACKOFF, _PI.OPEN): _P.OPENING,
    (_P.TOKEN, _PI.OPEN): _P.OPENING,
    (_P.IDLE, _PI.BACK_OFF): _P.BACKOFF,
    (_P.OPENING, _PI.TRANSPORT_OPENED): _P.HANDSHAKE,
    (_P.OPENING, _PI.TRANSPORT_OPENED_TO_PROXY): _P.TUNNEL,
    (_P.TUNNEL, _PI.TUNNEL_OPENED): _P.HANDSHAKE,
    (_P.TUNNEL, _PI.TUNNEL_OPENED_FOR_TLS): _P.TLS,
    (_P.TLS, _PI.TLS_STARTED): _P.HANDSHAKE,
    (_P.HANDSHAKE, _PI.WEBSOCKET_OPENED): _P.CONNECT_SENT,
    (_P.CONNECT_SENT, _PI.CONNECT_ACCEPTED): _P.CONNECTED,
    **{(phase, _PI.TEAR_DOWN): _P.IDLE for phase in Phase},
}

#: Inputs that come from the adapter: out of their phase they are stale, not bugs.
_ADAPTER_NEWS: Final = frozenset(
    {
        _PI.TRANSPORT_OPENED,
        _PI.TRANSPORT_OPENED_TO_PROXY,
        _PI.TUNNEL_OPENED,
        _PI.TUNNEL_OPENED_FOR_TLS,
        _PI.TLS_STARTED,
    }
)

#: (phase, input) → next phase | IGNORED (stale adapter news) | INVALID (the
#: session never asks it: a bug, and a test says it cannot happen).
PHASE_TRANSITIONS: Final[dict[tuple[Phase, PhaseInput], Phase | Outcome]] = {
    (phase, event): _PHASE_MOVES.get((phase, event), IGNORED if event in _ADAPTER_NEWS else INVALID)
    for phase in Phase
    for event in PhaseInput
}
