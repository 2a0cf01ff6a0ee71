"""What arrives from the server, between the codecs and the session (PROTOCOL.md §2, §3).

A codec turns a WebSocket message into a list of these (what goes the other
way is in :mod:`.commands`). The session never sees bytes.
A ``pub`` push is decoded straight into a :class:`~centrifugo_proto.results.Publication`
(it carries its channel), so the hot path builds one object per publication.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from .errors import ReplyError
from .results import ClientInfo, Publication, SubscribeResult

__all__ = [
    "PING",
    "Join",
    "Leave",
    "Push",
    "PushBody",
    "Reply",
    "ServerDisconnect",
    "ServerMessage",
    "ServerPing",
    "ServerSubscribe",
    "ServerUnsubscribe",
]


@attrs.frozen
class ServerPing:
    """An empty Reply: the server's ping (PROTOCOL.md §4)."""


PING: Final = ServerPing()


@attrs.frozen
class Reply:
    """A Reply with an id: the answer to the command of that id."""

    #: The answered command's wire id: an int, or a 1.x ``uid`` string.
    id: int | str
    result: Any
    error: ReplyError | None = None


@attrs.frozen
class Join:
    info: ClientInfo


@attrs.frozen
class Leave:
    info: ClientInfo


@attrs.frozen
class ServerUnsubscribe:
    code: int
    reason: str


@attrs.frozen
class ServerSubscribe:
    result: SubscribeResult


@attrs.frozen
class ServerMessage:
    data: Any


@attrs.frozen
class ServerDisconnect:
    code: int
    reason: str


@attrs.frozen
class Ignored:
    """A push this client does not act on (connect/refresh of unidirectional transports)."""

    kind: str


PushBody = (
    Join | Leave | ServerUnsubscribe | ServerSubscribe | ServerMessage | ServerDisconnect | Ignored
)


@attrs.frozen
class Push:
    channel: str
    body: PushBody


#: What a codec's decoder yields.
Incoming = Publication | Push | Reply | ServerPing
