"""Dialects: the rules that differ between protocol generations (DESIGN "Dialects").

The current protocol (Centrifugo v5/v6) and the 1.x protocol differ in rules, not
only in bytes: integer ids against string ``uid``s, the meaning of a close code,
which commands exist, how connect and refresh carry credentials. Those rules are
given to the session as a :class:`Dialect`, so the state machine is written
once and a new dialect is a module, not a branch. The codec that matches a
dialect is named by it (:attr:`Dialect.codecs`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

import attrs

from .codecs import Codec, WireId, protobuf_codec
from .codecs.json import JsonCodec
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
from .options import SubscriptionOptions
from .subscription import ClientSubscription, SubscriptionHost
from .validate import check_str

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
    def codecs(self) -> Mapping[str, Callable[[], Codec]]:
        """The codecs this dialect speaks, by ``codec=`` name (the first is the default)."""
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

    def check_credentials(self, value: object) -> Any:
        """The caller's connection credentials (a token, 1.x credentials), or
        ``LocalProtocolError``."""
        ...

    def check_sub_token(self, value: object) -> Any:
        """The caller's subscription token (a JWT, a 1.x channel sign), or
        ``LocalProtocolError``."""
        ...

    def subscription(
        self, host: SubscriptionHost, channel: str, options: SubscriptionOptions
    ) -> ClientSubscription:
        """A new client-side subscription (its rules may differ: 1.x recovers by uid)."""
        ...

    def wire_channel(self, channel: str, client_id: str | None) -> str:
        """The channel as sent on this connection (1.x expands ``&`` client channels)."""
        ...

    @property
    def needs_sub_token(self) -> Callable[[str], bool]:
        """Whether a channel always needs a token from the source (1.x: ``$`` channels)."""
        ...

    @property
    def client_pings(self) -> bool:
        """The client sends ping commands to keep an idle connection alive (1.x)."""
        ...

    @property
    def caller_ids(self) -> bool:
        """A caller may name a command's wire id (1.x: ``uid``)."""
        ...


class CurrentDialect:
    """Centrifugo v5/v6 (PROTOCOL.md): integer ids from 1, the §5.3 code table,
    a JWT as the credentials."""

    name: Final = "current"
    codecs: Final[Mapping[str, Callable[[], Codec]]] = {
        "json": JsonCodec,
        "protobuf": protobuf_codec,
    }
    client_pings: Final = False
    caller_ids: Final = False
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
        return RefreshRequest(token=credentials)

    def check_credentials(self, value: object) -> str:
        return check_str(value, "token")

    def check_sub_token(self, value: object) -> str:
        return check_str(value, "token")

    def subscription(
        self, host: SubscriptionHost, channel: str, options: SubscriptionOptions
    ) -> ClientSubscription:
        return ClientSubscription(host, channel, options)

    def wire_channel(self, channel: str, client_id: str | None) -> str:
        return channel

    @property
    def needs_sub_token(self) -> Callable[[str], bool]:
        return _never_needs


def _never_needs(channel: str) -> bool:
    return False


#: The dialect of ``protocol="current"``.
CURRENT: Final = CurrentDialect()


def resolve_dialect(protocol: str | Dialect) -> Dialect:
    """The dialect for ``protocol=``: ``"current"``, ``"v1"`` (Centrifugo 1.x), or a
    :class:`Dialect` of your own."""
    if protocol == "current":
        return CURRENT
    if protocol == "v1":
        from .legacy import LEGACY

        return LEGACY
    if isinstance(protocol, str):
        raise LocalProtocolError(f"unknown protocol {protocol!r}; known: ['current', 'v1']")
    return protocol
