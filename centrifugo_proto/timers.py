"""One queue of deadlines, so ``next_deadline()`` is a peek (STYLE-ANCHORS L1).

Timers are cancelled lazily: a cancelled entry stays in the heap until it
reaches the top, where it is dropped unseen.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

__all__ = ["Timer", "TimerQueue"]


class Timer:
    __slots__ = ("action", "cancelled", "when")

    def __init__(self, when: float, action: Callable[[float], None]) -> None:
        self.when = when
        self.action = action
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class TimerQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = 0

    def schedule(self, when: float, action: Callable[[float], None]) -> Timer:
        timer = Timer(when, action)
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, timer))
        return timer

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def fire_due(self, now: float) -> None:
        """Run, in deadline order, every timer due at ``now`` (also ones that a
        fired action schedules for ``now`` or earlier)."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, timer = heapq.heappop(heap)
            if not timer.cancelled:
                timer.cancelled = True
                timer.action(now)

    def __len__(self) -> int:
        return sum(1 for _, _, timer in self._heap if not timer.cancelled)
