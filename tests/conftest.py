"""Suite-wide pytest set-up.

- `tests/harness` (the Centrifugo harness) is importable as `harness`, and
  `centrifugo_proto` is the installed package also under `python -m pytest`.
- Every test under `tests/integration/` is marked `integration`
  (`pytest -m "not integration"` runs the rest without a server).
- When a test that used a Centrifugo server (v6 or 1.8.0) fails, the tail of that
  server's log is added to the failure report, and so are the requests a 1.x auth
  endpoint received.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

_TESTS_DIR = Path(__file__).resolve().parent
_INTEGRATION_DIR = _TESTS_DIR / "integration"

# pytest's default import mode puts this directory on sys.path already; other import
# modes do not, and the harness must import the same way under all of them.
if str(_TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(_TESTS_DIR))

# `python -m pytest` (and so the coverage gate, `coverage run -m pytest`) puts the
# working directory first on sys.path, where `centrifugo_proto/` is the source folder
# without `adapters/` (setuptools' package-dir installs that into it). Import through
# the installed package instead, as plain `pytest` does, so `centrifugo_proto.adapters`
# is one package whichever way the tests run; coverage still sees the source files
# (the strict editable install links them).
_ROOT = str(_TESTS_DIR.parent)
_WITHOUT_ROOT = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]
if "centrifugo_proto" not in sys.modules and importlib.machinery.PathFinder.find_spec(
    "centrifugo_proto", _WITHOUT_ROOT
):
    sys.path[:] = _WITHOUT_ROOT

from harness import (  # noqa: E402
    AuthEndpoint,
    CentrifugoServer,
    LegacyServer,
    LegacyServerFactory,
    ServerFactory,
)
from harness.centrifugo import DEFAULT_BINARY  # noqa: E402
from harness.legacy import DEFAULT_LEGACY_BINARY  # noqa: E402


def pytest_report_header(config: pytest.Config) -> list[str]:
    binary = os.environ.get("CENTRIFUGO_BIN") or str(DEFAULT_BINARY)
    legacy = os.environ.get("CENTRIFUGO_LEGACY_BIN") or str(DEFAULT_LEGACY_BINARY)
    return [f"centrifugo binary: {binary}", f"centrifugo 1.8.0 binary: {legacy}"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(_INTEGRATION_DIR):
            item.add_marker(pytest.mark.integration)


def _servers_used_by(item: pytest.Item) -> Iterator[CentrifugoServer | LegacyServer]:
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, (CentrifugoServer, LegacyServer)):
            yield value
        elif isinstance(value, (ServerFactory, LegacyServerFactory)):
            yield from value.servers


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for server in _servers_used_by(item):
            label = "centrifugo" if isinstance(server, CentrifugoServer) else "centrifugo 1.8.0"
            report.sections.append(
                (f"{label} log, port {server.port} (last lines)", server.log_tail())
            )
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, AuthEndpoint):
                lines = [repr(value), *(repr(request) for request in value.requests[-20:])]
                report.sections.append(("1.x auth endpoint (last requests)", "\n".join(lines)))
    return report
