"""The CLI's exit codes, one per kind of failure, and how an error maps to one.

The table is the one ``--help`` prints and ``docs/cli.md`` shows (a test keeps
the three in step). :func:`failure` reads what the library raised in the light
of what the CLI was doing (connecting, subscribing, a command, the server API),
so the same ``ReplyError`` is a refused connection at connect and a denied
subscribe at subscribe.
"""

from __future__ import annotations

import enum

from centrifugo_proto.errors import (
    ApiError,
    ApiHttpError,
    CentrifugoError,
    ClientDisconnected,
    CommandTimeout,
    DecodeError,
    LegacyApiError,
    LocalProtocolError,
    RemoteProtocolError,
    ReplyError,
    TransportError,
    Unauthorized,
)

__all__ = ["TOKEN_EXPIRED_CODES", "CliError", "Exit", "Stage", "exit_table", "failure"]

#: Error codes of expired credentials: 109 token expired (connect and subscribe
#: replies, PROTOCOL.md §5.1), 110 expired (1.x credentials too old, LEGACY-V1.md §7).
TOKEN_EXPIRED_CODES = frozenset({109, 110})


class Exit(enum.IntEnum):
    """Exit status of ``centrifugo-proto``; each member's doc is its line in the table."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    BAD_URL = 3
    CANNOT_CONNECT = 4
    CONNECT_REFUSED = 5
    TOKEN_EXPIRED = 6
    SUBSCRIBE_DENIED = 7
    COMMAND_FAILED = 8
    API_ERROR = 9
    API_HTTP_ERROR = 10
    TIMEOUT = 11
    ENDED_BY_SERVER = 12
    INTERRUPTED = 130
    BROKEN_PIPE = 141

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    Exit.OK: "success",
    Exit.UNEXPECTED: "an unexpected error (a bug: the traceback is printed)",
    Exit.USAGE: "usage: a bad option, argument, JSON value or token file",
    Exit.BAD_URL: "a malformed --url or --api-url",
    Exit.CANNOT_CONNECT: "cannot connect: refused, unreachable, TLS, WebSocket handshake",
    Exit.CONNECT_REFUSED: "the server refused the connection (invalid token, ...)",
    Exit.TOKEN_EXPIRED: "the connection or subscription token has expired (error 109)",
    Exit.SUBSCRIBE_DENIED: "the server refused the subscription (permission denied, ...)",
    Exit.COMMAND_FAILED: "the server refused a publish, history, presence or rpc",
    Exit.API_ERROR: "the server API answered an error (one item of a batch included)",
    Exit.API_HTTP_ERROR: "the server API refused the key (HTTP 401) or answered another status",
    Exit.TIMEOUT: "no answer within --timeout",
    Exit.ENDED_BY_SERVER: "the server ended the subscription or the connection for good",
    Exit.INTERRUPTED: "interrupted (Ctrl-C, SIGINT)",
    Exit.BROKEN_PIPE: "the reader of the output went away (a closed pipe)",
}


def exit_table() -> str:
    """The exit codes as ``--help`` prints them."""
    return "\n".join(f"  {code.value:>3}  {code.meaning}" for code in Exit)


class CliError(Exception):
    """End the CLI with ``code``, printing ``message`` on stderr."""

    def __init__(self, code: Exit, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Stage(enum.Enum):
    """What the CLI was doing when the error came."""

    CONNECT = "connect"
    SUBSCRIBE = "subscribe"
    COMMAND = "command"
    #: Subscribed, and the server ended it (a terminal disconnect).
    RUNNING = "running"
    API = "api"


def _root(error: BaseException) -> BaseException:
    """A timeout of connect or subscribe names the last error as its cause: that
    error says more (refused, expired) than "timed out"."""
    cause = error.__cause__
    if isinstance(error, CommandTimeout) and isinstance(cause, CentrifugoError):
        return cause
    return error


def failure(error: CentrifugoError, stage: Stage, what: str) -> CliError:
    """The exit code and message for ``error`` raised while doing ``what``."""
    root = _root(error)
    text = f"{what}: {error}"
    if isinstance(root, LocalProtocolError):
        return CliError(Exit.USAGE, text)
    if isinstance(root, ReplyError) and root.code in TOKEN_EXPIRED_CODES:
        return CliError(Exit.TOKEN_EXPIRED, text)
    if isinstance(root, TransportError | RemoteProtocolError) and not isinstance(root, DecodeError):
        return CliError(Exit.CANNOT_CONNECT, text)
    if isinstance(root, CommandTimeout):
        return CliError(Exit.TIMEOUT, text)
    if stage is Stage.API:
        if isinstance(root, ApiError | LegacyApiError):
            return CliError(Exit.API_ERROR, text)
        if isinstance(root, ApiHttpError | DecodeError):
            return CliError(Exit.API_HTTP_ERROR, text)
    if isinstance(root, ReplyError | Unauthorized | ClientDisconnected):
        if stage is Stage.RUNNING:
            return CliError(Exit.ENDED_BY_SERVER, text)
        if stage is Stage.CONNECT:
            return CliError(Exit.CONNECT_REFUSED, text)
        if stage is Stage.SUBSCRIBE:
            return CliError(Exit.SUBSCRIBE_DENIED, text)
        if isinstance(root, ReplyError):
            return CliError(Exit.COMMAND_FAILED, text)
        return CliError(Exit.ENDED_BY_SERVER, text)
    return CliError(Exit.UNEXPECTED, f"{text} ({type(error).__name__})")
