"""Fuzz the whole ``ClientProtocol`` fed arbitrary server bytes after a successful connect.

The client connects (handshake and connect reply are the harness's), plays
``_common.start_session`` (two subscriptions and five commands in flight, wire
ids 2-8, as ``record_corpus.py`` recorded them from a real server) and then gets
the input's bytes as the server's, in chunks, with time moving between them and
``handle_timeout`` called whenever ``next_deadline()`` has passed.

Option bytes: 0 pong / ping interval / token source / EOF at the end /
differential; 1 chunk size (0 = whole); 2 time step per chunk. The rest is the
server's byte stream.

Accepted: nothing. ``receive_data``, ``receive_eof`` and ``handle_timeout`` must
not raise on any input (DESIGN "Errors"); after ``handle_timeout(now)``,
``next_deadline()`` is None or later than ``now``. Differential (bit 4): whole and
byte-at-a-time delivery give the same events.

    python fuzz/fuzz_client.py [libFuzzer flags] [corpus dirs]
"""

from __future__ import annotations

import _common
import attrs
from _common import Input

with _common.instrumented():
    from centrifugo_proto import ClientOptions, ClientProtocol, Connecting, ErrorOccurred

ACCEPT = _common.fix_nonce()
OPTIONS = ClientOptions(
    timeout=5.0,
    min_reconnect_delay=0.5,
    max_reconnect_delay=4.0,
    min_resubscribe_delay=0.5,
    max_resubscribe_delay=4.0,
    max_server_ping_delay=2.0,
)
#: Byte-at-a-time delivery only for streams up to this size (one call per byte).
DIFFERENTIAL_MAX = 2048


class _Half:
    def random(self) -> float:
        return 0.5


def connected(options: int) -> tuple[ClientProtocol, float]:
    client = ClientProtocol(
        _common.ENDPOINT,
        token="fuzz-token",
        options=OPTIONS,
        rng=_Half(),
        has_token_source=bool(options & 0x4),
    )
    now = 1.0
    client.connect(now=now)
    _common.start_session(client, now=now)
    client.transport_opened(now=now)
    client.data_to_send()
    reply = _common.connect_reply(pong=bool(options & 0x1), ping=(0, 1, 25, 0)[options >> 1 & 0x3])
    client.receive_data(ACCEPT + _common.text(reply), now=now)
    client.data_to_send()
    return client, now


def run(stream: bytes, options: int, chunk: int, step: float) -> list[object]:
    client, now = connected(options)
    events: list[object] = []
    size = chunk or len(stream) or 1
    for start in range(0, len(stream), size):
        client.receive_data(stream[start : start + size], now=now)
        now = tick(client, now + step, events)
    if options & 0x8:
        client.receive_eof(now=now)
    # Long after: reconnects, timeouts and retries all fire; the client asks for a
    # transport again (nobody answers) and must keep its deadlines in order.
    for _ in range(3):
        now = tick(client, now + 30.0, events)
    # The caller's API still works, whatever the server did (never closed here).
    client.publish(_common.CHANNEL, {"after": True}, now=now)
    drain(client, events)
    return events


def tick(client: ClientProtocol, now: float, events: list[object]) -> float:
    deadline = client.next_deadline()
    if deadline is not None and deadline <= now:
        client.handle_timeout(now=now)
        after = client.next_deadline()
        assert after is None or after > now, (now, after)
    drain(client, events)
    return now


def drain(client: ClientProtocol, events: list[object]) -> None:
    client.data_to_send()
    while (event := client.next_event()) is not None:
        events.append(event)


def test_one_input(data: bytes) -> None:
    inp = Input(data)
    options = inp.byte()
    chunk = inp.byte()
    step = inp.byte() * 0.05
    stream = inp.rest()
    events = run(stream, options, chunk, step if chunk else 0.0)
    if options & 0x10 and chunk == 0 and len(stream) <= DIFFERENTIAL_MAX:
        assert comparable(run(stream, options, 1, 0.0)) == comparable(events)


def comparable(events: list[object]) -> list[str]:
    """repr, for a readable diff; and wsproto words a framing error by where in the
    chunk it noticed it (a UTF-8 error "in position 21" whole is "in position 0"
    byte by byte), so that wording is cut: that the connection failed, and how, is
    what must agree."""
    out = []
    for event in events:
        if isinstance(event, ErrorOccurred):
            error = event.error
            out.append(
                f"ErrorOccurred({type(error).__name__}: {_cut(str(error))}, {event.channel})"
            )
            continue
        if isinstance(event, Connecting):
            event = attrs.evolve(event, reason=_cut(event.reason))
        out.append(repr(event))
    return out


def _cut(reason: str) -> str:
    head, sep, _ = reason.partition(_WS_ERROR)
    return head + sep


_WS_ERROR = "WebSocket protocol error"

if __name__ == "__main__":
    _common.main(test_one_input, "fuzz_client")
