"""Run ``centrifugo-proto`` in subprocesses for the CLI tests.

``Cli(env)`` runs a command to its end (``run``) or starts one (``start``) whose
output is read line by line with a deadline (``Running.line``): the reader
threads put each line in a queue as it comes, so a test waits for "subscribed
to ..." on stderr, never for a fixed time. The environment holds no
``CENTRIFUGO_*`` variable of the caller's but the ones a test gives.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 20.0  # seconds any one CLI process or awaited line may take


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CENTRIFUGO_")}
    env.update(extra)
    return env


class Running:
    """A CLI process still running: its output line by line, with deadlines."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.stdout: queue.Queue[str | None] = queue.Queue()
        self.stderr: queue.Queue[str | None] = queue.Queue()
        self.seen_err: list[str] = []
        self._readers: list[threading.Thread] = []
        for stream, lines in ((process.stdout, self.stdout), (process.stderr, self.stderr)):
            assert stream is not None
            reader = threading.Thread(target=self._pump, args=(stream, lines), daemon=True)
            reader.start()
            self._readers.append(reader)

    @staticmethod
    def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
        with stream:
            for line in stream:
                lines.put(line.rstrip("\n"))
        lines.put(None)

    def line(self, stream: str = "stdout", *, contains: str = "", timeout: float = DEADLINE) -> str:
        """The next line of ``stream`` (``"stdout"`` or ``"stderr"``) holding ``contains``;
        AssertionError at the deadline or when the stream ends first."""
        lines = self.stdout if stream == "stdout" else self.stderr
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {stream} line with {contains!r} in {timeout} s") from None
            if line is None:
                raise AssertionError(
                    f"{stream} ended before a line with {contains!r}; stderr: {self.seen_err}"
                )
            if stream == "stderr":
                self.seen_err.append(line)
            if contains in line:
                return line

    def rest(self, stream: str = "stdout") -> list[str]:
        """The remaining lines of ``stream``, once the process has ended."""
        lines = self.stdout if stream == "stdout" else self.stderr
        out: list[str] = []
        while (line := lines.get(timeout=DEADLINE)) is not None:
            out.append(line)
        return out

    def wait(self, timeout: float = DEADLINE) -> int:
        return self.process.wait(timeout)

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def stop(self) -> None:
        """Kill it if it still runs; wait for it and its readers (which close the pipes)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(DEADLINE)
        for reader in self._readers:
            reader.join(DEADLINE)


class Cli:
    """``python -m centrifugo_proto ...`` (or ``command``) with ``env``, in ``cwd``."""

    def __init__(
        self,
        env: Mapping[str, str],
        cwd: Path,
        command: Sequence[str] = (sys.executable, "-m", "centrifugo_proto"),
    ) -> None:
        self.env = clean_env(env)
        self.cwd = cwd
        self.command = list(command)
        self.started: list[Running] = []

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.command, *args],
            env={**self.env, **(env or {})},
            cwd=cwd or self.cwd,
            capture_output=True,
            text=True,
            timeout=DEADLINE,
            check=False,
        )

    def start(self, *args: str) -> Running:
        process = subprocess.Popen(
            [*self.command, *args],
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        running = Running(process)
        self.started.append(running)
        return running

    def close(self) -> None:
        for running in self.started:
            running.stop()
