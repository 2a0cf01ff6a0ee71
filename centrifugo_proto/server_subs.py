"""Server-side subscriptions (PROTOCOL.md §6.5): the server subscribes the client.

They come from the connect result (``subs``) and from ``subscribe`` and
``unsubscribe`` pushes; the client only keeps their positions, so that the next
connect can ask to recover them (``ConnectRequest.subs``), and, where the server
negotiated delta compression, their delta base (§7). Their events carry
``server_side=True``: the adapters report them through the client's callbacks.
A delta that does not apply cannot be fixed by resubscribing one of them (the
server holds them): the client reconnects, recovering from the last publication
it delivered, and asks for full payloads for that one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from .codes import SubscribingCode, UnsubscribedCode
from .commands import SubscribeRequest
from .delta import DeltaDecoder, DeltaStats, PayloadCodec
from .errors import DecodeError
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
    #: Rebuilds whole payloads while delta is negotiated (§7).
    decoder: DeltaDecoder | None = None
    #: A delta failed: the next connect asks for full payloads.
    delta_off: bool = False


class ServerSubscriptions:
    def __init__(
        self,
        emit: Callable[[Event], None],
        codec: PayloadCodec,
        delta_failed: Callable[[float, str], None],
    ) -> None:
        self._emit = emit
        self._codec = codec
        self._delta_failed = delta_failed
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
                delta="fossil" if sub.decoder is not None and not sub.delta_off else "",
            )
            for channel, sub in self._subs.items()
            if sub.recoverable and sub.position is not None
        }

    def connected(self, subs: Mapping[str, SubscribeResult], now: float) -> None:
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
            self.subscribed(channel, result, now)

    def subscribed(self, channel: str, result: SubscribeResult, now: float) -> None:
        """From the connect result or a ``subscribe`` push."""
        sub = self._subs.get(channel)
        if sub is None:
            sub = self._subs[channel] = _ServerSubscription()
        sub.recoverable = result.recoverable
        if result.recoverable or result.positioned:
            sub.position = StreamPosition(result.offset, result.epoch)
        if result.delta:
            sub.decoder = sub.decoder or DeltaDecoder(self._codec)
            sub.decoder.reset()
        else:
            sub.decoder = None
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
            if not self._deliver(
                channel, sub, attrs.evolve(pub, channel=pub.channel or channel), now
            ):
                return

    def publication(self, channel: str, pub: Publication, now: float) -> None:
        self._deliver(channel, self._subs[channel], pub, now)

    def delta_stats(self, channel: str) -> DeltaStats | None:
        sub = self._subs.get(channel)
        return None if sub is None or sub.decoder is None else sub.decoder.stats

    def _deliver(
        self, channel: str, sub: _ServerSubscription, pub: Publication, now: float
    ) -> bool:
        """Deliver ``pub``; False when its delta did not apply (the client reconnects)."""
        if sub.decoder is not None:
            try:
                pub = sub.decoder.decode(pub)
            except DecodeError as exc:
                sub.delta_off = True
                self._delta_failed(now, f"delta failed on server-side {channel!r}: {exc}")
                return False
        # ``pub.channel`` may differ from the subscription's (the ``channel`` field of
        # wildcard subscriptions, §2.2): the position is the subscription's.
        if sub.recoverable and pub.offset:
            epoch = sub.position.epoch if sub.position else ""
            sub.position = StreamPosition(pub.offset, epoch)
        self._emit(PublicationReceived(publication=pub, server_side=True))
        return True

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
