"""Test support: a real Centrifugo server and an RPC proxy backend for it.

For the resilience tests also: a private Redis for Centrifugo's Redis engine
(`RedisServer`), a cluster of nodes on it (`CentrifugoCluster`), the soak namespace
and fast-ping overrides, and a loopback TCP proxy that injects faults (`FaultProxy`).

Plain Python (standard library only), used by the pytest fixtures in `tests/` and by
`scripts/with_centrifugo.py`.
"""

from .centrifugo import (
    CentrifugoServer,
    HarnessError,
    ServerFactory,
    build_config,
    find_binary,
    merge_config,
    redis_engine_config,
)
from .faultproxy import FaultProxy
from .redis import RedisServer
from .resilience import FAST_PING, SOAK_NAMESPACE, CentrifugoCluster, soak_overrides
from .rpc_backend import RpcBackend

__all__ = [
    "FAST_PING",
    "SOAK_NAMESPACE",
    "CentrifugoCluster",
    "CentrifugoServer",
    "FaultProxy",
    "HarnessError",
    "RedisServer",
    "RpcBackend",
    "ServerFactory",
    "build_config",
    "find_binary",
    "merge_config",
    "redis_engine_config",
    "soak_overrides",
]
