"""What the three HTTP drivers share that does no I/O: timeouts, the idle pool,
the TLS context, and how a socket error reads in a ``TransportError``."""

from __future__ import annotations

import logging
import math
import select
import socket
import ssl
import threading
from collections.abc import Sequence
from typing import Any, Final, Generic, TypeVar

import attrs

from centrifugo_proto.api.validate import encode_json
from centrifugo_proto.errors import CommandTimeout, LocalProtocolError, TransportError
from centrifugo_proto.http import HttpRequest, HttpResponse
from centrifugo_proto.http_url import HttpUrl

from .._tls import client_context

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_IDLE",
    "IdlePool",
    "call_timeout",
    "check_timeout",
    "connect_error",
    "describe",
    "json_post",
    "logged",
    "peer_spoke",
    "timed_out",
    "tls_for",
]

#: The server API clients' logger (docs/logging.md): each call at DEBUG, its route and
#: status only (never a header, so never the key or the sign).
log = logging.getLogger("centrifugo_proto.adapters.api")

#: Seconds a call may take, connecting included, unless the caller says otherwise.
DEFAULT_TIMEOUT: Final = 10.0
#: Idle kept-alive connections kept per origin (more concurrent calls open more,
#: and the extra ones close when they finish).
MAX_IDLE: Final = 4

C = TypeVar("C")


def logged(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """``response``, once its call is logged (the path without a query)."""
    log.debug("%s %s: HTTP %d", request.method, request.target.partition("?")[0], response.status)
    return response


def check_timeout(value: Any, what: str = "timeout") -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise LocalProtocolError(f"{what} must be a number of seconds, got {type(value).__name__}")
    if math.isnan(value) or value < 0:
        raise LocalProtocolError(f"{what} must be >= 0 seconds, got {value!r}")
    return float(value)


def call_timeout(value: Any, default: float) -> float:
    """A call's ``timeout=``: None is the client's default; 0 is no time at all,
    so the call raises :class:`CommandTimeout` before doing anything."""
    seconds = default if value is None else check_timeout(value)
    if seconds == 0:
        raise timed_out(0.0)
    return seconds


def timed_out(seconds: float) -> CommandTimeout:
    return CommandTimeout(f"no answer within {seconds:g} s")


def describe(exc: BaseException) -> str:
    """``Type: text``; an exception that only wraps another (trio's
    ``BrokenResourceError`` around an ``SSLError``) is told by its cause."""
    text = str(exc)
    if text:
        return f"{type(exc).__name__}: {text}"
    cause = exc.__cause__ or exc.__context__
    return f"{type(exc).__name__}: {describe(cause)}" if cause else type(exc).__name__


def connect_error(url: HttpUrl, exc: BaseException) -> TransportError:
    error = TransportError(f"cannot connect to {url.host}:{url.port}: {describe(exc)}")
    error.__cause__ = exc
    return error


def json_post(url: HttpUrl, body: Any, headers: Sequence[tuple[str, str]]) -> HttpRequest:
    """``POST url`` with ``body`` as JSON; ``Content-Type: application/json``
    unless ``headers`` has one."""
    request = HttpRequest(method="POST", target=url.target, headers=headers, body=encode_json(body))
    if any(name.lower() == "content-type" for name, _ in request.headers):
        return request
    return attrs.evolve(request, headers=(("Content-Type", "application/json"), *request.headers))


def tls_for(url: HttpUrl, configured: ssl.SSLContext | None) -> ssl.SSLContext | None:
    """The context for ``url`` (None for http://). Built here, on the first https
    connection, not in a constructor: reading the CA store is I/O."""
    if not url.tls:
        return None
    return client_context(configured, False)


def peer_spoke(sock: socket.socket | Any) -> bool:
    """Whether an idle connection's socket has something to read: an EOF (the
    server closed it as idle) or bytes nobody asked for. Either way it must not
    carry another request. A zero-timeout poll, so it never waits."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):  # closed already, or a descriptor select() cannot take
        return True
    return bool(readable)


class IdlePool(Generic[C]):
    """Idle kept-alive connections by origin, newest first out; closed once, for
    good. Locked: the blocking client's calls run in their callers' threads."""

    def __init__(self, max_idle: int = MAX_IDLE) -> None:
        self._idle: dict[tuple[bool, str, int], list[C]] = {}
        self._max_idle = max_idle
        self._lock = threading.Lock()
        self.closed = False

    def take(self, url: HttpUrl) -> C | None:
        with self._lock:
            idle = self._idle.get(url.origin)
            return idle.pop() if idle else None

    def give(self, url: HttpUrl, conn: C) -> bool:
        """Keep ``conn`` for later; False if the pool is full or closed (close it then)."""
        with self._lock:
            idle = self._idle.setdefault(url.origin, [])
            if self.closed or len(idle) >= self._max_idle:
                return False
            idle.append(conn)
            return True

    def close(self) -> list[C]:
        """Close the pool: the idle connections, for the caller to close. Idempotent."""
        with self._lock:
            self.closed = True
            idle = [conn for conns in self._idle.values() for conn in conns]
            self._idle.clear()
        return idle
