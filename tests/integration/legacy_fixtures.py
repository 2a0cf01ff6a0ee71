"""Fixtures that give integration tests the real Centrifugo 1.8.0 (the 1.x dialect).

Registered by `tests/integration/conftest.py` (a star import of this module's `__all__`).

- `legacy_server` (session) -> `LegacyServer`: one 1.8.0 server from the template
  (`harness.legacy`: secret, top-level options, namespaces `public` and `bare`). Shared:
  tests must not stop, kill or reconfigure it, and use channels of their own.
- `legacy_factory` (function) -> `LegacyServerFactory`: `legacy_factory(overrides=None,
  *, namespaces=(), start=True, **kwargs) -> LegacyServer`, a fresh server of its own
  (e.g. `legacy_factory({"connection_lifetime": 5, "expired_connection_close_delay": 1})`),
  closed when the test ends.
- `legacy_auth` (function) -> `AuthEndpoint`: a private-channel auth endpoint signing
  with the template's secret (`harness.legacy_auth`: answer format and faults), stopped
  when the test ends. For a server with another secret, make one:
  `with AuthEndpoint(server.secret) as auth: ...`.

Without a 1.8.0 binary (the kit `../shared/legacy-server` missing, or `make
legacy-server` not run) a test using `legacy_server` or `legacy_factory` skips with a
message saying which, and with `CI=true` it fails instead. A binary that is there but
cannot be configured or started always fails the test, with the server's log tail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import AuthEndpoint, LegacyServer, LegacyServerFactory, LegacyUnavailable
from harness.legacy import build_legacy_config, find_legacy_binary

__all__ = ["legacy_auth", "legacy_factory", "legacy_server", "require_legacy_binary"]


def require_legacy_binary() -> Path:
    """The 1.8.0 binary; skip the test without one (fail it in CI)."""
    try:
        return find_legacy_binary()
    except LegacyUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the Centrifugo 1.8.0 server: {exc}", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def legacy_server() -> Iterator[LegacyServer]:
    with LegacyServer(binary=require_legacy_binary()) as server:
        yield server


@pytest.fixture
def legacy_factory() -> Iterator[LegacyServerFactory]:
    require_legacy_binary()
    factory = LegacyServerFactory()
    try:
        yield factory
    finally:
        factory.close_all()


@pytest.fixture
def legacy_auth() -> Iterator[AuthEndpoint]:
    with AuthEndpoint(str(build_legacy_config()["secret"])) as endpoint:
        yield endpoint
