"""The core alone, no sockets: a recorded server stream through ``ClientProtocol``,
against two floors on the same bytes.

    python bench/core.py record '{"url": ..., "http": ..., "key": ..., "dir": ..., "n": ...}'
    python bench/core.py replay '{"dir": ..., "repeats": 7, "json": "stdlib", "codec": "json"}'

**record** connects this project's ``ClientProtocol`` to the real server over a plain
socket, subscribes to a fresh channel, has the server publish ``n`` publications of
64 B and keeps every byte the socket gave: the *preamble* (handshake response, connect
and subscribe replies) and the *stream* after it. Two streams:

- ``single``: one ``/api/publish`` call per publication, each waited for, so the server
  writes one publication per WebSocket frame (how real-time traffic usually arrives);
- ``batched``: ``/api/batch`` calls of 500, so the server's writer joins what is queued
  (up to 16 messages per frame in Centrifugo v6.9.1's writer).

**replay** feeds the same stream, chunk by chunk, to three readers and times each with
``time.process_time_ns`` (this process's CPU time), the readers alternating within each
of ``repeats`` rounds:

- ``core``: a fresh ``ClientProtocol`` brought to "subscribed" by the recorded preamble
  (the handshake's ``Sec-WebSocket-Accept`` is rewritten for the new client's key),
  then ``receive_data`` per chunk, draining ``next_event()`` and ``data_to_send()``
  after each, as an adapter does;
- ``wsproto``: a ``wsproto.WSConnection`` after the same handshake, ``receive_data``
  and ``events()``, then ``json.loads`` of every line of every text message: the floor
  DESIGN.md's target is measured against;
- ``minimal``: a frame parser that knows only final, unmasked, unfragmented data frames
  (the common server-to-client case), then the same ``json.loads`` per line.

Chunks: for ``single``, one frame per ``receive_data`` (what one socket read returns
when publications come one at a time); for ``batched``, 64 KiB slices cut anywhere
(what one socket read returns under a flood).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from publisher import Api, flood, paced

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
READ_SIZE = 65536
STREAMS = ("single", "batched")


# -- recording ------------------------------------------------------------------------------


def record(job: dict[str, Any]) -> dict[str, Any]:
    from centrifugo_proto import ClientProtocol, PublicationReceived, Subscribed

    out = Path(job["dir"])
    out.mkdir(parents=True, exist_ok=True)
    n, codec = int(job["n"]), job.get("codec", "json")
    parts = urlsplit(job["url"])
    summary: dict[str, Any] = {}
    for kind in STREAMS:
        channel = f"bench:core-{kind}-{time.time_ns()}"
        proto = ClientProtocol(job["url"], codec=codec)
        sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
        now = time.monotonic
        proto.connect(now=now())
        proto.subscribe(channel, now=now())
        proto.transport_opened(now=now())
        sock.sendall(proto.data_to_send())
        preamble = bytearray()
        subscribed = False
        while not subscribed:
            chunk = sock.recv(READ_SIZE)
            if not chunk:
                raise RuntimeError("the server closed the connection before the subscribe reply")
            preamble += chunk
            proto.receive_data(chunk, now=now())
            sock.sendall(proto.data_to_send())
            while (event := proto.next_event()) is not None:
                subscribed = subscribed or isinstance(event, Subscribed)
        api = Api(job["http"], job["key"])
        if kind == "single":  # one call after the other, each waited for: no pacing needed
            publisher = threading.Thread(target=paced, args=(api, channel, n, 64, 1e9, False))
        else:
            publisher = threading.Thread(target=flood, args=(api, channel, n, 64, 500))
        publisher.start()
        stream = bytearray()
        received = 0
        while received < n:
            chunk = sock.recv(READ_SIZE)
            if not chunk:
                raise RuntimeError(f"the server closed the connection after {received} of {n}")
            stream += chunk
            proto.receive_data(chunk, now=now())
            sock.sendall(proto.data_to_send())
            while (event := proto.next_event()) is not None:
                received += isinstance(event, PublicationReceived)
        publisher.join()
        sock.close()
        (out / f"{codec}-{kind}.preamble").write_bytes(bytes(preamble))
        (out / f"{codec}-{kind}.stream").write_bytes(bytes(stream))
        frames = sum(1 for _ in split_frames(bytes(stream)))
        summary[kind] = {
            "publications": n,
            "frames": frames,
            "bytes": len(stream),
            "channel": channel,
        }
    summary["url"] = job["url"]
    (out / f"{codec}-summary.json").write_text(json.dumps(summary))
    return summary


# -- a minimal frame parser (also the "minimal" floor) ---------------------------------------


def split_frames(data: bytes) -> Iterator[bytes]:
    """Every whole frame of ``data`` (server frames: unmasked, RFC 6455 section 5.2)."""
    pos, end = 0, len(data)
    while pos + 2 <= end:
        length = data[pos + 1] & 0x7F
        head = 2
        if length == 126:
            length, head = int.from_bytes(data[pos + 2 : pos + 4], "big"), 4
        elif length == 127:
            length, head = int.from_bytes(data[pos + 2 : pos + 10], "big"), 10
        if pos + head + length > end:
            return
        yield data[pos : pos + head + length]
        pos += head + length


class MinimalReader:
    """Final, unmasked, unfragmented text frames only; no checks. JSON lines out."""

    def __init__(self, loads: Callable[[str], Any]) -> None:
        self.buffer = b""
        self.loads = loads
        self.messages = 0

    def receive(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        pos, end = 0, len(buffer)
        loads = self.loads
        while pos + 2 <= end:
            length = buffer[pos + 1] & 0x7F
            head = 2
            if length == 126:
                length, head = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                length, head = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), 10
            if pos + head + length > end:
                break
            if buffer[pos] & 0x0F == 0x1:  # text: the JSON codec's frames
                text = buffer[pos + head : pos + head + length].decode()
                for line in text.split("\n"):
                    if line:
                        loads(line)
                        self.messages += 1
            pos += head + length
        self.buffer = buffer[pos:]


# -- replay -----------------------------------------------------------------------------------


def accept_for(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + WS_GUID).digest())


def rewrite_accept(preamble: bytes, request: bytes) -> bytes:
    """The recorded handshake response, its accept key made for ``request``'s key."""
    found = re.search(rb"(?im)^sec-websocket-key:\s*(\S+)\s*$", request)
    if found is None:
        raise RuntimeError("the client's handshake has no Sec-WebSocket-Key")
    accept = accept_for(found.group(1))
    rewritten, count = re.subn(
        rb"(?im)^(sec-websocket-accept:\s*)\S+", lambda m: m.group(1) + accept, preamble, count=1
    )
    if count != 1:
        raise RuntimeError("the recorded handshake response has no Sec-WebSocket-Accept")
    return rewritten


