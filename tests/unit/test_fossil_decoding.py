"""Fossil delta decoding (centrifugo_proto/fossil.py, PROTOCOL.md §7).

Every delta here is built by the test: by hand, or with ``tests/fossil_encoder.py``
(``build`` writes any commands with any header and checksum, so a delta can lie).
"""

from __future__ import annotations

import pytest

from centrifugo_proto.errors import DecodeError
from centrifugo_proto.fossil import DeltaError, apply_delta, checksum
from fossil_encoder import (
    Copy,
    Insert,
    build,
    delta_of,
    encode,
    encode_int,
    reference_checksum,
)

# Worked by hand. Source b"abcdefgh", target b"abcdXYefgh" (10 bytes, "A" in the
# format's digits 0-9 A-Z _ a-z ~): copy 4 from 0, insert "XY", copy 4 from 4.
# Checksum: big-endian words "abcd" 0x61626364 + "XYef" 0x58596566 + "gh\0\0"
# 0x67680000 = 0x12123C8CA, modulo 2**32 0x2123C8CA; in 6-bit groups from the top
# 100001 001000 111100 100011 001010 = 33 8 60 35 10 = "X" "8" "x" "Z" "A".
HAND_SOURCE = b"abcdefgh"
HAND_TARGET = b"abcdXYefgh"
HAND_DELTA = b"A\n4@0,2:XY4@4,X8xZA;"


def test_the_hand_made_vector():
    assert apply_delta(HAND_SOURCE, HAND_DELTA) == HAND_TARGET
    assert checksum(HAND_TARGET) == 0x2123C8CA
    assert delta_of(HAND_SOURCE, [Copy(4, 0), Insert(b"XY"), Copy(4, 4)]) == HAND_DELTA


def test_the_wiki_examples_of_numbers():
    # delta_format.wiki §4.1: 6246 is "1Xb"; the checksum -1101438770 (as unsigned
    # 32-bit, 3193528526) is "2zMM3E".
    assert encode_int(6246) == b"1Xb"
    assert encode_int(2**32 - 1101438770) == b"2zMM3E"
    assert encode_int(0) == b"0"
    # The decoder reads the same numbers: a header of 6246 for an insert of 6246 bytes.
    target = bytes(range(256)) * 24 + bytes(range(102))
    assert len(target) == 6246
    delta = b"1Xb\n1Xb:" + target + encode_int(reference_checksum(target)) + b";"
    assert apply_delta(b"", delta) == target


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", 0),
        (b"\x01", 0x01000000),  # a tail is padded with zeros at the end
        (b"\x01\x02\x03", 0x01020300),
        (b"\x00\x00\x00\x01", 1),
        (b"\xff\xff\xff\xff\x00\x00\x00\x01", 0),  # modulo 2**32, not 2**32 - 1
        (b"\xff" * 4096, (0xFFFFFFFF * 1024) % 2**32),
    ],
)
def test_checksum_values(data, expected):
    assert checksum(data) == expected == reference_checksum(data)


@pytest.mark.parametrize("size", [255, 256, 257, 1023, 1024, 1025, 4097, 70000])
def test_checksum_across_adler_block_edges(size):
    # Lanes of 256 bytes are one adler32 block each; 0xFF everywhere is the
    # largest sum a block can have (256 * 255 < 65521).
    for data in (b"\xff" * size, bytes(i * 7 % 256 for i in range(size))):
        assert checksum(data) == reference_checksum(data)


def test_empty_source():
    assert apply_delta(b"", encode(b"", b"abc")) == b"abc"
    assert apply_delta(b"", b"0\n0;") == b""


def test_empty_target():
    assert encode(b"some base", b"") == b"0\n0;"
    assert apply_delta(b"some base", b"0\n0;") == b""


def test_copy_only():
    source = bytes(range(200))
    delta = delta_of(source, [Copy(50, 100), Copy(100, 0), Copy(0, 200), Copy(50, 150)])
    assert apply_delta(source, delta) == source[100:150] + source[:100] + source[150:]


def test_insert_only():
    delta = delta_of(b"unused", [Insert(b"one "), Insert(b""), Insert(b"two")])
    assert apply_delta(b"unused", delta) == b"one two"


def test_binary_bytes_including_the_formats_own_characters():
    # Literal bytes are counted, never scanned: newlines, '@', ':', ',', ';' and
    # bytes over 0x7F inside them are data.
    source = bytes(range(256))
    target = b"\n@:,;\x00\xff" + source[10:90] + b";;;" + source[::-1]
    delta = encode(source, target)
    assert apply_delta(source, delta) == target
    assert apply_delta(source, delta_of(source, [Insert(target)])) == target


def test_a_copy_from_a_bytearray_base():
    source = bytearray(b"0123456789abcdef" * 4)
    target = bytes(source[16:48]) + b"!"
    assert apply_delta(source, encode(bytes(source), target)) == target


def test_a_real_document_edit():
    source = b'{"score":[1,2],"team":"home","text":"' + b"lorem ipsum " * 200 + b'"}'
    target = source.replace(b"[1,2]", b"[1,3]").replace(b"lorem ipsum lorem", b"LOREM", 1)
    delta = encode(source, target)
    assert len(delta) < len(target) // 10  # copies, not one big insert
    assert apply_delta(source, delta) == target


def test_delta_error_is_a_decode_error():
    assert issubclass(DeltaError, DecodeError)


def refused(source: bytes, delta: bytes, match: str) -> None:
    with pytest.raises(DeltaError, match=match):
        apply_delta(source, delta)


