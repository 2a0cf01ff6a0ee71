"""What the harnesses share: the driver (atheris, or a plain-Python random driver
when atheris is missing), a reader for the option bytes, server frame building and
the session script that both the client harness and ``record_corpus.py`` play.

Run a harness as a script (see README.md); this module is not one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

try:
    import atheris
except ImportError:  # pragma: no cover - depends on the machine
    atheris = None

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"

#: ``FUZZ_DRIVER=random`` forces the plain-Python driver even where atheris exists.
USE_ATHERIS = atheris is not None and os.environ.get("FUZZ_DRIVER", "atheris") != "random"


def instrumented() -> contextlib.AbstractContextManager[Any]:
    """Wrap the imports of the code under test (coverage feedback for libFuzzer)."""
    if USE_ATHERIS:
        # Only the core and wsproto: instrumenting the standard library's json, h11
        # (the handshake, which is constant here) and attrs costs half the exec rate
        # and guides nothing.
        return atheris.instrument_imports(include=["centrifugo_proto", "wsproto"])
    return contextlib.nullcontext()


# -- reading the input -------------------------------------------------------------------


class Input:
    """The fuzz input as a few option bytes, then the payload (STYLE-ANCHORS L15)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def take(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out

    def rest(self) -> bytes:
        out = self.data[self.pos :]
        self.pos = len(self.data)
        return out

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


# -- the server side of the wire -----------------------------------------------------------

#: Every client's Sec-WebSocket-Key while a harness runs, so the server's 101 is a
#: constant (building it with wsproto's server side per input halves the exec rate).
NONCE = b"ZnV6ei1jZW50cmlmdWdvIQ=="


def fix_nonce() -> bytes:
    """Make wsproto's client handshake use :data:`NONCE`; returns the server's 101."""
    import wsproto.handshake
    from wsproto.utilities import generate_accept_token

    wsproto.handshake.generate_nonce = lambda: NONCE  # type: ignore[attr-defined]
    return (
        b"HTTP/1.1 101 Switching Protocols\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + generate_accept_token(NONCE) + b"\r\n\r\n"
    )


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0) -> bytes:
    """One unmasked server frame (RFC 6455 §5.2)."""
    head = bytes([(0x80 if fin else 0) | (rsv & 0x7) << 4 | (opcode & 0xF)])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 1 << 16:
        head += bytes([126]) + size.to_bytes(2, "big")
    else:
        head += bytes([127]) + size.to_bytes(8, "big")
    return head + payload


def text(message: str) -> bytes:
    return frame(0x1, message.encode())


def structured_frames(inp: Input) -> bytes:
    """Frames built from the input: each is (flags byte, length byte, payload), so the
    fuzzer spends its mutations on the messages, not on breaking the framing."""
    out = bytearray()
    while inp.left:
        flags = inp.byte()
        size = inp.byte()
        payload = inp.take(size)
        # Mostly text; sometimes continuation, binary, close, ping or pong. Bit 3 clears
        # FIN (fragments); with bit 7 set, bits 4-6 go to the reserved bits.
        opcode = (0x1, 0x1, 0x1, 0x0, 0x2, 0x8, 0x9, 0xA)[flags & 0x7]
        rsv = (flags >> 4) & 0x7 if flags & 0x80 else 0
        out += frame(opcode, payload, fin=not flags & 0x8, rsv=rsv)
    return bytes(out)


# -- the session both the client harness and the recorder play ------------------------------

ENDPOINT = "ws://centrifugo.fuzz:8000/connection/websocket"
CHANNEL = "chat:fuzz"
PLAIN_CHANNEL = "public:fuzz"


def start_session(
    client: Any, *, now: float, payload: Callable[[Any], Any] = lambda value: value
) -> None:
    """Before the connect reply: what goes out right after it, with wire ids
    2 (subscribe CHANNEL), 3 (subscribe PLAIN_CHANNEL), 4 publish, 5 history,
    6 presence, 7 presence_stats, 8 rpc echo. ``payload`` makes the codec's
    payloads of JSON values (Protobuf: their bytes)."""
    client.subscribe(CHANNEL, now=now, recoverable=True, join_leave=True)
    client.subscribe(PLAIN_CHANNEL, now=now)
    client.publish(CHANNEL, payload({"text": "hello"}), now=now)
    client.history(CHANNEL, limit=10, now=now)
    client.presence(CHANNEL, now=now)
    client.presence_stats(CHANNEL, now=now)
    client.rpc("echo", payload({"n": 1}), now=now)


