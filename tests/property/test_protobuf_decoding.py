"""Properties of the Protobuf codec (PROTOCOL.md §1.2) beyond the framing properties
every codec has (``test_framing.py``):

- the varint length framing: any list of messages joins and splits back, and a cut
  anywhere but between messages is a DecodeError, never a wrong message;
- the hand-written publication reader (``codecs/protobuf_pubs.py``) against the
  runtime: on well-formed, reordered, duplicated, mutated and random messages it
  gives the runtime's answer or stands aside, never a different one;
- the runtime path alone decodes what the server half encodes, for every kind;
- nothing but DecodeError comes out of decode, whatever the bytes.

Also run on the oldest and newest supported ``protobuf`` (``make test-protobuf-range``).
"""

from __future__ import annotations

from typing import Any

from codec_pairs import PROTOBUF_PAYLOADS
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import INT64, TEXT, UINT64, incoming, publications

from centrifugo_proto.codecs.protobuf import decode_replies, runtime_reply
from centrifugo_proto.codecs.protobuf_pubs import read_publication
from centrifugo_proto.codecs.varint import encode_varint, join_delimited, split_delimited
from centrifugo_proto.errors import DecodeError
from centrifugo_proto.messages import Incoming
from protobuf_wire import delimited, encode_reply, field, varint

#: Message sizes around the one-, two- and three-byte varint boundaries.
SIZES = st.one_of(st.integers(0, 300), st.sampled_from([127, 128, 129, 16383, 16384, 16385, 70000]))
MESSAGES = st.lists(SIZES.map(lambda n: bytes([n % 251]) * n), max_size=6)


# -- varint framing --------------------------------------------------------------------


@given(st.integers(0, 2**64 - 1))
def test_a_varint_is_seven_bits_a_byte_low_group_first(value):
    encoded = encode_varint(value)
    assert encoded == varint(value)  # the server half's, written separately
    assert len(encoded) == max(1, (value.bit_length() + 6) // 7)
    assert all(b & 0x80 for b in encoded[:-1])
    assert not encoded[-1] & 0x80


@given(MESSAGES)
def test_messages_join_and_split_back(messages):
    data = join_delimited(messages)
    assert data == delimited(messages)
    assert split_delimited(data) == messages


@given(MESSAGES, st.data())
def test_a_cut_anywhere_but_between_messages_is_a_decode_error(messages, data):
    joined = join_delimited(messages)
    assume(joined)
    cut = data.draw(st.integers(0, len(joined) - 1))
    boundaries = {0}
    for message in messages:
        boundaries.add(max(boundaries) + len(encode_varint(len(message))) + len(message))
    if cut in boundaries:
        got = split_delimited(joined[:cut])
        assert got == messages[: len(got)]
        assert len(got) < len(messages) + 1
    else:
        try:
            split_delimited(joined[:cut])
        except DecodeError:
            pass
        else:
            raise AssertionError(f"cut at {cut} of {len(joined)} decoded")


# -- the publication reader against the runtime -----------------------------------------


def _runtime(data: bytes) -> Incoming | DecodeError:
    try:
        return runtime_reply(data)
    except DecodeError as exc:
        return exc


def _agrees(data: bytes) -> Any:
    """The reader stands aside or says what the runtime says; returns its answer."""
    fast = read_publication(data)
    if fast is not None:
        assert fast == _runtime(data), data
    return fast


@given(publications(PROTOBUF_PAYLOADS, st.text(min_size=1, max_size=12)))
def test_the_reader_takes_what_the_server_writes_for_a_publication(pub):
    data = encode_reply(pub)
    assert _agrees(data) == pub


@given(publications(PROTOBUF_PAYLOADS, TEXT), st.data())
def test_the_reader_agrees_with_the_runtime_on_mutated_messages(pub, data):
    raw = bytearray(encode_reply(pub))
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        at = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if kind == "flip" and raw:
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "set" and raw:
            raw[at] = data.draw(st.integers(0, 255))
        elif kind == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=4))
        elif kind == "delete" and raw:
            del raw[at : at + data.draw(st.integers(1, 4))]
        else:
            del raw[at:]
    if raw:
        _agrees(bytes(raw))


#: Fields a Publication may hold, right and wrong: every field of the schema with its
#: wire type, the wrong wire type, numbers it does not have, odd varints.
_PUB_FIELDS = st.one_of(
    st.builds(field, st.just(4), st.binary(max_size=8)),  # data
    st.builds(
        field,
        st.just(5),
        st.lists(
            st.one_of(
                st.builds(field, st.integers(1, 2), TEXT),
                st.builds(field, st.integers(3, 4), st.binary(max_size=4)),
                st.builds(field, st.integers(1, 6), st.integers(0, 3)),
            ),
            max_size=4,
        ).map(b"".join),
    ),  # info
    st.builds(field, st.just(6), UINT64),  # offset
    st.builds(
        field,
        st.just(7),
        st.lists(st.builds(field, st.integers(1, 3), TEXT), max_size=3).map(b"".join),
    ),  # tags entries
    st.builds(field, st.just(8), st.integers(0, 3)),  # delta
    st.builds(field, st.just(9), INT64),  # time
    st.builds(field, st.just(10), TEXT),  # channel
    st.builds(field, st.just(14), TEXT),  # epoch
    st.builds(field, st.sampled_from([4, 5, 7, 10, 14]), st.integers(0, 2**64 - 1)),  # wrong type
    st.builds(field, st.sampled_from([6, 8, 9]), st.binary(max_size=3)),  # wrong type
    st.builds(field, st.sampled_from([1, 11, 12, 13, 15, 16, 99]), st.binary(max_size=3)),
    # a non-minimal varint: 0x80 continuation bytes before the last
    st.builds(
        lambda n, pad: b"\x30" + b"\x80" * pad + bytes([n]), st.integers(0, 127), st.integers(1, 9)
    ),
    st.binary(min_size=1, max_size=3),  # anything
)
_PUSH_FIELDS = st.one_of(
    st.builds(field, st.just(2), TEXT),
    st.builds(field, st.sampled_from([1, 5, 6, 99]), st.binary(max_size=3)),
    st.builds(field, st.just(1), INT64),
)


@given(
    st.lists(_PUB_FIELDS, max_size=8).map(b"".join),
    st.lists(_PUSH_FIELDS, max_size=2),
    st.booleans(),
    st.lists(st.builds(field, st.sampled_from([1, 2, 5, 99]), st.binary(max_size=3)), max_size=2),
)
def test_the_reader_agrees_with_the_runtime_on_odd_messages(pub, push_fields, channel_first, extra):
    push = field(2, "chan") + field(4, pub) if channel_first else field(4, pub) + field(2, "c")
    push = b"".join(push_fields) + push if push_fields and not channel_first else push
    _agrees(field(4, push) + b"".join(extra))
    _agrees(field(4, push))


@given(st.binary(max_size=64))
def test_the_reader_agrees_with_the_runtime_on_random_bytes(data):
    _agrees(b"\x22" + data)


# -- the runtime path, and decode's one exception -----------------------------------------


@given(incoming(PROTOBUF_PAYLOADS))
def test_the_runtime_alone_decodes_every_kind_the_server_half_encodes(message):
    assert runtime_reply(encode_reply(message)) == message


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_decode_raises_only_decode_errors(data):
    try:
        out = decode_replies(data)
    except DecodeError:
        return
    assert isinstance(out, list)
