"""What a caller waits on: one outcome, settled by the routing, and a wake-up the
adapter waits for (an asyncio wake-up, a ``trio.Event``, a lock-based thread wake-up).

The routing settles a :class:`Pending` when the core's event arrives; the
adapter's waiting method waits for its ``wakeup`` with its own timeout
primitive, then takes :meth:`Pending.outcome`. The type parameter is what the
wait gives back (``Pending[HistoryResult]``), so every public method is typed.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

__all__ = ["Pending", "Wakeup", "budget_text"]

T = TypeVar("T")


class Wakeup(Protocol):
    """Set once when something arrived; the adapter knows how to wait for it."""

    def set(self) -> None: ...
    def is_set(self) -> bool: ...


class Pending(Generic[T]):
    """The outcome of one wait: a result or an error, settled once."""

    __slots__ = ("_error", "_result", "_settled", "wakeup")

    def __init__(self, wakeup: Wakeup) -> None:
        self.wakeup = wakeup
        self._settled = False
        self._result: T | None = None
        self._error: BaseException | None = None

    def done(self) -> bool:
        return self._settled

    def set_result(self, result: T) -> None:
        """Settle with ``result``; a second settlement is ignored (the first wins)."""
        if not self._settled:
            self._settled, self._result = True, result
            self.wakeup.set()

    def set_exception(self, error: BaseException) -> None:
        if not self._settled:
            self._settled, self._error = True, error
            self.wakeup.set()

    def outcome(self) -> T:
        """The result, or raise the error. Only once settled."""
        assert self._settled, "outcome() before the wait is over"
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]  # T, settled by set_result


def budget_text(seconds: float) -> str:
    """How a timeout shows in messages: ``0.2 s``, ``5 s``."""
    return f"{seconds:g} s"
