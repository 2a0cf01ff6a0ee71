"""This project's subscriber for the benchmark, in one of its three adapters.

    python bench/sub_proto.py '{"url": ..., "channel": ..., "mode": "count", "n": 100000,
                                "adapter": "asyncio", "codec": "json", "json": "stdlib"}'

It reads the way the README shows (``async for pub in sub`` / ``for pub in sub``), with
the default publication buffer; a publication the buffer dropped counts as lost.
Modes: ``count`` and ``latency`` (one subscription, see bench/common.py), ``memory``
(``connections`` idle clients, each subscribed to its own channel, RSS before and after),
``probe`` (versions, and which codecs and JSON libraries the client supports).

``"json": "stdlib"`` hides orjson from the process before the client is imported, so the
stdlib row measures the standard library even once the codec picks orjson up by itself.
"""

from __future__ import annotations

import gc
import inspect
import json
import sys
import time
from collections.abc import Callable
from contextlib import AsyncExitStack, ExitStack, suppress
from typing import Any

from common import Spec, Tally, emit, rss_kib

#: Connections opened at once in the memory mode (the server and the loop stay responsive).
MEMORY_WAVE = 50


def client_kwargs(client_class: type, spec: Spec) -> dict[str, Any]:
    """The constructor arguments for ``spec.codec``; only what the client has."""
    if "codec" in inspect.signature(client_class).parameters:
        return {"codec": spec.codec}
    if spec.codec != "json":
        raise SystemExit(f"this client has no codec parameter, so no {spec.codec!r}")
    return {}


def sent_at(codec: str) -> Callable[[Any], int]:
    """Latency mode: how to read the publisher's timestamp out of a payload."""
    if codec == "json":
        return lambda data: int(data["t"])
    return lambda data: int(json.loads(data)["t"])  # Protobuf: the JSON document as bytes


def watch_connection(client: Any, tally: Tally) -> None:
    def changed(_event: object) -> None:
        if tally.cpu_ready:  # only once measuring: the first connect is not a reconnect
            tally.reconnects += 1

    client.on("connecting", changed)


# -- one subscription -----------------------------------------------------------------------


async def count_asyncio(spec: Spec, tally: Tally) -> None:
    from centrifugo_proto.adapters.asyncio import Client

    client = Client(spec.url, **client_kwargs(Client, spec))
    watch_connection(client, tally)
    stamp = sent_at(spec.codec) if spec.mode == "latency" else None
    async with client:
        sub = await client.subscribe(spec.channel)
        tally.ready(spec)
        # A reader that falls behind is told of drops by a counter; its loop goes on.
        async for pub in sub:
            tally.lost = sub.dropped
            if stamp is not None:
                tally.stamp(stamp(pub.data))
            if tally.seen(pub.offset):
                tally.finish()
                return


async def count_trio(spec: Spec, tally: Tally) -> None:
    from centrifugo_proto.adapters.trio import Client

    client = Client(spec.url, **client_kwargs(Client, spec))
    watch_connection(client, tally)
    stamp = sent_at(spec.codec) if spec.mode == "latency" else None
    async with client:
        sub = await client.subscribe(spec.channel)
        tally.ready(spec)
        # A reader that falls behind is told of drops by a counter; its loop goes on.
        async for pub in sub:
            tally.lost = sub.dropped
            if stamp is not None:
                tally.stamp(stamp(pub.data))
            if tally.seen(pub.offset):
                tally.finish()
                return


def count_blocking(spec: Spec, tally: Tally) -> None:
    from centrifugo_proto.adapters.blocking import Client

    client = Client(spec.url, **client_kwargs(Client, spec))
    watch_connection(client, tally)
    stamp = sent_at(spec.codec) if spec.mode == "latency" else None
    with client:
        sub = client.subscribe(spec.channel)
        tally.ready(spec)
        # A reader that falls behind is told of drops by a counter; its loop goes on.
        for pub in sub:
            tally.lost = sub.dropped
            if stamp is not None:
                tally.stamp(stamp(pub.data))
            if tally.seen(pub.offset):
                tally.finish()
                return


