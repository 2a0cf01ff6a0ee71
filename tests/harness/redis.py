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

import os
import shutil
import socket
from pathlib import Path
from typing import TypeAlias

from .centrifugo import LOOPBACK, free_port
from .process import HarnessError, ManagedProcess

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


class RedisServer(ManagedProcess):
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
        super().__init__(
            port=port if port is not None else free_port(),
            prefix="redis-",
            log_name="redis.log",
            startup_timeout=startup_timeout,
            stop_timeout=stop_timeout,
        )

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}"

    name = "redis-server"
    poll_interval = 0.02

    def start(self) -> None:
        """Start the server and wait until it answers `PING` with `PONG`."""
        self._check_startable()
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
        self._spawn(argv)

    def _ready(self) -> bool:
        return self.ping(timeout=0.5)

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