def connect_reply(*, pong: bool, ping: int) -> str:
    body: dict[str, Any] = {"client": "fuzz-client", "version": "6.9.1"}
    if ping:
        body["ping"] = ping
    if pong:
        body["pong"] = True
    import json

    return json.dumps({"id": 1, "connect": body}, separators=(",", ":"))


# -- the driver ---------------------------------------------------------------------------------


def main(target: Callable[[bytes], None], name: str) -> None:
    """Run ``target`` under atheris, or under :func:`random_driver` without it."""
    if USE_ATHERIS:
        atheris.Setup(sys.argv, target)
        atheris.Fuzz()
    else:
        sys.exit(random_driver(target, name, sys.argv[1:]))


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.is_file())
        elif path.is_file():
            yield path


def random_driver(target: Callable[[bytes], None], name: str, args: list[str]) -> int:
    """A plain-Python stand-in for libFuzzer's command line, for machines without
    atheris: ``-runs=N``, ``-max_total_time=S``, ``-seed=N``, ``-max_len=N``,
    ``-artifact_prefix=P``; directories are seed corpora; files are run once each
    (reproducing a crash). No coverage feedback: it mutates the seeds at random.
    """
    flags = {
        a[1:].split("=", 1)[0]: a.split("=", 1)[1] for a in args if a.startswith("-") and "=" in a
    }
    paths = [Path(a) for a in args if not a.startswith("-")]
    if paths and all(p.is_file() for p in paths):
        for path in paths:
            target(path.read_bytes())
            print(f"Executed {path} with no crash")
        return 0
    seeds = [p.read_bytes() for p in _files(paths or [CORPUS / name])] or [b""]
    runs = int(flags.get("runs", "-1"))
    budget = float(flags.get("max_total_time", "0")) or float("inf")
    max_len = int(flags.get("max_len", "16384"))
    rng = random.Random(int(flags.get("seed", "0")) or None)
    prefix = flags.get("artifact_prefix", "./")
    start = time.monotonic()
    done = 0
    for seed in seeds:  # every seed once, as libFuzzer's INITED pass
        _run_one(target, seed, prefix)
        done += 1
    while done != runs and time.monotonic() - start < budget:
        data = _mutate(rng, rng.choice(seeds), seeds, max_len)
        _run_one(target, data, prefix)
        done += 1
    elapsed = max(time.monotonic() - start, 1e-9)
    print(
        f"Done {done} runs in {int(elapsed)} second(s) (random driver, {done / elapsed:.0f} exec/s)"
    )
    return 0


def _run_one(target: Callable[[bytes], None], data: bytes, prefix: str) -> None:
    try:
        target(data)
    except BaseException:
        path = f"{prefix}crash-{hashlib.sha1(data).hexdigest()}"
        Path(path).write_bytes(data)
        print(f"==ERROR== the target raised; input written to {path}", file=sys.stderr)
        raise


_TOKENS = [
    b'"',
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"\n",
    b"0",
    b"1",
    b"-1",
    b"null",
    b"true",
    b"\x00",
    b"\xff",
]


def _mutate(rng: random.Random, data: bytes, seeds: list[bytes], max_len: int) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(7)
        pos = rng.randint(0, len(buf))
        if choice == 0 and buf:  # flip a bit
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif choice == 1 and buf:  # set a byte
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif choice == 2:  # insert random bytes
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif choice == 3 and buf:  # delete a range
            end = min(len(buf), pos + rng.randint(1, 16))
            del buf[pos:end]
        elif choice == 4 and buf:  # duplicate a range
            start = rng.randrange(len(buf))
            buf[pos:pos] = buf[start : start + rng.randint(1, 32)]
        elif choice == 5:  # splice with another seed
            other = rng.choice(seeds)
            cut = rng.randint(0, len(other))
            buf = buf[:pos] + bytearray(other[cut:])
        else:  # a token of the formats
            buf[pos:pos] = rng.choice(_TOKENS)
    return bytes(buf[:max_len])
