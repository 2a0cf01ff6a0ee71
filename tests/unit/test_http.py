"""The sans-I/O HTTP/1.1 client connection (centrifugo_proto/http.py).

Every response here is bytes the test builds itself, playing the server: the
connection under test never sees a socket.
"""

from __future__ import annotations

import itertools

import pytest

from centrifugo_proto import LocalProtocolError
from centrifugo_proto.http import (
    HTTP_TRANSITIONS,
    HttpConnection,
    HttpFailure,
    HttpInput,
    HttpRequest,
    HttpResponse,
    HttpState,
)
from centrifugo_proto.states import INVALID

POST = HttpRequest(method="POST", target="/api/publish", body=b'{"channel":"a"}')
OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"result":{}}'
OK_RESPONSE = HttpResponse(
    status=200,
    reason="OK",
    headers=(("content-type", "application/json"), ("content-length", "13")),
    body=b'{"result":{}}',
)


def awaiting(request: HttpRequest = POST, **kwargs) -> HttpConnection:
    conn = HttpConnection("127.0.0.1:8000", **kwargs)
    conn.send(request)
    conn.data_to_send()
    return conn


def served_once() -> HttpConnection:
    conn = awaiting()
    conn.receive_data(OK)
    assert conn.next_event() == OK_RESPONSE
    return conn


# -- the request ---------------------------------------------------------------------------


def test_request_bytes_carry_host_length_and_body():
    conn = HttpConnection("127.0.0.1:8000")
    conn.send(HttpRequest(method="POST", target="/api/info", headers=[("X-A", "b c")], body=b"{}"))
    assert conn.data_to_send() == (
        b"POST /api/info HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nX-A: b c\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )
    assert conn.data_to_send() == b""  # flushed once
    assert conn.state is HttpState.AWAITING_RESPONSE


def test_get_without_body_has_no_length_and_empty_post_has_zero():
    conn = HttpConnection("h")
    conn.send(HttpRequest(method="GET", target="/health", headers=[("Host", "other")]))
    assert conn.data_to_send() == b"GET /health HTTP/1.1\r\nHost: other\r\n\r\n"
    conn = HttpConnection("h")
    conn.send(HttpRequest(method="POST", target="/x"))
    assert conn.data_to_send() == b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"


def test_body_may_be_any_bytes_like_and_repr_hides_secrets():
    request = HttpRequest(
        method="POST",
        target="/api",
        headers=[("X-API-Key", "k-secret"), ("x-api-sign", "s-secret"), ("X-Other", "shown")],
        body=bytearray(b"abc"),
    )
    assert request.body == b"abc"
    assert isinstance(request.body, bytes)
    text = repr(request)
    assert "k-secret" not in text
    assert "s-secret" not in text
    assert "shown" in text
    assert "<3 B>" in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": b"POST"}, "method must be a str"),
        ({"method": "PO ST"}, "not an HTTP token"),
        ({"method": ""}, "not an HTTP token"),
        ({"method": "connect"}, "CONNECT opens a tunnel"),
        ({"target": b"/x"}, "target must be a str"),
        ({"target": "/a b"}, "visible ASCII"),
        ({"target": "/é"}, "visible ASCII"),
        ({"target": ""}, "visible ASCII"),
        ({"headers": "X-A: b"}, "sequence of (name, value) pairs"),
        ({"headers": 5}, "sequence of (name, value) pairs"),
        ({"headers": [["X-A", "b"]]}, "(name, value) tuple"),
        ({"headers": [("X-A", "b", "c")]}, "(name, value) tuple"),
        ({"headers": [(b"X-A", "b")]}, "header name must be a str"),
        ({"headers": [("X A", "b")]}, "not an HTTP token"),
        ({"headers": [("Content-Length", "3")]}, "not the caller's to set"),
        ({"headers": [("transfer-encoding", "chunked")]}, "not the caller's to set"),
        ({"headers": [("Upgrade", "websocket")]}, "not the caller's to set"),
        ({"headers": [("X-A", b"b")]}, "must be a str"),
        ({"headers": [("X-A", "b\r\nX-Evil: 1")]}, "no CR, LF"),
        ({"headers": [("X-A", "b\nc")]}, "no CR, LF"),
        ({"headers": [("X-A", "b\x00")]}, "no CR, LF"),
        ({"headers": [("X-A", " b")]}, "edge spaces"),
        ({"headers": [("X-A", "é")]}, "visible ASCII"),
        ({"body": "text"}, "body must be bytes"),
    ],
)
def test_request_refuses_what_http_cannot_carry(kwargs, message):
    fields = {"method": "POST", "target": "/api", **kwargs}
    with pytest.raises(LocalProtocolError, match=message.replace("(", r"\(").replace(")", r"\)")):
        HttpRequest(**fields)


