"""The backoff jitter of every adapter's clients (the core draws it from a
``RandomSource``, ``centrifugo_proto.backoff``).

One source for all clients, the ``random`` module's own generator: a Mersenne
Twister holds 2.5 KiB of state, a tenth of an idle connection when each client had
one; and the ``random`` module reseeds its generator in a forked child, so workers
forked from one parent (a pre-forking server) do not back off in step, as
generators made before the fork would.
"""

from __future__ import annotations

import random as _random

__all__ = ["SharedJitter"]


class SharedJitter:
    """A ``RandomSource`` over the ``random`` module's generator; instances are free."""

    __slots__ = ()
    random = staticmethod(_random.random)
