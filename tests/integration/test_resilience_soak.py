"""Soak tests: nothing lost across faults (issue "Resilience", Evidence).

A publisher thread sends numbered publications through the server HTTP API at a
fixed rate while faults are injected: connections cut by the fault proxy,
Centrifugo killed with SIGKILL and restarted (Redis engine, so history survives),
or the node the clients are on killed in a two-node cluster. Six subscribers,
one per adapter (asyncio, trio, blocking) and codec (JSON, Protobuf), read the
channel at the same time, and each must see every offset exactly once, in order.

Pacing the publisher and spacing the faults are the only waits on the clock
here: they generate the load, they do not wait for the client.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from drivers import EVERY, Events, Runner, on_every_adapter

from centrifugo_proto import ClientOptions, Connected, Publication
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


def assert_exactly_once_in_order(
    received: list[Publication], total: int, kind: str, value: Callable[[Any], Any]
) -> None:
    offsets = [p.offset for p in received]
    duplicates = len(offsets) - len(set(offsets))
    missing = sorted(set(range(1, total + 1)) - set(offsets))
    assert duplicates == 0, f"{kind}: {duplicates} duplicates"
    assert not missing, f"{kind}: {len(missing)} missing, first {missing[:10]}"
    assert offsets == list(range(1, total + 1)), f"{kind}: out of order"
    assert [value(p.data)["n"] for p in received] == list(range(total))


class Soak:
    """Six subscribers, one per adapter and codec, on one channel, all at the same time.

    Each connects, subscribes with recovery and reads with ``for``/``async for``
    until the last offset; once all three are subscribed the publisher starts and
    ``faults`` runs in a thread of its own."""

    def __init__(
        self,
        urls: str | list[str],
        channel: str,
        total: int,
        publisher: Publisher,
        faults: Callable[[], None],
    ) -> None:
        self.urls, self.channel, self.total = urls, channel, total
        self.publisher, self.faults = publisher, faults
        self.fault_error: BaseException | None = None
        self.ready = threading.Barrier(EVERY, action=self._start_load, timeout=30)

    def _start_load(self) -> None:
        self.publisher.start()
        threading.Thread(target=self._run_faults, daemon=True).start()

    def _run_faults(self) -> None:
        try:
            self.faults()
        except BaseException as exc:  # reported by the test
            self.fault_error = exc

    def scenario(self, adapter: Runner) -> tuple[list[Publication], int, Callable[[Any], Any]]:
        with adapter.connected(self.urls, options=OPTIONS) as client:
            connects = Events(client, "connected")
            sub = client.subscribe(self.channel, recoverable=True)
            self.ready.wait()
            received: list[Publication] = []
            while not received or received[-1].offset < self.total:
                received.append(sub.take(1, timeout=30)[0])
            count = 0
            while not connects.empty():
                count += isinstance(connects.events.get_nowait(), Connected)
            return received, count, adapter.value

    def run(self) -> dict[str, tuple[list[Publication], int, Callable[[Any], Any]]]:
        results = on_every_adapter(self.scenario)
        self.publisher.join(10)
        assert self.publisher.error is None, self.publisher.error
        assert self.fault_error is None, self.fault_error
        for kind, (received, _, value) in results.items():
            assert_exactly_once_in_order(received, self.total, kind, value)
        return results


def fault_times(count: int, span: float) -> list[float]:
    """``count`` moments in (1, span - 1) s, drawn from a fixed seed."""
    rng = random.Random(FAULTS_SEED)
    return sorted(rng.uniform(1.0, span - 1.0) for _ in range(count))


def at_moments(moments: list[float], action: Callable[[int], None]) -> Callable[[], None]:
    """A fault schedule: ``action(i)`` at each moment after the start (the load's clock)."""

    def run() -> None:
        start = time.monotonic()
        for index, moment in enumerate(moments):
            time.sleep(max(0.0, start + moment - time.monotonic()))
            action(index)

    return run


def test_cuts_lose_nothing(redis_centrifugo: CentrifugoServer, fault_proxy: Any) -> None:
    server = redis_centrifugo
    proxy: FaultProxy = fault_proxy(server)
    channel = f"soak:cuts-{uuid.uuid4().hex[:8]}"

    def cut(index: int) -> None:
        proxy.cut(reset=index % 2 == 1)  # FIN and RST in turn

    faults = at_moments(fault_times(10, TOTAL / RATE), cut)
    soak = Soak(proxy.url, channel, TOTAL, Publisher(lambda: server, channel, TOTAL, RATE), faults)
    for kind, (_, connects, _) in soak.run().items():
        assert connects >= 10, f"{kind}: only {connects} reconnects for 10 cuts"


def test_server_killed_three_times_loses_nothing(redis_centrifugo: CentrifugoServer) -> None:
    server = redis_centrifugo
    channel = f"soak:kills-{uuid.uuid4().hex[:8]}"
    publisher = Publisher(lambda: server, channel, TOTAL, RATE)

    def kill_and_restart(index: int) -> None:
        server.kill()
        time.sleep(0.3)  # down for a moment: publishes and reconnects fail
        server.start()

    faults = at_moments(fault_times(3, TOTAL / RATE), kill_and_restart)
    soak = Soak(server.ws_url, channel, TOTAL, publisher, faults)
    for kind, (_, connects, _) in soak.run().items():
        assert connects >= 3, f"{kind}: only {connects} reconnects for 3 kills"
    assert publisher.retries > 0  # the kills really interrupted publishing


def test_failover_to_the_other_node_loses_nothing(centrifugo_cluster: CentrifugoCluster) -> None:
    first, second = centrifugo_cluster.nodes
    channel = f"soak:failover-{uuid.uuid4().hex[:8]}"
    total = 2000
    # Publish through the node that survives: the fault here is the clients' node.
    publisher = Publisher(lambda: second, channel, total, RATE)
    faults = at_moments([total / RATE / 2], lambda index: first.kill())
    urls = list(centrifugo_cluster.ws_urls)  # every client starts on the first node
    for kind, (_, connects, _) in Soak(urls, channel, total, publisher, faults).run().items():
        assert connects >= 1, kind  # it moved to the second node
    assert not first.is_running()
