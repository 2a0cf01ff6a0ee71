"""Errors raised to callers and carried by ``CommandFailed`` events.

One base, :class:`CentrifugoError`, so applications can catch everything this
library raises with one ``except``. ``LocalProtocolError`` is the caller's
misuse (it changes no state); the others describe what happened to a command.
Bad input from the server never raises: it becomes events (DESIGN "Errors").
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "ApiHttpError",
    "ApiUnauthorized",
    "CentrifugoError",
    "ClientDisconnected",
    "CommandTimeout",
    "DecodeError",
    "LegacyApiError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "ReplyError",
    "SubscriptionCancelled",
    "TokenError",
    "TransportError",
    "Unauthorized",
]


class CentrifugoError(Exception):
    """Base of every error of this library.

    Errors compare by type and arguments, so the events that carry them compare
    by value too (``ErrorOccurred(error=TransportError("refused"))``).
    """

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CentrifugoError):
            return NotImplemented
        return type(self) is type(other) and self.args == other.args

    def __hash__(self) -> int:
        return hash((type(self), self.args))


class LocalProtocolError(CentrifugoError):
    """The caller asked for something the current state does not allow."""


class RemoteProtocolError(CentrifugoError):
    """The server broke the protocol (a frame that is not valid, an id never
    issued...): reported through ``ErrorOccurred`` while the client reconnects."""


class DecodeError(RemoteProtocolError):
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


class TokenError(CentrifugoError):
    """The token source failed (other than with :class:`Unauthorized`): the client
    asks again later."""


class TransportError(CentrifugoError):
    """The connection could not be opened or broke: refused, reset, TLS, a broken
    proxy. The client retries by itself; this is what it reports meanwhile."""


class Unauthorized(CentrifugoError):
    """Raised by a token callback: the user may not connect or subscribe (§6.3)."""


# -- the server HTTP API (centrifugo_proto.api) ------------------------------------------
# A call of the API client raises one of these, or TransportError (the connection
# could not be opened or broke), CommandTimeout (no answer in time), DecodeError (an
# answer that is not the expected JSON) or LocalProtocolError (the caller's input).


class ApiError(ReplyError):
    """The server API refused a command: ``{"error": {"code", "message"}}``
    (codes of ``internal/apiproto/errors.go``: 100 internal, 102 unknown channel,
    104 not found, 107 bad request, 108 not available, 112 unrecoverable position,
    113 conflict). In a batch or broadcast result it is an item, not raised."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)

    def __repr__(self) -> str:
        return f"ApiError(code={self.code!r}, message={self.message!r})"


class ApiHttpError(CentrifugoError):
    """The server answered with an HTTP status other than 200 (400 for a body it
    could not parse, 404 for an unknown route...). ``body`` is the start of what
    it said."""

    def __init__(self, status: int, reason: str, body: str = "") -> None:
        detail = f": {body}" if body else ""
        super().__init__(f"HTTP {status} {reason}".rstrip() + detail)
        self.status = status
        self.reason = reason
        self.body = body

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, reason={self.reason!r})"


class ApiUnauthorized(ApiHttpError):
    """HTTP 401: the API key (or, for 1.x, the request's sign) was refused."""


class LegacyApiError(CentrifugoError):
    """A 1.x API command failed inside its answer array (LEGACY-V1.md §11.9):
    ``{"method": ..., "error": "namespace not found", "advice": "fix"}``. In a
    batch result it is an item, not raised."""

    def __init__(self, method: str, message: str, advice: str = "") -> None:
        super().__init__(f"{method}: {message}" + (f" (advice: {advice})" if advice else ""))
        self.method = method
        self.message = message
        self.advice = advice

    def __repr__(self) -> str:
        return (
            f"LegacyApiError(method={self.method!r}, message={self.message!r}, "
            f"advice={self.advice!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LegacyApiError):
            return NotImplemented
        return (self.method, self.message, self.advice) == (
            other.method,
            other.message,
            other.advice,
        )

    def __hash__(self) -> int:
        return hash((self.method, self.message, self.advice))
