"""A server process owned by a test: started into a log file, waited for, stopped.

`CentrifugoServer` and `RedisServer` share this lifecycle: a private working
directory, the process in a session of its own (a Ctrl-C meant for the test run
reaches the harness, which then stops the server in order), a readiness probe
polled against a deadline, SIGTERM then SIGKILL on stop, and a last-resort stop
when the interpreter exits. Standard library only.
"""

from __future__ import annotations

import atexit
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar

__all__ = ["HarnessError", "ManagedProcess"]

_P = TypeVar("_P", bound="ManagedProcess")


class HarnessError(RuntimeError):
    """The server could not be configured, started, reached or stopped."""


class ManagedProcess:
    """Subclasses set `name`, implement `start()` (calling `_spawn`) and `_ready()`."""

    name = "server"
    poll_interval = 0.05

    def __init__(
        self,
        *,
        port: int,
        prefix: str,
        log_name: str,
        startup_timeout: float,
        stop_timeout: float,
    ) -> None:
        self.port = port
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.workdir = Path(tempfile.mkdtemp(prefix=prefix))
        self.log_path = self.workdir / log_name
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False
        atexit.register(self.close)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _check_startable(self) -> None:
        if self._closed:
            raise HarnessError(f"this {self.name} was closed; make a new one")
        if self.is_running():
            raise HarnessError(f"{self.name} is already running on port {self.port}")

    def _ready(self) -> bool:
        raise NotImplementedError

    def _spawn(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> None:
        """Start `argv` with its output in the log, then wait until `_ready()`."""
        with self.log_path.open("ab") as log:
            log.write(f"--- harness: starting on port {self.port}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=env,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            assert self._process is not None
            code = self._process.poll()
            if code is not None:
                raise HarnessError(
                    f"{self.name} exited with code {code} while starting on port "
                    f"{self.port}; log tail:\n{self.log_tail()}"
                )
            if self._ready():
                return
            if time.monotonic() >= deadline:
                raise HarnessError(
                    f"{self.name} was not ready within {self.startup_timeout:g}s on port "
                    f"{self.port}; log tail:\n{self.log_tail()}"
                )
            time.sleep(self.poll_interval)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if the process has not exited after `stop_timeout`."""
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
        """SIGKILL: the process dies at once, as in a crash or an out-of-memory kill."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait(timeout=self.stop_timeout)

    def close(self, *, keep_files: bool = False) -> None:
        """Stop the process and remove its working directory (log included)."""
        if self._closed:
            return
        self.stop()
        self._closed = True
        atexit.unregister(self.close)
        if not keep_files:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self: _P) -> _P:
        """Start unless running already; the block's end closes it."""
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

    def start(self) -> None:
        raise NotImplementedError

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
