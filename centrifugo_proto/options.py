"""Tunables of the client and of subscriptions, with the defaults of DESIGN.md
(as centrifuge-python 0.7, PROTOCOL.md §6.2)."""

from __future__ import annotations

from typing import Any, TypedDict

import attrs

from .filters import FilterNode
from .results import StreamPosition

__all__ = ["ClientOptions", "SubscribeKwargs", "SubscriptionOptions"]


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


@attrs.frozen(kw_only=True)
class ClientOptions:
    #: Command timeout, also the budget of one connection attempt (transport,
    #: handshake and connect reply together, §6.1).
    timeout: float = attrs.field(default=5.0, validator=_positive)
    min_reconnect_delay: float = attrs.field(default=0.1, validator=_positive)
    max_reconnect_delay: float = attrs.field(default=20.0, validator=_positive)
    min_resubscribe_delay: float = attrs.field(default=0.1, validator=_positive)
    max_resubscribe_delay: float = attrs.field(default=10.0, validator=_positive)
    #: Added to the server's ping interval before "no ping" is declared (§4).
    max_server_ping_delay: float = attrs.field(default=10.0, validator=_positive)
    #: Retry window for a failed connection token refresh (§6.3).
    refresh_retry_min: float = 5.0
    refresh_retry_max: float = 10.0
    #: Retry window for a failed subscription token refresh (§6.4).
    sub_refresh_retry_min: float = 10.0
    sub_refresh_retry_max: float = 20.0
    #: A timer that fires this much later than it was due (a suspended laptop)
    #: is pushed back once by this much, so data already in the socket is read
    #: first (PEERS.md §3 item 16).
    late_timer_grace: float = 1.0
    #: 1.x only: ping the server when nothing was heard from it for this long
    #: (seconds; 0 = never), checked every ``refresh_period`` (the seed's options).
    max_alive_period: float = 0.0
    refresh_period: float = attrs.field(default=10.0, validator=_positive)


@attrs.frozen(kw_only=True)
class SubscriptionOptions:
    """Per-subscription options (SubscribeRequest fields, PROTOCOL.md §2.3)."""

    token: str | None = attrs.field(default=None, repr=False)
    #: The adapter can fetch tokens for this channel (answers ``TokenRequested``).
    has_token_source: bool = False
    data: Any = None
    recoverable: bool = False
    positioned: bool = False
    join_leave: bool = False
    #: Start from this position on the first subscribe (recover from it).
    since: StreamPosition | None = None
    #: ``"fossil"``: ask for delta compression (§7).
    delta: str = ""
    #: Only publications whose tags match (Centrifugo >= 6.4).
    tags_filter: FilterNode | None = None


class SubscribeKwargs(TypedDict, total=False):
    """The keyword options of ``ClientProtocol.subscribe`` (and ``subscription_options``)."""

    token: Any
    data: Any
    recoverable: bool
    positioned: bool
    join_leave: bool
    since: StreamPosition | None
    has_token_source: bool
    delta: str
    tags_filter: FilterNode | None
