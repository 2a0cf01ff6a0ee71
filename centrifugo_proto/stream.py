"""The stream half of a client subscription: its position, recovery and deltas
(PROTOCOL.md §6.5, §7).

A mixin of :class:`~.subscription.ClientSubscription` (as
:class:`~.connection.ConnectionLifecycle` is of the session): its state is set up
by ``ClientSubscription.__init__``, and it is one job, kept in a module of its own.
A dialect with another notion of position overrides :meth:`_subscribed` and
:meth:`publication` (the 1.x subscription recovers by uid, :mod:`.legacy`).

Positions (§6.5). A recoverable or positioned subscription tracks the (offset,
epoch) of the last publication delivered. Offsets of a stream grow by one per
publication, so an offset at or below the last is a duplicate (dropped: each
publication is delivered once) and one past the next means some were missed:
the client resubscribes from its position and the server recovers them, in
order. A new epoch means the server's stream started again (its history was
lost): the client reports the reset once and delivers the new stream from its
first publication, recovering from offset 0 of the new epoch (docs/resilience.md).

Deltas (§7). On a delta subscription the first publication after a subscribe
carries a whole payload and the next ones may carry a delta against the one
before; a delta that does not apply is never delivered: the subscription
resubscribes from its position and asks for whole payloads from then on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import attrs

from .codes import INSUFFICIENT_STATE
from .delta import DeltaDecoder, DeltaStats
from .errors import DecodeError
from .events import (
    ErrorOccurred,
    PublicationsLost,
    Subscribed,
    Subscribing,
    received,
)
from .options import SubscriptionOptions
from .results import Publication, StreamPosition, SubscribeResult
from .states import SubscriptionInput

if TYPE_CHECKING:
    from .subscription import SubscriptionHost

__all__ = ["SubscriptionStream"]

#: The session's logger (docs/logging.md); nothing on the publication path.
log = logging.getLogger("centrifugo_proto.session")

#: Recoveries into a new epoch in a row before the client stops asking: a server
#: whose stream resets on every subscribe must not make the client spin.
_MAX_RESET_RECOVERIES: Final = 2


class SubscriptionStream:
    """The stream half of a subscription; its state is set up (and said) by
    ``ClientSubscription.__init__``."""

    _host: SubscriptionHost
    channel: str
    options: SubscriptionOptions
    offset: int
    epoch: str
    has_position: bool
    _recover: bool
    track_offsets: bool
    _attempt: int
    _reset_recoveries: int
    _delta: DeltaDecoder | None
    _decoding: bool
    _delta_off: bool
    # What the lifecycle half does for this one (subscription.py).
    _input: Callable[[SubscriptionInput], bool]
    _cancel_timers: Callable[[], None]
    _arm_refresh: Callable[[float], None]
    send_subscribe: Callable[[float], None]
    _send_unsubscribe: Callable[[float], None]

    # -- position -------------------------------------------------------------------------

    @property
    def delta_stats(self) -> DeltaStats | None:
        """What delta compression saved, once it was negotiated (§7)."""
        return None if self._delta is None else self._delta.stats

    @property
    def position(self) -> StreamPosition | None:
        return StreamPosition(self.offset, self.epoch) if self.has_position else None

    def _forget_position(self) -> None:
        self.offset, self.epoch, self.has_position, self._recover = 0, "", False, False

    # -- recovery on subscribe (§6.5) -----------------------------------------------------

    def _subscribed(self, result: SubscribeResult, now: float) -> None:
        """A subscribe result: subscribed, with what recovery brought (§6.5)."""
        asked = self.has_position and self._recover
        old = StreamPosition(self.offset, self.epoch)
        reset = asked and result.was_recovering and not result.recovered
        reset = reset and bool(result.epoch) and result.epoch != old.epoch
        # The new stream holds publications (its top is past 0): recover them.
        if reset and result.offset and self._reset_recoveries < _MAX_RESET_RECOVERIES:
            self._recover_new_stream(old, result.epoch, now)
            return
        self._input(SubscriptionInput.SUBSCRIBE_SUCCEEDED)
        self._attempt = 0
        delivered = self.offset if asked and self.epoch == result.epoch else 0
        self.track_offsets = result.recoverable or result.positioned or result.delta
        if result.recoverable:
            self._recover = True
        # Recovered publications come in order, after the position asked for
        # (§2.3); any at or below what was delivered already are dropped.
        recovered = [
            attrs.evolve(p, channel=self.channel)
            for p in result.publications
            if not p.offset or p.offset > delivered
        ]
        self._start_decoding(result.delta)
        broken: DecodeError | None = None
        if self._decoding:
            recovered, broken = self._decode_chain(recovered)
        if self.track_offsets:
            last = recovered[-1].offset if recovered else 0
            # After a delta that did not apply, the position is the last delivered.
            top = (last or delivered) if broken is not None else max(result.offset, last)
            self.offset = top
            self.epoch = result.epoch
            self.has_position = True
        if result.expires and self.options.has_token_source:
            self._arm_refresh(now + result.ttl)
        emit = self._host.emit
        emit(
            Subscribed(
                channel=self.channel,
                result=result,
                position=self.position,
                was_recovering=result.was_recovering,
                recovered=result.recovered,
            )
        )
        for pub in recovered:
            emit(received(pub))
        if broken is not None:
            self._delta_failed(broken, now)
        elif reset:
            self._lost(old, "stream reset")
        elif result.was_recovering and not result.recovered:
            # The server could not fill the gap: the application must reload (§6.5).
            self._lost(
                StreamPosition(delivered, old.epoch) if delivered else None, "recovery failed"
            )
        else:
            self._reset_recoveries = 0

    def _recover_new_stream(self, old: StreamPosition, epoch: str, now: float) -> None:
        """The stream was reset: report it, then recover the new one from its start.

        The server holds the subscription already (this follows a subscribe reply
        or a live publication), so unsubscribe goes first, in the same frame (else
        105 "already subscribed")."""
        self._reset_recoveries += 1
        self._lost(old, "stream reset")
        self.offset, self.epoch, self.has_position, self._recover = 0, epoch, True, True
        self._send_unsubscribe(now)
        self.send_subscribe(now)

    def _lost(self, since: StreamPosition | None, reason: str) -> None:
        """Publications the application will not see (§6.5): said, and logged."""
        log.warning("publications lost in %r after %s: %s", self.channel, since, reason)
        self._host.emit(PublicationsLost(channel=self.channel, since=since, reason=reason))

    # -- publications (§6.5) --------------------------------------------------------------

    def publication(self, pub: Publication, now: float) -> Publication | None:
        """Check a publication's position and rebuild its payload from a delta; what
        to deliver, or None (§6.5, §7)."""
        epoch = pub.epoch
        if epoch and epoch != self.epoch and self.has_position:
            old = StreamPosition(self.offset, self.epoch)
            if pub.offset != 1:
                self._new_stream(old, epoch, now)
                return None
            # The new stream's first publication: nothing of it was missed.
            self._lost(old, "stream reset")
            self.offset, self.epoch = 0, epoch
        offset = pub.offset
        if offset:
            if offset <= self.offset:
                return None  # a duplicate: delivered already
            if self.has_position and offset != self.offset + 1:
                self._resync(now, f"offset gap: {self.offset} then {offset}")
                return None
        if self._decoding:
            assert self._delta is not None
            try:
                pub = self._delta.decode(pub)
            except DecodeError as exc:
                self._delta_failed(exc, now)
                return None
        if offset:
            self.offset = offset
            self.has_position = True
        return pub

    def _new_stream(self, old: StreamPosition, epoch: str, now: float) -> None:
        self._input(SubscriptionInput.SERVER_RESUBSCRIBE)
        self._host.emit(
            Subscribing(channel=self.channel, code=INSUFFICIENT_STATE, reason="stream reset")
        )
        self._cancel_timers()
        self._recover_new_stream(old, epoch, now)

    def _resync(self, now: float, reason: str) -> None:
        """Resubscribe from the last delivered position, in one frame: the server
        still holds the subscription, so unsubscribe goes first (else 105)."""
        self._input(SubscriptionInput.SERVER_RESUBSCRIBE)
        self._host.emit(Subscribing(channel=self.channel, code=INSUFFICIENT_STATE, reason=reason))
        # The token refresh of the subscription being replaced goes with it: the new
        # subscribe reply sets its own (else both fire: two sub_refresh requests).
        self._cancel_timers()
        self._send_unsubscribe(now)
        self._recover = True
        self.send_subscribe(now)

    # -- delta compression (§7) -----------------------------------------------------------

    def _start_decoding(self, negotiated: bool) -> None:
        self._decoding = negotiated
        if negotiated:
            if self._delta is None:
                self._delta = DeltaDecoder(self._host.codec)
            self._delta.reset()

    def _decode_chain(
        self, pubs: list[Publication]
    ) -> tuple[list[Publication], DecodeError | None]:
        """Recovered publications, decoded in order: the first full, the others maybe
        deltas (§7). Stops at the first that does not decode."""
        assert self._delta is not None
        out = []
        for pub in pubs:
            try:
                out.append(self._delta.decode(pub))
            except DecodeError as exc:
                return out, exc
        return out, None

    def _delta_failed(self, error: DecodeError, now: float) -> None:
        """Never deliver a payload rebuilt from a delta that did not apply: resubscribe
        from the last publication delivered, asking for full payloads from now on (the
        server garbles some deltas in JSON mode, and asking again would loop)."""
        self._host.emit(ErrorOccurred(error=error, channel=self.channel))
        self._delta_off = True
        self._resync(now, f"delta failed: {error}")
