"""The bounded publication buffer behind ``for pub in sub`` (issue "Resilience").

Every adapter keeps one per subscription, from the moment the subscription is
created, so the policy lives here once:

- At most ``limit`` publications are kept. Receiving never waits for an
  application that stopped reading: the socket is always read, so pongs always
  go out and the server never drops the connection for "no pong" (PEERS.md §3
  item 2). A reader that is taking but a quarter of its buffer behind gets a
  moment: the blocking adapter's I/O thread, which under a flood always has more
  to read and would keep the GIL and the lock from it, pauses up to 20 ms per
  turn until it is down to an eighth (``ClientBase._readers_behind``); asyncio
  and trio read at most 64 KiB at a time, so their reader runs between reads.
- When the buffer is full the **oldest** publication is dropped: a reader that
  falls behind sees the newest state first, which is what real-time views want.
- The reader is told exactly where: the next ``pop()`` returns a
  :class:`PublicationsLost` (reason "buffer full", ``count`` dropped, ``since``
  the position before the first of them) before the publications that follow
  the gap; the subscription reports it (``publications_lost``) and goes on, so
  the reader's loop never ends on a gap. With history on the channel,
  ``history(since=lost.since)`` fills it.
- Callbacks (``on("publication")``) do not go through this buffer.
"""

from __future__ import annotations

from collections import deque

from centrifugo_proto.errors import LocalProtocolError
from centrifugo_proto.events import PublicationsLost
from centrifugo_proto.results import Publication, StreamPosition

__all__ = ["DEFAULT_BUFFER_LIMIT", "READ_SIZE", "PublicationBuffer"]

#: Publications kept per subscription for a reader that does not keep up.
DEFAULT_BUFFER_LIMIT = 4096
#: The most bytes an adapter reads from the socket at a time: every publication of a
#: read is delivered before a reader runs, so a read must hold fewer of the smallest
#: (about 35 bytes in Protobuf) than a default buffer (asyncio's own 256 KiB did not:
#: tests/integration/test_flood.py).
READ_SIZE = 65536


class PublicationBuffer:
    def __init__(self, channel: str, limit: int = DEFAULT_BUFFER_LIMIT) -> None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise LocalProtocolError(f"buffer_size must be at least 1, got {limit!r}")
        self.channel = channel
        self.limit = limit
        #: The epoch of the stream, for the position a loss report carries.
        self.epoch = ""
        #: Made with the first publication: a deque takes a 64-slot block at once, 0.7 KiB
        #: per subscription that an idle one (most of them, in a fan-out) never uses.
        self._items: deque[Publication] | None = None
        self._lost = 0
        self._lost_after: int | None = None
        #: Total publications dropped over the buffer's life.
        self.dropped = 0

    def __len__(self) -> int:
        items = self._items
        return len(items) if items else 0

    def push(self, pub: Publication) -> None:
        items = self._items
        if items is None:
            items = self._items = deque()
        elif len(items) >= self.limit:
            oldest = items.popleft()
            if self._lost == 0:
                self._lost_after = oldest.offset - 1 if oldest.offset else None
            self._lost += 1
            self.dropped += 1
        items.append(pub)

    def pop(self) -> Publication | PublicationsLost | None:
        """The next publication, a loss report where a gap sits, or None if empty."""
        if self._lost:
            lost = PublicationsLost(
                channel=self.channel,
                since=None
                if self._lost_after is None
                else StreamPosition(self._lost_after, self.epoch),
                reason="buffer full",
                count=self._lost,
            )
            self._lost, self._lost_after = 0, None
            return lost
        items = self._items
        return items.popleft() if items else None
