"""A hand-written reader for the one Reply that is the hot path: a ``pub`` push
(PROTOCOL.md §2.1, §2.2, §3).

The ``protobuf`` runtime parses a Reply quickly, but every field read through its
message objects costs a call, and a publication needs a dozen; in the pure-Python
runtime (protobuf < 4.21, or ``PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python``)
parsing alone is several times the cost of the JSON codec. This reader goes from
the bytes of a Reply straight to a :class:`Publication`, for the messages a
server writes for a publication: ``Reply{push: Push{channel, pub: Publication}}``
with the Publication fields of the schema (data, info, offset, tags, delta, time,
channel, epoch), each once (tags any number of times).

It answers None for anything else, and the codec hands those bytes to the runtime:
another Reply or push kind, a field out of that list or written twice, a wire type
the schema does not give the field, a bool that is not 0 or 1, a varint past 64
bits, a length past the end, text that is not UTF-8. So it never decides anything
the runtime would decide differently; a differential property test
(``tests/property/test_protobuf_decoding.py``) holds the two equal on random and
mutated messages. ``bench/bench_codecs.py`` has what it saves.

Wire format (the Protobuf encoding guide): a field's tag is the varint
``number << 3 | wire type``, one byte for the numbers below 16 used here;
wire type 0 is a varint, 2 a varint length and that many bytes.
"""

from __future__ import annotations

from typing import Final

from ..results import ClientInfo, Publication, plain_publication

__all__ = ["read_publication"]

_U64: Final = 1 << 64
_I64_SIGN: Final = 1 << 63


class _Other(Exception):
    """Not a message this reader takes: the runtime decides."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` (at most 64 bits) and the position after it."""
    value = 0
    shift = 0
    while True:
        byte = data[pos]  # IndexError past the end: the runtime's to report
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if value >= _U64:
                raise _Other  # the runtime truncates; rare enough to leave to it
            return value, pos
        shift += 7
        if shift >= 70:
            raise _Other


def _span(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A length-delimited field's body: (start, stop) within ``end``."""
    size = data[pos]
    pos += 1
    if size >= 0x80:
        size, pos = _varint(data, pos - 1)
    stop = pos + size
    if stop > end:
        raise _Other
    return pos, stop


def _client_info(data: bytes, pos: int, end: int) -> ClientInfo:
    user = client = ""
    conn_info = chan_info = b""
    seen = 0
    while pos < end:
        tag = data[pos]
        pos += 1
        if tag > 0x22 or tag & 7 != 2 or tag < 0x0A or seen & (1 << (tag >> 3)):
            raise _Other  # fields 1-4 are all length-delimited
        seen |= 1 << (tag >> 3)
        start, pos = _span(data, pos, end)
        if tag == 0x0A:
            user = data[start:pos].decode("utf-8")
        elif tag == 0x12:
            client = data[start:pos].decode("utf-8")
        elif tag == 0x1A:
            conn_info = data[start:pos]
        else:
            chan_info = data[start:pos]
    return ClientInfo(
        user=user, client=client, conn_info=conn_info or None, chan_info=chan_info or None
    )


def _tag_entry(data: bytes, pos: int, end: int, tags: dict[str, str]) -> None:
    """One ``map<string, string>`` entry: key 1, value 2, either may be absent."""
    key = value = None
    while pos < end:
        tag = data[pos]
        pos += 1
        start, pos = _span(data, pos, end)
        if tag == 0x0A and key is None:
            key = data[start:pos].decode("utf-8")
        elif tag == 0x12 and value is None:
            value = data[start:pos].decode("utf-8")
        else:
            raise _Other
    tags[key or ""] = value or ""  # a repeated key: the last wins, as in the runtime


def _publication(data: bytes, pos: int, channel: str) -> Publication:
    """The Publication from ``pos`` to the end of ``data`` (the Reply's last bytes): a
    varint that runs on past it is an IndexError, as at the end of the Reply."""
    end = len(data)
    payload = b""
    info = None
    offset = time = 0
    tags: dict[str, str] | None = None
    delta = False
    own_channel = epoch = ""
    seen = 0
    while pos < end:
        tag = data[pos]
        if tag == 0x22 and not seen & 0x10:  # data (4), inline: the one field always there
            size = data[pos + 1]
            pos += 2
            if size >= 0x80:
                size, pos = _varint(data, pos - 1)
            stop = pos + size
            if stop > end:
                raise _Other
            payload = data[pos:stop]
            pos = stop
            seen |= 0x10
            continue
        pos += 1
        if tag == 0x3A:  # tags (7): repeated map entries
            start, pos = _span(data, pos, end)
            if tags is None:
                tags = {}
            _tag_entry(data, start, pos, tags)
            continue
        bit = 1 << (tag >> 3)
        if seen & bit:
            raise _Other  # written twice: merged or last-wins, the runtime's rules
        seen |= bit
        if tag == 0x30:  # offset (6)
            offset = data[pos]
            pos += 1
            if offset >= 0x80:
                offset, pos = _varint(data, pos - 1)
        elif tag == 0x2A:  # info (5)
            start, pos = _span(data, pos, end)
            info = _client_info(data, start, pos)
        elif tag == 0x40:  # delta (8)
            flag, pos = _varint(data, pos)
            if flag > 1:
                raise _Other
            delta = flag == 1
        elif tag == 0x48:  # time (9), int64: two's complement
            time, pos = _varint(data, pos)
            if time >= _I64_SIGN:
                time -= _U64
        elif tag == 0x52:  # channel (10)
            start, pos = _span(data, pos, end)
            own_channel = data[start:pos].decode("utf-8")
        elif tag == 0x72:  # epoch (14)
            start, pos = _span(data, pos, end)
            epoch = data[start:pos].decode("utf-8")
        else:
            raise _Other
    if info is None and tags is None and not (time or epoch or delta or own_channel):
        return plain_publication(channel, payload, offset)  # the common one, at half the cost
    return Publication(
        channel=own_channel or channel,
        data=payload,
        offset=offset,
        info=info,
        tags=tags,
        time=time,
        epoch=epoch,
        delta=delta,
    )


def _read(data: bytes) -> Publication:
    # Reply: the push field (4) and nothing else.
    if data[0] != 0x22:
        raise _Other
    end = len(data)
    size = data[1]
    pos = 2
    if size >= 0x80:
        size, pos = _varint(data, 1)
    if pos + size != end:
        raise _Other
    # Push: channel (2), then pub (4), as the server writes them; else the runtime's.
    if data[pos] != 0x12:
        raise _Other
    size = data[pos + 1]
    pos += 2
    if size >= 0x80:
        size, pos = _varint(data, pos - 1)
    stop = pos + size
    channel = data[pos:stop].decode("utf-8")
    if stop >= end or data[stop] != 0x22:
        raise _Other
    size = data[stop + 1]
    pos = stop + 2
    if size >= 0x80:
        size, pos = _varint(data, pos - 1)
    if pos + size != end:
        raise _Other  # past the end, or more Push fields after pub
    return _publication(data, pos, channel)


def read_publication(data: bytes) -> Publication | None:
    """The publication ``data`` (one serialised Reply) carries, or None: not one this
    reader takes, the runtime's to decode (or to refuse)."""
    try:
        return _read(data)
    except (_Other, IndexError, UnicodeDecodeError):
        return None
