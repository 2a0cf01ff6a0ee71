"""Fuzz the Protobuf codec: one WebSocket binary message to protocol objects.

The first input byte picks what the rest is (STYLE-ANCHORS L15):

- bit 0 clear: the binary message itself (varint length-delimited Replies, §1.2);
- bit 0 set: the body of a Publication, wrapped by the harness as the one Reply of
  a ``pub`` push on channel "c" (bit 1 set: with no channel), so that mutations
  land in the fields the hand-written reader (``codecs/protobuf_pubs.py``) parses.

Accepted: ``decode_replies`` returning a list of protocol objects, or raising
``DecodeError``, the codec's documented error. Anything else is a crash. Also, for
every message the framing yields, the publication reader either stands aside or
gives exactly what the runtime gives (the same bytes read by the runtime alone),
and the same bytes as a text message raise ``DecodeError``.

    python fuzz/fuzz_protobuf_codec.py [libFuzzer flags] [corpus dirs]
"""

from __future__ import annotations

import _common

with _common.instrumented():
    from centrifugo_proto.codecs import protobuf as codec
    from centrifugo_proto.codecs.protobuf_pubs import read_publication
    from centrifugo_proto.codecs.varint import encode_varint, split_delimited
    from centrifugo_proto.errors import DecodeError
    from centrifugo_proto.messages import Push, Reply, ServerPing
    from centrifugo_proto.results import Publication

INCOMING = (Publication, Push, Reply, ServerPing)


def _delimited(body: bytes) -> bytes:
    return encode_varint(len(body)) + body


def _wrap_publication(pub: bytes, with_channel: bool) -> bytes:
    """``Reply{push: Push{channel: "c", pub: <pub>}}`` (field numbers of §2.1)."""
    push = (b"\x12\x01c" if with_channel else b"") + b"\x22" + _delimited(pub)
    return _delimited(b"\x22" + _delimited(push))


def _runtime(message: bytes) -> object:
    try:
        return codec.runtime_reply(message)
    except DecodeError as exc:
        return exc


def test_one_input(data: bytes) -> None:
    inp = _common.Input(data)
    options = inp.byte()
    rest = inp.rest()
    message = _wrap_publication(rest, not options & 2) if options & 1 else rest
    try:
        out = codec.decode_replies(message)
    except DecodeError:
        pass
    else:
        assert isinstance(out, list)
        assert all(isinstance(m, INCOMING) for m in out), out
    try:
        chunks = split_delimited(message)
    except DecodeError:
        chunks = []
    for chunk in chunks:
        if chunk:
            fast = read_publication(chunk)
            if fast is not None:
                assert fast == _runtime(chunk), chunk
    try:
        codec.decode_replies(message.decode("latin-1"))
    except DecodeError:
        pass
    else:
        raise AssertionError("a text message decoded in Protobuf mode")


if __name__ == "__main__":
    _common.main(test_one_input, "fuzz_protobuf_codec")
