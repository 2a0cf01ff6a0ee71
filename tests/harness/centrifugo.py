"""Run a real Centrifugo v6 server for tests and demos.

`CentrifugoServer` takes the configuration in `centrifugo.template.json`, applies the
caller's overrides, binds the server to a free port on 127.0.0.1, checks the result
with `centrifugo checkconfig --strict`, starts the server and waits for `GET /health`.
It stops the server on `stop()`/`close()`, when its `with` block ends (also on an
exception) and, as a last resort, when the interpreter exits.

Only the standard library is used, so the same module serves pytest fixtures and
`scripts/with_centrifugo.py`.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .process import HarnessError, ManagedProcess

__all__ = [
    "DEFAULT_BINARY",
    "TEMPLATE_PATH",
    "CentrifugoServer",
    "HarnessError",
    "ServerFactory",
    "build_config",
    "find_binary",
    "free_port",
    "merge_config",
    "redis_engine_config",
]

JSONDict = dict[str, Any]

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = Path(__file__).with_name("centrifugo.template.json")
DEFAULT_BINARY = REPO_ROOT / ".cache" / "bin" / "centrifugo"
LOOPBACK = "127.0.0.1"

# Centrifugo reads every option from CENTRIFUGO_* environment variables too, which
# would override the generated file; the server never sees the caller's ones.
_ENV_PREFIX = "CENTRIFUGO_"


def find_binary() -> Path:
    """The Centrifugo binary: `$CENTRIFUGO_BIN`, else the one `make centrifugo` builds."""
    configured = os.environ.get("CENTRIFUGO_BIN")
    path = Path(configured) if configured else DEFAULT_BINARY
    if not (path.is_file() and os.access(path, os.X_OK)):
        source = "CENTRIFUGO_BIN" if configured else "the default location"
        raise HarnessError(
            f"no Centrifugo binary at {path} (from {source}); run `make centrifugo` "
            "or set CENTRIFUGO_BIN to a Centrifugo v6 binary"
        )
    return path


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _expand_dotted(overrides: Mapping[str, Any]) -> JSONDict:
    """Turn `{"client.ping_interval": "2s"}` into `{"client": {"ping_interval": "2s"}}`."""
    expanded: JSONDict = {}
    for key, value in overrides.items():
        if isinstance(value, Mapping):
            value = _expand_dotted(value)
        *parents, leaf = key.split(".")
        node = expanded
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise HarnessError(f"override {key!r} conflicts with a value set for {part!r}")
            node = child
        if isinstance(value, dict) and isinstance(node.get(leaf), dict):
            node[leaf] = merge_config(node[leaf], value)
        else:
            node[leaf] = value
    return expanded


def merge_config(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> JSONDict:
    """A copy of `base` with `overrides` merged in.

    Dicts merge key by key, recursively; any other value (lists included) replaces the
    one in `base`; `None` removes the key. A key may be a dotted path
    (`"client.ping_interval"`), which stands for the nested dicts.
    """
    merged: JSONDict = copy.deepcopy(dict(base))
    for key, value in _expand_dotted(overrides).items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def redis_engine_config(redis_url: str, *, prefix: str = "centrifugo") -> JSONDict:
    """Overrides that put Centrifugo's engine (broker and presence) on one Redis.

    Centrifugo v6 keys `engine.type` and `engine.redis.address` (a list of shard
    addresses such as `redis://127.0.0.1:6379`) and `engine.redis.prefix` (keys and
    PUB/SUB channels; nodes sharing a prefix on one Redis form a cluster).
    """
    return {"engine": {"type": "redis", "redis": {"address": [redis_url], "prefix": prefix}}}


def build_config(
    port: int,
    overrides: Mapping[str, Any] | None = None,
    *,
    rpc_proxy_endpoint: str | None = None,
    redis_url: str | None = None,
) -> JSONDict:
    """The template, with the caller's overrides, listening on 127.0.0.1:`port`.

    With `rpc_proxy_endpoint`, client RPC calls without a namespace go to that HTTP
    endpoint (Centrifugo v6 keys `rpc.proxy.endpoint` and
    `rpc.without_namespace.proxy_enabled`). The address and port are set last: the
    server always listens on loopback only. With `redis_url`, the engine is Redis at
    that address (`redis_engine_config`), before the caller's overrides.
    """
    config = json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        raise HarnessError(f"{TEMPLATE_PATH.name} must hold a JSON object")
    if rpc_proxy_endpoint is not None:
        config = merge_config(
            config,
            {
                "rpc.proxy.endpoint": rpc_proxy_endpoint,
                "rpc.without_namespace.proxy_enabled": True,
            },
        )
    if redis_url is not None:
        config = merge_config(config, redis_engine_config(redis_url))
    config = merge_config(config, overrides or {})
    return merge_config(config, {"http_server": {"address": LOOPBACK, "port": port}})


class CentrifugoServer(ManagedProcess):
    """One Centrifugo process on a free loopback port, restartable on the same port.

    ```
    with CentrifugoServer({"client.ping_interval": "2s"}) as server:
        server.api("publish", {"channel": "chat:room1", "data": {"text": "hi"}})
        server.kill()     # SIGKILL, as a crash would
        server.start()    # same port, same config
    ```
    Nothing runs until `start()` (or entering the `with` block). The configuration is
    written and checked with `checkconfig --strict` on the first start.
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        rpc_proxy_endpoint: str | None = None,
        redis_url: str | None = None,
        binary: Path | str | None = None,
        port: int | None = None,
        startup_timeout: float = 20.0,
        stop_timeout: float = 5.0,
        ca_file: Path | str | None = None,
    ) -> None:
        self.binary = Path(binary) if binary is not None else find_binary()
        super().__init__(
            port=port if port is not None else free_port(),
            prefix="centrifugo-",
            log_name="centrifugo.log",
            startup_timeout=startup_timeout,
            stop_timeout=stop_timeout,
        )
        self.config = build_config(
            self.port, overrides, rpc_proxy_endpoint=rpc_proxy_endpoint, redis_url=redis_url
        )
        self.config_path = self.workdir / "config.json"
        self._config_checked = False
        #: With `http_server.tls.enabled` (see `harness.tls`): the CA the harness's own
        #: HTTP calls (health, API) trust.
        self.ssl_context = ssl.create_default_context(cafile=ca_file) if ca_file else None

    # -- addresses and credentials -------------------------------------------------

    @property
    def tls(self) -> bool:
        """The server serves TLS itself (https, wss)."""
        return bool(self.config.get("http_server", {}).get("tls", {}).get("enabled"))

    @property
    def http_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{LOOPBACK}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://{LOOPBACK}:{self.port}/connection/websocket"

    @property
    def api_key(self) -> str:
        return str(self.config["http_api"]["key"])

    @property
    def hmac_secret(self) -> str:
        return str(self.config["client"]["token"]["hmac_secret_key"])

    # -- configuration ---------------------------------------------------------------

    def write_config(self) -> Path:
        self.config_path.write_text(json.dumps(self.config, indent=2) + "\n", encoding="utf-8")
        return self.config_path

    def check_config(self) -> subprocess.CompletedProcess[str]:
        """Run `centrifugo checkconfig --strict` on the written config; never raises."""
        self.write_config()
        return subprocess.run(
            [str(self.binary), "checkconfig", "--strict", "-c", str(self.config_path)],
            capture_output=True,
            text=True,
            env=self._server_env(),
            timeout=60,
            check=False,
        )

    # -- lifecycle -------------------------------------------------------------------------

    name = "Centrifugo"

    def start(self) -> None:
        """Start the server (again) and wait until `/health` answers 200."""
        self._check_startable()
        if not self._config_checked:
            result = self.check_config()
            if result.returncode != 0:
                raise HarnessError(
                    f"`centrifugo checkconfig --strict` failed with code {result.returncode}:\n"
                    f"{result.stdout}{result.stderr}\nconfig:\n{json.dumps(self.config, indent=2)}"
                )
            self._config_checked = True
        self._spawn([str(self.binary), "-c", str(self.config_path)], env=self._server_env())

    def _ready(self) -> bool:
        return self.health_status(timeout=0.5) == 200

    # -- HTTP ---------------------------------------------------------------------------

    def api(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        timeout: float = 10.0,
        api_key: str | None = None,
    ) -> JSONDict:
        """POST `params` to the server API `/api/<method>`; the decoded JSON reply.

        Raises `HarnessError` on an HTTP error status or a body that is not a JSON
        object. A Centrifugo-level error (`{"error": {...}}`) is returned, not raised.
        `api_key` replaces the configured key (to test a refused request).
        """
        key = self.api_key if api_key is None else api_key
        request = urllib.request.Request(
            f"{self.http_url}/api/{method}",
            data=json.dumps(params).encode(),
            headers={"Content-Type": "application/json", "X-API-Key": key},
            method="POST",
        )
        try:
            with urllib.request.urlopen(
                request, timeout=timeout, context=self.ssl_context
            ) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            exc.close()
            raise HarnessError(f"API {method}: HTTP {exc.code} {exc.reason}: {detail}") from exc
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise HarnessError(f"API {method}: expected a JSON object, got {body!r}")
        return decoded

    def health_status(self, *, timeout: float = 1.0) -> int | None:
        """The status code of `GET /health`, or None if nothing answered."""
        try:
            with urllib.request.urlopen(
                f"{self.http_url}/health", timeout=timeout, context=self.ssl_context
            ) as response:
                status: int = response.status
                return status
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code
        except (OSError, ValueError):
            return None

    # -- internals ---------------------------------------------------------------------

    def _server_env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIX)}


class ServerFactory:
    """Makes started servers on demand and closes all of them in `close_all()`.

    `factory(overrides, rpc=True)` returns a running `CentrifugoServer`; with `rpc` and
    an `rpc_proxy_endpoint` given to the factory, client RPC goes to that backend.
    Extra keyword arguments go to `CentrifugoServer` (e.g. `startup_timeout`).
    """

    def __init__(self, *, rpc_proxy_endpoint: str | None = None) -> None:
        self.rpc_proxy_endpoint = rpc_proxy_endpoint
        self.servers: list[CentrifugoServer] = []

    def __call__(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        rpc: bool = True,
        start: bool = True,
        **kwargs: Any,
    ) -> CentrifugoServer:
        server = CentrifugoServer(
            overrides,
            rpc_proxy_endpoint=self.rpc_proxy_endpoint if rpc else None,
            **kwargs,
        )
        self.servers.append(server)
        if start:
            server.start()
        return server

    def close_all(self) -> None:
        while self.servers:
            self.servers.pop().close()
