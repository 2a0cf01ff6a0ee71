"""The core's cost per publication for each codec on the same stream (issue 10).
A benchmark, not a test: it prints a table, it asserts nothing about time.

    .venv/bin/python bench/bench_codecs.py [--quick]

A connected client with one subscription is fed a stream of publications of the
same 64-byte JSON document, as a server's WebSocket frames (built once, before
timing): one publication per frame, and twenty per frame. "core" is
``ClientProtocol.receive_data`` and draining the events, per publication
(WebSocket layer, codec, session, the ``PublicationReceived`` event); "decode"
is the codec's ``decode`` alone on the same messages. JSON payloads reach the
application parsed, Protobuf payloads as bytes (the document's JSON text),
which is each mode's contract.

Rows: the JSON codec on the standard library, the JSON codec with orjson
reading, the Protobuf codec on the installed runtime (upb from protobuf 4.21 on),
and the Protobuf codec on the pure-Python runtime (a child process with
``PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python``, what protobuf < 4.21 has);
each Protobuf row also without its publication reader ("runtime only": every
Reply through the runtime, as the codec first did).

Timing is CPU time of this process (``time.process_time``), the best of several
runs: the machine is shared, and wall time measures the neighbours too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from wsproto import WSConnection
from wsproto.connection import ConnectionType
from wsproto.events import AcceptConnection, BytesMessage, Request, TextMessage

from centrifugo_proto import ClientOptions, ClientProtocol, PublicationReceived
from centrifugo_proto.codecs import Codec
from centrifugo_proto.codecs import json as json_codec
from centrifugo_proto.codecs.json import JsonCodec, find_orjson
from centrifugo_proto.messages import Reply
from centrifugo_proto.results import ConnectResult, Publication, SubscribeResult

ENDPOINT = "ws://bench.invalid:8000/connection/websocket"
CHANNEL = "bench:room"
DOCUMENT: dict[str, Any] = {"text": "hello, world", "user": "alice", "n": 12345, "ok": True}
PUBLICATIONS = 2000
PER_FRAME = (1, 20)


class _Rng:
    def random(self) -> float:
        return 0.5


def _server_encoder(codec: Codec) -> Callable[[list[Any]], str | bytes]:
    """The server half of ``codec`` (tests/), as the unit and property tests use it."""
    if codec.name == "protobuf":
        from protobuf_wire import encode_incoming

        return encode_incoming
    from serverside import encode_incoming as encode_json

    return encode_json


def _payload(codec: Codec) -> Any:
    if codec.name == "protobuf":
        return json.dumps(DOCUMENT, separators=(",", ":")).encode()
    return DOCUMENT


def _handshake(client: ClientProtocol) -> WSConnection:
    """The server side of ``client``'s WebSocket, open; its 101 fed to the client."""
    client.transport_opened(now=0.0)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(client.data_to_send())
    for event in server.events():
        if isinstance(event, Request):
            chosen = event.subprotocols[0] if event.subprotocols else None
            client.receive_data(server.send(AcceptConnection(subprotocol=chosen)), now=0.0)
    return server


def _send(server: WSConnection, message: str | bytes) -> bytes:
    if isinstance(message, str):
        return server.send(TextMessage(data=message))
    return server.send(BytesMessage(data=message))


def _connected(codec: Codec) -> tuple[ClientProtocol, WSConnection]:
    client = ClientProtocol(ENDPOINT, codec=codec, options=ClientOptions(), rng=_Rng())
    client.connect(now=0.0)
    server = _handshake(client)
    client.subscribe(CHANNEL, now=0.0)
    encode = _server_encoder(codec)
    for message in (
        [Reply(1, ConnectResult(client="bench", ping=0, pong=False))],
        [Reply(2, SubscribeResult())],
    ):
        client.receive_data(_send(server, encode(message)), now=0.0)
    client.data_to_send()
    while client.next_event() is not None:
        pass
    return client, server


