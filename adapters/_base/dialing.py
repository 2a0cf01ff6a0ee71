"""Every address a name resolved to, tried in order within one attempt's budget
(DESIGN "Adapters": resolution tries every address it returns).

The core gives one connection attempt ``options.timeout`` (transport, handshake
and connect reply together, §6.1). Each address gets an equal share of what
is left of it when its turn comes, so a black-holed first address cannot eat
the whole attempt and leave the good second one untried; an address that
fails at once leaves its share to those after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from centrifugo_proto.errors import TransportError

__all__ = ["Dialing"]

A = TypeVar("A")


class Dialing(Generic[A]):
    def __init__(self, host: str, addresses: Sequence[A], deadline: float) -> None:
        self._host = host
        self._left = list(addresses)
        self._deadline = deadline
        self._error: BaseException | None = None

    def next(self, now: float) -> tuple[A, float] | None:
        """The next address and the seconds it may take; None when all were tried."""
        if not self._left:
            return None
        share = max(0.0, self._deadline - now) / len(self._left)
        return self._left.pop(0), share

    def failed(self, error: BaseException) -> None:
        """The address just tried did not connect (the next one goes on)."""
        self._error = error

    def error(self) -> BaseException:
        """What the attempt failed with: the last address's error."""
        if self._error is None:
            return TransportError(f"{self._host!r} resolved to no address")
        return self._error
