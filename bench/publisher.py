"""The publisher of the benchmark: its own process, the server HTTP API, stdlib only.

    python bench/publisher.py '{"http": "http://127.0.0.1:PORT", "key": ..., "channel": ...,
                                "mode": "flood", "n": 100000, "size": 64, "batch": 500}'

- ``flood``: ``n`` publications in ``batch`` API calls of ``batch`` publish commands each
  (``/api/batch``, PROTOCOL.md section 8), one call after the other on one keep-alive
  connection; the bodies are built before the first call, so the flood costs the
  publisher no JSON work while it runs.
- ``paced``: one publication per ``/api/publish`` call at ``rate`` per second, on a fixed
  schedule (a late send goes out at once and the schedule is kept, never shifted).
- ``latency``: as paced, each payload carrying ``time.monotonic_ns()`` taken right before
  its request is written. CLOCK_MONOTONIC is one clock for every process of the machine
  (Python's ``time.monotonic_ns``, Node's ``process.hrtime``), so the subscriber's reading
  minus this one is the delivery time, without wall-clock steps.

Every payload is a JSON object of exactly ``size`` bytes: ``{"t":<ns>,"p":"xx..."}``.
The report is one JSON line on stdout.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit


def payload(size: int, sent_ns: int) -> str:
    """The JSON text of one publication's data, exactly ``size`` bytes long."""
    head = f'{{"t":{sent_ns},"p":"'
    pad = size - len(head) - 2
    if pad < 0:
        raise ValueError(f"a payload of {size} bytes cannot hold the timestamp")
    return head + "x" * pad + '"}'


class Api:
    """One keep-alive HTTP/1.1 connection to the server API."""

    def __init__(self, base: str, key: str) -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
        self.headers = {"Content-Type": "application/json", "X-API-Key": key}
        self.errors = 0

    def post(self, method: str, body: bytes) -> dict[str, Any]:
        self.conn.request("POST", f"/api/{method}", body, self.headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"API {method}: HTTP {response.status}: {data[:200]!r}")
        reply: dict[str, Any] = json.loads(data)
        return reply


def flood(api: Api, channel: str, n: int, size: int, batch: int) -> int:
    """Publish ``n`` in batches; the number of publish commands the server refused."""
    one = f'{{"publish":{{"channel":{json.dumps(channel)},"data":{payload(size, 0)}}}}}'
    bodies = []
    for start in range(0, n, batch):
        count = min(batch, n - start)
        bodies.append(f'{{"commands":[{",".join([one] * count)}]}}'.encode())
    errors = 0
    for body in bodies:
        reply = api.post("batch", body)
        errors += sum(1 for r in reply.get("replies", []) if "error" in r)
        if "error" in reply:
            errors += body.count(b'"publish"')
    return errors


def paced(api: Api, channel: str, n: int, size: int, rate: float, stamp: bool) -> tuple[int, int]:
    """Publish ``n`` one per call at ``rate``/s; (refused, sends that were late by > 1 ms)."""
    prefix = f'{{"channel":{json.dumps(channel)},"data":'.encode()
    fixed = prefix + payload(size, 0).encode() + b"}"
    interval = 1.0 / rate
    errors = late = 0
    due = time.monotonic()
    for _ in range(n):
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.001:
            late += 1
        body = prefix + payload(size, time.monotonic_ns()).encode() + b"}" if stamp else fixed
        if "error" in api.post("publish", body):
            errors += 1
        due += interval
    return errors, late


def main() -> None:
    job: dict[str, Any] = json.loads(sys.argv[1])
    api = Api(job["http"], job["key"])
    mode, n, size = job["mode"], int(job["n"]), int(job["size"])
    started = time.monotonic()
    late = 0
    if mode == "flood":
        errors = flood(api, job["channel"], n, size, int(job["batch"]))
    else:
        errors, late = paced(
            api, job["channel"], n, size, float(job["rate"]), stamp=mode == "latency"
        )
    span = time.monotonic() - started
    print(json.dumps({"sent": n, "errors": errors, "late": late, "span_s": span}), flush=True)


if __name__ == "__main__":
    main()
