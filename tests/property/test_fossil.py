"""Fossil deltas (centrifugo_proto/fossil.py, PROTOCOL.md §7) against the test
encoder (tests/fossil_encoder.py): whatever the edit, applying the delta the
encoder makes gives the target; whatever the mutation of a valid delta, the
decoder refuses it or still gives the target, unless the mutation builds
another output with the same length and the same checksum, which no decoder of
this format can tell from the target (the checksum is a sum of words: two words
swapped keep it), and which the mutation property counts rather than hides.
"""

from __future__ import annotations

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from centrifugo_proto.fossil import DeltaError, apply_delta, checksum
from fossil_encoder import (
    Copy,
    Insert,
    build,
    delta_of,
    encode,
    plan,
    reference_checksum,
    target_of,
)

#: Words a JSON-ish document is made of: small alphabets repeat, so the encoder finds copies.
WORDS = [b'{"', b'":', b",", b"}", b"[", b"]", b"team", b"score", b" ", b"\n", b"42", b"goal"]


@st.composite
def repetitive(draw: st.DrawFn) -> bytes:
    """A document made of a few chunks repeated in any order (large, cheap to draw)."""
    chunks = draw(st.lists(st.binary(min_size=1, max_size=48), min_size=1, max_size=8))
    order = draw(st.lists(st.integers(0, len(chunks) - 1), min_size=4, max_size=300))
    return b"".join(chunks[i] for i in order)


documents = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(WORDS), min_size=10, max_size=600).map(b"".join),
    repetitive(),
    # Up to 6 KB of random bytes: edits leave long unique runs the encoder copies.
    st.builds(
        lambda rng, size: rng.randbytes(size),
        st.randoms(use_true_random=False),
        st.integers(1000, 6000),
    ),
)


@st.composite
def edited(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A document and the same document after a few inserts, deletes, replaces
    and moves of runs."""
    source = draw(documents)
    target = bytearray(source)
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "move"]))
        start = draw(st.integers(0, len(target)))
        size = draw(st.integers(0, min(200, len(target) - start)))
        if kind == "insert":
            target[start:start] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del target[start : start + size]
        elif kind == "replace":
            target[start : start + size] = draw(st.binary(max_size=64))
        else:
            run = target[start : start + size]
            del target[start : start + size]
            dest = draw(st.integers(0, len(target)))
            target[dest:dest] = run
    return source, bytes(target)


@st.composite
def plans(draw: st.DrawFn) -> tuple[bytes, list[Copy | Insert]]:
    """A source and any list of commands over it: copies of any range (empty ones
    too, and overlapping, in any order) and inserts of any bytes."""
    source = draw(st.binary(max_size=500))
    commands: list[Copy | Insert] = []
    for _ in range(draw(st.integers(0, 12))):
        if source and draw(st.booleans()):
            offset = draw(st.integers(0, len(source)))
            commands.append(Copy(draw(st.integers(0, len(source) - offset)), offset))
        else:
            commands.append(Insert(draw(st.binary(max_size=40))))
    return source, commands


@given(edited())
def test_the_delta_of_an_edit_gives_the_target(pair):
    source, target = pair
    commands = plan(source, target)
    copies = sum(isinstance(c, Copy) for c in commands)
    event(f"copies: {copies if copies < 5 else '5+'}")
    assert apply_delta(source, encode(source, target)) == target


@given(plans())
def test_any_valid_command_list_gives_its_target(pair):
    source, commands = pair
    assert apply_delta(source, delta_of(source, commands)) == target_of(source, commands)


@given(st.binary(max_size=5000))
def test_the_checksum_is_the_formats(data):
    assert checksum(data) == reference_checksum(data)


@st.composite
def mutations(draw: st.DrawFn) -> tuple[bytes, bytes, bytes, str]:
    """(source, target, mutated delta, kind): a valid delta with one byte changed,
    a range cut out, or a run duplicated somewhere."""
    source, target = draw(edited())
    delta = encode(source, target)
    kind = draw(st.sampled_from(["flip", "cut", "duplicate"]))
    buf = bytearray(delta)
    at = draw(st.integers(0, len(buf) - 1))
    if kind == "flip":
        buf[at] ^= draw(st.integers(1, 255))
    elif kind == "cut":
        del buf[at : at + draw(st.integers(1, len(buf) - at))]
    else:
        run = buf[at : at + draw(st.integers(1, len(buf) - at))]
        dest = draw(st.integers(0, len(buf)))
        buf[dest:dest] = run
    return source, target, bytes(buf), kind


@given(mutations())
def test_a_mutated_delta_is_refused_or_gives_the_target(case):
    source, target, mutated, kind = case
    try:
        out = apply_delta(source, mutated)
    except DeltaError:
        event(f"{kind}: refused")
        return
    if out == target:
        event(f"{kind}: still the target")
        return
    # Everything the format carries agrees: a collision of its additive checksum
    # (a copy offset moved onto other bytes with the same word sum). Counted.
    event(f"{kind}: checksum collision")
    assert len(out) == len(target)
    assert checksum(out) == checksum(target)


@given(edited(), st.data())
def test_a_changed_literal_byte_is_always_refused(pair, data):
    # One output byte changes by d * 256**k with 0 < |d| < 256: the word sum
    # always changes, so this mutation can never pass unnoticed.
    source, target = pair
    commands = plan(source, target)
    inserts = [i for i, c in enumerate(commands) if isinstance(c, Insert) and c.data]
    if not inserts:
        commands.append(Insert(b"tail"))
        target += b"tail"
        inserts = [len(commands) - 1]
    index = data.draw(st.sampled_from(inserts))
    literal = bytearray(commands[index].data)  # type: ignore[union-attr]
    at = data.draw(st.integers(0, len(literal) - 1))
    literal[at] ^= data.draw(st.integers(1, 255))
    forged = list(commands)
    forged[index] = Insert(bytes(literal))
    # The forged body under the real target's header and checksum.
    delta = build(forged, length=len(target), checksum=reference_checksum(target))
    with pytest.raises(DeltaError, match="checksum does not match"):
        apply_delta(source, delta)
