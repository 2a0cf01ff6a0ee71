"""Run the real Centrifugo 1.8.0 (the 1.x dialect) for tests.

`LegacyServer` takes the configuration in `legacy.template.json`, applies the caller's
overrides, checks the result with `centrifugo checkconfig -c`, starts the server on a
free loopback port (`-a 127.0.0.1 -p PORT`: 1.8.0 serves the WebSocket, SockJS and the
HTTP API on that one port) and waits for `GET /connection/info` to answer 200. It stops
the server on `stop()`/`close()`, when its `with` block ends (also on an exception) and,
as a last resort, when the interpreter exits (`ManagedProcess`).

The template (the kit's README lists the keys 1.8.0 reads):

- `secret`: the HMAC key of connect tokens, private channel signs and API signs
  (LEGACY-V1.md §5).
- top level, for channels without a namespace and `$` private ones: presence,
  join_leave, history (size 10, lifetime 60 s) and recover; not anonymous, no client
  publish (a client publish there is `permission denied`, LEGACY-V1.md §11.3).
- namespace `public`: anonymous, publish, presence, join_leave, history (100, 600 s),
  recover.
- namespace `bare`: every option off (presence and history are `not available`,
  LEGACY-V1.md §11.4).

Overrides are top-level keys (`{"connection_lifetime": 5, "ping_interval": 2}`); `None`
removes a key, dicts merge, anything else replaces. `namespaces=[...]` adds namespaces
to the template's (an override of `namespaces` replaces the whole list). Keys 1.8.0
does not read and ill-typed values are refused (`legacy_config`: 1.8.0's checkconfig
would pass them and the server ignore them).

The binary is `$CENTRIFUGO_LEGACY_BIN`, else `.cache/legacy/centrifugo` (what `make
legacy-server` builds). When it is missing, `LegacyUnavailable` says why: the build kit
(`$CENTRIFUGO_LEGACY_KIT`, else `../shared/legacy-server` beside the repository) is not
there, or it is and `make legacy-server` has not run. The pytest fixtures turn that into
a skip outside CI and a failure in CI.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from centrifugo_proto import generate_token

from .centrifugo import LOOPBACK, JSONDict, free_port
from .legacy_config import LEGACY_TEMPLATE_PATH, build_legacy_config
from .legacy_credentials import ConnectCredentials, make_credentials
from .process import HarnessError, ManagedProcess

__all__ = [
    "DEFAULT_KIT",
    "DEFAULT_LEGACY_BINARY",
    "LEGACY_TEMPLATE_PATH",
    "LEGACY_VERSION",
    "LegacyApiError",
    "LegacyServer",
    "LegacyServerFactory",
    "LegacyUnavailable",
    "build_legacy_config",
    "find_legacy_binary",
    "find_legacy_kit",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LEGACY_BINARY = REPO_ROOT / ".cache" / "legacy" / "centrifugo"
DEFAULT_KIT = REPO_ROOT.parent / "shared" / "legacy-server"
#: What `centrifugo version` and the connect reply's `version` say (LEGACY-V1.md §11.1).
LEGACY_VERSION = "1.8.0"

# 1.8.0 reads options from CENTRIFUGO_* environment variables too (viper's env
# binding), which would override the generated file: the server never sees them.
_ENV_PREFIX = "CENTRIFUGO_"


class LegacyUnavailable(HarnessError):
    """No Centrifugo 1.8.0 binary: the kit is missing, or it was not built yet."""


class LegacyApiError(HarnessError):
    """The HTTP API refused the whole request (400 no sign or bad body, 401 bad sign)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"legacy API: HTTP {status}: {body.strip()}")
        self.status = status
        self.body = body


def find_legacy_kit() -> Path:
    """The build kit's folder: `$CENTRIFUGO_LEGACY_KIT`, else `../shared/legacy-server`."""
    configured = os.environ.get("CENTRIFUGO_LEGACY_KIT")
    return Path(configured) if configured else DEFAULT_KIT


