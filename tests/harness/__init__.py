"""Test support: a real Centrifugo server and an RPC proxy backend for it.

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
)
from .rpc_backend import RpcBackend

__all__ = [
    "CentrifugoServer",
    "HarnessError",
    "RpcBackend",
    "ServerFactory",
    "build_config",
    "find_binary",
    "merge_config",
]