def chunks_of(kind: str, stream: bytes) -> list[bytes]:
    if kind == "single":
        return list(split_frames(stream))
    return [stream[i : i + READ_SIZE] for i in range(0, len(stream), READ_SIZE)]


def subscribed_core(url: str, codec: str, channel: str, preamble: bytes) -> Any:
    """A fresh ``ClientProtocol``, subscribed to ``channel`` by the recorded preamble."""
    from centrifugo_proto import ClientProtocol, Subscribed

    proto = ClientProtocol(url, codec=codec)
    proto.connect(now=NOW)
    proto.subscribe(channel, now=NOW)
    proto.transport_opened(now=NOW)
    proto.receive_data(rewrite_accept(preamble, proto.data_to_send()), now=NOW)
    proto.data_to_send()
    events = []
    while (event := proto.next_event()) is not None:
        events.append(event)
    if not any(isinstance(e, Subscribed) for e in events):
        raise RuntimeError(f"the recorded preamble did not subscribe the client: {events!r}")
    return proto


def time_core(url: str, codec: str, channel: str, preamble: bytes, chunks: list[bytes]) -> Timing:
    from centrifugo_proto import PublicationReceived

    proto = subscribed_core(url, codec, channel, preamble)
    receive, next_event, data_to_send = proto.receive_data, proto.next_event, proto.data_to_send
    count = 0
    started = time.process_time_ns()
    for chunk in chunks:
        receive(chunk, now=NOW)
        while (event := next_event()) is not None:
            if type(event) is PublicationReceived:
                count += 1
        data_to_send()
    return Timing(time.process_time_ns() - started, count)