def test_a_header_that_says_more_than_the_output():
    delta = build([Insert(b"abc")], length=4, checksum=reference_checksum(b"abc"))
    refused(b"", delta, r"output is 3 bytes, the header announces 4")


def test_a_header_that_says_less_than_the_output():
    delta = build([Insert(b"ab"), Insert(b"c")], length=2, checksum=reference_checksum(b"abc"))
    refused(b"", delta, r"grows past the 2 bytes")
    delta = build([Copy(3, 0)], length=2, checksum=reference_checksum(b"abc"))
    refused(b"abc", delta, r"grows past the 2 bytes")


def test_a_wrong_checksum():
    good = reference_checksum(HAND_TARGET)
    for wrong in (good ^ 1, good + 2**32, 0):
        delta = build([Copy(4, 0), Insert(b"XY"), Copy(4, 4)], length=10, checksum=wrong)
        refused(HAND_SOURCE, delta, "checksum does not match")


def test_a_delta_for_another_base():
    # Same length, other bytes: only the checksum can tell.
    refused(b"abcdefgH", HAND_DELTA, "checksum does not match")


def test_a_copy_past_the_end_of_the_base():
    refused(b"abc", build([Copy(2, 2)], length=2, checksum=0), r"2 bytes at offset 2 runs past")
    refused(b"abc", build([Copy(1, 3)], length=1, checksum=0), r"offset 3 runs past")
    refused(b"", build([Copy(1, 0)], length=1, checksum=0), r"of the 0-byte base")


def test_an_insert_past_the_end_of_the_delta():
    refused(b"", b"3\n3:ab", r"insert of 3 bytes at byte 4 runs past the end")
    refused(b"", b"5\n5:abc;", r"insert of 5 bytes at byte 4")


@pytest.mark.parametrize("cut", range(len(HAND_DELTA)))
def test_every_truncation_is_refused(cut):
    with pytest.raises(DeltaError):
        apply_delta(HAND_SOURCE, HAND_DELTA[:cut])


@pytest.mark.parametrize(
    ("delta", "match"),
    [
        (b"", r"expected the target length at byte 0"),
        (b"A", r"not followed by a newline"),
        (b"A;", r"not followed by a newline"),
        (b"\nA;", r"expected the target length at byte 0"),
        (b"A\n", r"ends before its terminator"),
        (b"A\n4", r"ends after a count"),
        (b"A\n4@", r"expected the copy offset at byte 4"),
        (b"A\n4@0", r"copy offset ending at byte 5 is not followed by ','"),
        (b"A\n4@0;", r"not followed by ','"),
        (b"A\n@0,", r"expected the count at byte 2"),
        (b"A\n4#0,", r"unknown delta command b'#' at byte 3"),
        (b"A\n4@0,\n", r"expected the count at byte 6"),
        (b"A\n4@0,2:XY4@4,;", r"expected the count at byte 14"),
    ],
)
def test_malformed_structure(delta, match):
    refused(HAND_SOURCE, delta, match)


def test_trailing_bytes_after_the_terminator():
    refused(HAND_SOURCE, HAND_DELTA + b"x", r"1 bytes follow the delta's terminator")
    refused(HAND_SOURCE, HAND_DELTA + HAND_DELTA, r"bytes follow")


def test_numbers_longer_than_six_digits_are_refused():
    # Six digits carry any 32-bit value; a seventh is refused before it is read on.
    refused(b"", b"0000000\n0;", r"target length at byte 0 has more than 6 digits")
    refused(b"", b"0\n0000000:;", r"count at byte 2 has more than 6 digits")
    refused(b"", b"1\n1@" + b"~" * 40 + b",", r"copy offset at byte 4 has more than 6")
    # Six digits (with leading zeros, which no encoder writes) still read as the value.
    assert apply_delta(b"", b"000003\n000003:abc" + encode_int(checksum(b"abc")) + b";") == b"abc"


def test_values_past_32_bits_are_refused_by_the_checks():
    # "~~~~~~" is 2**36 - 1: the length and checksum can never match it.
    refused(b"", b"~~~~~~\n0;", r"output is 0 bytes")
    refused(b"", b"0\n~~~~~~;", "checksum does not match")
    refused(b"x", b"1\n~~~~~~@0,", r"runs past the end of the 1-byte base")


def test_digits_outside_the_alphabet():
    # '+' and '/' are RFC 4648 base-64, not the format's; bytes over 0x7F are not
    # read as their low seven bits (delta.c masks them).
    refused(b"", b"+\n0;", r"expected the target length")
    refused(b"", b"\xb0\n0;", r"expected the target length")  # 0xB0 & 0x7F is "0"
    refused(b"", b"0\n/;", r"expected the count")


def test_what_the_format_cannot_detect():
    # The checksum is a sum of 32-bit words, so an output with two words swapped
    # has the target's length and checksum: a delta whose copy offset was moved
    # from 0 to 4 over the base A B A builds B A instead of A B, and nothing the
    # format carries tells them apart. The property tests count such collisions.
    word_a, word_b = b"\x00\x00\x00\x01", b"\x00\x00\x00\x02"
    source = word_a + word_b + word_a
    good = delta_of(source, [Copy(8, 0)])
    moved = delta_of(source, [Copy(8, 4)])
    assert good.replace(b"@0,", b"@4,") == moved
    assert apply_delta(source, good) == word_a + word_b
    assert apply_delta(source, moved) == word_b + word_a
