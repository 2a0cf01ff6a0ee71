"""Soak tests: nothing lost across faults (issue "Resilience", Evidence).

A publisher thread sends numbered publications through the server HTTP API at a
fixed rate while faults are injected: connections cut by the fault proxy,
Centrifugo killed with SIGKILL and restarted (Redis engine, so history survives),
or the node the client is on killed in a two-node cluster. The subscriber must
see every offset exactly once, in order.

Pacing the publisher and spacing the faults are the only waits on the clock
here: they generate the load, they do not wait for the client.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from test_client import Recorder, run

from centrifugo_proto import ClientOptions, Connected, Publication
from centrifugo_proto.adapters.asyncio import Client
from harness import CentrifugoCluster, CentrifugoServer, FaultProxy, HarnessError

RATE = 200  # publications per second
TOTAL = 5000
FAULTS_SEED = 20261128
#: Quick reconnects: the faults come often, and the soak must stay short.
OPTIONS = ClientOptions(
    min_reconnect_delay=0.05,
    max_reconnect_delay=0.5,
    min_resubscribe_delay=0.05,
    max_resubscribe_delay=0.5,
)


class Publisher(threading.Thread):
    """Publishes ``{"n": i}`` for i in 0..total-1 at ``rate`` per second.

    Each publication carries an idempotency key, so a retry after a failure
    (the server died before answering) never publishes the same ``n`` twice.
    """

    def __init__(
        self, api: Callable[[], CentrifugoServer], channel: str, total: int, rate: float
    ) -> None:
        super().__init__(daemon=True)
        self.api, self.channel, self.total, self.rate = api, channel, total, rate
        self.run_id = uuid.uuid4().hex[:8]
        self.published = 0
        self.retries = 0
        self.error: BaseException | None = None
        self.started_at = 0.0

    def run(self) -> None:
        try:
            self.started_at = time.monotonic()
            for n in range(self.total):
                pause = self.started_at + n / self.rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                self._publish(n)
                self.published += 1
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _publish(self, n: int) -> None:
        params = {
            "channel": self.channel,
            "data": {"n": n},
            "idempotency_key": f"{self.run_id}-{n}",
        }
        give_up = time.monotonic() + 30
        while True:
            try:
                reply = self.api().api("publish", params, timeout=2)
            except (HarnessError, OSError):
                reply = {"error": "unreachable"}
            if "error" not in reply:
                return
            if time.monotonic() > give_up:
                raise RuntimeError(f"publication {n} failed for 30 s: {reply}")
            self.retries += 1
            time.sleep(0.05)  # the server is down: try again shortly


async def receive_all(sub: Any, total: int, timeout: float = 90) -> list[Publication]:
    """Publications until offset ``total`` arrived (offsets of a new channel are 1..)."""
    received: list[Publication] = []

    async def collect() -> None:
        async for pub in sub:
            received.append(pub)
            if pub.offset >= total:
                return

    try:
        await asyncio.wait_for(collect(), timeout)
    except TimeoutError:
        last = received[-1].offset if received else None
        raise AssertionError(f"got {len(received)} publications, last offset {last}") from None
    return received


def assert_exactly_once_in_order(received: list[Publication], total: int) -> None:
    offsets = [p.offset for p in received]
    duplicates = len(offsets) - len(set(offsets))
    missing = sorted(set(range(1, total + 1)) - set(offsets))
    assert duplicates == 0, f"{duplicates} duplicates"
    assert not missing, f"{len(missing)} missing, first {missing[:10]}"
    assert offsets == list(range(1, total + 1)), "out of order"
    assert [p.data["n"] for p in received] == list(range(total))


def fault_times(count: int, span: float) -> list[float]:
    """``count`` moments in (1, span - 1) s, drawn from a fixed seed."""
    rng = random.Random(FAULTS_SEED)
    return sorted(rng.uniform(1.0, span - 1.0) for _ in range(count))


async def inject(faults: list[float], action: Callable[[int], None]) -> None:
    start = asyncio.get_running_loop().time()
    for index, moment in enumerate(faults):
        await asyncio.sleep(max(0.0, start + moment - asyncio.get_running_loop().time()))
        await asyncio.to_thread(action, index)


def test_cuts_lose_nothing(redis_centrifugo: CentrifugoServer, fault_proxy: Any) -> None:
    server = redis_centrifugo
    proxy: FaultProxy = fault_proxy(server)
    channel = f"soak:cuts-{uuid.uuid4().hex[:8]}"
    publisher = Publisher(lambda: server, channel, TOTAL, RATE)

    async def scenario() -> None:
        async with Client(proxy.url, options=OPTIONS) as client:
            reconnects = Recorder(client, "connected")
            sub = await client.subscribe(channel, recoverable=True)
            publisher.start()

            def cut(index: int) -> None:
                proxy.cut(reset=index % 2 == 1)  # FIN and RST in turn

            faults = asyncio.ensure_future(inject(fault_times(10, TOTAL / RATE), cut))
            received = await receive_all(sub, TOTAL)
            await faults
            assert_exactly_once_in_order(received, TOTAL)
            connects = 0
            while not reconnects.events.empty():
                connects += isinstance(reconnects.events.get_nowait(), Connected)
            assert connects >= 10, f"only {connects} reconnects for 10 cuts"

    run(scenario)
    publisher.join(5)
    assert publisher.error is None, publisher.error


def test_server_killed_three_times_loses_nothing(redis_centrifugo: CentrifugoServer) -> None:
    server = redis_centrifugo
    channel = f"soak:kills-{uuid.uuid4().hex[:8]}"
    publisher = Publisher(lambda: server, channel, TOTAL, RATE)

    async def scenario() -> None:
        async with Client(server.ws_url, options=OPTIONS) as client:
            reconnects = Recorder(client, "connected")
            sub = await client.subscribe(channel, recoverable=True)
            publisher.start()

            def kill_and_restart(index: int) -> None:
                server.kill()
                time.sleep(0.3)  # down for a moment: publishes and reconnects fail
                server.start()

            faults = asyncio.ensure_future(inject(fault_times(3, TOTAL / RATE), kill_and_restart))
            received = await receive_all(sub, TOTAL)
            await faults
            assert_exactly_once_in_order(received, TOTAL)
            connects = 0
            while not reconnects.events.empty():
                connects += isinstance(reconnects.events.get_nowait(), Connected)
            assert connects >= 3

    run(scenario)
    publisher.join(5)
    assert publisher.error is None, publisher.error
    assert publisher.retries > 0  # the kills really interrupted publishing


def test_failover_to_the_other_node_loses_nothing(centrifugo_cluster: CentrifugoCluster) -> None:
    first, second = centrifugo_cluster.nodes
    channel = f"soak:failover-{uuid.uuid4().hex[:8]}"
    total = 2000
    # Publish through the node that survives: the fault here is the client's node.
    publisher = Publisher(lambda: second, channel, total, RATE)

    async def scenario() -> None:
        async with Client(centrifugo_cluster.ws_urls, options=OPTIONS) as client:
            events = Recorder(client, "connected")
            sub = await client.subscribe(channel, recoverable=True)
            publisher.start()

            async def kill_first() -> None:
                await asyncio.sleep(total / RATE / 2)
                await asyncio.to_thread(first.kill)

            killer = asyncio.ensure_future(kill_first())
            received = await receive_all(sub, total)
            await killer
            assert_exactly_once_in_order(received, total)
            # It moved to the second node (the first is dead) and stayed there.
            reconnected = await events.next(Connected, timeout=1)
            assert reconnected.client_id
            assert not first.is_running()

    run(scenario)
    publisher.join(5)
    assert publisher.error is None, publisher.error
