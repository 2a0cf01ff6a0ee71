"""Delta compression on a subscription (PROTOCOL.md §7): whole payloads out of deltas.

Once a subscription negotiated ``delta: "fossil"`` (the subscribe result says
``delta: true``), each publication carries either a full payload, which becomes
the base, or a Fossil delta against the base (``Publication.delta``). Recovered
publications come as a chain too: the first full, the others maybe deltas. The
:class:`DeltaDecoder` of the subscription turns each into the whole payload, in
the codec's form (``Codec.payload_bytes``/``payload_value``), so the application
never sees a delta, and counts what it saw, as centrifuge-js 5.x reports it.

A delta that does not apply (malformed, a checksum that fails, no base) raises
:class:`~centrifugo_proto.errors.DecodeError`; the subscription then resubscribes
from the last publication it delivered and never delivers a corrupted payload.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from .errors import DecodeError
from .fossil import apply_delta
from .results import Publication

__all__ = ["DeltaDecoder", "DeltaStats", "PayloadCodec"]


class PayloadCodec(Protocol):
    def payload_bytes(self, data: Any) -> bytes: ...

    def payload_value(self, data: bytes) -> Any: ...


@attrs.frozen(kw_only=True)
class DeltaStats:
    """What a delta subscription received, as centrifuge-js 5.x counts it."""

    #: Publications that went through delta decoding.
    publications: int = 0
    #: Of those, the ones that carried a full payload (a new base).
    full_payloads: int = 0
    #: Of those, the ones that carried a delta.
    delta_payloads: int = 0
    #: Payload bytes as received (deltas as they came).
    bytes_received: int = 0
    #: Payload bytes after decoding (what a client without delta would have received).
    bytes_decoded: int = 0


class DeltaDecoder:
    def __init__(self, codec: PayloadCodec) -> None:
        self._codec = codec
        self._base: bytes | None = None
        self.stats = DeltaStats()

    def reset(self) -> None:
        """A new subscribe: the next publication is full (§7, "base per subscription")."""
        self._base = None

    def decode(self, pub: Publication) -> Publication:
        """``pub`` with its whole payload, or ``DecodeError``; the base moves only on
        success."""
        codec = self._codec
        raw = codec.payload_bytes(pub.data)
        if pub.delta:
            if self._base is None:
                raise DecodeError("a delta came before any full payload")
            whole = apply_delta(self._base, raw)
        else:
            whole = raw
        value = codec.payload_value(whole)
        self._base = whole
        stats = self.stats
        self.stats = DeltaStats(
            publications=stats.publications + 1,
            full_payloads=stats.full_payloads + (not pub.delta),
            delta_payloads=stats.delta_payloads + pub.delta,
            bytes_received=stats.bytes_received + len(raw),
            bytes_decoded=stats.bytes_decoded + len(whole),
        )
        return attrs.evolve(pub, data=value, delta=False)