# -- many idle connections ------------------------------------------------------------------


def report_memory(spec: Spec, before: int, clients: list[Any]) -> None:
    gc.collect()
    time.sleep(1.0)  # idle: let the connect and subscribe work settle before reading RSS
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


def channels(spec: Spec) -> list[str]:
    return [f"{spec.channel}-{i}" for i in range(spec.connections)]


async def memory_asyncio(spec: Spec) -> None:
    import asyncio

    from centrifugo_proto.adapters.asyncio import Client

    before = rss_kib()
    async with AsyncExitStack() as stack:
        clients = []
        names = channels(spec)
        for start in range(0, len(names), MEMORY_WAVE):
            wave = names[start : start + MEMORY_WAVE]
            made = [Client(spec.url, **client_kwargs(Client, spec)) for _ in wave]
            await asyncio.gather(*(stack.enter_async_context(c) for c in made))
            await asyncio.gather(*(c.subscribe(ch) for c, ch in zip(made, wave, strict=True)))
            clients += made
        report_memory(spec, before, clients)


async def memory_trio(spec: Spec) -> None:
    import trio

    from centrifugo_proto.adapters.trio import Client

    before = rss_kib()
    async with AsyncExitStack() as stack:
        clients = []
        for name in channels(spec):
            # One at a time: each client's nursery nests in the stack, in this one task.
            client = await stack.enter_async_context(
                Client(spec.url, **client_kwargs(Client, spec))
            )
            await client.subscribe(name)
            clients.append(client)
        await trio.sleep(0)
        report_memory(spec, before, clients)


def memory_blocking(spec: Spec) -> None:
    from centrifugo_proto.adapters.blocking import Client

    before = rss_kib()
    with ExitStack() as stack:
        clients = []
        for name in channels(spec):
            client = stack.enter_context(Client(spec.url, **client_kwargs(Client, spec)))
            client.subscribe(name)
            clients.append(client)
        report_memory(spec, before, clients)


# -- capabilities ---------------------------------------------------------------------------


def probe(spec: Spec) -> None:
    """What this installed client can do, found by trying it (no network)."""
    from importlib import metadata

    # The blocking client: the asyncio one wants a running loop at construction (in
    # this version), and none of them does I/O before connect().
    from centrifugo_proto.adapters.blocking import Client

    codecs = ["json"]
    if "codec" in inspect.signature(Client).parameters:
        protobuf: dict[str, Any] = {"codec": "protobuf"}
        try:
            Client(spec.url, **protobuf)
        except Exception:  # not supported (yet): the row stays out
            pass
        else:
            codecs.append("protobuf")
    client = Client(spec.url)
    del client
    # The JSON codec takes orjson up by itself when installed (issue 10): it did if the
    # client imported it.
    json_libraries = ["stdlib"] + (["orjson"] if "orjson" in sys.modules else [])
    versions = {}
    for name in ("centrifugo-proto", "wsproto", "h11", "attrs", "trio", "orjson", "protobuf"):
        with suppress(metadata.PackageNotFoundError):  # an optional one not installed
            versions[name] = metadata.version(name)
    emit(
        "result",
        codecs=codecs,
        json_libraries=json_libraries,
        versions=versions,
        python=sys.version.split()[0],
    )


def main() -> None:
    spec = Spec.from_argv()
    if spec.json == "stdlib" and spec.mode != "probe":
        sys.modules["orjson"] = None  # type: ignore[assignment]  # import orjson now fails
    if spec.mode == "probe":
        probe(spec)
        return
    if spec.mode == "memory":
        if spec.adapter == "asyncio":
            import asyncio

            asyncio.run(memory_asyncio(spec))
        elif spec.adapter == "trio":
            import trio

            trio.run(memory_trio, spec)
        else:
            memory_blocking(spec)
        return
    tally = Tally(spec.n)
    if spec.adapter == "asyncio":
        import asyncio

        asyncio.run(count_asyncio(spec, tally))
    elif spec.adapter == "trio":
        import trio

        trio.run(count_trio, spec, tally)
    else:
        count_blocking(spec, tally)


if __name__ == "__main__":
    main()
