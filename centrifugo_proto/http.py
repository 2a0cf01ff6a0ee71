"""A sans-I/O HTTP/1.1 client connection on h11: bytes in, bytes and responses out.

One :class:`HttpConnection` is one TCP (or TLS) connection to one origin. The
caller queues a request with :meth:`~HttpConnection.send` (it becomes bytes in
:meth:`~HttpConnection.data_to_send`), feeds what the socket reads to
:meth:`~HttpConnection.receive_data` / :meth:`~HttpConnection.receive_eof`, and
reads the outcome from :meth:`~HttpConnection.next_event`: one
:class:`HttpResponse`, or one :class:`HttpFailure` if the peer broke HTTP or the
connection ended first. Nothing here opens a socket or reads a clock; timeouts
are the adapter's.

Rules (RFC 9112; h11 enforces the framing):

- **One request at a time.** A second :meth:`~HttpConnection.send` before the
  response is complete is the caller's mistake (:class:`LocalProtocolError`); no
  pipelining, so a response always belongs to the one request in flight.
- **Keep-alive.** After a complete response the connection is ``IDLE`` again and
  serves the next request (h11's ``start_next_cycle``), unless either side said
  ``Connection: close``, the server spoke HTTP/1.0, or the body was delimited by
  the end of the connection (RFC 9112 §6.3 rule 8): then it is ``CLOSED``.
- **Bad bytes never raise** out of ``receive_data`` / ``receive_eof``: they end in
  ``FAILED`` with an :class:`HttpFailure` the caller reads, and the connection is
  not used again.
- **Misuse raises before anything is queued**: :class:`HttpRequest` checks its
  parts when it is built (types, token syntax, no CR/LF/NUL in a header, ASCII),
  and ``send`` checks the state, so a refused request leaves the connection as it
  was.

The state machine is the table :data:`HTTP_TRANSITIONS` (DESIGN "State machines").
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from typing import Any, Final

import attrs
import h11

from .errors import LocalProtocolError
from .states import INVALID, STAY, Outcome

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "HTTP_TRANSITIONS",
    "HttpConnection",
    "HttpFailure",
    "HttpInput",
    "HttpRequest",
    "HttpResponse",
    "HttpState",
]

#: Bodies larger than this end the connection with an :class:`HttpFailure`, so a
#: broken or hostile server cannot make the client buffer without bound.
DEFAULT_MAX_BODY_SIZE: Final = 64 * 1024 * 1024
#: Status line and headers larger than this are a failure too (h11's own bound).
_MAX_HEAD_SIZE: Final = 64 * 1024

#: RFC 9110 §5.6.2: ``token = 1*tchar``.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
#: The request target: visible ASCII (RFC 9112 §3.2), no spaces or controls.
_TARGET = re.compile(r"[\x21-\x7e]+\Z")
#: A header value: visible ASCII with inner spaces/tabs, no CR, LF or NUL
#: (RFC 9110 §5.5); empty is allowed.
_VALUE = re.compile(r"(?:[\x21-\x7e](?:[\x20\x21-\x7e\t]*[\x21-\x7e])?)?\Z")
#: The connection frames the body itself (Content-Length), so a caller's framing
#: header could only contradict it; and it speaks only HTTP, so no protocol
#: switch (the WebSocket upgrade and CONNECT tunnels are websocket.py's and
#: proxy.py's).
_REFUSED_HEADERS: Final = frozenset({"content-length", "transfer-encoding", "upgrade"})
#: Values never shown in a ``repr`` (DESIGN: API keys and signs stay out of logs).
_SECRET_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-api-sign"}
)


class HttpState(enum.Enum):
    #: A request may be sent.
    IDLE = "idle"
    #: A request is queued or sent; its response is not complete yet.
    AWAITING_RESPONSE = "awaiting response"
    #: Ended cleanly (``Connection: close``, an EOF while idle): open a new one.
    CLOSED = "closed"
    #: The peer broke HTTP, or the connection ended mid-response: not reusable.
    FAILED = "failed"


class HttpInput(enum.Enum):
    REQUEST_SENT = "request sent"
    #: A complete response after which both sides may go on.
    RESPONSE_KEEP_ALIVE = "response, keep-alive"
    #: A complete response after which the connection must close.
    RESPONSE_LAST = "response, then close"
    #: The peer closed (EOF) when no response was being read.
    PEER_CLOSED = "peer closed"
    #: Bad bytes, unexpected bytes, an EOF or a socket error mid-response.
    BROKEN = "broken"


_I, _A, _C, _F = HttpState.IDLE, HttpState.AWAITING_RESPONSE, HttpState.CLOSED, HttpState.FAILED
_In = HttpInput

#: (state, input) → next state | STAY | INVALID. INVALID for REQUEST_SENT is the
#: caller's mistake; for the response inputs it names a pair the connection never
#: applies (h11 yields no response without a request in flight).
HTTP_TRANSITIONS: Final[dict[tuple[HttpState, HttpInput], HttpState | Outcome]] = {
    (_I, _In.REQUEST_SENT): _A,
    (_I, _In.RESPONSE_KEEP_ALIVE): INVALID,
    (_I, _In.RESPONSE_LAST): INVALID,
    (_I, _In.PEER_CLOSED): _C,  # the server closed an idle keep-alive connection
    (_I, _In.BROKEN): _F,  # bytes nobody asked for
    (_A, _In.REQUEST_SENT): INVALID,  # one request at a time
    (_A, _In.RESPONSE_KEEP_ALIVE): _I,
    (_A, _In.RESPONSE_LAST): _C,
    (_A, _In.PEER_CLOSED): _F,  # an EOF mid-response is BROKEN; this pair never occurs
    (_A, _In.BROKEN): _F,
    (_C, _In.REQUEST_SENT): INVALID,
    (_C, _In.RESPONSE_KEEP_ALIVE): INVALID,
    (_C, _In.RESPONSE_LAST): INVALID,
    (_C, _In.PEER_CLOSED): STAY,
    (_C, _In.BROKEN): STAY,  # whatever comes after the end is ignored
    (_F, _In.REQUEST_SENT): INVALID,
    (_F, _In.RESPONSE_KEEP_ALIVE): INVALID,
    (_F, _In.RESPONSE_LAST): INVALID,
    (_F, _In.PEER_CLOSED): STAY,
    (_F, _In.BROKEN): STAY,
}


def _check_token(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise LocalProtocolError(f"{what} must be a str, got {type(value).__name__}")
    if not _TOKEN.match(value):
        raise LocalProtocolError(f"{what} is not an HTTP token: {value!r}")
    return value


def _check_method(value: Any) -> str:
    method = _check_token(value, "method")
    if method.upper() == "CONNECT":
        raise LocalProtocolError("CONNECT opens a tunnel, not a request (see proxy.py)")
    return method


def _check_target(value: Any) -> str:
    if not isinstance(value, str):
        raise LocalProtocolError(f"request target must be a str, got {type(value).__name__}")
    if not _TARGET.match(value):
        raise LocalProtocolError(f"request target must be visible ASCII without spaces: {value!r}")
    return value


def _check_headers(value: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise LocalProtocolError("headers must be a sequence of (name, value) pairs")
    headers = []
    for pair in value:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise LocalProtocolError(f"a header must be a (name, value) tuple, got {pair!r}")
        name = _check_token(pair[0], "header name")
        if name.lower() in _REFUSED_HEADERS:
            raise LocalProtocolError(f"header {name} is not the caller's to set")
        header_value = pair[1]
        if not isinstance(header_value, str):
            raise LocalProtocolError(
                f"header {name} must be a str, got {type(header_value).__name__}"
            )
        if not _VALUE.match(header_value):
            raise LocalProtocolError(
                f"header {name} must be visible ASCII with no CR, LF, NUL or edge spaces"
            )
        headers.append((name, header_value))
    return tuple(headers)


def _check_body(value: Any) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise LocalProtocolError(f"body must be bytes, got {type(value).__name__}")
    return bytes(value)


def _headers_repr(headers: tuple[tuple[str, str], ...]) -> str:
    shown = [(n, "<hidden>" if n.lower() in _SECRET_HEADERS else v) for n, v in headers]
    return repr(tuple(shown))


@attrs.frozen(kw_only=True)
class HttpRequest:
    """What to send: checked here, at the caller's call, before any state changes.

    ``Host`` comes from the connection unless given here; ``Content-Length`` is
    always the connection's (a body of any size, ``GET`` included, is framed by
    it). Secret header values (``X-API-Key``, ``X-API-Sign``, ``Authorization``,
    ``Cookie``...) are hidden in ``repr``.
    """

    method: str = attrs.field(converter=_check_method)
    target: str = attrs.field(converter=_check_target)
    headers: tuple[tuple[str, str], ...] = attrs.field(
        default=(), converter=_check_headers, repr=_headers_repr
    )
    body: bytes = attrs.field(default=b"", converter=_check_body, repr=lambda b: f"<{len(b)} B>")


@attrs.frozen(kw_only=True)
class HttpResponse:
    """A complete response. Header names are lower-case, values decoded as Latin-1."""

    status: int
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None


@attrs.frozen(kw_only=True)
class HttpFailure:
    """The request got no (complete) response on this connection."""

    reason: str
    #: Nothing of a response had arrived, on a connection that had served an
    #: earlier one: the server most likely closed it as idle while the request
    #: was on its way, so the request may go again on a new connection.
    retry_on_new_connection: bool = False


class HttpConnection:
    """One HTTP/1.1 client connection (see the module docstring for the rules)."""

    def __init__(self, host: str, *, max_body_size: int = DEFAULT_MAX_BODY_SIZE) -> None:
        if not isinstance(host, str) or not host or not _TARGET.match(host):
            raise LocalProtocolError(f"host must be a non-empty ASCII str, got {host!r}")
        if type(max_body_size) is not int or max_body_size < 0:
            raise LocalProtocolError(f"max_body_size must be an int >= 0, got {max_body_size!r}")
        self._host = host
        self._max_body_size = max_body_size
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD_SIZE)
        self._state = HttpState.IDLE
        self._outgoing = bytearray()
        self._event: HttpResponse | HttpFailure | None = None
        self._failure: HttpFailure | None = None
        self._served = 0
        self._head: h11.Response | None = None
        self._body: list[bytes] = []
        self._body_size = 0
        self._received = False

    # -- what the caller reads --------------------------------------------------------

    @property
    def state(self) -> HttpState:
        return self._state

    @property
    def served(self) -> int:
        """Complete responses this connection has delivered."""
        return self._served

    @property
    def failure(self) -> HttpFailure | None:
        """Why the connection is ``FAILED`` (None otherwise)."""
        return self._failure

    def data_to_send(self) -> bytes:
        data = bytes(self._outgoing)
        self._outgoing.clear()
        return data

    def next_event(self) -> HttpResponse | HttpFailure | None:
        """The outcome of the request in flight, once; None until there is one."""
        event, self._event = self._event, None
        return event

    # -- what the caller does ---------------------------------------------------------------

    def send(self, request: HttpRequest) -> None:
        """Queue ``request``; :class:`LocalProtocolError` if one is still in flight
        or the connection has ended (nothing is queued then)."""
        if not isinstance(request, HttpRequest):
            raise LocalProtocolError(f"expected an HttpRequest, got {type(request).__name__}")
        if HTTP_TRANSITIONS[self._state, HttpInput.REQUEST_SENT] is INVALID:
            raise LocalProtocolError(f"cannot send: the connection is {self._state.value}")
        headers = list(request.headers)
        if not any(name.lower() == "host" for name, _ in headers):
            headers.insert(0, ("Host", self._host))
        # GET and HEAD without a body carry no Content-Length (RFC 9110 §8.6).
        if request.body or request.method not in ("GET", "HEAD"):
            headers.append(("Content-Length", str(len(request.body))))
        try:
            head = h11.Request(method=request.method, target=request.target, headers=headers)
        except h11.LocalProtocolError as exc:  # e.g. two Host headers
            raise LocalProtocolError(f"bad request: {exc}") from None
        data = self._h11.send(head) or b""
        if request.body:
            data += self._h11.send(h11.Data(data=request.body)) or b""
        data += self._h11.send(h11.EndOfMessage()) or b""
        self._outgoing += data
        self._head, self._body, self._body_size, self._received = None, [], 0, False
        self._move(HttpInput.REQUEST_SENT)

    def receive_data(self, data: bytes) -> None:
        """Bytes read from the socket (``b""`` is nothing; an EOF is :meth:`receive_eof`)."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise LocalProtocolError(f"data must be bytes, got {type(data).__name__}")
        if not data or self._state in (HttpState.CLOSED, HttpState.FAILED):
            return
        if self._state is HttpState.IDLE:
            self._break("the server sent bytes with no request in flight")
            return
        self._received = True
        self._h11.receive_data(bytes(data))
        self._pump()

    def receive_eof(self) -> None:
        """The peer closed its side."""
        if self._state is HttpState.IDLE:
            self._move(HttpInput.PEER_CLOSED)
        elif self._state is HttpState.AWAITING_RESPONSE:
            self._h11.receive_data(b"")
            self._pump(eof=True)  # completes a body delimited by the close, or fails
        # CLOSED / FAILED: already ended.

    def transport_failed(self, reason: str) -> None:
        """The socket failed (reset, write error): the request in flight, if any,
        gets an :class:`HttpFailure`; the connection is not used again."""
        if not isinstance(reason, str):
            raise LocalProtocolError(f"reason must be a str, got {type(reason).__name__}")
        if self._state in (HttpState.IDLE, HttpState.AWAITING_RESPONSE):
            self._break(reason)

    # -- internals ---------------------------------------------------------------------------

    def _move(self, event: HttpInput) -> None:
        outcome = HTTP_TRANSITIONS[self._state, event]
        # Only pairs that move are applied: send() checks INVALID first, the
        # response inputs come from _pump() while awaiting, and an ended
        # connection (the STAY rows) ignores its inputs before getting here.
        assert isinstance(outcome, HttpState), (self._state, event)
        self._state = outcome

    def _break(self, reason: str) -> None:
        awaiting = self._state is HttpState.AWAITING_RESPONSE
        failure = HttpFailure(
            reason=reason,
            retry_on_new_connection=awaiting and not self._received and self._served > 0,
        )
        self._failure = failure
        if awaiting:
            self._event = failure
        self._move(HttpInput.BROKEN)

    def _pump(self, *, eof: bool = False) -> None:
        while self._state is HttpState.AWAITING_RESPONSE:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                if not eof:
                    self._break(f"bad HTTP from the server: {exc}")
                elif self._received:  # h11 fails on the EOF: the message is incomplete
                    self._break("the server closed the connection before the response was complete")
                else:
                    self._break("the server closed the connection without a response")
                return
            if event is h11.NEED_DATA:
                return
            if event is h11.PAUSED:  # pragma: no cover - only after Upgrade or CONNECT,
                # which HttpRequest refuses: h11 then waits for a protocol switch.
                self._break("the server switched protocols")
                return
            if isinstance(event, h11.Response):
                self._head = event
            elif isinstance(event, h11.Data):
                self._body_size += len(event.data)
                if self._body_size > self._max_body_size:
                    self._break(f"response body larger than {self._max_body_size} bytes")
                    return
                self._body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                self._complete()
            # InformationalResponse (1xx): the final response follows. h11 yields
            # PAUSED or ConnectionClosed only after EndOfMessage, when _complete()
            # has already left AWAITING_RESPONSE.

    def _complete(self) -> None:
        head = self._head
        assert head is not None  # h11 yields EndOfMessage only after a Response
        response = HttpResponse(
            status=head.status_code,
            reason=head.reason.decode("latin-1"),
            headers=tuple((n.decode("latin-1"), v.decode("latin-1")) for n, v in head.headers),
            body=b"".join(self._body),
        )
        self._body = []
        self._served += 1
        self._event = response
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            self._move(HttpInput.RESPONSE_KEEP_ALIVE)
            # An EOF cannot be pending here: receive_eof() while awaiting ends in a
            # body delimited by the close (RESPONSE_LAST) or in a failure.
            trailing, _ = self._h11.trailing_data
            if trailing:
                # Bytes after the response that nobody asked for: the connection
                # cannot be trusted with another request (no pipelining here).
                self._failure = HttpFailure(reason="the server sent bytes after the response")
                self._move(HttpInput.BROKEN)
        else:
            self._move(HttpInput.RESPONSE_LAST)
