"""Record the seed corpus from sessions with a real Centrifugo.

    python fuzz/record_corpus.py            # needs the binary `make centrifugo` builds

Starts Centrifugo through the test harness (``tests/harness``: fast pings, the RPC
echo backend), runs a ``ClientProtocol`` over a plain socket and captures every
byte the server sends it (by wrapping ``receive_data``) while it connects, plays
``_common.start_session`` (subscribe with recovery and join/leave, publish,
history, presence, presence stats, rpc), sees a second client join, publish and
leave, answers server pings, gets a server-side subscription, a publication on it
and an unsubscribe push through the server API, and is finally disconnected by
the server with a reconnect code. Then writes:

- ``corpus/fuzz_client/``: the frames after the connect reply, whole and in
  pieces, behind the harness's option bytes;
- ``corpus/fuzz_websocket/``: the frame stream whole, and frame by frame;
- ``corpus/fuzz_websocket_fast/``: the same behind that harness's option bytes, whole,
  and cut every few bytes with EOF;
- ``corpus/fuzz_json_codec/``: every text message alone.

With ``protobuf`` on the command line, the same session in Protobuf mode instead
(payloads: the JSON values' bytes; the second client stays in JSON mode), written
to ``corpus/fuzz_protobuf_codec/``: every binary message alone, behind the
harness's option byte. ``json`` records the JSON session only; both, by default.

Existing seeds are kept; files are named by their SHA-1, as libFuzzer names them.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import _common  # noqa: E402

from centrifugo_proto import (  # noqa: E402
    ClientProtocol,
    CloseTransport,
    Connected,
    Event,
    OpenTransport,
)
from centrifugo_proto.tokens import connection_token  # noqa: E402
from harness import FAST_PING, CentrifugoServer, RpcBackend  # noqa: E402


class Recorded:
    """A ClientProtocol on a blocking socket; every byte from the server is kept."""

    def __init__(self, url: str, token: str, name: str, codec: str = "json") -> None:
        self.proto = ClientProtocol(url, token=token, name=name, codec=codec)
        self.received: list[bytes] = []
        self.events: list[Event] = []
        self.sock: socket.socket | None = None
        original = self.proto.receive_data

        def receive_data(data: bytes, *, now: float) -> None:
            self.received.append(data)
            original(data, now=now)

        self.proto.receive_data = receive_data  # type: ignore[method-assign]

    def pump(self) -> None:
        while True:
            data = self.proto.data_to_send()
            if data and self.sock is not None:
                self.sock.sendall(data)
            event = self.proto.next_event()
            if event is None:
                return
            self.events.append(event)
            if isinstance(event, OpenTransport):
                self.sock = socket.create_connection((event.endpoint.host, event.endpoint.port))
                self.sock.settimeout(0.05)
                self.proto.transport_opened(now=time.monotonic())
            elif isinstance(event, CloseTransport) and self.sock is not None:
                self.sock.close()
                self.sock = None

    def run_until(self, done: Callable[[], bool], timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while not done():
            if time.monotonic() > end:
                raise TimeoutError("the session did not get where it should")
            self.step()

    def step(self) -> None:
        self.pump()
        now = time.monotonic()
        deadline = self.proto.next_deadline()
        if deadline is not None and deadline <= now:
            self.proto.handle_timeout(now=now)
        if self.sock is not None:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                data = None
            if data == b"":
                self.proto.receive_eof(now=time.monotonic())
                self.sock.close()
                self.sock = None
            elif data:
                self.proto.receive_data(data, now=time.monotonic())
        self.pump()

    def saw(self, kind: type[Any], count: int = 1) -> Callable[[], bool]:
        return lambda: sum(isinstance(e, kind) for e in self.events) >= count


def split_frames(stream: bytes) -> list[bytes]:
    """A server byte stream (unmasked frames) cut into its frames."""
    frames = []
    pos = 0
    while pos + 2 <= len(stream):
        size = stream[pos + 1] & 0x7F
        head = 2
        if size == 126:
            size, head = int.from_bytes(stream[pos + 2 : pos + 4], "big"), 4
        elif size == 127:
            size, head = int.from_bytes(stream[pos + 2 : pos + 10], "big"), 10
        frames.append(stream[pos : pos + head + size])
        pos += head + size
    return frames


def payload(frame: bytes) -> bytes:
    size = frame[1] & 0x7F
    return frame[{126: 4, 127: 10}.get(size, 2) :]


def record(codec: str = "json") -> list[bytes]:
    """One session; returns the server's frames to the recorded client, 101 stripped."""
    payload = _payload(codec)
    with (
        RpcBackend() as backend,
        CentrifugoServer(FAST_PING, rpc_proxy_endpoint=backend.url) as server,
    ):
        secret = server.hmac_secret
        alice = Recorded(server.ws_url, connection_token(secret, "alice"), "recorder", codec)
        start = time.monotonic()
        alice.proto.connect(now=start)
        _common.start_session(alice.proto, now=start, payload=payload)
        alice.run_until(alice.saw(Connected))
        alice.run_until(lambda: len(alice.received) >= 2 and _replies(alice) >= 7)

        bob = Recorded(server.ws_url, connection_token(secret, "bob"), "other")
        bob.proto.connect(now=time.monotonic())
        bob.proto.subscribe(_common.CHANNEL, now=time.monotonic(), join_leave=True)
        bob.run_until(bob.saw(Connected))
        for n in range(3):
            bob.proto.publish(
                _common.CHANNEL, {"text": f"from bob {n}", "n": n}, now=time.monotonic()
            )
        bob.run_until(lambda: _replies(bob) >= 4)
        bob.proto.disconnect(now=time.monotonic())
        bob.pump()

        client_id = alice.proto.client_id
        server.api("subscribe", {"user": "alice", "channel": "public:server-side"})
        server.api("publish", {"channel": "public:server-side", "data": {"server": True}})
        server.api("publish", {"channel": _common.CHANNEL, "data": {"api": 1}, "tags": {"k": "v"}})
        server.api("unsubscribe", {"user": "alice", "channel": _common.PLAIN_CHANNEL})
        # Two server pings (interval 2 s): pongs go out from inside receive_data.
        ping_until = time.monotonic() + 4.5
        alice.run_until(lambda: time.monotonic() > ping_until, timeout=10.0)
        server.api(
            "disconnect", {"user": "alice", "disconnect": {"code": 4001, "reason": "go away"}}
        )
        alice.run_until(lambda: alice.sock is None)
        assert client_id
    stream = b"".join(alice.received)
    body = stream[stream.index(b"\r\n\r\n") + 4 :]
    return split_frames(body)


