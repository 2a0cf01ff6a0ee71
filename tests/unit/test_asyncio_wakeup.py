"""The asyncio adapter's wake-up (adapters/asyncio.py ``_Wakeup``): asyncio.Event's
contract, set once, without a deque of waiters kept while nobody waits."""

from __future__ import annotations

import asyncio

from centrifugo_proto.adapters.asyncio import _Wakeup


def test_a_set_wakeup_lets_every_waiter_go_and_a_cancelled_wait_leaves_the_others() -> None:
    async def main() -> None:
        wakeup = _Wakeup()
        assert not wakeup.is_set()
        assert wakeup._waiters is None  # nothing kept before anyone waits
        first = asyncio.ensure_future(wakeup.wait())
        second = asyncio.ensure_future(wakeup.wait())
        third = asyncio.ensure_future(wakeup.wait())
        await asyncio.sleep(0)  # one turn of the loop: all three wait now
        assert wakeup._waiters is not None
        assert len(wakeup._waiters) == 3
        first.cancel()
        await asyncio.sleep(0)
        assert first.cancelled()
        assert len(wakeup._waiters) == 2  # the cancelled one is gone, the others stay
        wakeup.set()
        wakeup.set()  # a second set changes nothing
        await asyncio.wait_for(asyncio.gather(second, third), 5)
        assert wakeup.is_set()
        assert wakeup._waiters == []
        await asyncio.wait_for(wakeup.wait(), 5)  # set already: at once

    asyncio.run(main())
