"""Full-jitter exponential backoff (PROTOCOL.md §6.2), randomness injected.

The core owns no randomness (DESIGN "Randomness is an input"): jitter comes
from whatever object with ``random()`` the adapter passes in.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["RandomSource", "backoff_delay", "jittered"]

#: 2**31 steps is already far past any maximum; capping keeps floats finite (§6.2).
_MAX_STEP = 31


class RandomSource(Protocol):
    def random(self) -> float: ...


def backoff_delay(attempt: int, min_delay: float, max_delay: float, rng: RandomSource) -> float:
    """The delay before retry number ``attempt`` (0-based).

    ``min(max, min + uniform(0, min(max, min * 2**attempt)))``: never below
    ``min_delay``, never above ``max_delay``, spread so that many clients
    cut off together do not come back together.
    """
    step = min(attempt, _MAX_STEP)
    spread: float = min(max_delay, min_delay * 2**step)
    jitter: float = rng.random()
    return min(max_delay, min_delay + jitter * spread)


def jittered(low: float, high: float, rng: RandomSource) -> float:
    """A uniform delay in [low, high] (token refresh retries, §6.3)."""
    jitter: float = rng.random()
    return low + jitter * (high - low)
