"""Write the seed corpus of ``fuzz_fossil.py``: valid deltas the test encoder
(``tests/fossil_encoder.py``) made, in the harness's input layout, named by
their SHA-1 like the other corpora.

    .venv/bin/python fuzz/fossil_corpus.py
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fossil_encoder import encode

HERE = Path(__file__).resolve().parent
OUT = HERE / "corpus" / "fuzz_fossil"

DOC = b'{"match":"home-away","score":[1,0],"events":[' + b'{"t":"pass","p":7},' * 40 + b"]}"

#: (base, target) pairs: a small JSON edit, an append, a delete, binary, empty ends.
PAIRS = [
    (DOC, DOC.replace(b"[1,0]", b"[2,0]")),
    (DOC, DOC[:-2] + b'{"t":"goal","p":9}]}'),
    (DOC, DOC[:60] + DOC[200:]),
    (bytes(range(256)), bytes(range(128, 256)) + b"\n@:,;" + bytes(range(128))),
    (b"", b"new document"),
    (b"old document", b""),
    (b"abcdefgh", b"abcdXYefgh"),
]


def raw(base: bytes, delta: bytes) -> bytes:
    """Option byte 0 (the delta as it comes), the base's length, the base, the delta."""
    return bytes([0]) + len(base).to_bytes(2, "big") + base + delta


def structured(base: bytes, options: int) -> bytes:
    """A command program over ``base``: copy its halves swapped, insert a literal,
    then (with option bit 1) the three mutation bytes."""
    half = len(base) // 2
    program = bytes([1]) + half.to_bytes(2, "big") + (len(base) - half).to_bytes(2, "big")
    program += bytes([1, 0, 0]) + half.to_bytes(2, "big")
    program += bytes([0, 5]) + b"hello"
    tail = bytes([0, 7, 0x20]) if options & 2 else b""
    return bytes([options]) + len(base).to_bytes(2, "big") + base + program + tail


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    seeds = [raw(base, encode(base, target)) for base, target in PAIRS]
    seeds += [structured(DOC, 1), structured(DOC, 3), structured(b"", 1)]
    for seed in seeds:
        (OUT / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    print(f"{len(seeds)} seeds in {OUT.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
