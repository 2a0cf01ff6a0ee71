"""Dialects: the rules that differ between protocol generations (DESIGN "Dialects").

The current protocol (Centrifugo v5/v6) and the 1.x protocol differ in rules, not
only in bytes: integer ids against string ``uid``s, the meaning of a close code,
which commands exist, how connect and refresh carry credentials. Those rules are
given to the session as a :class:`Dialect`, so the state machine is written
once and a new dialect is a module, not a branch. The codec that matches a
dialect is named by it (:attr:`Dialect.codecs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol

import attrs

from .codecs import WireId
from .codes import CloseRule, close_rule
from .commands import (
    Command,
    ConnectRequest,
    HistoryRequest,
    PresenceRequest,
    PresenceStatsRequest,
    PublishRequest,
    RefreshRequest,
    RpcRequest,
    SendRequest,
    SubscribeRequest,
    UnsubscribeRequest,
)
from .errors import LocalProtocolError

__all__ = ["CURRENT", "CloseAdvice", "CurrentDialect", "Dialect", "resolve_dialect"]


@attrs.frozen(kw_only=True)
class CloseAdvice:
    """A close from the server, read by the dialect: the code and reason to report
    and the rule to follow. The session never sees a WebSocket close code."""

    code: int
    reason: str
    rule: CloseRule


class Dialect(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def codecs(self) -> tuple[str, ...]:
        """The codec names this dialect speaks (the first is the default)."""
        ...

    @property
    def caller_commands(self) -> frozenset[type]:
        """The commands a caller may issue (the session's own are always allowed)."""
        ...

    def wire_id(self, number: int) -> WireId:
        """The id of the ``number``-th command of a connection (1, 2, ...)."""
        ...

    def close_advice(self, code: int, reason: str) -> CloseAdvice:
        """What a close (frame code and reason, or a ``disconnect`` push) means."""
        ...

    def connect_command(
        self,
        credentials: Any,
        *,
        data: Any,
        name: str,
        version: str,
        subs: Mapping[str, SubscribeRequest],
    ) -> Command:
        """The first command of a connection, carrying ``credentials``."""
        ...

    def refresh_command(self, credentials: Any) -> Command:
        """The command that extends the connection with new ``credentials``."""
        ...


class CurrentDialect:
    """Centrifugo v5/v6 (PROTOCOL.md): integer ids from 1, the §5.3 code table,
    a JWT as the credentials."""

    name: Final = "current"
    codecs: Final = ("json", "protobuf")
    caller_commands: Final = frozenset(
        {
            PublishRequest,
            HistoryRequest,
            PresenceRequest,
            PresenceStatsRequest,
            RpcRequest,
            SendRequest,
            SubscribeRequest,
            UnsubscribeRequest,
        }
    )

    def wire_id(self, number: int) -> int:
        return number

    def close_advice(self, code: int, reason: str) -> CloseAdvice:
        rule = close_rule(code)
        reported = code if rule.client_code is None else rule.client_code
        return CloseAdvice(code=reported, reason=reason or rule.default_reason, rule=rule)

    def connect_command(
        self,
        credentials: Any,
        *,
        data: Any,
        name: str,
        version: str,
        subs: Mapping[str, SubscribeRequest],
    ) -> ConnectRequest:
        return ConnectRequest(
            token=credentials or "", data=data, subs=subs, name=name, version=version
        )

    def refresh_command(self, credentials: Any) -> RefreshRequest:
        return RefreshRequest(credentials)


#: The dialect of ``protocol="current"``.
CURRENT: Final = CurrentDialect()


def resolve_dialect(protocol: str | Dialect) -> Dialect:
    """The dialect for ``protocol=``: ``"current"``, or a :class:`Dialect` of your own."""
    if protocol == "current":
        return CURRENT
    if isinstance(protocol, str):
        raise LocalProtocolError(f"unknown protocol {protocol!r}; known: ['current']")
    return protocol
