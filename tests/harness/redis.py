"""Run a private `redis-server` for tests: the Redis engine of Centrifugo.

`RedisServer` starts Debian's `redis-server` (`make redis` installs it) on a free port
of 127.0.0.1, without persistence (`--save ''`, `--appendonly no`), in a temporary
directory of its own, and waits until it answers `PING`. It stops the server on
`stop()`/`close()`, when its `with` block ends (also on an exception) and, as a last
resort, when the interpreter exits.

```
with RedisServer() as redis:
    CentrifugoServer(redis_url=redis.url)   # Centrifugo's engine on this Redis
    redis.command("DBSIZE")                 # -> int
```

`command()` speaks RESP over a raw socket (no redis-py): enough for `PING`,
`FLUSHALL`, `DBSIZE`, `KEYS` and the like in tests. Standard library only.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TypeAlias

from .centrifugo import LOOPBACK, HarnessError, free_port

__all__ = ["RedisError", "RedisReply", "RedisServer", "find_redis_binary"]

RedisReply: TypeAlias = str | int | bytes | list["RedisReply"] | None


class RedisError(HarnessError):
    """Redis answered a command with an error reply (`-ERR ...`)."""


def find_redis_binary() -> Path:
    """`$REDIS_SERVER_BIN`, else `redis-server` on PATH (`make redis` installs it)."""
    configured = os.environ.get("REDIS_SERVER_BIN")
    found = configured or shutil.which("redis-server")
    if not found or not (Path(found).is_file() and os.access(found, os.X_OK)):
        source = f"REDIS_SERVER_BIN={configured}" if configured else "no redis-server on PATH"
        raise HarnessError(
            f"cannot run Redis ({source}); run `make redis` (installs Debian's "
            "redis-server) or set REDIS_SERVER_BIN"
        )
    return Path(found)


class RedisServer:
    """One `redis-server` process on a free loopback port, without persistence.

    Nothing runs until `start()` (or entering the `with` block). `url` is the address
    Centrifugo's `engine.redis.address` takes.
    """

    def __init__(
        self,
        *,
        binary: Path | str | None = None,
        port: int | None = None,
        startup_timeout: float = 10.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.binary = Path(binary) if binary is not None else find_redis_binary()
        self.port = port if port is not None else free_port()
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.workdir = Path(tempfile.mkdtemp(prefix="redis-"))
        self.log_path = self.workdir / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False
        atexit.register(self.close)

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    # -- lifecycle ----------------------------------------------------------------------

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it answers `PING` with `PONG`."""
        if self._closed:
            raise HarnessError("this Redis server was closed; make a new RedisServer")
        if self.is_running():
            raise HarnessError(f"Redis is already running on port {self.port}")
        argv = [
            str(self.binary),
            "--port", str(self.port),
            "--bind", LOOPBACK,
            "--protected-mode", "yes",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--daemonize", "no",
            "--databases", "1",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if Redis has not exited after `stop_timeout`."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=self.stop_timeout)

    def kill(self) -> None:
        """SIGKILL: Redis dies at once (its data with it: nothing is persisted)."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait(timeout=self.stop_timeout)

    def close(self, *, keep_files: bool = False) -> None:
        """Stop the server and remove its working directory (log included)."""
        if self._closed:
            return
        self.stop()
        self._closed = True
        atexit.unregister(self.close)
        if not keep_files:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        try:
            if not self.is_running():
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

    # -- commands -----------------------------------------------------------------------

    def command(self, *args: str | bytes | int, timeout: float = 5.0) -> RedisReply:
        """Send one command on a fresh connection; its decoded reply.

        Simple strings come back as `str`, bulk strings as `bytes`, integers as `int`,
        arrays as lists, nil as None; an error reply raises `RedisError`.
        """
        with socket.create_connection((LOOPBACK, self.port), timeout=timeout) as sock:
            sock.sendall(_encode_command(args))
            reader = _Reader(sock)
            return reader.reply()

    def ping(self, *, timeout: float = 1.0) -> bool:
        """True if Redis answers `PING` with `PONG` within `timeout`."""
        try:
            return self.command("PING", timeout=timeout) == "PONG"
        except (OSError, HarnessError):
            return False

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    # -- internals ----------------------------------------------------------------------

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            process = self._process
            assert process is not None
            code = process.poll()
            if code is not None:
                raise HarnessError(
                    f"redis-server exited with code {code} while starting on port "
                    f"{self.port}; log tail:\n{self.log_tail()}"
                )
            if self.ping(timeout=0.5):
                return
            if time.monotonic() >= deadline:
                raise HarnessError(
                    f"redis-server did not answer PING within {self.startup_timeout:g}s "
                    f"on port {self.port}; log tail:\n{self.log_tail()}"
                )
            time.sleep(0.02)


def _encode_command(args: tuple[str | bytes | int, ...]) -> bytes:
    """A RESP array of bulk strings: how clients send commands."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class _Reader:
    """Decodes RESP2 replies from a blocking socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def reply(self) -> RedisReply:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(f"Redis error: {rest.decode(errors='replace')}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self._exactly(size + 2)
            return data[:-2]
        if kind == b"*":
            count = int(rest)
            if count < 0:
                return None
            return [self.reply() for _ in range(count)]
        raise HarnessError(f"unexpected RESP reply line {line!r}")

    def _line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            self._fill()
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _fill(self) -> None:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise HarnessError("Redis closed the connection before the reply was complete")
        self._buffer += chunk
