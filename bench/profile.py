"""Where this project's subscriber spends its time on the flood (``make bench-profile``).

    python bench/profile.py [--adapter asyncio|trio|blocking] [--size 64] [--top 30]

Starts Centrifugo as bench/run.py does, runs this project's subscriber
(bench/sub_proto.py) under py-spy (sampling from outside the process, so the profiler
adds nothing to the code under test), floods it with the throughput scenario's
publications and writes the functions with the most samples: *self* (the function
itself was running) and *total* (it was anywhere on the stack). Idle samples (a thread
waiting in ``epoll`` or on a lock) are left out by py-spy. Output:
bench/results/profile.json and profile.txt, with ``--paced`` profile-paced.* (BENCH_QUICK=1:
under .cache/bench/results/).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from common import Spec
from run import BENCH_DIR, CACHE, FULL, QUICK, QUICK_PLAN, SERVER_OVERRIDES, CentrifugoServer

RATE = 1000  # samples per second
#: The watchdog thread of bench/common.py: a wait py-spy does not always see as idle.
HARNESS_FRAMES = ("watch (common.py",)


def frame_name(frame: str) -> str:
    """``func (path/to/module.py:12)`` -> ``module.py:func``, package-relative."""
    found = re.match(r"(.*) \((.*):\d+\)$", frame)
    if found is None:
        return frame
    func, path = found.groups()
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    if path.startswith("centrifugo_proto/") or "/bench/" in path or path.startswith("bench/"):
        path = path.split("/bench/", 1)[-1]
    return f"{path}:{func}"


def aggregate(raw: str) -> tuple[int, Counter[str], Counter[str]]:
    """Samples, self counts and total counts per function from py-spy's raw output."""
    samples, own, total = 0, Counter[str](), Counter[str]()
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        if any(marker in stack for marker in HARNESS_FRAMES):
            continue
        frames = [frame_name(f) for f in stack.split(";")]
        # The first entry is the thread ("process 12:"...) when py-spy adds it.
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for name in set(frames):
            total[name] += count
    return samples, own, total


def main() -> int:
    parser = argparse.ArgumentParser(description="profile this project's subscriber")
    parser.add_argument("--adapter", default="asyncio", choices=("asyncio", "trio", "blocking"))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--codec", default="json", choices=("json", "protobuf"))
    parser.add_argument("--json", default="stdlib", choices=("stdlib", "orjson"))
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--n", type=int, default=0, help="publications (default: 3x the flood)")
    parser.add_argument(
        "--paced", action="store_true", help="the paced scenario (one per frame) instead"
    )
    args = parser.parse_args()
    plan = QUICK_PLAN if QUICK else FULL
    n = args.n or (2 * plan.paced_n if args.paced else 3 * plan.flood_n)
    name = "profile-paced" if args.paced else "profile"
    out_dir = (CACHE / "results") if QUICK else (BENCH_DIR / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    raw_path = CACHE / "profile.raw"
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).with_name("py-spy")
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    with CentrifugoServer(SERVER_OVERRIDES) as server:
        channel = f"bench:profile-{time.time_ns()}"
        spec = Spec(
            url=server.ws_url,
            channel=channel,
            mode="count",
            n=n,
            adapter=args.adapter,
            codec=args.codec,
            json=args.json,
        )
        sub = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "sub_proto.py"), json.dumps(asdict(spec))],
            stdout=subprocess.PIPE,
            text=True,
            cwd=BENCH_DIR,
        )
        assert sub.stdout is not None
        lines: Iterator[dict[str, Any]] = (
            json.loads(line) for line in sub.stdout if line.startswith("{")
        )
        if next(lines, {}).get("event") != "ready":
            raise SystemExit("the subscriber did not get ready")
        # Attached once subscribed, so imports and connecting stay out of the profile;
        # --nonblocking: the subscriber is never paused for a sample.
        spy = subprocess.Popen(
            [
                str(py_spy),
                "record",
                "--pid",
                str(sub.pid),
                "--rate",
                str(RATE),
                "--nonblocking",
                "--format",
                "raw",
                "--function",
                "--output",
                str(raw_path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert spy.stdout is not None
        for line in spy.stdout:  # "py-spy> Sampling process 1000 times a second ..."
            if "Sampling process" in line:
                break
        else:
            raise SystemExit(f"py-spy did not start (code {spy.wait()})")
        publisher = {
            "http": server.http_url,
            "key": server.api_key,
            "channel": channel,
            "mode": "paced" if args.paced else "flood",
            "n": n,
            "size": args.size,
            "batch": plan.flood_batch,
            "rate": plan.paced_rate,
        }
        subprocess.run(
            [sys.executable, str(BENCH_DIR / "publisher.py"), json.dumps(publisher)],
            check=True,
            capture_output=True,
        )
        result: dict[str, Any] = next(lines, {})
        sub.wait(timeout=120)
        spy.communicate(timeout=60)
    samples, own, total = aggregate(raw_path.read_text())
    top = [
        {"name": name, "self": own[name] / samples, "total": total[name] / samples}
        for name, _ in own.most_common(args.top)
    ]
    how = f"paced at {plan.paced_rate:,.0f}/s, one per frame" if args.paced else "flooded"
    codec = "Protobuf" if args.codec == "protobuf" else f"JSON ({args.json})"
    what = f"{args.adapter} adapter, {codec}, {n:,} publications of {args.size} B {how}"
    report = {
        "what": what,
        "scenario": "paced" if args.paced else "flooded",
        "rate": RATE,
        "samples": samples,
        "started": started,
        "complete": bool(result.get("complete")),
        "cpu_us_per_pub": result.get("cpu_s", 0) / max(1, result.get("received", 0)) * 1e6,
        "top": top,
        "top_total": [
            {"name": name, "total": count / samples} for name, count in total.most_common(args.top)
        ],
    }
    (out_dir / f"{name}.json").write_text(json.dumps(report, indent=1) + "\n")
    text = [
        f"py-spy, {what}: {samples} samples at {RATE} Hz "
        f"(CPU under the profiler {report['cpu_us_per_pub']:.2f} us/publication)",
        f"{'self':>7} {'total':>7}  function",
    ]
    text += [f"{e['self']:>7.1%} {e['total']:>7.1%}  {e['name']}" for e in top]
    (out_dir / f"{name}.txt").write_text("\n".join(text) + "\n")
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
