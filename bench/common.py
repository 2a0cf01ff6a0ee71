"""What every Python subscriber of the benchmark shares (standard library only).

The subscriber scripts run in different virtual environments (this project's, and
centrifuge-python's), so this module imports nothing else. A subscriber:

- reads its job from ``argv[1]``, a JSON object (`Spec`);
- prints one JSON object per line on stdout: ``{"event": "ready"}`` once it is subscribed
  and idle (the runner then starts the publisher), then ``{"event": "result", ...}``;
- counts publications in `Tally`, which checks their offsets: every run publishes into a
  fresh channel with history, so the server numbers them 1, 2, ... n and a gap, a
  duplicate or a reconnect shows up in the result instead of passing for speed;
- measures its own CPU time (``getrusage``: this process, every thread, user and system)
  from "ready" to the last publication.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Spec", "Tally", "cpu_seconds", "emit", "rss_kib", "start_watchdog"]


@dataclass(frozen=True)
class Spec:
    """One subscriber's job, as the runner hands it over."""

    url: str
    channel: str
    #: count: publications to expect (offsets 1..n); latency: the same, with timestamps.
    mode: str
    n: int
    codec: str = "json"
    #: This project's subscriber: asyncio, trio or blocking.
    adapter: str = ""
    #: This project's subscriber: "stdlib" or "orjson" (the JSON library its codec uses).
    json: str = "stdlib"
    #: memory: connections in this process, each subscribed to its own channel.
    connections: int = 0
    #: Seconds without a new publication (after the first) before giving up.
    idle_timeout: float = 10.0
    #: Seconds from "ready" to the first publication before giving up.
    start_timeout: float = 60.0

    @classmethod
    def from_argv(cls) -> Spec:
        fields: dict[str, Any] = json.loads(sys.argv[1])
        return cls(**fields)


def emit(event: str, **fields: Any) -> None:
    """One line of the subscriber's report to the runner."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def cpu_seconds() -> float:
    """CPU time of this process so far: every thread, user plus system.

    ``getrusage`` rather than ``os.times()``: the kernel reports it in microseconds,
    where ``os.times()`` counts clock ticks of 10 ms.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_kib() -> int:
    """Resident set size of this process now (``VmRSS`` in /proc/self/status), KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


class Tally:
    """Counts publications and checks that offsets run 1, 2, ... n without a hole.

    ``seen(offset)`` is all a subscriber calls per publication (plus ``stamp`` in the
    latency mode), so the per-publication work of the harness is the same small
    constant in every Python client.
    """

    __slots__ = (
        "cpu_ready",
        "done",
        "duplicates",
        "expected",
        "first_at",
        "gaps",
        "last_at",
        "lost",
        "missing",
        "n",
        "received",
        "reconnects",
        "samples",
    )

    def __init__(self, n: int) -> None:
        self.n = n
        self.received = 0
        self.expected = 1
        self.gaps = 0  # places where offsets jumped forward
        self.missing = 0  # publications those jumps skipped
        self.duplicates = 0  # offsets seen again (at or below one already seen)
        self.lost = 0  # publications the client itself reported as dropped
        self.reconnects = 0  # connecting/disconnected events after the first connect
        self.first_at = 0.0
        self.last_at = 0.0
        self.cpu_ready = 0.0
        self.samples: list[int] = []  # latency mode: receive - send, nanoseconds
        self.done = threading.Event()

    def ready(self, spec: Spec) -> None:
        """Subscribed and idle: the measured span starts here, and the watchdog."""
        self.cpu_ready = cpu_seconds()
        start_watchdog(self, spec)
        emit("ready")

    def seen(self, offset: int) -> bool:
        """Count one publication; True once the last one (offset n) arrived."""
        now = time.monotonic()
        if not self.received:
            self.first_at = now
        self.last_at = now
        self.received += 1
        if offset != self.expected:
            if offset > self.expected:
                self.gaps += 1
                self.missing += offset - self.expected
            else:
                self.duplicates += 1
                return False
        self.expected = offset + 1
        return offset >= self.n

    def stamp(self, sent_ns: int) -> None:
        """Latency mode: the publisher's ``time.monotonic_ns()`` at send, from the payload."""
        self.samples.append(time.monotonic_ns() - sent_ns)

    def result(self, *, complete: bool, **extra: Any) -> dict[str, Any]:
        cpu = cpu_seconds() - self.cpu_ready
        return {
            "complete": complete,
            "received": self.received,
            "expected": self.n,
            "gaps": self.gaps,
            "missing": self.missing,
            "duplicates": self.duplicates,
            "lost": self.lost,
            "reconnects": self.reconnects,
            "cpu_s": cpu,
            "span_s": self.last_at - self.first_at,
            "samples_ns": self.samples,
            **extra,
        }

    def finish(self, **extra: Any) -> None:
        """Report the whole run (called right after the last publication)."""
        if not self.done.is_set():
            self.done.set()
            emit("result", **self.result(complete=self._clean(), **extra))

    def _clean(self) -> bool:
        return (
            self.received == self.n
            and not (self.gaps or self.duplicates or self.lost or self.reconnects)
            and self.expected == self.n + 1
        )


def start_watchdog(tally: Tally, spec: Spec) -> None:
    """Report what arrived and end the process when publications stop coming.

    A client that lost the tail of the stream would otherwise wait forever; a thread
    that wakes four times a second costs nothing measurable against the stream.
    """

    def watch() -> None:
        started = time.monotonic()
        seen, since = -1, started
        while not tally.done.wait(0.25):
            now = time.monotonic()
            if tally.received != seen:
                seen, since = tally.received, now
            limit = spec.idle_timeout if tally.received else spec.start_timeout
            if now - since > limit:
                tally.done.set()
                emit("result", **tally.result(complete=False, reason="stalled"))
                os._exit(3)

    threading.Thread(target=watch, name="bench-watchdog", daemon=True).start()
