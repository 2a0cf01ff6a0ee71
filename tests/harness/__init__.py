"""Test support: a real Centrifugo server and an RPC proxy backend for it.

For the 1.x dialect: a real Centrifugo 1.8.0 (`LegacyServer`), a private-channel auth
endpoint for it (`AuthEndpoint`) and connect credentials (`CredentialsSource`).

For the resilience tests also: a private Redis for Centrifugo's Redis engine
(`RedisServer`), a cluster of nodes on it (`CentrifugoCluster`), the soak namespace
and fast-ping overrides, and a loopback TCP proxy that injects faults (`FaultProxy`).

Plain Python (the standard library, and for the 1.x modules the project's own
`generate_token`, which signs as the seed does), used by the pytest fixtures in `tests/` and by
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
from .legacy import (
    LegacyApiError,
    LegacyServer,
    LegacyServerFactory,
    LegacyUnavailable,
    find_legacy_binary,
)
from .legacy_auth import AuthEndpoint
from .legacy_credentials import ConnectCredentials, CredentialsSource, make_credentials
from .redis import RedisServer
from .resilience import FAST_PING, SOAK_NAMESPACE, CentrifugoCluster, soak_overrides
from .rpc_backend import RpcBackend

__all__ = [
    "FAST_PING",
    "SOAK_NAMESPACE",
    "AuthEndpoint",
    "CentrifugoCluster",
    "CentrifugoServer",
    "ConnectCredentials",
    "CredentialsSource",
    "FaultProxy",
    "HarnessError",
    "LegacyApiError",
    "LegacyServer",
    "LegacyServerFactory",
    "LegacyUnavailable",
    "RedisServer",
    "RpcBackend",
    "ServerFactory",
    "build_config",
    "find_binary",
    "find_legacy_binary",
    "make_credentials",
    "merge_config",
    "redis_engine_config",
    "soak_overrides",
]
