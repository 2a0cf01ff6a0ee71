"""A Fossil delta encoder for tests (the server side of PROTOCOL.md §7).

The core only applies deltas; tests need to make them: :func:`encode` finds
copies of the source in the target (a greedy match over source blocks, simple
rather than small), :func:`build` writes any list of commands with any header
and checksum, so a test can also make deltas that lie. The checksum here is the
format's definition written out word by word (:func:`reference_checksum`),
independent of the core's lane-and-adler32 version, so every round trip checks
one against the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

__all__ = [
    "Copy",
    "Insert",
    "build",
    "delta_of",
    "encode",
    "encode_int",
    "plan",
    "reference_checksum",
    "target_of",
]

ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"

#: Bytes per source block the matcher indexes; a match shorter than this is inserted.
BLOCK = 8


@attrs.frozen
class Copy:
    """``<count>@<offset>,``: ``count`` bytes of the source from ``offset``."""

    count: int
    offset: int


@attrs.frozen
class Insert:
    """``<count>:<bytes>``: these bytes, literally."""

    data: bytes


Command = Copy | Insert


def encode_int(value: int) -> bytes:
    """A number in the format's base-64 digits, most significant first, no leading zeros."""
    if value < 0:
        raise ValueError("the format has no negative numbers")
    digits = bytearray()
    while True:
        digits.append(ALPHABET[value & 63])
        value >>= 6
        if not value:
            break
    digits.reverse()
    return bytes(digits)


def reference_checksum(data: bytes) -> int:
    """Sum of the big-endian 32-bit words of ``data``, zero-padded, modulo 2**32."""
    padded = data + bytes(-len(data) % 4)
    total = 0
    for i in range(0, len(padded), 4):
        total += int.from_bytes(padded[i : i + 4], "big")
    return total % 2**32


def target_of(source: bytes, commands: Iterable[Command]) -> bytes:
    """What ``commands`` build from ``source`` (the copies must lie inside it)."""
    out = bytearray()
    for command in commands:
        if isinstance(command, Copy):
            assert command.offset + command.count <= len(source)
            out += source[command.offset : command.offset + command.count]
        else:
            out += command.data
    return bytes(out)


def build(
    commands: Iterable[Command],
    *,
    length: int,
    checksum: int,
) -> bytes:
    """The delta of ``commands`` with this header length and trailer checksum,
    whatever they are (a test may want them wrong)."""
    out = bytearray(encode_int(length) + b"\n")
    for command in commands:
        if isinstance(command, Copy):
            out += encode_int(command.count) + b"@" + encode_int(command.offset) + b","
        else:
            out += encode_int(len(command.data)) + b":" + command.data
    out += encode_int(checksum) + b";"
    return bytes(out)


def delta_of(source: bytes, commands: Sequence[Command]) -> bytes:
    """The valid delta of ``commands`` (header and checksum of the target they build)."""
    target = target_of(source, commands)
    return build(commands, length=len(target), checksum=reference_checksum(target))


def plan(source: bytes, target: bytes) -> list[Command]:
    """Copies of ``source`` blocks found in ``target``, inserts for the rest.

    Every ``BLOCK``-aligned block of the source is indexed; the target is
    scanned position by position, and a hit is extended forwards and backwards
    (into the pending literal) as far as the bytes agree.
    """
    index: dict[bytes, int] = {}
    for block_start in range(0, len(source) - BLOCK + 1, BLOCK):
        index.setdefault(source[block_start : block_start + BLOCK], block_start)
    commands: list[Command] = []
    literal_start = 0  # target[literal_start:i] is not covered yet
    i = 0
    while i + BLOCK <= len(target):
        found = index.get(target[i : i + BLOCK])
        if found is None:
            i += 1
            continue
        offset: int = found
        start, src = i, offset
        while start > literal_start and src > 0 and target[start - 1] == source[src - 1]:
            start -= 1
            src -= 1
        end, src_end = i + BLOCK, offset + BLOCK
        while end < len(target) and src_end < len(source) and target[end] == source[src_end]:
            end += 1
            src_end += 1
        if start > literal_start:
            commands.append(Insert(target[literal_start:start]))
        commands.append(Copy(end - start, src))
        literal_start = i = end
    if literal_start < len(target):
        commands.append(Insert(target[literal_start:]))
    return commands


def encode(source: bytes, target: bytes) -> bytes:
    """A valid Fossil delta that turns ``source`` into ``target``."""
    return delta_of(source, plan(source, target))
