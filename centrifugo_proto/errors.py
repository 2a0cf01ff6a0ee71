"""Errors raised to callers and carried by ``CommandFailed`` events.

One base, :class:`CentrifugoError`, so applications can catch everything this
library raises with one ``except``. ``LocalProtocolError`` is the caller's
misuse (it changes no state); the others describe what happened to a command.
Bad input from the server never raises: it becomes events (DESIGN "Errors").
"""

from __future__ import annotations

__all__ = [
    "CentrifugoError",
    "ClientDisconnected",
    "CommandTimeout",
    "DecodeError",
    "LocalProtocolError",
    "ReplyError",
    "SubscriptionCancelled",
    "TransportError",
    "Unauthorized",
]


class CentrifugoError(Exception):
    """Base of every error of this library."""


class LocalProtocolError(CentrifugoError):
    """The caller asked for something the current state does not allow."""


class DecodeError(CentrifugoError):
    """Bytes from the server that are not a valid protocol message.

    The only exception a codec's decode function raises; the session turns it
    into a "bad protocol" reconnect.
    """


class ReplyError(CentrifugoError):
    """An error reply from the server (PROTOCOL.md §5.1)."""

    def __init__(self, code: int, message: str, temporary: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.temporary = temporary

    def __repr__(self) -> str:
        return (
            f"ReplyError(code={self.code!r}, message={self.message!r}, "
            f"temporary={self.temporary!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReplyError):
            return NotImplemented
        return (self.code, self.message, self.temporary) == (
            other.code,
            other.message,
            other.temporary,
        )

    def __hash__(self) -> int:
        return hash((self.code, self.message, self.temporary))

    @property
    def retryable(self) -> bool:
        """The SDK rule (PROTOCOL.md §5.1): client codes, temporary errors and 109."""
        return self.code < 100 or self.temporary or self.code == 109


class CommandTimeout(CentrifugoError, TimeoutError):
    """No reply (or no connection, subscription, publication) came in time.

    Also a built-in :class:`TimeoutError`, so ``except TimeoutError`` catches it.
    """


class ClientDisconnected(CentrifugoError):
    """The connection ended (or was never up) before the command got its reply."""

    def __init__(self, reason: str = "client disconnected") -> None:
        super().__init__(reason)
        self.reason = reason


class SubscriptionCancelled(CentrifugoError):
    """The caller's own ``unsubscribe()`` (or the subscription's removal) ended a
    ``subscribe()`` that was still waiting: nobody refused it."""


class TransportError(CentrifugoError):
    """The connection could not be opened or broke: refused, reset, TLS, a broken
    proxy. The client retries by itself; this is what it reports meanwhile."""


class Unauthorized(CentrifugoError):
    """Raised by a token callback: the user may not connect or subscribe (§6.3)."""
