"""The server's pings as proof of life (PROTOCOL.md §4).

A server that pings every ``ping`` seconds and then goes quiet for ``ping`` +
``max_server_ping_delay`` is gone: the client reconnects ("no ping"). Any frame
counts, not only pings (centrifuge-js restarts the wait on every frame, and so
does centrifuge-python's master after 0.7.0: PROTOCOL.md §11).

The deadline is lazy: a frame only notes when it came, and the deadline moves on
to that moment plus the window when it comes due. A stream of publications then
leaves ``next_deadline()`` where it was, so an adapter re-arms its timer once a
window instead of once a frame (a timer handle cancelled and made again in
asyncio, a wake-up written to a pipe in the blocking adapter: issue 12's "the
timer re-armed only when the deadline moves earlier").
"""

from __future__ import annotations

__all__ = ["PingWatch"]


class PingWatch:
    """When the server must have been heard from next; None while not watching."""

    def __init__(self, late_timer_grace: float) -> None:
        self._grace = late_timer_grace
        self._window = 0.0
        #: When to look again: never later than the last frame plus the window.
        self.due: float | None = None
        self._heard = 0.0
        self._grace_used = False

    def start(self, now: float, interval: int, max_delay: float) -> None:
        """The connect reply said the server pings every ``interval`` s (0: never)."""
        self._window = interval + max_delay if interval else 0.0
        self.due = now + self._window if interval else None
        self._heard = now
        self._grace_used = False

    def stop(self) -> None:
        self._window = 0.0
        self.due = None
        self._grace_used = False

    def heard(self, now: float) -> None:
        """A frame arrived: the server is alive (the deadline moves when due)."""
        self._heard = now

    def expired(self, now: float) -> bool:
        """The deadline passed at ``now``: True if the server is gone.

        A timer that fires long after it was due means the process was asleep (a
        suspended laptop): the ping may be sitting unread in the socket. The
        adapter gets one grace period to read it first (PEERS.md §3 item 16).
        """
        due = self.due
        if due is None or due > now:
            return False
        alive_until = self._heard + self._window
        if alive_until > now:  # heard from since the deadline was set: look again then
            self.due = alive_until
            self._grace_used = False
            return False
        # How late the timer is, from when the server was really due (the deadline
        # may be an older, earlier one: the lazy move above did not happen yet).
        if now - max(due, alive_until) > self._grace and not self._grace_used:
            self._grace_used = True
            self.due = now + self._grace
            return False
        return True
