"""Server-side subscriptions (PROTOCOL.md §6.5): the server subscribes the client.

They come from the connect result (``subs``) and from ``subscribe`` and
``unsubscribe`` pushes; the client only keeps their positions, so that the next
connect can ask to recover them (``ConnectRequest.subs``). Their events carry
``server_side=True``: the adapters report them through the client's callbacks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from .codes import SubscribingCode, UnsubscribedCode
from .commands import SubscribeRequest
from .events import (
    Event,
    JoinReceived,
    LeaveReceived,
    PublicationReceived,
    Subscribed,
    Subscribing,
    Unsubscribed,
)
from .messages import Join, Leave
from .results import Publication, StreamPosition, SubscribeResult

__all__ = ["ServerSubscriptions"]


@attrs.define(eq=False)
class _ServerSubscription:
    recoverable: bool = False
    position: StreamPosition | None = None


class ServerSubscriptions:
    def __init__(self, emit: Callable[[Event], None]) -> None:
        self._emit = emit
        self._subs: dict[str, _ServerSubscription] = {}

    def __contains__(self, channel: str) -> bool:
        return channel in self._subs

    def recovery(self) -> dict[str, SubscribeRequest]:
        """What the next connect asks to recover: every recoverable one with a position."""
        return {
            channel: SubscribeRequest(
                channel=channel,
                recover=True,
                offset=sub.position.offset,
                epoch=sub.position.epoch,
            )
            for channel, sub in self._subs.items()
            if sub.recoverable and sub.position is not None
        }

    def connected(self, subs: Mapping[str, SubscribeResult]) -> None:
        """A connect result: those not in ``subs`` are gone, the others are subscribed."""
        for channel in [c for c in self._subs if c not in subs]:
            del self._subs[channel]
            self._emit(
                Unsubscribed(
                    channel=channel,
                    code=UnsubscribedCode.UNSUBSCRIBE_CALLED,
                    reason="server-side subscription gone",
                    server_side=True,
                )
            )
        for channel, result in subs.items():
            self.subscribed(channel, result)

    def subscribed(self, channel: str, result: SubscribeResult) -> None:
        """From the connect result or a ``subscribe`` push."""
        sub = self._subs.get(channel)
        if sub is None:
            sub = self._subs[channel] = _ServerSubscription()
        sub.recoverable = result.recoverable
        if result.recoverable or result.positioned:
            sub.position = StreamPosition(result.offset, result.epoch)
        self._emit(
            Subscribed(
                channel=channel,
                result=result,
                position=sub.position,
                was_recovering=result.was_recovering,
                recovered=result.recovered,
                server_side=True,
            )
        )
        for pub in result.publications:
            self._deliver(sub, attrs.evolve(pub, channel=pub.channel or channel))

    def publication(self, channel: str, pub: Publication) -> None:
        self._deliver(self._subs[channel], pub)

    def _deliver(self, sub: _ServerSubscription, pub: Publication) -> None:
        # ``pub.channel`` may differ from the subscription's (the ``channel`` field of
        # wildcard subscriptions, §2.2): the position is the subscription's.
        if sub.recoverable and pub.offset:
            epoch = sub.position.epoch if sub.position else ""
            sub.position = StreamPosition(pub.offset, epoch)
        self._emit(PublicationReceived(publication=pub, server_side=True))

    def join_or_leave(self, channel: str, body: Join | Leave) -> None:
        event = JoinReceived if isinstance(body, Join) else LeaveReceived
        self._emit(event(channel=channel, info=body.info, server_side=True))

    def unsubscribed(self, channel: str, code: int, reason: str) -> None:
        """An ``unsubscribe`` push for a server-side subscription."""
        del self._subs[channel]
        self._emit(Unsubscribed(channel=channel, code=code, reason=reason, server_side=True))

    def suspend(self) -> None:
        """The connection was lost: each comes back with the next connect result."""
        for channel in self._subs:
            self._emit(
                Subscribing(
                    channel=channel,
                    code=SubscribingCode.TRANSPORT_CLOSED,
                    reason="transport closed",
                    server_side=True,
                )
            )

    def forget_positions(self) -> None:
        """3014: the server dropped what it knew of us (§5.3)."""
        for sub in self._subs.values():
            sub.position = None

    def close(self) -> None:
        for channel in self._subs:
            self._emit(
                Unsubscribed(
                    channel=channel,
                    code=UnsubscribedCode.CLIENT_CLOSED,
                    reason="client closed",
                    server_side=True,
                )
            )
        self._subs.clear()
