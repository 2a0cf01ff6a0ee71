"""Fuzz the Fossil delta decoder: a base and a delta to ``apply_delta``.

The first input byte holds the options, the next two the base's length (big
endian, cut to what is left), then the base, then the payload:

- bit 0 clear: the payload is the delta, as it comes. The core must agree with
  an independent reading of the format written here (``reference_apply``:
  regular expressions and the word-by-word checksum): ``DeltaError`` exactly
  where it finds a rule broken, otherwise the same output.
- bit 0 set: the payload is a program of commands for the test encoder
  (``tests/fossil_encoder.py``): a byte whose bit 0 picks copy (then two offset
  and two count bytes, wrapped into the base) or insert (then a length byte, mod 64, and
  that many bytes). The encoder's valid delta must give exactly its target.
  With bit 1 set too, one byte of that delta is then changed (two position bytes,
  one xor byte from the end of the input): ``DeltaError``, or the target, or
  an output the format cannot tell from it (its length and checksum).

Anything else raising is a crash.

    python fuzz/fuzz_fossil.py [libFuzzer flags] [corpus dirs]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import _common
from _common import Input

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fossil_encoder import ALPHABET, Copy, Insert, delta_of, reference_checksum, target_of

with _common.instrumented():
    from centrifugo_proto.fossil import DeltaError, apply_delta


#: A number as the core reads it: one to six digits, and no seventh right after.
NUMBER = re.compile(rb"([0-9A-Z_a-z~]{1,6})(?![0-9A-Z_a-z~])")


def number(text: bytes) -> int:
    value = 0
    for c in text:
        value = value * 64 + ALPHABET.index(c)
    return value


def reference_apply(base: bytes, delta: bytes) -> bytes | None:
    """The format read independently (regular expressions, no shared code): the
    output, or None where any rule of the format is broken."""
    m = NUMBER.match(delta)
    if not m or delta[m.end() : m.end() + 1] != b"\n":
        return None
    limit, pos, out = number(m[1]), m.end() + 1, b""
    while m := NUMBER.match(delta, pos):
        count, pos = number(m[1]), m.end()
        op = delta[pos : pos + 1]
        if op == b"@":
            m = NUMBER.match(delta, pos + 1)
            if not m or delta[m.end() : m.end() + 1] != b"," or number(m[1]) + count > len(base):
                return None
            out += base[number(m[1]) : number(m[1]) + count]
            pos = m.end() + 1
        elif op == b":" and pos + 1 + count <= len(delta):
            out += delta[pos + 1 : pos + 1 + count]
            pos += 1 + count
        elif op == b";":
            ok = pos + 1 == len(delta) and len(out) == limit
            return out if ok and reference_checksum(out) == count else None
        else:
            return None
        if len(out) > limit:
            return None
    return None


def check_raw(base: bytes, delta: bytes) -> None:
    expected = reference_apply(base, delta)
    try:
        out = apply_delta(base, delta)
    except DeltaError:
        assert expected is None, (base, delta, expected)
        return
    assert out == expected, (base, delta, out, expected)


def program(inp: Input, base: bytes) -> list[Copy | Insert]:
    commands: list[Copy | Insert] = []
    while inp.left:
        if inp.byte() & 1:
            offset = (inp.byte() << 8 | inp.byte()) % (len(base) + 1)
            count = (inp.byte() << 8 | inp.byte()) % (len(base) - offset + 1)
            commands.append(Copy(count, offset))
        else:
            commands.append(Insert(inp.take(inp.byte() % 64)))
    return commands


def test_one_input(data: bytes) -> None:
    inp = Input(data)
    options = inp.byte()
    base = inp.take(inp.byte() << 8 | inp.byte())
    if not options & 1:
        check_raw(base, inp.rest())
        return
    mutate = options & 2 and inp.left >= 3
    tail = inp.data[-3:] if mutate else b""
    if mutate:
        inp.data = inp.data[:-3]
    commands = program(inp, base)
    target = target_of(base, commands)
    delta = delta_of(base, commands)
    if not mutate:
        assert apply_delta(base, delta) == target
        return
    mutated = bytearray(delta)
    mutated[(tail[0] << 8 | tail[1]) % len(mutated)] ^= tail[2] or 1
    try:
        out = apply_delta(base, bytes(mutated))
    except DeltaError:
        return
    assert out == target or (
        len(out) == len(target) and reference_checksum(out) == reference_checksum(target)
    ), (base, delta, bytes(mutated))


if __name__ == "__main__":
    _common.main(test_one_input, "fuzz_fossil")
