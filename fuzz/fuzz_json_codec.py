"""Fuzz the JSON codec: one WebSocket text message to protocol objects.

The input is the message (UTF-8; undecodable bytes become U+FFFD, since a text
frame is valid UTF-8 by the time the codec sees it). Accepted: ``decode_replies``
returning a list of protocol objects, or raising ``DecodeError``, the codec's
documented error. Anything else is a crash. The same bytes as a binary message
must raise ``DecodeError`` (JSON mode takes text frames only).

    python fuzz/fuzz_json_codec.py [libFuzzer flags] [corpus dirs]
"""

from __future__ import annotations

import _common

with _common.instrumented():
    from centrifugo_proto.codecs import json as codec
    from centrifugo_proto.errors import DecodeError
    from centrifugo_proto.messages import Push, Reply, ServerPing
    from centrifugo_proto.results import Publication

INCOMING = (Publication, Push, Reply, ServerPing)


def test_one_input(data: bytes) -> None:
    try:
        messages = codec.decode_replies(data.decode("utf-8", "replace"))
    except DecodeError:
        pass
    else:
        assert isinstance(messages, list)
        assert all(isinstance(m, INCOMING) for m in messages), messages
    try:
        codec.decode_replies(data)
    except DecodeError:
        pass
    else:
        raise AssertionError("a binary message decoded in JSON mode")


if __name__ == "__main__":
    _common.main(test_one_input, "fuzz_json_codec")
