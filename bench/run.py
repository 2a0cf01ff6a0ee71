"""Run the benchmark: every client against one real Centrifugo, side by side.

    python bench/run.py [--only throughput,paced,latency,memory,core] [--clients PREFIX,...]

(``make bench`` runs this in the bench environment, then bench/report.py.)
``BENCH_QUICK=1`` is the short development run. The method is in bench/README.md; in
short: one Centrifugo v6 from tests/harness on a free loopback port; per measurement a
fresh channel, a subscriber process, and once it is subscribed a publisher process;
every scenario runs each client in turn, several rounds, the order rotated per round,
so a slow moment of the machine is spread over all clients instead of landing on one.

Writes ``bench/results/results.json`` (a full run; committed) or
``.cache/bench/results/quick.json`` (BENCH_QUICK=1; ignored).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from common import Spec

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO / "tests"))

from harness import CentrifugoServer as CentrifugoServer  # noqa: E402  # bench/profile.py too

CACHE = REPO / ".cache" / "bench"
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
RESULTS = (CACHE / "results" / "quick.json") if QUICK else (BENCH_DIR / "results" / "results.json")

#: The server as every scenario uses it (PROTOCOL.md section 8 for the template):
#: a namespace with a small history, so publications carry offsets 1..n, and a client
#: queue large enough that a flooded reader is measured as slow, not cut off as "slow"
#: (3008) by the default 1 MiB queue. Logging at error level: the server's own log
#: writes are not part of what is measured.
SERVER_OVERRIDES: dict[str, Any] = {
    "log.level": "error",
    "client.queue_max_size": 1 << 30,
    "channel.namespaces": [
        {
            "name": "bench",
            "history_size": 16,
            "history_ttl": "300s",
            "allow_subscribe_for_client": True,
            "allow_subscribe_for_anonymous": True,
        }
    ],
}


@dataclass(frozen=True)
class Plan:
    """How much of each scenario one run does."""

    flood_n: int
    flood_rounds: dict[int, int]  # payload size -> rounds
    flood_batch: int
    paced_n: int
    paced_rate: float
    paced_rounds: int
    latency_n: int
    latency_rate: float
    latency_rounds: int
    latency_warmup: float  # fraction of each run's first samples left out
    memory_connections: int
    memory_rounds: int
    core_n: int
    core_repeats: int


FULL = Plan(
    flood_n=100_000,
    flood_rounds={64: 5, 1024: 3},
    flood_batch=500,
    paced_n=10_000,
    paced_rate=2000.0,
    paced_rounds=3,
    latency_n=6_000,
    latency_rate=1000.0,
    latency_rounds=5,
    latency_warmup=0.05,
    memory_connections=1000,
    memory_rounds=3,
    core_n=20_000,
    core_repeats=7,
)
QUICK_PLAN = replace(
    FULL,
    flood_n=20_000,
    flood_rounds={64: 2, 1024: 1},
    paced_n=2_000,
    paced_rounds=1,
    latency_n=2_000,
    latency_rounds=1,
    memory_connections=100,
    memory_rounds=1,
    core_n=5_000,
    core_repeats=3,
)
SCENARIOS = ("core", "throughput", "paced", "latency", "memory")


@dataclass(frozen=True)
class Client:
    """One subscriber row: a library, its codec, and for this project an adapter."""

    id: str
    library: str  # centrifugo-proto, centrifuge-python, centrifuge-js, floor
    codec: str
    adapter: str = ""
    json: str = "stdlib"
    argv: tuple[str, ...] = field(default=(), compare=False)

    @property
    def label(self) -> str:
        codec = "JSON" if self.codec == "json" else "Protobuf"
        if self.codec == "json" and self.json == "orjson":
            codec = "JSON (orjson)"
        if self.library == "floor":
            reader = {"asyncio": "asyncio Protocol", "trio": "trio stream"}
            return f"floor: {reader.get(self.adapter, 'raw socket')} + json.loads"
        name = {"centrifugo-proto": "this project"}.get(self.library, self.library)
        return f"{name} {self.adapter} {codec}".replace("  ", " ")


# -- processes ----------------------------------------------------------------------------


class Subscriber:
    """A subscriber process and the JSON lines it prints."""

    def __init__(self, argv: Sequence[str], spec: Spec, log: Path) -> None:
        self.log = log
        self.log_file = log.open("w")
        self.proc = subprocess.Popen(
            [*argv, json.dumps(asdict(spec))],
            stdout=subprocess.PIPE,
            stderr=self.log_file,
            text=True,
            cwd=BENCH_DIR,
        )
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                try:
                    self.lines.put(json.loads(line))
                except json.JSONDecodeError:  # a report cut short: say so, do not hang
                    self.lines.put({"event": "garbled", "length": len(line)})
        self.lines.put(None)

    def next(self, event: str, timeout: float) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"no {event!r} within {timeout:.0f} s (log: {self.log})") from None
        if line is None:
            raise RuntimeError(
                f"the subscriber exited (code {self.proc.wait()}) before {event!r}: "
                f"{self.log.read_text()[-1500:]}"
            )
        if line.get("event") != event:
            raise RuntimeError(f"expected {event!r}, got {line!r}")
        return line

    def close(self) -> None:
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()


class Bench:
    def __init__(self, plan: Plan, server: CentrifugoServer, python: str, cfpy: str) -> None:
        self.plan, self.server = plan, server
        self.python, self.cfpy = python, cfpy
        self.logs = CACHE / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.serial = 0

    def fresh_channel(self, what: str) -> str:
        self.serial += 1
        return f"bench:{what}-{self.serial}-{time.time_ns()}"

    def spec(self, client: Client, **fields: Any) -> Spec:
        return Spec(
            url=self.server.ws_url,
            codec=client.codec,
            adapter=client.adapter,
            json=client.json,
            **fields,
        )

    def publish(self, job: dict[str, Any]) -> dict[str, Any]:
        job = {"http": self.server.http_url, "key": self.server.api_key, **job}
        done = subprocess.run(
            [self.python, str(BENCH_DIR / "publisher.py"), json.dumps(job)],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the publisher failed: {done.stderr[-2000:]}")
        report: dict[str, Any] = json.loads(done.stdout)
        return report

    def stream(self, client: Client, mode: str, publisher: dict[str, Any]) -> dict[str, Any]:
        """One subscriber through one published stream; its result and the publisher's.

        A run that fails (no report, a cut report, a crash) is recorded as incomplete with
        the reason, and the benchmark goes on with the next.
        """
        try:
            return self._stream(client, mode, publisher)
        except (RuntimeError, subprocess.SubprocessError) as exc:
            log(f"  {client.label}: FAILED: {exc}")
            failed = {"complete": False, "error": str(exc)[-500:], "received": 0}
            return {**failed, "cpu_s": math.nan, "span_s": 0.0, "samples_ns": []} | {
                "cpu_us_per_pub": math.nan,
                "cpu_s_per_100k": math.nan,
                "pubs_per_s": math.nan,
            }

    def _stream(self, client: Client, mode: str, publisher: dict[str, Any]) -> dict[str, Any]:
        channel = self.fresh_channel(mode)
        n = int(publisher["n"])
        spec = self.spec(client, channel=channel, mode=mode, n=n, idle_timeout=10.0)
        sub = Subscriber(client.argv, spec, self.logs / f"{client.id}.log")
        try:
            sub.next("ready", timeout=60)
            published = self.publish({**publisher, "channel": channel})
            result = sub.next("result", timeout=spec.idle_timeout + 60)
        finally:
            sub.close()
        result.pop("event")
        result["publisher"] = published
        return derive(result)

    def memory(self, client: Client) -> dict[str, Any]:
        spec = self.spec(
            client,
            channel=self.fresh_channel("mem"),
            mode="memory",
            n=0,
            connections=self.plan.memory_connections,
        )
        sub = Subscriber(client.argv, spec, self.logs / f"{client.id}-memory.log")
        try:
            result = sub.next("result", timeout=600)
        except RuntimeError as exc:  # recorded as incomplete, as in stream()
            log(f"  {client.label}: FAILED: {exc}")
            return {
                "complete": False,
                "error": str(exc)[-500:],
                "connections": spec.connections,
                "connected": 0,
                "rss_before_kib": math.nan,
                "rss_after_kib": math.nan,
                "kib_per_connection": math.nan,
            }
        finally:
            sub.close()
        result.pop("event")
        return result

    def probe(self, client: Client) -> dict[str, Any]:
        spec = self.spec(client, channel="bench:probe", mode="probe", n=0)
        sub = Subscriber(client.argv, spec, self.logs / f"{client.id}-probe.log")
        try:
            return sub.next("result", timeout=60)
        finally:
            sub.close()


def derive(result: dict[str, Any]) -> dict[str, Any]:
    """Rates and per-publication figures; latency percentiles in place of raw samples."""
    received = result["received"] or math.nan
    result["cpu_us_per_pub"] = result["cpu_s"] / received * 1e6
    result["cpu_s_per_100k"] = result["cpu_s"] / received * 1e5
    result["pubs_per_s"] = received / result["span_s"] if result["span_s"] > 0 else math.nan
    samples = result.pop("samples_ns")
    if samples:
        result["latency_samples"] = len(samples)
        result["samples_ns"] = samples  # trimmed and summarised by the latency scenario
    return result


def percentile(ordered: Sequence[int], p: float) -> float:
    """Nearest-rank percentile of sorted samples."""
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def latency_summary(samples: list[int], warmup: float) -> dict[str, Any]:
    kept = sorted(samples[int(len(samples) * warmup) :])
    if not kept:
        return {}
    # A quantile curve for the plot: 200 even ranks, plus the tail above p99 in detail.
    ranks = [i / 200 for i in range(201)] + [0.99 + i / 10000 for i in range(1, 100)]
    curve = sorted({(q, percentile(kept, q * 100) / 1e3) for q in ranks if q > 0})
    return {
        "kept": len(kept),
        "p50_us": percentile(kept, 50) / 1e3,
        "p99_us": percentile(kept, 99) / 1e3,
        "p999_us": percentile(kept, 99.9) / 1e3,
        "max_us": kept[-1] / 1e3,
        "curve": curve,
    }


# -- the clients --------------------------------------------------------------------------


def clients(python: str, cfpy: str, node: str) -> list[Client]:
    """Every row: this project's rows as far as the installed client supports them."""
    proto_argv = (python, str(BENCH_DIR / "sub_proto.py"))
    cfpy_argv = (cfpy, str(BENCH_DIR / "sub_cfpy.py"))
    js_argv = (node, str(BENCH_DIR / "js" / "sub.mjs"))
    floor_argv = (python, str(BENCH_DIR / "sub_floor.py"))
    return [
        Client("proto-asyncio-json", "centrifugo-proto", "json", "asyncio", argv=proto_argv),
        Client("proto-trio-json", "centrifugo-proto", "json", "trio", argv=proto_argv),
        Client("proto-blocking-json", "centrifugo-proto", "json", "blocking", argv=proto_argv),
        Client("cfpy-json", "centrifuge-python", "json", argv=cfpy_argv),
        Client("cfpy-protobuf", "centrifuge-python", "protobuf", argv=cfpy_argv),
        Client("js-json", "centrifuge-js", "json", argv=js_argv),
        Client("js-protobuf", "centrifuge-js", "protobuf", argv=js_argv),
        Client("floor-json", "floor", "json", argv=floor_argv),
        # The event loops' own cost per wake-up, under the asyncio and trio rows.
        Client("floor-asyncio-json", "floor", "json", "asyncio", argv=floor_argv),
        Client("floor-trio-json", "floor", "json", "trio", argv=floor_argv),
    ]


