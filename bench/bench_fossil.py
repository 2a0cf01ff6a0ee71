"""Cost of applying a Fossil delta (centrifugo_proto/fossil.py), and of the checksum
ways it could be computed. A benchmark, not a test: it prints, it asserts nothing
about time.

    .venv/bin/python bench/bench_fossil.py

Deltas come from the test encoder (tests/fossil_encoder.py): a JSON document of
about 100 B, 1 KB, 10 KB and 100 KB with one small change, as a publication
stream with ``delta: true`` carries it.
"""

from __future__ import annotations

import array
import functools
import struct
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from centrifugo_proto.fossil import apply_delta, checksum
from fossil_encoder import encode, reference_checksum

SIZES = (100, 1_000, 10_000, 100_000)


def document(size: int, version: int) -> bytes:
    items = b",".join(
        b'{"id":%d,"name":"player %d","score":%d}' % (i, i, i * 7) for i in range(size)
    )
    doc = b'{"version":%d,"items":[%s]}' % (version, items)
    return doc[:size]


def sum_of_lanes(data: bytes) -> int:
    """``sum()`` over each byte lane: no allocation, but one Python step per byte."""
    return (
        (sum(data[0::4]) << 24) + (sum(data[1::4]) << 16) + (sum(data[2::4]) << 8) + sum(data[3::4])
    ) & 0xFFFFFFFF


def struct_words(data: bytes) -> int:
    """``struct`` unpacks big-endian words, ``sum()`` adds them: one int per word."""
    padded = data + bytes(-len(data) % 4)
    words: tuple[int, ...] = struct.unpack(f">{len(padded) // 4}I", padded)
    return sum(words) & 0xFFFFFFFF


def array_words(data: bytes) -> int:
    """``array('I')`` with a byte swap on little-endian machines, then ``sum()``."""
    padded = data + bytes(-len(data) % 4)
    words = array.array("I", padded)
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


def per_call(func: Callable[[], object], budget: float = 0.2) -> float:
    """Seconds per call: the best of five runs of about ``budget`` seconds each."""
    number = max(1, int(budget / max(timeit.timeit(func, number=1), 1e-7)))
    return min(timeit.repeat(func, number=number, repeat=5)) / number


def main() -> None:
    print("checksum of N bytes, microseconds per call")
    ways: list[tuple[str, Callable[[bytes], int]]] = [
        ("core (adler32 lanes)", checksum),
        ("sum() of byte lanes", sum_of_lanes),
        ("struct words + sum()", struct_words),
        ("array words + sum()", array_words),
        ("word by word (reference)", reference_checksum),
    ]
    print(f"{'':26}" + "".join(f"{size:>10}" for size in SIZES))
    for name, way in ways:
        cells = []
        for size in SIZES:
            data = document(size, 1)
            assert way(data) == reference_checksum(data)
            cells.append(f"{per_call(functools.partial(way, data)) * 1e6:10.2f}")
        print(f"{name:26}" + "".join(cells))

    print()
    print("apply_delta: a document with one small change")
    print(f"{'size':>8} {'delta':>7} {'commands':>9} {'us/call':>9} {'MB/s':>7}")
    for size in SIZES:
        source, target = document(size, 1), document(size, 2)
        target = target[: len(target) // 2] + b"X" + target[len(target) // 2 :]
        delta = encode(source, target)
        assert apply_delta(source, delta) == target
        commands = delta.count(b"@") + delta.count(b":")
        seconds = per_call(functools.partial(apply_delta, source, delta))
        print(
            f"{len(target):8} {len(delta):7} {commands:9} {seconds * 1e6:9.2f} "
            f"{len(target) / seconds / 1e6:7.0f}"
        )


if __name__ == "__main__":
    main()
