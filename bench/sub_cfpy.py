"""centrifuge-python 0.7.0's subscriber for the benchmark (run in its own virtualenv).

    python bench/sub_cfpy.py '{"url": ..., "channel": ..., "mode": "count", "n": 100000,
                               "codec": "json"}'

Driven as PEERS.md section 6 says: ``connect()`` then ``ready()``; ``new_subscription``,
``subscribe()`` then ``ready()``; ``proxy=None`` so no ``*_PROXY`` variable reroutes
loopback; ``use_protobuf=True`` for Protobuf. The counter sits in
``on_publication``, awaited inline, and does what this project's loop does per
publication (bench/common.py ``Tally``). ``on_connecting`` after "ready" counts as a
reconnect. Logging stays at the default level (WARNING), as for every client.
Modes: ``count``, ``latency``, ``memory``, ``probe`` (as bench/sub_proto.py).
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
from importlib import metadata
from typing import Any

from centrifuge import (
    Client,
    ClientEventHandler,
    ConnectingContext,
    PublicationContext,
    SubscriptionEventHandler,
)
from common import Spec, Tally, emit, rss_kib

MEMORY_WAVE = 50  # as bench/sub_proto.py


class Counter(SubscriptionEventHandler):  # type: ignore[misc]
    def __init__(self, tally: Tally, latency: bool, protobuf: bool) -> None:
        self.tally, self.latency, self.protobuf = tally, latency, protobuf
        self.finished = asyncio.Event()

    async def on_publication(self, ctx: PublicationContext) -> None:
        pub = ctx.pub
        if self.latency:
            data = json.loads(pub.data) if self.protobuf else pub.data
            self.tally.stamp(int(data["t"]))
        if self.tally.seen(pub.offset):
            self.tally.finish()
            self.finished.set()


class Reconnects(ClientEventHandler):  # type: ignore[misc]
    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    async def on_connecting(self, ctx: ConnectingContext) -> None:
        if self.tally.cpu_ready:
            self.tally.reconnects += 1


def make_client(spec: Spec, events: Any = None) -> Any:
    return Client(spec.url, events=events, use_protobuf=spec.codec == "protobuf", proxy=None)


async def count(spec: Spec) -> None:
    tally = Tally(spec.n)
    counter = Counter(tally, spec.mode == "latency", spec.codec == "protobuf")
    client = make_client(spec, Reconnects(tally))
    await client.connect()
    await client.ready()
    sub = client.new_subscription(spec.channel, events=counter)
    await sub.subscribe()
    await sub.ready()
    tally.ready(spec)
    await counter.finished.wait()
    await client.disconnect()


async def memory(spec: Spec) -> None:
    before = rss_kib()
    clients: list[Any] = []
    names = [f"{spec.channel}-{i}" for i in range(spec.connections)]

    async def one(name: str) -> Any:
        client = make_client(spec)
        await client.connect()
        await client.ready()
        sub = client.new_subscription(name)
        await sub.subscribe()
        await sub.ready()
        return client

    for start in range(0, len(names), MEMORY_WAVE):
        clients += await asyncio.gather(*map(one, names[start : start + MEMORY_WAVE]))
    gc.collect()
    await asyncio.sleep(1.0)  # idle, as in bench/sub_proto.py
    after = rss_kib()
    connected = sum(1 for c in clients if str(c.state.value) == "connected")
    emit(
        "result",
        complete=connected == spec.connections,
        connections=spec.connections,
        connected=connected,
        rss_before_kib=before,
        rss_after_kib=after,
        kib_per_connection=(after - before) / spec.connections,
    )
    await asyncio.gather(*(c.disconnect() for c in clients))


def probe() -> None:
    versions = {}
    for name in ("centrifuge-python", "websockets", "protobuf"):
        versions[name] = metadata.version(name)
    emit(
        "result",
        codecs=["json", "protobuf"],
        json_libraries=["stdlib"],
        versions=versions,
        python=sys.version.split()[0],
    )


def main() -> None:
    spec = Spec.from_argv()
    if spec.mode == "probe":
        probe()
    elif spec.mode == "memory":
        asyncio.run(memory(spec))
    else:
        asyncio.run(count(spec))


if __name__ == "__main__":
    main()
