"""The bounded publication buffer (adapters/_base/buffer.py): its documented overflow policy."""

from __future__ import annotations

import pytest

from centrifugo_proto import LocalProtocolError, Publication, PublicationsLost, StreamPosition
from centrifugo_proto.adapters._base.buffer import PublicationBuffer


def pub(offset: int) -> Publication:
    return Publication(channel="ch", data={"n": offset}, offset=offset)


def drain(buffer: PublicationBuffer) -> list[Publication | PublicationsLost]:
    out = []
    while (item := buffer.pop()) is not None:
        out.append(item)
    return out


def test_keeps_order_below_the_limit() -> None:
    buffer = PublicationBuffer("ch", limit=3)
    for n in (1, 2, 3):
        buffer.push(pub(n))
    assert len(buffer) == 3
    assert drain(buffer) == [pub(1), pub(2), pub(3)]
    assert buffer.pop() is None
    assert buffer.dropped == 0


def test_overflow_drops_the_oldest_and_reports_the_gap_first() -> None:
    buffer = PublicationBuffer("ch", limit=3)
    buffer.epoch = "ep"
    for n in range(1, 8):  # 7 into 3: offsets 1-4 are dropped
        buffer.push(pub(n))
    assert len(buffer) == 3  # memory stays bounded
    items = drain(buffer)
    assert items[0] == PublicationsLost(
        channel="ch", since=StreamPosition(0, "ep"), reason="buffer full", count=4
    )
    assert items[1:] == [pub(5), pub(6), pub(7)]
    assert buffer.dropped == 4


def test_each_overflow_episode_is_reported_once_with_its_own_position() -> None:
    buffer = PublicationBuffer("ch", limit=2)
    for n in (1, 2, 3):
        buffer.push(pub(n))
    first = buffer.pop()
    assert isinstance(first, PublicationsLost)
    assert (first.count, first.since) == (1, StreamPosition(0, ""))
    assert buffer.pop() == pub(2)
    for n in (4, 5, 6):
        buffer.push(pub(n))
    items = drain(buffer)
    assert isinstance(items[0], PublicationsLost)
    assert (items[0].count, items[0].since) == (2, StreamPosition(2, ""))
    assert items[1:] == [pub(5), pub(6)]
    assert buffer.dropped == 3


def test_publications_without_offsets_report_no_position() -> None:
    buffer = PublicationBuffer("ch", limit=1)
    buffer.push(Publication(channel="ch", data=1))
    buffer.push(Publication(channel="ch", data=2))
    lost = buffer.pop()
    assert isinstance(lost, PublicationsLost)
    assert (lost.since, lost.count) == (None, 1)


def test_limit_must_be_positive() -> None:
    with pytest.raises(LocalProtocolError, match="at least 1"):
        PublicationBuffer("ch", limit=0)
    for wrong in ("5", 2.0, True, None):
        with pytest.raises(LocalProtocolError, match="at least 1"):
            PublicationBuffer("ch", limit=wrong)  # type: ignore[arg-type]


def test_an_empty_buffer_holds_no_deque_until_the_first_publication() -> None:
    """A deque takes a 64-slot block when made: an idle subscription keeps none."""
    buffer = PublicationBuffer("ch", limit=1)
    assert buffer._items is None
    assert len(buffer) == 0
    assert buffer.pop() is None
    buffer.push(pub(1))
    buffer.push(pub(2))  # full at once: the limit holds from the first push
    assert buffer._items is not None
    assert len(buffer) == 1
    assert drain(buffer) == [
        PublicationsLost(channel="ch", since=StreamPosition(0, ""), reason="buffer full", count=1),
        pub(2),
    ]
