"""Adapters that plug :class:`centrifugo_proto.ClientProtocol` into an I/O model.

This folder installs as ``centrifugo_proto.adapters``; this file keeps
``adapters/asyncio.py`` from ever shadowing the standard library's asyncio.
The events only the adapters make (they see the socket and the commands) are
here for every adapter: :class:`TransportFailed` (``ws_error``) and
:class:`CommandReplied` (the seed's reply names, docs/events.md).
"""

from ._base.names import CommandReplied, TransportFailed

__all__ = ["CommandReplied", "TransportFailed"]