def time_wsproto(
    url: str, preamble: bytes, chunks: list[bytes], loads: Callable[[str], Any]
) -> Timing:
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import Request, TextMessage

    parts = urlsplit(url)
    ws = WSConnection(ConnectionType.CLIENT)
    request = ws.send(Request(host=parts.netloc, target=parts.path or "/"))
    ws.receive_data(rewrite_accept(preamble, request))
    for _ in ws.events():  # the accept, the connect and subscribe replies
        pass
    count = 0
    pending: list[str] = []
    started = time.process_time_ns()
    for chunk in chunks:
        ws.receive_data(chunk)
        for event in ws.events():
            if type(event) is TextMessage:
                if not event.message_finished:  # part of a frame cut by the read size
                    pending.append(event.data)
                    continue
                text = "".join([*pending, event.data]) if pending else event.data
                pending.clear()
                for line in text.split("\n"):
                    if line:
                        loads(line)
                        count += 1
    return Timing(time.process_time_ns() - started, count)


def time_minimal(chunks: list[bytes], loads: Callable[[str], Any]) -> Timing:
    reader = MinimalReader(loads)
    started = time.process_time_ns()
    for chunk in chunks:
        reader.receive(chunk)
    return Timing(time.process_time_ns() - started, reader.messages)


@dataclass(frozen=True)
class Timing:
    cpu_ns: int
    messages: int


def replay(job: dict[str, Any]) -> dict[str, Any]:
    """Per stream and reader: CPU ns per publication of each round, and the counts."""
    folder, codec, repeats = Path(job["dir"]), job.get("codec", "json"), int(job["repeats"])
    summary = json.loads((folder / f"{codec}-summary.json").read_text())
    if job.get("json") == "orjson":
        import orjson

        loads: Callable[[str], Any] = orjson.loads
    else:
        loads = json.loads
    results: dict[str, Any] = {}
    for kind in STREAMS:
        meta = summary[kind]
        preamble = (folder / f"{codec}-{kind}.preamble").read_bytes()
        chunks = chunks_of(kind, (folder / f"{codec}-{kind}.stream").read_bytes())
        readers: dict[str, Callable[[], Timing]] = {
            "core": partial(time_core, summary["url"], codec, meta["channel"], preamble, chunks)
        }
        if codec == "json":  # the floors read text frames of JSON lines
            readers["wsproto"] = partial(time_wsproto, summary["url"], preamble, chunks, loads)
            readers["minimal"] = partial(time_minimal, chunks, loads)
        rounds: dict[str, list[float]] = {name: [] for name in readers}
        counts: dict[str, int] = {}
        for round_ in range(repeats + 1):
            order = list(readers)
            order = order[round_ % len(order) :] + order[: round_ % len(order)]
            for name in order:
                timing = readers[name]()
                counts[name] = timing.messages
                if round_:  # round 0 warms caches and imports; it is not counted
                    rounds[name].append(timing.cpu_ns / meta["publications"])
        results[kind] = {
            **meta,
            "chunks": len(chunks),
            "ns_per_publication": rounds,
            "messages": counts,
        }
    return results


NOW = 1000.0  # replay: one fixed instant, so no deadline (ping wait, timeouts) comes due


def main() -> None:
    action, job = sys.argv[1], json.loads(sys.argv[2])
    if job.get("json", "stdlib") == "stdlib":
        sys.modules["orjson"] = None  # type: ignore[assignment]  # as bench/sub_proto.py
    result = record(job) if action == "record" else replay(job)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