def with_capabilities(rows: list[Client], probed: dict[str, Any]) -> list[Client]:
    """Add this project's orjson and Protobuf rows where the probe found support."""
    caps = probed["centrifugo-proto"]
    extra = []
    for adapter in ("asyncio", "trio", "blocking"):
        base = next(c for c in rows if c.id == f"proto-{adapter}-json")
        if "orjson" in caps["json_libraries"]:
            extra.append(replace(base, id=f"proto-{adapter}-orjson", json="orjson"))
        if "protobuf" in caps["codecs"]:
            extra.append(replace(base, id=f"proto-{adapter}-protobuf", codec="protobuf"))
    ordered = rows[:3] + extra + rows[3:]
    return ordered


def rotated(items: Sequence[Client], round_: int) -> list[Client]:
    k = round_ % len(items)
    return [*items[k:], *items[:k]]


# -- the machine --------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    def read(path: str) -> str:
        try:
            return Path(path).read_text()
        except OSError:
            return ""

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        (int(line.split()[1]) for line in read("/proc/meminfo").splitlines() if "MemTotal" in line),
        0,
    )
    os_name = next(
        (
            line.split("=", 1)[1].strip().strip('"')
            for line in read("/etc/os-release").splitlines()
            if line.startswith("PRETTY_NAME=")
        ),
        platform.system(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem / 1024 / 1024, 1),
        "os": os_name,
        "kernel": platform.release(),
    }


