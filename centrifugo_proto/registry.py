"""Commands in flight: wire ids, pending replies, late replies (DESIGN "Request handles").

Callers see request handles, which stay valid across reconnects; wire ids are
per connection, start at 1 and only grow (the dialect spells them: ints in the
current protocol, strings in 1.x), and stay private to the session. A reply
whose command timed out is dropped quietly (the ids of timed-out commands are
remembered for the connection); a reply to an id never issued, or a second
reply to one id, is a protocol error (the session's to act on).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import attrs

from .codecs import WireId
from .commands import Command
from .messages import Reply
from .timers import Timer

__all__ = ["Pending", "Registry"]

#: Wire ids are uint32 (§2.1); a connection that issues 4 billion commands starts over.
_MAX_WIRE_NUMBER = 2**32 - 1


@attrs.define(eq=False)
class Pending:
    """A command waiting for its reply (or, while connecting, for the connection)."""

    command: Command
    #: The codec's encoding, made once when the command was queued.
    encoded: Any
    #: What to do with the reply: ``on_reply(pending, reply, now)``.
    on_reply: Callable[[Pending, Reply, float], None]
    #: What to do when no reply came in time: ``on_timeout(pending, now)``.
    on_timeout: Callable[[Pending, float], None]
    #: The caller's handle; 0 for the session's own commands.
    request: int = 0
    #: The channel the command concerns, if any (routing, history results).
    channel: str = ""
    wire_id: WireId | None = None
    #: The id the caller named (1.x ``uid``); else the registry picks the next one.
    preset_id: WireId | None = None
    timer: Timer | None = None

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class Registry:
    """Request handles for the client's life; wire ids and replies per connection."""

    def __init__(self, wire_id: Callable[[int], WireId]) -> None:
        self._spell = wire_id
        self._handles = 0
        self._numbers = 0
        self._inflight: dict[WireId, Pending] = {}
        self._timed_out: set[WireId] = set()
        #: Caller commands waiting for the connection, oldest first; made with the first
        #: (a deque takes a 64-slot block at once: 0.7 KiB for the client's life, though
        #: most clients never have a command wait).
        self.queued: deque[Pending] | None = None

    def new_handle(self) -> int:
        self._handles += 1
        return self._handles

    def wait(self, pending: Pending) -> None:
        """``pending`` waits for the connection, behind the others."""
        queued = self.queued
        if queued is None:
            queued = self.queued = deque()
        queued.append(pending)

    def new_connection(self) -> None:
        """Wire ids start again at 1 on each connection."""
        self._numbers = 0

    def issue(self, pending: Pending) -> WireId:
        """Give ``pending`` its wire id (the caller's, or the next free one) and wait
        for its reply."""
        wire_id = pending.preset_id
        while wire_id is None or wire_id in self._inflight:
            self._numbers += 1
            if self._numbers > _MAX_WIRE_NUMBER:  # pragma: no cover - 4 billion commands
                self._numbers = 1
            wire_id = self._spell(self._numbers)
        pending.wire_id = wire_id
        self._inflight[wire_id] = pending
        return wire_id

    def taken(self, wire_id: WireId) -> bool:
        """Whether a caller's id is in use: in flight, or waiting to go out."""
        return wire_id in self._inflight or any(p.preset_id == wire_id for p in self.queued or ())

    def answer(self, reply_id: WireId) -> Pending | str | None:
        """The command ``reply_id`` answers; None for a late reply to one that timed
        out (drop it); the problem, for an id never issued or answered already."""
        pending = self._inflight.pop(reply_id, None)
        if pending is not None:
            return pending
        if reply_id in self._timed_out:
            self._timed_out.discard(reply_id)
            return None
        return f"a reply to command id {reply_id!r}, which is not waiting for one"

    def time_out(self, pending: Pending) -> None:
        """``pending`` gets no reply any more; one that still comes is dropped."""
        if pending.wire_id is None:
            queued = self.queued
            assert queued is not None  # a command without a wire id is waiting there
            queued.remove(pending)
            return
        del self._inflight[pending.wire_id]
        self._timed_out.add(pending.wire_id)

    def drop_connection(self) -> list[Pending]:
        """The connection ended: every command in flight, their timers cancelled."""
        inflight = list(self._inflight.values())
        self._inflight.clear()
        self._timed_out.clear()
        for pending in inflight:
            pending.cancel_timer()
        return inflight
