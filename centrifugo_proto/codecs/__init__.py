"""Codecs: a WebSocket message to protocol objects and back (DESIGN "The core", layer 2).

Each codec module offers ``encode_commands(commands) -> str | bytes``,
``decode_replies(message) -> list[Incoming]`` (raising only
:class:`~centrifugo_proto.errors.DecodeError`) and ``check_payload(value)``.
"""
