"""Commands going out: encoding, wire ids, timeouts, and the caller's commands
(DESIGN "Request handles", "No optimistic subscribe").

Every command is encoded once, when it is queued (the caller's by the facade,
before the session hears of it). Caller commands get a request handle that stays
valid across reconnects; while the client is connecting they wait here for the
connection, bounded by the command timeout (PROTOCOL.md §6.6). Replies are
matched by the :class:`~.registry.Registry`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

import attrs

from .codecs import WireId
from .commands import (
    PONG,
    Command,
    HistoryRequest,
    PingRequest,
    PresenceRequest,
    PresenceStatsRequest,
    PublishRequest,
    RpcRequest,
    SendRequest,
)
from .errors import CentrifugoError, ClientDisconnected, CommandTimeout
from .events import CommandFailed, CommandSucceeded, Event
from .messages import Reply
from .registry import Pending, Registry
from .results import (
    HistoryResult,
    PingResult,
    PresenceResult,
    PresenceStatsResult,
    PublishResult,
    RpcResult,
)
from .timers import Timer

__all__ = ["Outbox"]

#: The session's logger (docs/logging.md): commands at DEBUG, never their fields.
log = logging.getLogger("centrifugo_proto.session")

#: The result each caller command must carry (anything else is bad protocol).
_RESULT_TYPES: Final[dict[type, type]] = {
    PublishRequest: PublishResult,
    PingRequest: PingResult,
    HistoryRequest: HistoryResult,
    PresenceRequest: PresenceResult,
    PresenceStatsRequest: PresenceStatsResult,
    RpcRequest: RpcResult,
}

OnReply = Callable[[Pending, Reply, float], None]
OnTimeout = Callable[[Pending, float], None]


class Outbox:
    def __init__(
        self,
        *,
        wire_id: Callable[[int], WireId],
        encode: Callable[[Command], Any],
        schedule: Callable[[float, Callable[[float], None]], Timer],
        timeout: float,
        emit: Callable[[Event], None],
        bad_protocol: Callable[[float, str], None],
    ) -> None:
        self.registry = Registry(wire_id)
        self._encode = encode
        self._schedule = schedule
        self._timeout = timeout
        self._emit = emit
        self._bad_protocol = bad_protocol
        #: (wire id, encoded command) for the open transport; the byte pipeline drains it.
        self.outgoing: list[tuple[WireId | None, Any]] = []

    # -- the session's own commands -------------------------------------------------------

    def send(
        self,
        command: Command,
        now: float | None,
        *,
        on_reply: OnReply,
        on_timeout: OnTimeout,
        channel: str = "",
    ) -> Pending:
        """Put a command on the wire now; ``now`` None: no timeout of its own (connect)."""
        pending = Pending(command, self._encode(command), on_reply, on_timeout, channel=channel)
        self._issue(pending, now)
        return pending

    def pong(self) -> None:
        """The answer to a server ping: an empty command without an id (§4)."""
        self.outgoing.append((None, self._encode(PONG)))

    def _issue(self, pending: Pending, now: float | None) -> None:
        wire_id = self.registry.issue(pending)
        # The command's type, never the command (a token is one of its fields).
        log.debug("%s sent, id %s", type(pending.command).__name__, wire_id)
        if now is not None and pending.timer is None:
            pending.timer = self._schedule(now + self._timeout, self._timed_out(pending))
        self.outgoing.append((wire_id, pending.encoded))

    def _timed_out(self, pending: Pending) -> Callable[[float], None]:
        def fire(now: float) -> None:
            pending.timer = None
            self.registry.time_out(pending)
            pending.on_timeout(pending, now)

        return fire

    def answer(self, reply: Reply, now: float) -> None:
        """Hand ``reply`` to the command it answers."""
        pending = self.registry.answer(reply.id)
        if pending is None:
            return  # a late reply to a command that timed out: dropped quietly
        if isinstance(pending, str):
            self._bad_protocol(now, pending)
            return
        pending.cancel_timer()
        pending.on_reply(pending, reply, now)

    # -- the caller's commands ------------------------------------------------------------

    def caller(
        self, command: Command, encoded: Any, channel: str, wire_id: WireId | None = None
    ) -> Pending:
        return Pending(
            command,
            encoded,
            self._caller_reply,
            self._caller_timed_out,
            request=self.registry.new_handle(),
            channel=channel,
            preset_id=wire_id,
        )

    def fail(self, pending: Pending, error: CentrifugoError) -> None:
        pending.cancel_timer()
        self._emit(CommandFailed(request=pending.request, error=error))

    def wait_for_connection(self, pending: Pending, now: float) -> None:
        pending.timer = self._schedule(now + self._timeout, self._timed_out(pending))
        self.registry.wait(pending)

    def dispatch(self, pending: Pending, now: float) -> None:
        if type(pending.command) is SendRequest:
            # Fire and forget: no id, no reply (§2.3); done once it is on the wire.
            pending.cancel_timer()
            self.outgoing.append((None, pending.encoded))
            self._emit(CommandSucceeded(request=pending.request, result=None))
        else:
            self._issue(pending, now)

    def dispatch_waiting(self, now: float, connected: Callable[[], bool]) -> None:
        """The connection is up: what waited for it goes out, while it stays up."""
        queued = self.registry.queued
        while queued and connected():
            self.dispatch(queued.popleft(), now)

    def _caller_timed_out(self, pending: Pending, now: float) -> None:
        what = type(pending.command).__name__.removesuffix("Request").lower()
        error = CommandTimeout(f"{what} timed out")
        log.info("%s timed out", what)
        self._emit(CommandFailed(request=pending.request, error=error))

    def _caller_reply(self, pending: Pending, reply: Reply, now: float) -> None:
        if reply.error is not None:
            log.debug("%s refused: %s", type(pending.command).__name__, reply.error)
            self._emit(CommandFailed(request=pending.request, error=reply.error))
            return
        result = reply.result
        if not isinstance(result, _RESULT_TYPES[type(pending.command)]):
            problem = f"reply {reply.id} carries the wrong result"
            error = ClientDisconnected(f"bad protocol: {problem}")
            self._emit(CommandFailed(request=pending.request, error=error))
            self._bad_protocol(now, problem)
            return
        if isinstance(result, HistoryResult):
            publications = tuple(
                attrs.evolve(p, channel=p.channel or pending.channel) for p in result.publications
            )
            result = attrs.evolve(result, publications=publications)
        self._emit(CommandSucceeded(request=pending.request, result=result))

    # -- the connection ending ------------------------------------------------------------

    def drop_connection(self) -> None:
        """The transport ended: nothing more goes out on it, and every caller command in
        flight fails (publish is not idempotent: never retried by itself, §6.6)."""
        self.outgoing.clear()
        for pending in self.registry.drop_connection():
            if pending.request:
                error = ClientDisconnected("connection closed")
                self._emit(CommandFailed(request=pending.request, error=error))

    def fail_waiting(self, reason: str) -> None:
        """The client stopped: what waited for a connection fails."""
        queued = self.registry.queued
        while queued:
            self.fail(queued.popleft(), ClientDisconnected(reason))
