"""Fuzz the 1.x JSON codec: one WebSocket text message to protocol objects.

The input is the message (UTF-8; undecodable bytes become U+FFFD, as a text frame
is valid UTF-8 by the time the codec sees it). Accepted: ``decode`` returning a
list of protocol objects, or raising ``DecodeError``. Anything else is a crash. The
same bytes as a binary message must raise ``DecodeError`` (1.x is text only).

    python fuzz/fuzz_legacy_codec.py [libFuzzer flags] [corpus dirs]
"""

from __future__ import annotations

import _common

with _common.instrumented():
    from centrifugo_proto.codecs.legacy import LegacyCodec
    from centrifugo_proto.errors import DecodeError
    from centrifugo_proto.messages import Push, Reply, ServerPing
    from centrifugo_proto.results import Publication

INCOMING = (Publication, Push, Reply, ServerPing)
CODEC = LegacyCodec()


def test_one_input(data: bytes) -> None:
    try:
        messages = CODEC.decode(data.decode("utf-8", "replace"))
    except DecodeError:
        pass
    else:
        assert isinstance(messages, list)
        assert all(isinstance(m, INCOMING) for m in messages), messages
    try:
        CODEC.decode(data)
    except DecodeError:
        pass
    else:
        raise AssertionError("a binary message decoded in 1.x mode")


if __name__ == "__main__":
    _common.main(test_one_input, "fuzz_legacy_codec")
