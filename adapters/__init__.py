"""Adapters that plug :class:`centrifugo_proto.ClientProtocol` into an I/O model.

This folder installs as ``centrifugo_proto.adapters``; this file keeps
``adapters/asyncio.py`` from ever shadowing the standard library's asyncio.
What only the adapters make (they see the socket and the commands) is here for
every adapter: the events :class:`TransportFailed` (``ws_error``) and
:class:`CommandReplied` (the seed's reply names, docs/events.md), and
:class:`CertificateError`, what ``connect()`` raises for a certificate that does
not verify.
"""

from ._base.names import CommandReplied, TransportFailed
from ._tls import CertificateError

__all__ = ["CertificateError", "CommandReplied", "TransportFailed"]
