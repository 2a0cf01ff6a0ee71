"""The HTTP clients' shared pieces without a network: the exchange on a kept-alive
connection (adapters/_api/_exchange.py) over scripted streams, run as the blocking
client runs it (``awaitless``), and the twin methods (adapters/_api/_twin.py)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Generator
from typing import Any

import pytest

from centrifugo_proto.adapters._api._common import IdlePool
from centrifugo_proto.adapters._api._exchange import Conn, exchange
from centrifugo_proto.adapters._api._twin import Awaiting, Blocking, awaitless, twin
from centrifugo_proto.errors import CommandTimeout, TransportError
from centrifugo_proto.http import HttpConnection, HttpRequest, HttpResponse
from centrifugo_proto.http_url import parse_http_url

URL = parse_http_url("http://api.test:8000/api")
REQUEST = HttpRequest(method="POST", target="/api/info", body=b"{}")
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
OK_THEN_CLOSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


class Stream:
    """A scripted connection: what each read returns (or raises)."""

    def __init__(self, *reads: bytes | Exception, send_error: Exception | None = None) -> None:
        self.reads = list(reads)
        self.send_error = send_error
        self.sent = b""
        self.spoke = False
        self.closed = False


class Streams:
    """The exchange's I/O on scripted streams: coroutines that never suspend."""

    def __init__(self, *fresh: Stream) -> None:
        self.fresh = list(fresh)
        self.opened: list[Stream] = []

    async def open(self, url: Any) -> Stream:
        assert url is URL
        self.opened.append(self.fresh.pop(0))
        return self.opened[-1]

    async def send_all(self, stream: Stream, data: bytes) -> None:
        if stream.send_error is not None:
            raise stream.send_error
        stream.sent += data

    async def receive_some(self, stream: Stream) -> bytes:
        read = stream.reads.pop(0)
        if isinstance(read, Exception):
            raise read
        return read

    def peer_spoke(self, stream: Stream) -> bool:
        return stream.spoke

    async def discard(self, stream: Stream) -> None:
        stream.closed = True


def run(pool: IdlePool[Conn[Stream]], io: Streams) -> HttpResponse:
    return awaitless(exchange(pool, io, URL, REQUEST))


def kept(pool: IdlePool[Conn[Stream]]) -> list[Stream]:
    return [conn.stream for conn in pool.close()]


def test_a_new_connection_carries_the_request_and_is_kept_for_the_next() -> None:
    pool: IdlePool[Conn[Stream]] = IdlePool()
    stream = Stream(OK, OK)
    io = Streams(stream)
    assert (run(pool, io).status, run(pool, io).body) == (200, b"ok")
    assert io.opened == [stream]  # the second call reused it
    assert stream.sent.startswith(b"POST /api/info HTTP/1.1\r\n")
    assert stream.sent.count(b"POST") == 2
    assert kept(pool) == [stream]
    assert not stream.closed


def test_an_idle_connection_the_server_spoke_on_is_closed_not_used() -> None:
    pool: IdlePool[Conn[Stream]] = IdlePool()
    first, second = Stream(OK), Stream(OK)
    io = Streams(first, second)
    run(pool, io)
    first.spoke = True  # an EOF or stray bytes while it was idle
    assert run(pool, io).status == 200
    assert (io.opened, first.closed) == ([first, second], True)


def test_a_kept_alive_connection_closed_as_the_request_went_out_is_retried_once() -> None:
    pool: IdlePool[Conn[Stream]] = IdlePool()
    reused, fresh = Stream(OK, b""), Stream(OK)  # b"": the server's EOF, nothing of a response
    io = Streams(reused, fresh)
    run(pool, io)
    assert run(pool, io).status == 200
    assert (io.opened, reused.closed) == ([reused, fresh], True)
    assert kept(pool) == [fresh]


def test_the_retry_happens_once() -> None:
    pool: IdlePool[Conn[Stream]] = IdlePool()
    reused, fresh = Stream(OK, b""), Stream(b"")
    io = Streams(reused, fresh)
    run(pool, io)
    with pytest.raises(TransportError):
        run(pool, io)
    assert (reused.closed, fresh.closed, kept(pool)) == (True, True, [])


