"""The server API clients of the three adapters, driven with plain calls.

``api_client(adapter, url, api_key=...)`` makes the ``ApiClient`` of the
``adapter`` fixture's kind (asyncio, trio, blocking) in that adapter's home and
closes it at the end; every method call on what it yields runs there too
(``drivers.Proxy``), so one test body serves all three.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

from drivers import Proxy, Runner

from centrifugo_proto.adapters._api import asyncio as api_asyncio
from centrifugo_proto.adapters._api import blocking as api_blocking
from centrifugo_proto.adapters._api import trio as api_trio

API_MODULES: dict[str, Any] = {
    "asyncio": api_asyncio,
    "trio": api_trio,
    "blocking": api_blocking,
}


@contextlib.contextmanager
def api_client(runner: Runner, url: str, *, legacy: bool = False, **kwargs: Any) -> Iterator[Any]:
    module = API_MODULES[runner.kind]
    kind = module.LegacyApiClient if legacy else module.ApiClient
    client = runner.call(kind, url, **kwargs)
    try:
        yield Proxy(runner, client)
    finally:
        runner.call(getattr(client, "aclose", None) or client.close)


def http_of(runner: Runner, client: Proxy) -> Proxy:
    """The generic HTTP client (``request``, ``post_json``) behind an API client."""
    return Proxy(runner, client.real.http)


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A loopback port that accepts TCP connections (the kernel's backlog does) and
    never answers: a server that hangs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