def find_legacy_binary() -> Path:
    """The 1.8.0 binary: `$CENTRIFUGO_LEGACY_BIN`, else the one `make legacy-server` builds.

    Raises `LegacyUnavailable` when there is none, `HarnessError` when the file there is
    not Centrifugo 1.8.0.
    """
    configured = os.environ.get("CENTRIFUGO_LEGACY_BIN")
    path = Path(configured) if configured else DEFAULT_LEGACY_BINARY
    if not (path.is_file() and os.access(path, os.X_OK)):
        kit = find_legacy_kit()
        if not (kit / "build.sh").is_file():
            raise LegacyUnavailable(
                f"no Centrifugo {LEGACY_VERSION} binary at {path}, and its build kit "
                f"`../shared/legacy-server` was not found (no build.sh in {kit}); "
                "provide the kit (CENTRIFUGO_LEGACY_KIT, or LEGACY_SERVER_KIT for make), "
                "then run `make legacy-server`"
            )
        raise LegacyUnavailable(
            f"no Centrifugo {LEGACY_VERSION} binary at {path}; run `make legacy-server` "
            "(it builds one from the kit) or set CENTRIFUGO_LEGACY_BIN"
        )
    _check_version(path)
    return path


@functools.cache
def _check_version(path: Path) -> None:
    """`centrifugo version` must say 1.8.0 (a v6 binary there would fail every test)."""
    try:
        result = subprocess.run(
            [str(path), "version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as exc:
        raise HarnessError(f"{path} does not run: {exc}") from exc
    if not result.stdout.startswith(f"Centrifugo v{LEGACY_VERSION} "):
        raise HarnessError(
            f"{path} is not Centrifugo {LEGACY_VERSION}: `version` printed "
            f"{(result.stdout + result.stderr).strip()!r}; run `make legacy-server`"
        )


class LegacyServer(ManagedProcess):
    """One Centrifugo 1.8.0 process on a free loopback port, restartable on the same port.

    ```
    with LegacyServer({"connection_lifetime": 5}) as server:
        token = server.connect_token("42", int(time.time()))
        server.api({"method": "publish", "params": {"channel": "news", "data": {}}})
    ```
    Nothing runs until `start()` (or entering the `with` block). The configuration is
    written and checked with `checkconfig` on the first start.
    """

    name = f"Centrifugo {LEGACY_VERSION}"

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        namespaces: Sequence[Mapping[str, Any]] = (),
        binary: Path | str | None = None,
        port: int | None = None,
        startup_timeout: float = 20.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.binary = Path(binary) if binary is not None else find_legacy_binary()
        self.config = build_legacy_config(overrides, namespaces=namespaces)
        super().__init__(
            port=port if port is not None else free_port(),
            prefix="centrifugo-legacy-",
            log_name="centrifugo.log",
            startup_timeout=startup_timeout,
            stop_timeout=stop_timeout,
        )
        self.config_path = self.workdir / "config.json"
        self._config_checked = False

    # -- addresses and credentials -------------------------------------------------

    @property
    def http_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def ws_url(self) -> str:
        """The raw WebSocket endpoint (LEGACY-V1.md §1)."""
        return f"ws://{LOOPBACK}:{self.port}/connection/websocket"

    @property
    def secret(self) -> str:
        return str(self.config["secret"])

    def connect_token(self, user: str, timestamp: int | str, info: str = "") -> str:
        """HMAC(user ‖ timestamp ‖ info), the connect/refresh token (LEGACY-V1.md §5)."""
        return generate_token(self.secret, user, str(timestamp), info)

    def channel_sign(self, client: str, channel: str, info: str = "") -> str:
        """HMAC(client ‖ channel ‖ info), a `$` channel's subscribe sign (LEGACY-V1.md §5)."""
        return generate_token(self.secret, client, channel, info)

    def credentials(
        self, user: str, *, timestamp: int | None = None, info: str = "", age: int = 0
    ) -> ConnectCredentials:
        """Valid connect credentials for `user`; `age` seconds old (now if not given)."""
        return make_credentials(self.secret, user, timestamp=timestamp, info=info, age=age)

    # -- configuration -------------------------------------------------------------

    def write_config(self) -> Path:
        self.config_path.write_text(json.dumps(self.config, indent=2) + "\n", encoding="utf-8")
        return self.config_path

    def check_config(self) -> subprocess.CompletedProcess[str]:
        """Run `centrifugo checkconfig -c` on the written config; never raises.

        1.8.0 exits 0 silently on a valid file, 1 with `[F]: ...` otherwise (the kit's
        README); it has no `--strict`.
        """
        self.write_config()
        return subprocess.run(
            [str(self.binary), "checkconfig", "-c", str(self.config_path)],
            capture_output=True,
            text=True,
            env=self._server_env(),
            cwd=self.workdir,
            timeout=60,
            check=False,
        )

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start the server (again) and wait until `/connection/info` answers 200."""
        self._check_startable()
        if not self._config_checked:
            result = self.check_config()
            if result.returncode != 0:
                raise HarnessError(
                    f"`centrifugo checkconfig` failed with code {result.returncode}:\n"
                    f"{result.stdout}{result.stderr}\nconfig:\n{json.dumps(self.config, indent=2)}"
                )
            self._config_checked = True
        argv = [str(self.binary), "-c", str(self.config_path), "-a", LOOPBACK]
        self._spawn([*argv, "-p", str(self.port)], env=self._server_env())

    def _ready(self) -> bool:
        return self.info_status(timeout=0.5) == 200

    # -- HTTP --------------------------------------------------------------------------

    def info_status(self, *, timeout: float = 1.0) -> int | None:
        """The status of `GET /connection/info` (SockJS's info), or None if nothing answered."""
        try:
            with urllib.request.urlopen(
                f"{self.http_url}/connection/info", timeout=timeout
            ) as response:
                status: int = response.status
                return status
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code
        except (OSError, ValueError):
            return None

    def api(
        self,
        commands: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        sign: str | None = None,
        timeout: float = 10.0,
    ) -> list[JSONDict]:
        """POST one command or a list of them to `/api/`; the reply array, decoded.

        The body is signed with `X-API-Sign` = `generate_token(secret, body)`
        (LEGACY-V1.md §5, §11.9); `sign` replaces it (`""` sends no header). The reply
        has one entry per command; a failed command has `error` and `advice` in its
        entry and is returned, not raised. A refused request (HTTP 400 or 401, plain
        text) raises `LegacyApiError`.
        """
        payload = commands if isinstance(commands, Mapping) else list(commands)
        body = json.dumps(payload, separators=(",", ":"))
        headers = {"Content-Type": "application/json"}
        signature = generate_token(self.secret, body) if sign is None else sign
        if signature:
            headers["X-API-Sign"] = signature
        request = urllib.request.Request(
            f"{self.http_url}/api/", data=body.encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            exc.close()
            raise LegacyApiError(exc.code, detail) from exc
        decoded = json.loads(raw)
        if not (isinstance(decoded, list) and all(isinstance(e, dict) for e in decoded)):
            raise HarnessError(f"legacy API: expected an array of objects, got {raw!r}")
        return decoded

    def publish(self, channel: str, data: Any) -> JSONDict:
        """API `publish`; the reply entry (`{"method", "error": None, "body": None}`)."""
        (entry,) = self.api({"method": "publish", "params": {"channel": channel, "data": data}})
        return entry

    # -- internals ---------------------------------------------------------------------

    def _server_env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIX)}


class LegacyServerFactory:
    """Makes started 1.8.0 servers on demand and closes all of them in `close_all()`.

    `factory(overrides, *, namespaces=(), start=True, **kwargs)` returns a
    `LegacyServer` (e.g. `factory({"connection_lifetime": 5,
    "expired_connection_close_delay": 1})`); extra keyword arguments go to it.
    """

    def __init__(self) -> None:
        self.servers: list[LegacyServer] = []

    def __call__(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        start: bool = True,
        **kwargs: Any,
    ) -> LegacyServer:
        server = LegacyServer(overrides, **kwargs)
        self.servers.append(server)
        if start:
            server.start()
        return server

    def close_all(self) -> None:
        while self.servers:
            self.servers.pop().close()