def _frames(codec: Codec, per_frame: int) -> tuple[list[bytes], list[str | bytes]]:
    """The server's frames after connect and subscribe, and the messages they carry."""
    _client, server = _connected(codec)
    encode = _server_encoder(codec)
    payload = _payload(codec)
    messages = []
    for start in range(1, PUBLICATIONS + 1, per_frame):
        pubs = [
            Publication(channel=CHANNEL, data=payload, offset=offset)
            for offset in range(start, start + per_frame)
        ]
        messages.append(encode(pubs))
    return [_send(server, m) for m in messages], messages


def _core_once(codec: Codec, frames: list[bytes]) -> float:
    """Seconds for a freshly connected client to take in ``frames``, events drained."""
    client, _server = _connected(codec)
    receive = client.receive_data
    next_event = client.next_event
    got = 0
    start = time.process_time()
    for frame in frames:
        receive(frame, now=1.0)
        while (event := next_event()) is not None:
            got += type(event) is PublicationReceived
    elapsed = time.process_time() - start
    assert got == PUBLICATIONS, got
    return elapsed


def measure(name: str, codec: Codec, repeat: int) -> str:
    """Core and decode-alone microseconds per publication, best of ``repeat``."""
    cells = [f"{name:40}"]
    for per_frame in PER_FRAME:
        frames, messages = _frames(codec, per_frame)
        core = min(_core_once(codec, frames) for _ in range(repeat)) / PUBLICATIONS

        def decode_only(
            messages: list[str | bytes] = messages,
            decode: Callable[[str | bytes], object] = codec.decode,
        ) -> None:
            for message in messages:
                decode(message)

        alone = (
            min(timeit.repeat(decode_only, number=1, repeat=repeat, timer=time.process_time))
            / PUBLICATIONS
        )
        cells.append(f"{core * 1e6:9.2f}{alone * 1e6:9.2f}")
    return "".join(cells)


class _RuntimeOnly:
    """The Protobuf codec without its publication reader: every Reply through the
    runtime (what the codec did before ``codecs/protobuf_pubs.py``)."""

    def __init__(self) -> None:
        from centrifugo_proto.codecs.protobuf import ProtobufCodec, runtime_reply
        from centrifugo_proto.codecs.varint import split_delimited

        self._codec = ProtobufCodec()
        self._split = split_delimited
        self._reply = runtime_reply

    def __getattr__(self, name: str) -> Any:
        return getattr(self._codec, name)

    def decode(self, message: str | bytes) -> list[Any]:
        assert isinstance(message, bytes)
        return [self._reply(chunk) for chunk in self._split(message)]


def codecs() -> list[tuple[str, Codec]]:
    from google.protobuf.internal import api_implementation

    from centrifugo_proto.codecs.protobuf import ProtobufCodec

    out: list[tuple[str, Codec]] = []
    if os.environ.get("BENCH_ONLY") != "protobuf":
        # What the codec reads with by default when orjson is not installed (the
        # standard library's scanner on a compact line), not a plugged json.loads.
        out.append(("json (stdlib)", JsonCodec(loads=json_codec._stdlib_loads)))
        if find_orjson() is not None:
            out.append(("json (orjson reads)", JsonCodec()))
    import google.protobuf

    runtime = f"{google.protobuf.__version__} {api_implementation.Type()}"
    out.append((f"protobuf ({runtime}), runtime only", _RuntimeOnly()))
    out.append((f"protobuf ({runtime})", ProtobufCodec()))
    return out


def main() -> None:
    repeat = 3 if "--quick" in sys.argv else 7
    child = os.environ.get("BENCH_ONLY") == "protobuf"
    if not child:
        print(f"{PUBLICATIONS} publications of a {len(json.dumps(DOCUMENT))}-byte JSON document")
        print("microseconds per publication, best of", repeat)
        heads = "".join(f"{f'{n} per frame':>18}" for n in PER_FRAME)
        print(f"{'codec':40}{heads}")
        print(f"{'':40}" + "".join(f"{'core':>9}{'decode':>9}" for _ in PER_FRAME))
    for name, codec in codecs():
        print(measure(name, codec, repeat), flush=True)
    if not child:
        env = dict(os.environ, PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION="python")
        env["BENCH_ONLY"] = "protobuf"
        subprocess.run([sys.executable, __file__, *sys.argv[1:]], env=env, check=True)


if __name__ == "__main__":
    main()
