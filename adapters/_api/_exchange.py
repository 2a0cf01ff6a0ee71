"""One HTTP exchange on a kept-alive connection, written once for every driver.

Take an idle connection to the origin (dropping those the server closed, or sent
anything on, while they were idle) or open one; send the request and read the
response on the sans-I/O :class:`~centrifugo_proto.http.HttpConnection`; keep the
connection if it can carry another request; and once more, on a new connection,
if the server closed a kept-alive one as the request went out (nothing of a
response came).

:func:`exchange` is a coroutine that does its I/O through a :class:`StreamIO`.
asyncio and trio await it on their streams. The blocking client gives it
coroutines that block and return, never suspending, and runs it with
:func:`~._twin.awaitless`: one ``send(None)`` runs it to the end. So the steps, the
retry and what closes a connection exist once, and each driver keeps only what
really differs: how it opens, reads and writes, and how its deadline is kept.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from centrifugo_proto.errors import CommandTimeout, TransportError
from centrifugo_proto.http import HttpConnection, HttpFailure, HttpRequest, HttpResponse, HttpState
from centrifugo_proto.http_url import HttpUrl

from ._common import IdlePool, describe

__all__ = ["Conn", "StreamIO", "exchange"]

S = TypeVar("S")


class StreamIO(Protocol[S]):
    """A driver's I/O on its streams (``S``: a socket, an adapter's stream)."""

    async def open(self, url: HttpUrl) -> S:
        """A stream to ``url``'s origin (TLS for https); :class:`TransportError`
        or :class:`CommandTimeout` when it cannot be had."""
        ...

    async def send_all(self, stream: S, data: bytes) -> None: ...

    async def receive_some(self, stream: S) -> bytes:
        """Up to some bytes; ``b""`` at EOF."""
        ...

    def peer_spoke(self, stream: S) -> bool:
        """Anything (an EOF, stray bytes) arrived while the connection was idle."""
        ...

    async def discard(self, stream: S) -> None:
        """Close now, without waiting on the peer; never raises."""
        ...


class Conn(Generic[S]):
    """A kept-alive connection: its stream and its HTTP state."""

    __slots__ = ("http", "stream")

    def __init__(self, stream: S, http: HttpConnection) -> None:
        self.stream = stream
        self.http = http


async def exchange(
    pool: IdlePool[Conn[S]], io: StreamIO[S], url: HttpUrl, request: HttpRequest
) -> HttpResponse:
    """``request`` (already built for ``url``) on a connection of ``pool``."""
    for attempt in (1, 2):
        conn = await _checkout(pool, io, url)
        try:
            outcome = await _round_trip(io, conn, request)
        except BaseException:  # cancelled or timed out mid-exchange: its state is unknown
            await io.discard(conn.stream)
            raise
        if isinstance(outcome, HttpResponse):
            if conn.http.state is not HttpState.IDLE or not pool.give(url, conn):
                await io.discard(conn.stream)
            return outcome
        await io.discard(conn.stream)
        if not (outcome.retry_on_new_connection and attempt == 1):
            raise TransportError(outcome.reason)
        # The server closed the kept-alive connection as the request went out
        # (nothing of a response came): once more, on a new connection.
    raise AssertionError("unreachable: the second attempt returns or raises")


async def _checkout(pool: IdlePool[Conn[S]], io: StreamIO[S], url: HttpUrl) -> Conn[S]:
    while (idle := pool.take(url)) is not None:
        if not io.peer_spoke(idle.stream):
            return idle
        await io.discard(idle.stream)
    return Conn(await io.open(url), HttpConnection(url.host_header))


async def _round_trip(
    io: StreamIO[S], conn: Conn[S], request: HttpRequest
) -> HttpResponse | HttpFailure:
    http = conn.http
    http.send(request)
    try:
        await io.send_all(conn.stream, http.data_to_send())
    except CommandTimeout:  # the blocking driver's deadline: the call's end, not the socket's
        raise
    except Exception as exc:  # any socket error: the connection is gone
        http.transport_failed(describe(exc))
    while (event := http.next_event()) is None:
        try:
            data = await io.receive_some(conn.stream)
        except CommandTimeout:
            raise
        except Exception as exc:
            http.transport_failed(describe(exc))
            continue
        if data:
            http.receive_data(data)
        else:
            http.receive_eof()
    return event