def centrifugo_version(binary: Path) -> str:
    """The version `make centrifugo` built (its stamp beside the binary), else the binary's.

    A binary built by `go install` reports "v0.0.0": the release sets its version
    through linker flags that `go install` does not pass.
    """
    stamp = binary.with_name("centrifugo.version")
    if stamp.is_file():
        return stamp.read_text().strip()
    reported = subprocess.run([str(binary), "version"], capture_output=True, text=True, check=False)
    return reported.stdout.strip()


def client_source() -> str:
    """The last commit that changed this project's package, "+changes" if the tree differs."""
    paths = ["centrifugo_proto", "adapters", "pyproject.toml"]
    try:
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%h", "--", *paths],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", *paths],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" +changes" if changed else "")


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- scenarios ----------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def summary_line(client: Client, result: dict[str, Any]) -> str:
    flag = (
        ""
        if result.get("complete")
        else "  INCOMPLETE "
        + json.dumps(
            {k: result.get(k) for k in ("received", "gaps", "missing", "lost", "reconnects")}
        )
    )
    return (
        f"{client.label:<40} {result['pubs_per_s']:>10,.0f} pubs/s "
        f"{result['cpu_us_per_pub']:>7.2f} us CPU/pub{flag}"
    )


def run_throughput(bench: Bench, rows: list[Client]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size, rounds in bench.plan.flood_rounds.items():
        runs: dict[str, list[dict[str, Any]]] = {c.id: [] for c in rows}
        for round_ in range(rounds):
            log(f"throughput {size} B, round {round_ + 1}/{rounds}")
            for client in rotated(rows, round_):
                job = {"mode": "flood", "n": bench.plan.flood_n, "size": size}
                result = bench.stream(client, "count", {**job, "batch": bench.plan.flood_batch})
                runs[client.id].append(result)
                log("  " + summary_line(client, result))
        out[str(size)] = runs
    return out


def run_paced(bench: Bench, rows: list[Client]) -> dict[str, Any]:
    plan = bench.plan
    runs: dict[str, list[dict[str, Any]]] = {c.id: [] for c in rows}
    for round_ in range(plan.paced_rounds):
        log(f"paced {plan.paced_rate:.0f}/s, round {round_ + 1}/{plan.paced_rounds}")
        for client in rotated(rows, round_):
            job = {"mode": "paced", "n": plan.paced_n, "size": 64, "rate": plan.paced_rate}
            result = bench.stream(client, "count", job)
            runs[client.id].append(result)
            log("  " + summary_line(client, result))
    return runs


def run_latency(bench: Bench, rows: list[Client]) -> dict[str, Any]:
    plan = bench.plan
    runs: dict[str, list[dict[str, Any]]] = {c.id: [] for c in rows}
    for round_ in range(plan.latency_rounds):
        log(f"latency at {plan.latency_rate:.0f}/s, round {round_ + 1}/{plan.latency_rounds}")
        for client in rotated(rows, round_):
            job = {"mode": "latency", "n": plan.latency_n, "size": 64, "rate": plan.latency_rate}
            result = bench.stream(client, "latency", job)
            result.update(latency_summary(result.pop("samples_ns", []), plan.latency_warmup))
            runs[client.id].append(result)
            log(
                f"  {client.label:<40} p50 {result.get('p50_us', math.nan):8.0f} us  "
                f"p99 {result.get('p99_us', math.nan):8.0f} us  "
                f"p99.9 {result.get('p999_us', math.nan):8.0f} us"
                + ("" if result["complete"] else "  INCOMPLETE")
            )
    return runs


def run_memory(bench: Bench, rows: list[Client]) -> dict[str, Any]:
    plan = bench.plan
    # Each adapter of this project (JSON) against centrifuge-python (JSON): Python only.
    chosen = [c for c in rows if c.codec == "json" and c.json == "stdlib"]
    chosen = [c for c in chosen if c.library in ("centrifugo-proto", "centrifuge-python")]
    runs: dict[str, list[dict[str, Any]]] = {c.id: [] for c in chosen}
    for round_ in range(plan.memory_rounds):
        log(f"memory, {plan.memory_connections} connections, round {round_ + 1}")
        for client in rotated(chosen, round_):
            result = bench.memory(client)
            runs[client.id].append(result)
            log(
                f"  {client.label:<40} {result['kib_per_connection']:8.1f} KiB/connection "
                f"({result['connected']}/{result['connections']} connected)"
            )
    return runs


def run_core(bench: Bench, caps: dict[str, Any]) -> dict[str, Any]:
    """Record the two streams once (per codec), then replay them (bench/core.py)."""
    plan = bench.plan
    folder = CACHE / "recordings"
    variants = [("json", "stdlib")]
    if "orjson" in caps["json_libraries"]:
        variants.append(("json", "orjson"))
    if "protobuf" in caps["codecs"]:
        variants.append(("protobuf", "stdlib"))
    out: dict[str, Any] = {}
    for codec in dict.fromkeys(codec for codec, _ in variants):
        log(f"core: recording {plan.core_n} publications per stream ({codec})")
        job = {
            "url": bench.server.ws_url,
            "http": bench.server.http_url,
            "key": bench.server.api_key,
            "dir": str(folder),
            "n": plan.core_n,
            "codec": codec,
        }
        core_script(bench.python, "record", job)
    for codec, json_lib in variants:
        log(f"core: replaying ({codec}, {json_lib}), {plan.core_repeats} rounds")
        job = {"dir": str(folder), "repeats": plan.core_repeats, "codec": codec, "json": json_lib}
        result = core_script(bench.python, "replay", job)
        out[f"{codec}-{json_lib}"] = result
        for kind, data in result.items():
            medians = {
                name: sorted(v)[len(v) // 2] / 1e3 for name, v in data["ns_per_publication"].items()
            }
            log(f"  {kind}: " + ", ".join(f"{k} {v:.2f} us/pub" for k, v in medians.items()))
    return out


def core_script(python: str, action: str, job: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [python, str(BENCH_DIR / "core.py"), action, json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=BENCH_DIR,
    )
    if done.returncode != 0:
        raise RuntimeError(f"core.py {action} failed: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# -- main ---------------------------------------------------------------------------------


def save(path: Path, results: dict[str, Any], started: float) -> None:
    results["load_after"] = load()
    results["duration_s"] = round(time.time() - started, 1)
    path.write_text(json.dumps(results, indent=1, allow_nan=True) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="scenarios, comma-separated")
    parser.add_argument("--clients", default="", help="keep rows whose id starts with one of these")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
    plan = QUICK_PLAN if QUICK else FULL
    python = sys.executable
    cfpy = os.environ.get("BENCH_CFPY_PYTHON", str(CACHE / "centrifuge-python" / "bin" / "python"))
    node = os.environ.get("BENCH_NODE", "node")
    started = time.time()
    results: dict[str, Any] = {
        "quick": QUICK,
        "plan": asdict(plan),
        "server_overrides": SERVER_OVERRIDES,
        "machine": machine(),
        "client_source": client_source(),
        "load_before": load(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
    }
    with CentrifugoServer(SERVER_OVERRIDES) as server:
        version = centrifugo_version(server.binary)
        results["centrifugo"] = version
        bench = Bench(plan, server, python, cfpy)
        rows = clients(python, cfpy, node)
        probed = {}
        for library in ("centrifugo-proto", "centrifuge-python", "centrifuge-js"):
            first = next(c for c in rows if c.library == library)
            probed[library] = bench.probe(first)
            probed[library].pop("event", None)
        results["libraries"] = probed
        rows = with_capabilities(rows, probed)
        if args.clients:
            wanted = args.clients.split(",")
            rows = [c for c in rows if any(c.id.startswith(w) for w in wanted)]
        results["clients"] = {c.id: {**asdict(c), "label": c.label} for c in rows}
        for c in results["clients"].values():
            c.pop("argv")
        log(f"{len(rows)} clients: {', '.join(c.id for c in rows)}; server {version}")
        scenario_runs = {
            "core": lambda: run_core(bench, probed["centrifugo-proto"]),
            "throughput": lambda: run_throughput(bench, rows),
            "paced": lambda: run_paced(bench, rows),
            "latency": lambda: run_latency(bench, rows),
            "memory": lambda: run_memory(bench, rows),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        for name in only:
            begun = time.monotonic()
            results[name] = scenario_runs[name]()
            results.setdefault("durations_s", {})[name] = round(time.monotonic() - begun, 1)
            save(args.out, results, started)  # what is done survives a later failure
    save(args.out, results, started)
    log(f"done in {results['duration_s'] / 60:.1f} min; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