def test_empty_header_value_is_allowed():
    conn = HttpConnection("h")
    conn.send(HttpRequest(method="GET", target="/", headers=[("X-Empty", "")]))
    assert b"X-Empty: \r\n" in conn.data_to_send()


def test_two_host_headers_are_refused_before_anything_changes():
    conn = HttpConnection("h")
    request = HttpRequest(method="GET", target="/", headers=[("Host", "a"), ("host", "b")])
    with pytest.raises(LocalProtocolError, match="Host"):
        conn.send(request)
    assert conn.state is HttpState.IDLE
    assert conn.data_to_send() == b""
    conn.send(POST)  # still usable
    assert conn.data_to_send().startswith(b"POST /api/publish")


def test_second_request_in_flight_is_refused_and_queues_nothing():
    conn = HttpConnection("h")
    conn.send(POST)
    first = conn.data_to_send()
    with pytest.raises(LocalProtocolError, match="awaiting response"):
        conn.send(POST)
    assert conn.data_to_send() == b""
    conn.receive_data(OK)
    assert conn.next_event() == OK_RESPONSE
    assert first.startswith(b"POST")


def test_send_wants_an_http_request():
    with pytest.raises(LocalProtocolError, match="expected an HttpRequest"):
        HttpConnection("h").send("POST / HTTP/1.1")  # type: ignore[arg-type]


@pytest.mark.parametrize("host", ["", b"h", "a b", "é"])
def test_connection_wants_an_ascii_host(host):
    with pytest.raises(LocalProtocolError, match="host"):
        HttpConnection(host)


@pytest.mark.parametrize("size", [-1, 1.5, True])
def test_connection_wants_a_body_bound(size):
    with pytest.raises(LocalProtocolError, match="max_body_size"):
        HttpConnection("h", max_body_size=size)


# -- responses -------------------------------------------------------------------------------


@pytest.mark.parametrize("cut", range(len(OK) + 1))
def test_response_split_at_every_byte(cut):
    conn = awaiting()
    conn.receive_data(OK[:cut])
    if cut < len(OK):
        assert conn.next_event() is None
        assert conn.state is HttpState.AWAITING_RESPONSE
    conn.receive_data(OK[cut:])
    assert conn.next_event() == OK_RESPONSE
    assert conn.next_event() is None  # once
    assert conn.state is HttpState.IDLE


def test_response_byte_by_byte():
    conn = awaiting()
    for byte in OK:
        conn.receive_data(bytes([byte]))
    assert conn.next_event() == OK_RESPONSE


def test_keep_alive_serves_two_requests_on_one_connection():
    conn = awaiting()
    conn.receive_data(OK)
    assert conn.next_event() == OK_RESPONSE
    assert (conn.state, conn.served) == (HttpState.IDLE, 1)
    conn.send(HttpRequest(method="POST", target="/api/info", body=b"{}"))
    assert conn.data_to_send().startswith(b"POST /api/info HTTP/1.1\r\n")
    second = b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope\n"
    conn.receive_data(second)
    response = conn.next_event()
    assert isinstance(response, HttpResponse)
    assert (response.status, response.reason, response.body) == (404, "Not Found", b"nope\n")
    assert (conn.state, conn.served) == (HttpState.IDLE, 2)


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'5\r\n{"res\r\n8;ext=1\r\nult":{}}\r\n0\r\nX-Trailer: t\r\n\r\n'
)


