"""Fixtures for the resilience tests: Redis, Centrifugo on Redis, a cluster, a fault proxy.

Registered by `tests/integration/conftest.py` (a star import of this module's
`__all__`). All of them are function-scoped: each test gets its own processes, and
they are stopped when it ends, also when it fails.

- `redis_server` -> `RedisServer`: a private `redis-server` on a free loopback port,
  no persistence (`url` is `redis://127.0.0.1:PORT`).
- `redis_centrifugo` -> `CentrifugoServer`: Centrifugo with its engine on
  `redis_server` and the `soak` namespace (`harness.soak_overrides()`). Kill it
  (`kill()`, SIGKILL) and `start()` it again on the same port: history and stream
  positions survive, they live in Redis.
- `redis_centrifugo_fast_ping` -> the same, with `client.ping_interval` 2 s and
  `client.pong_timeout` 1 s (`harness.FAST_PING`).
- `centrifugo_cluster` -> `CentrifugoCluster`: two nodes (`.nodes`, `.ws_urls`) with
  the same configuration on `redis_server`, started and seeing each other.
- `centrifugo_cluster_fast_ping` -> the same with fast pings.
- `fault_proxy` -> factory: `fault_proxy(target, **kwargs) -> FaultProxy`, where
  `target` is a `CentrifugoServer`, a `LegacyServer` (1.8.0) or a `(host, port)` pair
  on loopback; `kwargs` go to `FaultProxy` (`max_connections`, `max_buffer`,
  `lifetime`). Point a client at `proxy.url` (the same path in 1.x). Every proxy
  made is closed at the end of the test.

The soak namespace on the memory engine needs no Redis:
`centrifugo_factory(soak_overrides(fast_ping=True))`.

When a test fails, the report gets the log tails of the Redis and cluster processes it
used and the state of its proxies (Centrifugo servers returned directly are covered by
the suite-wide hook in `tests/conftest.py`).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import pytest

from harness import (
    CentrifugoCluster,
    CentrifugoServer,
    FaultProxy,
    LegacyServer,
    RedisServer,
    soak_overrides,
)

__all__ = [
    "FaultProxyFactory",
    "centrifugo_cluster",
    "centrifugo_cluster_fast_ping",
    "fault_proxy",
    "pytest_runtest_makereport",
    "redis_centrifugo",
    "redis_centrifugo_fast_ping",
    "redis_server",
]


class FaultProxyFactory:
    """Makes `FaultProxy`s in front of servers and closes all of them in `close_all()`."""

    def __init__(self) -> None:
        self.proxies: list[FaultProxy] = []

    def __call__(
        self, target: CentrifugoServer | LegacyServer | tuple[str, int], **kwargs: Any
    ) -> FaultProxy:
        if isinstance(target, (CentrifugoServer, LegacyServer)):
            address = ("127.0.0.1", target.port)
        else:
            address = target
        proxy = FaultProxy(address, **kwargs)
        self.proxies.append(proxy)
        return proxy

    def close_all(self) -> None:
        while self.proxies:
            self.proxies.pop().close()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A private redis-server on a free loopback port, no persistence."""
    with RedisServer() as redis:
        yield redis


@pytest.fixture
def fault_proxy() -> Iterator[FaultProxyFactory]:
    """`fault_proxy(server_or_address, **kwargs) -> FaultProxy`; all closed at the end."""
    factory = FaultProxyFactory()
    try:
        yield factory
    finally:
        factory.close_all()


@pytest.fixture
def redis_centrifugo(redis_server: RedisServer) -> Iterator[CentrifugoServer]:
    """Centrifugo on `redis_server` with the soak namespace; killable and restartable."""
    with CentrifugoServer(soak_overrides(), redis_url=redis_server.url) as server:
        yield server


@pytest.fixture
def redis_centrifugo_fast_ping(redis_server: RedisServer) -> Iterator[CentrifugoServer]:
    """`redis_centrifugo` with ping_interval 2s, pong_timeout 1s."""
    overrides = soak_overrides(fast_ping=True)
    with CentrifugoServer(overrides, redis_url=redis_server.url) as server:
        yield server


@pytest.fixture
def centrifugo_cluster(redis_server: RedisServer) -> Iterator[CentrifugoCluster]:
    """Two Centrifugo nodes on `redis_server` (soak namespace), seeing each other."""
    with CentrifugoCluster(redis_server.url, soak_overrides()) as cluster:
        yield cluster


@pytest.fixture
def centrifugo_cluster_fast_ping(redis_server: RedisServer) -> Iterator[CentrifugoCluster]:
    """`centrifugo_cluster` with ping_interval 2s, pong_timeout 1s."""
    with CentrifugoCluster(redis_server.url, soak_overrides(fast_ping=True)) as cluster:
        yield cluster


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, RedisServer):
                report.sections.append(
                    (f"redis log, port {value.port} (last lines)", value.log_tail(20))
                )
            elif isinstance(value, CentrifugoCluster):
                for node in value.nodes:
                    report.sections.append(
                        (f"centrifugo cluster node log, port {node.port}", node.log_tail())
                    )
            elif isinstance(value, FaultProxyFactory) and value.proxies:
                report.sections.append(
                    ("fault proxies", "\n".join(repr(proxy) for proxy in value.proxies))
                )
    return report