def _payload(codec: str) -> Callable[[Any], Any]:
    if codec == "protobuf":
        return lambda value: json.dumps(value).encode()
    return lambda value: value


def _replies(client: Recorded) -> int:
    from centrifugo_proto import CommandFailed, CommandSucceeded, Subscribed

    return sum(isinstance(e, CommandSucceeded | CommandFailed | Subscribed) for e in client.events)


def write(target: str, seeds: list[bytes]) -> int:
    folder = _common.CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    new = 0
    for seed in seeds:
        path = folder / hashlib.sha1(seed).hexdigest()
        if not path.exists():
            path.write_bytes(seed)
            new += 1
    return new


def main() -> int:
    kinds = sys.argv[1:] or ["json", "protobuf"]
    if "protobuf" in kinds:
        frames = record("protobuf")
        messages = [payload(f) for f in frames if f[0] & 0x0F == 0x2]
        seeds = [b"\x00" + m for m in messages]  # option byte 0: the message itself
        seeds.append(b"\x00" + b"".join(messages[1:4]))  # not one message: still seeds
        print(f"recorded {len(frames)} frames in Protobuf mode, {len(messages)} binary messages")
        print(f"fuzz_protobuf_codec: {write('fuzz_protobuf_codec', seeds)} new seeds")
    if "json" not in kinds:
        return 0
    frames = record()
    connect, after = frames[0], frames[1:]
    assert json.loads(payload(connect))["id"] == 1, "the first frame is the connect reply"
    stream = b"".join(after)
    client_seeds = [
        b"\x01\x00\x00" + stream,  # pong, no ping deadline, whole
        b"\x05\x00\x00" + stream,  # pong, ping 1 s, whole
        b"\x11\x00\x00" + stream,  # with the differential check
        b"\x03\x07\x14" + stream,  # chunks of 7 bytes, 1 s apart
        b"\x09\x00\x00" + stream,  # EOF at the end
        *(b"\x01\x00\x00" + f for f in after),  # one frame each
    ]
    messages = [payload(f) for f in frames if f[0] & 0x0F == 0x1]
    websocket_seeds = [
        b"\x00" + b"".join(frames),  # the whole session, connect reply included
        *(b"\x04" + f for f in frames),  # one frame each, with the differential check
        b"\x04" + b"".join(frames[1:4]),
    ]
    fast_seeds = [
        b"\x00\x00" + b"".join(frames),  # raw bytes, whole, no EOF
        *(b"\x04\x05" + f for f in frames),  # one frame each, cut every 5 bytes, EOF
        b"\x04\x81" + b"".join(frames[1:4]),  # every byte, the head's blank line too
    ]
    print(f"recorded {len(frames)} frames, {len(messages)} text messages, {len(stream)} bytes")
    print(f"fuzz_client: {write('fuzz_client', client_seeds)} new seeds")
    print(f"fuzz_websocket: {write('fuzz_websocket', websocket_seeds)} new seeds")
    print(f"fuzz_websocket_fast: {write('fuzz_websocket_fast', fast_seeds)} new seeds")
    print(f"fuzz_json_codec: {write('fuzz_json_codec', messages)} new seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
