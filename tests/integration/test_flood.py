"""A reader that keeps up loses nothing to a flood, in every adapter and codec.

The server floods one channel through the HTTP API ``batch`` while the reader
iterates as users do (``for pub in sub`` / ``async for pub in sub``, the default
buffer of 4,096) in the adapter's own home. Reading costs less than what the I/O
side does per publication, so every one must arrive, in order, with nothing
dropped (``sub.dropped == 0``). In the blocking adapter the I/O thread always has
more to read under a flood and used to keep the GIL and the client's lock from
the reader, whose buffer then overflowed (adapters/_threads.py, ``READER_PAUSE``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from drivers import Runner, token_for, unique

from harness import CentrifugoServer

#: Publications per run.
FLOOD = 100_000


def start_flood(server: CentrifugoServer, channel: str) -> subprocess.Popen[bytes]:
    """The publisher, in a process of its own (flood_publisher.py)."""
    script = Path(__file__).with_name("flood_publisher.py")
    args = [server.http_url, server.api_key, channel, str(FLOOD)]
    return subprocess.Popen([sys.executable, str(script), *args])


def read_all(adapter: Runner, sub: Any) -> list[int]:
    """Iterate ``sub`` in the adapter's home until the flood's last publication
    (data ``{"n": FLOOD - 1}``), which arrives even when older ones were dropped:
    a failing run ends as soon as the flood does."""
    last = FLOOD - 1
    if adapter.kind == "blocking":

        def reading() -> list[int]:
            offsets = []
            for pub in sub:
                offsets.append(pub.offset)
                if adapter.value(pub.data)["n"] == last:
                    return offsets
            raise AssertionError("the iteration ended before the flood did")

        return reading()

    async def reading_async() -> list[int]:
        offsets = []
        async for pub in sub:
            offsets.append(pub.offset)
            if adapter.value(pub.data)["n"] == last:
                return offsets
        raise AssertionError("the iteration ended before the flood did")

    return adapter.call(reading_async)  # type: ignore[no-any-return]


def test_a_reader_that_keeps_up_receives_a_whole_flood(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    channel = unique("chat:flood-")
    with adapter.connected(centrifugo.ws_url, token=token_for(centrifugo, "flood")) as client:
        sub = client.subscribe(channel)
        publisher = start_flood(centrifugo, channel)
        try:
            offsets = read_all(adapter, sub.real)
        finally:
            assert publisher.wait(60) == 0
        assert sub.dropped == 0
        assert sub.last_drop is None
    assert offsets == list(range(offsets[0], offsets[0] + FLOOD))
