"""Fixtures that give integration tests a real Centrifugo v6 server.

- `rpc_backend` (session): the HTTP backend Centrifugo proxies client RPC to
  (`harness.rpc_backend`: `echo`, `refuse`, `disconnect`, anything else 404).
- `centrifugo` (session): one server for the whole run, RPC proxied to `rpc_backend`.
  Shared: tests must not stop, kill or reconfigure it; use `centrifugo_factory` for that.
- `tls_files` / `tls_server` (module): a throw-away CA and a Centrifugo serving wss with
  a certificate it signed (`harness.tls`).
- `centrifugo_factory` (function): `centrifugo_factory(overrides=None, *, rpc=True,
  start=True, **kwargs) -> CentrifugoServer`, a fresh server of its own (e.g.
  `centrifugo_factory({"client.ping_interval": "2s"})`), closed when the test ends.

A server that cannot be built, configured or started makes the test fail with an
error that carries the server's log tail. It is never a skip, in CI or elsewhere.

The Centrifugo 1.8.0 fixtures (`legacy_server`, `legacy_factory`, `legacy_auth`) are
in `legacy_fixtures.py`; they skip outside CI when the 1.8.0 binary is missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from integration.drivers import adapter, codec  # noqa: F401 (every adapter, every codec)
from integration.legacy_fixtures import *  # noqa: F403 (Centrifugo 1.8.0, its auth endpoint)
from integration.resilience_fixtures import *  # noqa: F403 (redis, cluster, fault proxy fixtures)

from harness import CentrifugoServer, RpcBackend, ServerFactory
from harness.tls import TlsFiles, make_tls_files, tls_config


@pytest.fixture(scope="session")
def rpc_backend() -> Iterator[RpcBackend]:
    with RpcBackend() as backend:
        yield backend


@pytest.fixture(scope="session")
def centrifugo(rpc_backend: RpcBackend) -> Iterator[CentrifugoServer]:
    with CentrifugoServer(rpc_proxy_endpoint=rpc_backend.url) as server:
        yield server


@pytest.fixture
def centrifugo_factory(rpc_backend: RpcBackend) -> Iterator[ServerFactory]:
    factory = ServerFactory(rpc_proxy_endpoint=rpc_backend.url)
    try:
        yield factory
    finally:
        factory.close_all()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_server(tls_files: TlsFiles) -> Iterator[CentrifugoServer]:
    with CentrifugoServer(tls_config(tls_files), ca_file=tls_files.ca) as server:
        yield server