@pytest.mark.parametrize("cut", range(0, len(CHUNKED) + 1, 3))
def test_chunked_body(cut):
    conn = awaiting()
    conn.receive_data(CHUNKED[:cut])
    conn.receive_data(CHUNKED[cut:])
    response = conn.next_event()
    assert isinstance(response, HttpResponse)
    assert response.body == b'{"result":{}}'
    assert response.header("Transfer-Encoding") == "chunked"
    assert conn.state is HttpState.IDLE


def test_header_lookup_is_case_insensitive_and_first_wins():
    response = HttpResponse(status=200, headers=(("x-a", "1"), ("x-a", "2")))
    assert response.header("X-A") == "1"
    assert response.header("x-b") is None


def test_informational_response_is_skipped():
    conn = awaiting()
    conn.receive_data(b"HTTP/1.1 100 Continue\r\n\r\n" + OK)
    assert conn.next_event() == OK_RESPONSE


def test_connection_close_from_the_server_ends_the_connection():
    conn = awaiting()
    conn.receive_data(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
    response = conn.next_event()
    assert isinstance(response, HttpResponse)
    assert response.body == b"ok"
    assert conn.state is HttpState.CLOSED
    with pytest.raises(LocalProtocolError, match="closed"):
        conn.send(POST)
    conn.receive_data(b"late bytes")  # ignored, never raises
    conn.receive_eof()
    conn.transport_failed("late reset")
    assert conn.next_event() is None
    assert conn.state is HttpState.CLOSED


def test_connection_close_from_the_caller_ends_the_connection():
    conn = awaiting(HttpRequest(method="GET", target="/", headers=[("Connection", "close")]))
    conn.receive_data(OK)
    assert conn.next_event() == OK_RESPONSE
    assert conn.state is HttpState.CLOSED


@pytest.mark.parametrize(
    "head",
    [b"HTTP/1.0 200 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"],
    ids=["http/1.0", "no length"],
)
def test_body_delimited_by_eof(head):
    conn = awaiting()
    conn.receive_data(head + b"all of ")
    conn.receive_data(b"it")
    assert conn.next_event() is None
    conn.receive_eof()
    response = conn.next_event()
    assert isinstance(response, HttpResponse)
    assert response.body == b"all of it"
    assert conn.state is HttpState.CLOSED


def test_head_response_has_no_body():
    conn = awaiting(HttpRequest(method="HEAD", target="/"))
    conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    response = conn.next_event()
    assert isinstance(response, HttpResponse)
    assert response.body == b""
    assert conn.state is HttpState.IDLE


# -- failures: bad bytes never raise ---------------------------------------------------------


@pytest.mark.parametrize("cut", [1, 17, len(OK) - 1])
def test_truncated_response_then_eof_fails(cut):
    conn = served_once()
    conn.send(POST)
    conn.receive_data(OK[:cut])
    conn.receive_eof()
    failure = conn.next_event()
    assert failure == HttpFailure(
        reason="the server closed the connection before the response was complete"
    )
    assert conn.state is HttpState.FAILED
    assert conn.failure == failure
    with pytest.raises(LocalProtocolError, match="failed"):
        conn.send(POST)


def test_eof_before_any_byte_on_a_reused_connection_may_be_retried():
    conn = served_once()
    conn.send(POST)
    conn.receive_eof()
    failure = conn.next_event()
    assert failure == HttpFailure(
        reason="the server closed the connection without a response", retry_on_new_connection=True
    )


def test_eof_before_any_byte_on_a_fresh_connection_is_not_retried():
    conn = awaiting()
    conn.receive_eof()
    failure = conn.next_event()
    assert isinstance(failure, HttpFailure)
    assert not failure.retry_on_new_connection


@pytest.mark.parametrize(
    "garbage",
    [
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"\x00\xff" * 10 + b"\r\n\r\n",
    ],
)
def test_garbage_gives_a_failure_not_an_exception(garbage):
    conn = awaiting()
    conn.receive_data(garbage)
    failure = conn.next_event()
    assert isinstance(failure, HttpFailure)
    assert failure.reason.startswith("bad HTTP from the server")
    assert not failure.retry_on_new_connection  # bytes came: the request was read
    assert conn.state is HttpState.FAILED
    conn.receive_data(OK)  # ignored afterwards
    conn.receive_eof()
    assert conn.next_event() is None


def test_headers_without_end_are_bounded():
    conn = awaiting()
    conn.receive_data(b"HTTP/1.1 200 OK\r\n" + b"X-A: " + b"a" * 70_000)
    failure = conn.next_event()
    assert isinstance(failure, HttpFailure)
    assert "bad HTTP" in failure.reason


def test_body_larger_than_the_bound_fails():
    conn = awaiting(max_body_size=10)
    conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n0123456789")
    assert conn.next_event() is None  # 10 bytes: still within the bound
    conn.receive_data(b"X")
    failure = conn.next_event()
    assert failure == HttpFailure(reason="response body larger than 10 bytes")
    assert conn.state is HttpState.FAILED


def test_bytes_after_the_response_spoil_the_connection_but_not_the_response():
    conn = awaiting()
    conn.receive_data(OK + b"HTTP/1.1 200 OK\r\n")
    assert conn.next_event() == OK_RESPONSE
    assert conn.state is HttpState.FAILED
    assert conn.failure == HttpFailure(reason="the server sent bytes after the response")


def test_bytes_while_idle_spoil_the_connection_without_an_event():
    conn = served_once()
    conn.receive_data(b"surprise")
    assert conn.next_event() is None
    assert conn.state is HttpState.FAILED
    assert conn.failure == HttpFailure(reason="the server sent bytes with no request in flight")


def test_eof_while_idle_closes_cleanly():
    conn = served_once()
    conn.receive_eof()
    assert conn.state is HttpState.CLOSED
    assert conn.failure is None
    assert conn.next_event() is None


def test_empty_data_is_nothing():
    conn = awaiting()
    conn.receive_data(b"")
    assert conn.state is HttpState.AWAITING_RESPONSE
    assert conn.next_event() is None


def test_receive_data_wants_bytes():
    with pytest.raises(LocalProtocolError, match="data must be bytes"):
        awaiting().receive_data("HTTP/1.1")  # type: ignore[arg-type]


@pytest.mark.parametrize("reused", [False, True])
def test_transport_failure_while_awaiting(reused):
    conn = served_once() if reused else awaiting()
    if reused:
        conn.send(POST)
    conn.transport_failed("connection reset by peer")
    failure = conn.next_event()
    assert failure == HttpFailure(reason="connection reset by peer", retry_on_new_connection=reused)
    assert conn.state is HttpState.FAILED


def test_transport_failure_after_some_bytes_is_not_retried():
    conn = served_once()
    conn.send(POST)
    conn.receive_data(OK[:5])
    conn.transport_failed("reset")
    failure = conn.next_event()
    assert isinstance(failure, HttpFailure)
    assert not failure.retry_on_new_connection


def test_transport_failure_while_idle_has_no_event():
    conn = HttpConnection("h")
    conn.transport_failed("reset")
    assert conn.next_event() is None
    assert conn.state is HttpState.FAILED
    conn.transport_failed("again")  # ended: nothing more
    assert conn.failure == HttpFailure(reason="reset")


def test_transport_failed_wants_a_str():
    with pytest.raises(LocalProtocolError, match="reason must be a str"):
        HttpConnection("h").transport_failed(OSError("x"))  # type: ignore[arg-type]


# -- the table -------------------------------------------------------------------------------


def test_transition_table_is_total():
    pairs = set(itertools.product(HttpState, HttpInput))
    assert set(HTTP_TRANSITIONS) == pairs


def test_only_idle_accepts_a_request():
    accepting = {s for s in HttpState if HTTP_TRANSITIONS[s, HttpInput.REQUEST_SENT] is not INVALID}
    assert accepting == {HttpState.IDLE}
