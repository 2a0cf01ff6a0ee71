"""The programs the docs show run against the real server and print what the docs say.

Each file under examples/ that a docs page includes (the quickstart of each adapter,
the minimal adapter of docs/integrating.md, the server API example of docs/api.md)
runs as its own process, as a reader would run it, against a fresh Centrifugo of its
own (so offsets start at 1), with the environment scripts/with_centrifugo.py gives.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import CentrifugoServer, ServerFactory
from harness.centrifugo import find_binary, free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CLIENT_ID = r"[0-9a-f-]{36}"

# The lines every quickstart prints, in this order (join lines may come anywhere
# after the subscribe that caused them, so they are checked apart).
QUICKSTART = [
    r"server: ws://127\.0\.0\.1:\d+/connection/websocket",
    rf"alice connected as client {CLIENT_ID}",
    rf"bob   connected as client {CLIENT_ID}",
    r"both subscribed to chat:demo",
    r"alice received #1 from alice: hi bob",
    r"alice received #2 from bob: hello alice",
    r"bob received #1 from alice: hi bob",
    r"bob received #2 from bob: hello alice",
    r"history of chat:demo \(epoch \w+, top offset 2\):",
    r"  #1: \{'text': 'hi bob'\}",
    r"  #2: \{'text': 'hello alice'\}",
    r"presence in chat:demo:",
    rf"  alice  client {CLIENT_ID} info \{{'name': 'alice'\}}",
    rf"  bob    client {CLIENT_ID} info \{{'name': 'bob'\}}",
    r"presence stats: 2 clients, 2 users",
    r"done",
]
QUICKSTART_JOINS = ["alice sees alice join chat:demo", "alice sees bob join chat:demo"]

MINIMAL_ADAPTER = [
    rf"connected as client {CLIENT_ID}",
    r"subscribed to chat:minimal",
    r"publication #1 in chat:minimal: \{'n': 1\}",
    r"publication #2 in chat:minimal: \{'n': 2\}",
    r"publication #3 in chat:minimal: \{'n': 3\}",
    r"closed",
]

SERVER_API = [
    r"published at offset 1 \(epoch \w+\)",
    r"history #1: \{'text': 'from the backend'\} tags \{'kind': 'note'\}",
    r"batch item 1: PublishResult",
    r"batch item 2: error 102 unknown channel",
    r"batch item 3: HistoryResult",
    r"publish refused: code 102, unknown channel",
    r"1 node\(s\), version .+",
]


def run_example(name: str, server: CentrifugoServer) -> list[str]:
    return run_with(
        name,
        CENTRIFUGO_WS_URL=server.ws_url,
        CENTRIFUGO_HTTP_URL=server.http_url,
        CENTRIFUGO_API_KEY=server.api_key,
        CENTRIFUGO_HMAC_SECRET=server.hmac_secret,
    )


def run_with(name: str, **variables: str) -> list[str]:
    env = dict(os.environ, **variables)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=EXAMPLES.parent,
        check=False,
    )
    assert done.returncode == 0, f"{name} exited {done.returncode}:\n{done.stderr}"
    assert done.stderr == "", f"{name} wrote to stderr:\n{done.stderr}"
    return done.stdout.splitlines()


def assert_lines(lines: list[str], expected: list[str]) -> None:
    """``lines`` holds a line matching each pattern, in this order, and no other."""
    assert len(lines) == len(expected), "\n".join(lines)
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch(pattern, line), f"{line!r} does not match {pattern!r}"


@pytest.mark.parametrize("name", ["quickstart.py", "quickstart_trio.py", "quickstart_blocking.py"])
def test_quickstart(name: str, centrifugo_factory: ServerFactory) -> None:
    lines = run_example(name, centrifugo_factory())
    assert sorted(line for line in lines if " sees " in line) == QUICKSTART_JOINS
    assert_lines([line for line in lines if " sees " not in line], QUICKSTART)


def test_minimal_adapter(centrifugo_factory: ServerFactory) -> None:
    source = (EXAMPLES / "minimal_adapter.py").read_text()
    assert len(source.splitlines()) < 150, "the worked example stays small"
    assert "centrifugo_proto.adapters" not in source, "it drives the core alone"
    assert_lines(run_example("minimal_adapter.py", centrifugo_factory()), MINIMAL_ADAPTER)


def test_server_api_example(centrifugo_factory: ServerFactory) -> None:
    assert_lines(run_example("server_api.py", centrifugo_factory()), SERVER_API)


def test_the_server_config_the_quickstarts_show(tmp_path: Path) -> None:
    """The config.json of docs/snippets/server.md passes checkconfig --strict, and a
    Centrifugo started from it alone runs the quickstart."""
    page = (ROOT / "docs" / "snippets" / "server.md").read_text()
    found = re.search(r"```json\n(.*?)```", page, re.DOTALL)
    assert found is not None
    config = tmp_path / "config.json"
    config.write_text(found.group(1))
    secret = json.loads(found.group(1))["client"]["token"]["hmac_secret_key"]
    assert f"CENTRIFUGO_HMAC_SECRET={secret}" in page
    binary = str(find_binary())
    checked = subprocess.run(
        [binary, "checkconfig", "--strict", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    port = free_port()
    env = dict(os.environ, CENTRIFUGO_HTTP_SERVER_PORT=str(port))
    log = tmp_path / "centrifugo.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [binary, "--config", str(config)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        lines = run_with(
            "quickstart_blocking.py",
            CENTRIFUGO_WS_URL=f"ws://127.0.0.1:{port}/connection/websocket",
            CENTRIFUGO_HMAC_SECRET=secret,
        )
    finally:
        server.terminate()
        server.wait(10)
    assert_lines([line for line in lines if " sees " not in line], QUICKSTART)
