"""Server set-ups for the resilience tests: the soak namespace, fast pings, a cluster.

- `soak_overrides()`: overrides that add the `soak` channel namespace (history of
  `SOAK_HISTORY_SIZE` publications kept for 300 s, recovery forced, clients may
  publish) and raise `client.recovery_max_publication_limit` (and the history limit)
  to match, so one recovery can cover every gap a soak test makes.
- `FAST_PING`: `client.ping_interval` 2 s and `client.pong_timeout` 1 s. The two go
  together: Centrifugo refuses a ping interval that is not above the pong timeout.
- `CentrifugoCluster`: several Centrifugo nodes with the same configuration on one
  Redis; a publication through any node reaches subscribers on every node.

```
with RedisServer() as redis, CentrifugoCluster(redis.url, soak_overrides()) as cluster:
    a, b = cluster.nodes
    a.api("publish", {"channel": "soak:x", "data": {}})   # reaches clients on b too
    b.kill(); b.start()
```
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from .centrifugo import TEMPLATE_PATH, CentrifugoServer, HarnessError, JSONDict, merge_config

__all__ = [
    "FAST_PING",
    "SOAK_HISTORY_SIZE",
    "SOAK_NAMESPACE",
    "CentrifugoCluster",
    "soak_overrides",
]

SOAK_HISTORY_SIZE = 10_000

SOAK_NAMESPACE: JSONDict = {
    "name": "soak",
    "history_size": SOAK_HISTORY_SIZE,
    "history_ttl": "300s",
    "force_recovery": True,
    "allow_subscribe_for_client": True,
    "allow_subscribe_for_anonymous": True,
    "allow_publish_for_client": True,
    "allow_publish_for_anonymous": True,
    "allow_history_for_subscriber": True,
}

FAST_PING: JSONDict = {"client": {"ping_interval": "2s", "pong_timeout": "1s"}}


def soak_overrides(
    overrides: Mapping[str, Any] | None = None, *, fast_ping: bool = False
) -> JSONDict:
    """Overrides for `CentrifugoServer`: the template's namespaces plus `soak`.

    The caller's `overrides` are merged on top (with `fast_ping`, after `FAST_PING`).
    A `channel.namespaces` list in them replaces the template's, and `soak` is still
    added unless they define a namespace of that name themselves.
    """
    template = json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))
    base: JSONDict = {
        "client": {
            "recovery_max_publication_limit": SOAK_HISTORY_SIZE,
            "history_max_publication_limit": SOAK_HISTORY_SIZE,
        },
        "channel": {"namespaces": template["channel"]["namespaces"]},
    }
    if fast_ping:
        base = merge_config(base, FAST_PING)
    merged = merge_config(base, overrides or {})
    namespaces = merged["channel"]["namespaces"]
    if not any(namespace.get("name") == "soak" for namespace in namespaces):
        namespaces.append(dict(SOAK_NAMESPACE))
    return merged


class CentrifugoCluster:
    """`size` Centrifugo nodes (default 2) with one configuration on one Redis.

    Each node is a `CentrifugoServer` on its own free port (killable and restartable
    like any other); node `i` is named `node<i>` in its log and in the `info` API.
    `start()` (or entering the `with` block) starts every node and waits until each
    one lists all of them in `info`; the block's end closes them all.

    Publications between nodes go through Redis PUB/SUB and do not wait for node
    discovery. A killed node stays listed in the other nodes' `info` for about ten
    seconds (until its node info expires), next to its restarted self.
    """

    def __init__(
        self,
        redis_url: str,
        overrides: Mapping[str, Any] | None = None,
        *,
        size: int = 2,
        redis_prefix: str = "centrifugo",
        discovery_timeout: float = 20.0,
        **server_kwargs: Any,
    ) -> None:
        if size < 1:
            raise ValueError("a cluster has at least one node")
        self.redis_url = redis_url
        self.discovery_timeout = discovery_timeout
        self.nodes: list[CentrifugoServer] = []
        engine = {"engine": {"redis": {"prefix": redis_prefix}}}
        try:
            for index in range(size):
                node_overrides = merge_config(
                    merge_config(engine, overrides or {}), {"node": {"name": f"node{index}"}}
                )
                self.nodes.append(
                    CentrifugoServer(node_overrides, redis_url=redis_url, **server_kwargs)
                )
        except BaseException:
            self.close()
            raise

    @property
    def ws_urls(self) -> list[str]:
        return [node.ws_url for node in self.nodes]

    def start(self) -> None:
        """Start every node that is not running, then wait until they see each other."""
        for node in self.nodes:
            if not node.is_running():
                node.start()
        self.wait_for_nodes()

    def wait_for_nodes(self, timeout: float | None = None) -> None:
        """Wait until every running node lists every running node (by name) in `info`."""
        deadline = time.monotonic() + (self.discovery_timeout if timeout is None else timeout)
        while True:
            running = [node for node in self.nodes if node.is_running()]
            expected = {str(node.config["node"]["name"]) for node in running}
            seen = {
                node.port: {n["name"] for n in node.api("info", {})["result"]["nodes"]}
                for node in running
            }
            if all(expected <= names for names in seen.values()):
                return
            if time.monotonic() >= deadline:
                raise HarnessError(
                    f"cluster nodes did not discover each other within the timeout; "
                    f"expected {sorted(expected)}, seen (port: names): {seen}"
                )
            time.sleep(0.1)

    def close(self) -> None:
        for node in self.nodes:
            node.close()

    def __enter__(self) -> CentrifugoCluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