def test_a_new_connection_that_ends_early_is_a_transport_error_without_retry() -> None:
    pool: IdlePool[Conn[Stream]] = IdlePool()
    stream = Stream(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok", b"")
    io = Streams(stream, Stream(OK))
    with pytest.raises(TransportError):
        run(pool, io)
    assert (io.opened, stream.closed, kept(pool)) == ([stream], True, [])


@pytest.mark.parametrize("where", ["send", "receive"])
def test_a_socket_error_is_a_transport_error(where: str) -> None:
    pool: IdlePool[Conn[Stream]] = IdlePool()
    reset = ConnectionResetError("reset by peer")
    stream = Stream(send_error=reset) if where == "send" else Stream(reset)
    with pytest.raises(TransportError, match="reset by peer"):
        run(pool, Streams(stream))
    assert (stream.closed, kept(pool)) == (True, [])


def test_the_call_running_out_of_time_closes_the_connection_and_is_a_timeout() -> None:
    pool: IdlePool[Conn[Stream]] = IdlePool()
    stream = Stream(CommandTimeout("no answer within 1 s"))
    with pytest.raises(CommandTimeout):  # not a TransportError: the call's deadline, not the socket
        run(pool, Streams(stream))
    assert (stream.closed, kept(pool)) == (True, [])


def test_a_connection_that_cannot_carry_another_request_is_closed() -> None:
    pool: IdlePool[Conn[Stream]] = IdlePool()
    stream = Stream(OK_THEN_CLOSE)
    assert run(pool, Streams(stream)).status == 200
    assert (stream.closed, kept(pool)) == (True, [])


def test_a_closed_or_full_pool_keeps_nothing_more() -> None:
    pool: IdlePool[Conn[Stream]] = IdlePool(max_idle=1)
    conns = [Conn(Stream(), HttpConnection(URL.host_header)) for _ in range(3)]
    assert [pool.give(URL, conn) for conn in conns[:2]] == [True, False]
    assert pool.close() == conns[:1]
    assert (pool.closed, pool.give(URL, conns[2]), pool.take(URL), pool.close()) == (
        True,
        False,
        None,
        [],
    )
    stream = Stream(OK)
    assert run(pool, Streams(stream)).status == 200
    assert stream.closed


# -- twins and awaitless --------------------------------------------------------------------


class _Methods:
    @twin
    def double(self: Any, value: int, *, timeout: float | None = None) -> int:
        """Twice ``value``."""
        result: int = self.call(value * 2, timeout)
        return result


class _BlockingClient(Blocking, _Methods):
    def call(self, value: int, timeout: float | None) -> int:
        return value + (timeout or 0)

    def close(self) -> None:
        pass


class _AwaitingClient(Awaiting, _Methods):
    async def call(self, value: int, timeout: float | None) -> int:
        await asyncio.sleep(0)  # a real suspension: it must be awaited
        return value + (timeout or 0)

    async def aclose(self) -> None:
        pass


def test_a_twin_is_a_plain_method_on_a_blocking_client_and_a_coroutine_on_an_awaiting_one() -> None:
    blocking, awaiting = _BlockingClient(), _AwaitingClient()
    assert blocking.double(2, timeout=1) == 5
    assert asyncio.run(awaiting.double(2, timeout=1)) == 5
    assert inspect.iscoroutinefunction(awaiting.double)
    assert inspect.iscoroutinefunction(_AwaitingClient.double)
    assert not inspect.iscoroutinefunction(blocking.double)
    assert inspect.ismethod(blocking.double)
    assert inspect.ismethod(awaiting.double)
    for method in (blocking.double, awaiting.double):
        assert (method.__name__, method.__doc__) == ("double", "Twice ``value``.")
        assert list(inspect.signature(method).parameters) == ["value", "timeout"]


def test_awaitless_runs_a_coroutine_that_never_suspends_and_refuses_one_that_does() -> None:
    async def ends(value: int) -> int:
        return value

    async def fails() -> None:
        raise TransportError("refused")

    class Suspends:
        def __await__(self) -> Generator[None, None, None]:
            yield

    async def waits() -> None:
        await Suspends()

    assert awaitless(ends(3)) == 3
    with pytest.raises(TransportError):
        awaitless(fails())
    suspended = waits()
    with pytest.raises(RuntimeError, match="suspended"):
        awaitless(suspended)
    assert inspect.getcoroutinestate(suspended) == inspect.CORO_CLOSED
