"""The server's pings as proof of life (PROTOCOL.md §4).

A server that pings every ``ping`` seconds and then goes quiet for ``ping`` +
``max_server_ping_delay`` is gone: the client reconnects ("no ping"). Any frame
counts, not only pings (centrifuge-js restarts the wait on every frame, and so
does centrifuge-python's master after 0.7.0: PROTOCOL.md §11).
"""

from __future__ import annotations

__all__ = ["PingWatch"]


class PingWatch:
    """When the server must have been heard from next; None while not watching."""

    def __init__(self, late_timer_grace: float) -> None:
        self._grace = late_timer_grace
        self._window = 0.0
        self.due: float | None = None
        self._grace_used = False

    def start(self, now: float, interval: int, max_delay: float) -> None:
        """The connect reply said the server pings every ``interval`` s (0: never)."""
        self._window = interval + max_delay if interval else 0.0
        self.due = now + self._window if interval else None
        self._grace_used = False

    def stop(self) -> None:
        self._window = 0.0
        self.due = None
        self._grace_used = False

    def heard(self, now: float) -> None:
        """A frame arrived: the server is alive."""
        if self._window:
            self.due = now + self._window
            self._grace_used = False

    def expired(self, now: float) -> bool:
        """The deadline passed at ``now``: True if the server is gone.

        A timer that fires long after it was due means the process was asleep (a
        suspended laptop): the ping may be sitting unread in the socket. The
        adapter gets one grace period to read it first (PEERS.md §3 item 16).
        """
        due = self.due
        if due is None or due > now:
            return False
        if now - due > self._grace and not self._grace_used:
            self._grace_used = True
            self.due = now + self._grace
            return False
        return True
