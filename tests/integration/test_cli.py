"""``centrifugo-proto`` end to end: every command in subprocesses against the real
Centrifugo v6 (and 1.8.0 for ``--protocol v1``), each failure's exit code and
message, Ctrl-C, and ``python -m centrifugo_proto`` from the repository root.

Processes wait for each other through their output (a subscriber's
"subscribed to" line on stderr), line by line with a deadline (``cli_process``).
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from integration.cli_process import ROOT, Cli, Running
from integration.drivers import token_for, unique

from centrifugo_proto import connection_token, generate_token
from centrifugo_proto.adapters.cli._exits import Exit
from harness import CentrifugoServer, LegacyServer, ServerFactory
from harness.centrifugo import free_port

ADAPTERS = ("asyncio", "trio", "blocking")


@pytest.fixture
def cli(centrifugo: CentrifugoServer, tmp_path: Path) -> Iterator[Cli]:
    """The CLI pointed at the shared server by its environment, run from a folder
    that is not the repository (``python -m`` from the root has a test of its own)."""
    runner = Cli(
        {"CENTRIFUGO_URL": centrifugo.ws_url, "CENTRIFUGO_API_KEY": centrifugo.api_key},
        tmp_path,
    )
    yield runner
    runner.close()


@pytest.fixture(params=ADAPTERS)
def adapter_name(request: pytest.FixtureRequest) -> str:
    """``--adapter``'s value (the shared ``adapter`` fixture drives clients in-process)."""
    return str(request.param)


def lines_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def subscribed(running: Running) -> str:
    """Wait until ``subscribe`` says it is subscribed; the epoch it reports."""
    line = running.line("stderr", contains="subscribed to")
    return line.rsplit("epoch ", 1)[-1].rstrip(")") if "epoch" in line else ""


def publish_api(server: CentrifugoServer, channel: str, data: Any) -> None:
    assert "error" not in server.api("publish", {"channel": channel, "data": data})


# -- subscribe and publish --------------------------------------------------------------------


def test_subscriber_gets_what_another_process_publishes(
    cli: Cli, centrifugo: CentrifugoServer, adapter_name: str
) -> None:
    channel = unique("chat:cli-")
    token = token_for(centrifugo, "alice")
    sub = cli.start(
        "subscribe", channel, "--count", "2", "--token", token, "--adapter", adapter_name
    )
    epoch = subscribed(sub)
    for n in (1, 2):
        done = cli.run("publish", channel, json.dumps({"n": n}), "--token", token, "-q")
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    first, second = (json.loads(sub.line()) for _ in range(2))
    assert sub.wait() == Exit.OK
    assert [first["data"], second["data"]] == [{"n": 1}, {"n": 2}]
    assert {first["channel"], second["channel"]} == {channel}
    assert second["offset"] == first["offset"] + 1
    assert first["epoch"] == second["epoch"] == epoch != ""
    assert first["info"]["user"] == "alice"


def test_subscribe_recovers_since_a_position_and_prints_join_leave(
    cli: Cli, centrifugo: CentrifugoServer
) -> None:
    channel = unique("chat:cli-")
    for n in range(3):
        publish_api(centrifugo, channel, {"n": n})
    history = cli.run("history", channel, "--as-subscriber", "--token", token_for(centrifugo, "a"))
    first, *_ = lines_of(history.stdout)
    since = f"{first['offset']}:{first['epoch']}"
    sub = cli.start(
        "subscribe",
        channel,
        "--since",
        since,
        "--join-leave",
        "--token",
        token_for(centrifugo, "b"),
    )
    assert "recovered" in sub.line("stderr", contains="subscribed to")
    lines = [json.loads(sub.line()) for _ in range(3)]  # its own join, two publications
    (join,) = [line for line in lines if "event" in line]  # printed by a callback: any place
    assert {"event": "join", "channel": channel, "user": "b"}.items() <= join.items()
    assert [line["data"] for line in lines if "event" not in line] == [{"n": 1}, {"n": 2}]
    other = cli.start("subscribe", channel, "--token", token_for(centrifugo, "carol"))
    subscribed(other)
    assert json.loads(sub.line())["user"] == "carol"
    other.interrupt()
    assert other.wait() == Exit.INTERRUPTED
    left = json.loads(sub.line())
    assert (left["event"], left["user"]) == ("leave", "carol")


def test_subscribe_text_form_and_delta(cli: Cli, centrifugo: CentrifugoServer) -> None:
    channel = unique("chat:cli-")
    args = ("subscribe", channel, "--delta", "--count", "2", "--format", "text")
    sub = cli.start(*args, "--token", token_for(centrifugo, "dora"))
    subscribed(sub)
    publish_api(centrifugo, channel, {"text": "hello " * 20})
    publish_api(centrifugo, channel, {"text": "hello " * 19 + "world"})
    lines = [sub.line(), sub.line()]
    assert sub.wait() == Exit.OK
    assert lines[0].startswith(f"{channel} #1  ")
    assert '"text":"hello hello' in lines[0]
    assert lines[1].endswith('world"}')
    assert lines[1].startswith(f"{channel} #2  ")


# -- history, presence, rpc, api --------------------------------------------------------------


def test_history_prints_one_json_object_per_publication(
    cli: Cli, centrifugo: CentrifugoServer, adapter_name: str
) -> None:
    channel = unique("chat:cli-")
    for n in range(4):
        publish_api(centrifugo, channel, {"n": n})
    token = token_for(centrifugo, "erin")
    base = ("history", channel, "--as-subscriber", "--token", token, "--adapter", adapter_name)
    done = cli.run(*base)
    assert done.returncode == Exit.OK, done.stderr
    records = lines_of(done.stdout)
    assert [r["data"] for r in records] == [{"n": n} for n in range(4)]
    assert [r["offset"] for r in records] == [1, 2, 3, 4]
    assert {r["channel"] for r in records} == {channel}
    assert "4 publications" in done.stderr
    newest = lines_of(cli.run(*base, "--reverse", "--limit", "2").stdout)
    assert [r["data"] for r in newest] == [{"n": 3}, {"n": 2}]


def test_presence_lists_the_subscribers(
    cli: Cli, centrifugo: CentrifugoServer, adapter_name: str
) -> None:
    channel = unique("chat:cli-")
    sub = cli.start("subscribe", channel, "--token", token_for(centrifugo, "frank"))
    subscribed(sub)
    token = token_for(centrifugo, "gina")
    done = cli.run(
        "presence", channel, "--as-subscriber", "--token", token, "--adapter", adapter_name
    )
    assert done.returncode == Exit.OK, done.stderr
    users = sorted(record["user"] for record in lines_of(done.stdout))
    assert users == ["frank", "gina"]
    assert all(record["client"] for record in lines_of(done.stdout))
    text = cli.run("presence", channel, "--as-subscriber", "--token", token, "--format", "text")
    assert "user 'frank'  client " in text.stdout


def test_rpc_and_the_server_api(cli: Cli, centrifugo: CentrifugoServer, adapter_name: str) -> None:
    token = token_for(centrifugo, "hugo")
    echo = cli.run("rpc", "echo", '{"x": [1, 2]}', "--token", token, "--adapter", adapter_name)
    assert (echo.returncode, json.loads(echo.stdout)) == (Exit.OK, {"x": [1, 2]})
    channel = unique("chat:cli-")
    published = cli.run("api", "publish", json.dumps({"channel": channel, "data": {"a": 1}}))
    assert published.returncode == Exit.OK, published.stderr
    assert json.loads(published.stdout)["offset"] == 1
    stats = cli.run(
        "api", "presence_stats", json.dumps({"channel": channel}), "--adapter", adapter_name
    )
    assert json.loads(stats.stdout) == {"num_clients": 0, "num_users": 0}
    info = cli.run("api", "info", "--adapter", adapter_name)
    assert info.returncode == Exit.OK
    assert json.loads(info.stdout)["nodes"]


# -- tokens -----------------------------------------------------------------------------------


def test_gentoken_connection_token_is_accepted(cli: Cli, centrifugo: CentrifugoServer) -> None:
    before = int(time.time())
    made = cli.run("gentoken", "--secret", centrifugo.hmac_secret, "--user", "ivan", "--ttl", "600")
    token = made.stdout.strip()
    assert made.returncode == Exit.OK
    assert made.stdout == token + "\n"
    assert made.stderr == ""
    claims = jwt.decode(token, centrifugo.hmac_secret, algorithms=["HS256"])
    assert claims["sub"] == "ivan"
    assert before + 600 <= claims["exp"] <= int(time.time()) + 600
    channel = unique("chat:cli-")
    done = cli.run("presence", channel, "--as-subscriber", "--token", token)
    assert done.returncode == Exit.OK, done.stderr
    assert [record["user"] for record in lines_of(done.stdout)] == ["ivan"]


def test_gentoken_subscription_token_opens_a_private_channel(
    cli: Cli, centrifugo: CentrifugoServer
) -> None:
    channel = unique("private:cli-")
    secret = centrifugo.hmac_secret
    sub_token = cli.run(
        "gentoken", "--secret", secret, "--user", "jane", "--channel", channel
    ).stdout.strip()
    claims = jwt.decode(sub_token, secret, algorithms=["HS256"])
    assert (claims["sub"], claims["channel"]) == ("jane", channel)
    token = token_for(centrifugo, "jane")
    refused = cli.run("subscribe", channel, "--token", token)
    assert refused.returncode == Exit.SUBSCRIBE_DENIED
    sub = cli.start(
        "subscribe", channel, "--token", token, "--sub-token", sub_token, "--count", "1"
    )
    subscribed(sub)
    publish_api(centrifugo, channel, "secret")
    assert json.loads(sub.line())["data"] == "secret"
    assert sub.wait() == Exit.OK


def test_gentoken_legacy_is_the_seed_formula(cli: Cli) -> None:
    made = cli.run(
        "gentoken", "--legacy", "--secret", "s", "--user", "42", "--timestamp", "17", "--info", "i"
    )
    assert made.stdout == generate_token("s", "42", "17", "i") + "\n"
    sign = cli.run("gentoken", "--legacy", "--secret", "s", "--client", "c", "--channel", "$x")
    assert sign.stdout == generate_token("s", "c", "$x", "") + "\n"


# -- failures: one exit code each -------------------------------------------------------------


def assert_fails(done: subprocess.CompletedProcess[str], code: Exit, *fragments: str) -> None:
    assert done.returncode == code, (done.returncode, done.stderr)
    assert done.stdout == ""
    assert done.stderr.startswith("centrifugo-proto: "), done.stderr
    assert "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in done.stderr


def test_each_failure_has_its_exit_code(
    cli: Cli, centrifugo: CentrifugoServer, adapter_name: str
) -> None:
    token = token_for(centrifugo, "kim")
    on = ("--adapter", adapter_name)
    assert_fails(
        cli.run("publish", "chat:x", "1", "--url", "http://x/", *on), Exit.BAD_URL, "--url"
    )
    nobody = f"ws://127.0.0.1:{free_port()}/connection/websocket"
    refused = cli.run("publish", "chat:x", "1", "--url", nobody, *on)
    assert_fails(refused, Exit.CANNOT_CONNECT, f"cannot connect to {nobody}", "transport failed")
    expired = connection_token(centrifugo.hmac_secret, "kim", exp=int(time.time()) - 60)
    assert_fails(
        cli.run("publish", "chat:x", "1", "--token", expired, *on),
        Exit.TOKEN_EXPIRED,
        "token expired",
    )
    bad = cli.run("publish", "chat:x", "1", "--token", "not-a-jwt", *on)
    assert_fails(bad, Exit.CONNECT_REFUSED, "invalid token")
    denied = cli.run("subscribe", unique("private:cli-"), "--token", token, *on)
    assert_fails(denied, Exit.SUBSCRIBE_DENIED, "permission denied")
    refused_rpc = cli.run("rpc", "refuse", "{}", "--token", token, *on)
    assert_fails(refused_rpc, Exit.COMMAND_FAILED, "1000: refused")
    api_error = cli.run("api", "publish", '{"channel": ""}', *on)
    assert_fails(api_error, Exit.API_ERROR, "107")
    wrong_key = cli.run("api", "info", "--api-key", "wrong", *on)
    assert_fails(wrong_key, Exit.API_HTTP_ERROR, "401")
    assert_fails(cli.run("publish", "chat:x", "{oops", *on), Exit.USAGE, "not valid JSON")


def test_a_batch_with_a_failing_item_is_an_api_error(cli: Cli) -> None:
    commands = [{"publish": {"channel": unique("chat:cli-"), "data": 1}}, {"publish": {}}]
    done = cli.run("api", "batch", json.dumps({"commands": commands}))
    assert done.returncode == Exit.API_ERROR
    replies = json.loads(done.stdout)["replies"]
    assert "publish" in replies[0]
    assert replies[1]["error"]["code"] == 107
    assert "1 item(s) failed" in done.stderr


def test_a_silent_server_is_a_timeout(cli: Cli) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        url = f"ws://127.0.0.1:{silent.getsockname()[1]}/connection/websocket"
        done = cli.run("publish", "chat:x", "1", "--url", url, "--timeout", "0.5")
    assert_fails(done, Exit.TIMEOUT, "timed out")


def test_subscribe_ends_when_the_server_unsubscribes_or_disconnects(
    cli: Cli, centrifugo: CentrifugoServer, adapter_name: str
) -> None:
    channel = unique("chat:cli-")
    user = unique("leo-")
    sub = cli.start(
        "subscribe", channel, "--token", token_for(centrifugo, user), "--adapter", adapter_name
    )
    subscribed(sub)
    assert (
        cli.run("api", "unsubscribe", json.dumps({"user": user, "channel": channel})).returncode
        == 0
    )
    assert sub.wait() == Exit.ENDED_BY_SERVER
    assert any("2000: server unsubscribe" in line for line in sub.rest("stderr"))
    sub = cli.start(
        "subscribe", channel, "--token", token_for(centrifugo, user), "--adapter", adapter_name
    )
    subscribed(sub)
    bye = {"user": user, "disconnect": {"code": 4500, "reason": "bye"}}
    assert cli.run("api", "disconnect", json.dumps(bye)).returncode == 0
    assert sub.wait() == Exit.ENDED_BY_SERVER
    assert any("4500: bye" in line for line in sub.rest("stderr"))


def test_a_token_expiring_during_subscribe_ends_it_unless_the_file_is_renewed(
    centrifugo_factory: ServerFactory, tmp_path: Path
) -> None:
    """Two subscribers with a token that expires in 3 s: the one given ``--token``
    ends with exit 6 once the server closes its expired connection; the one given
    ``--token-file``, renewed meanwhile, refreshes and still gets a publication."""
    server = centrifugo_factory({"client.expired_close_delay": "1s"})
    v6 = Cli({"CENTRIFUGO_URL": server.ws_url}, tmp_path)
    short = connection_token(server.hmac_secret, "pia", exp=int(time.time()) + 3)
    token_file = tmp_path / "token"
    token_file.write_text(short)
    channel = unique("chat:cli-")
    static = v6.start("subscribe", channel, "--token", short)
    renewed = v6.start("subscribe", channel, "--token-file", str(token_file), "--count", "1")
    subscribed(static)
    subscribed(renewed)
    token_file.write_text(token_for(server, "pia"))
    assert "refreshed" in renewed.line("stderr", contains="connection token refreshed")
    try:
        assert static.wait() == Exit.TOKEN_EXPIRED
        assert any("109: token expired" in line for line in static.rest("stderr"))
        publish_api(server, channel, "still here")
        assert json.loads(renewed.line())["data"] == "still here"
        assert renewed.wait() == Exit.OK
    finally:
        v6.close()


def test_ctrl_c_ends_subscribe_with_130(
    cli: Cli, centrifugo: CentrifugoServer, adapter_name: str
) -> None:
    sub = cli.start("subscribe", unique("public:cli-"), "--adapter", adapter_name)
    subscribed(sub)
    sub.interrupt()
    assert sub.wait() == Exit.INTERRUPTED
    assert sub.rest("stderr") == ["centrifugo-proto: interrupted"]
    assert sub.rest() == []


def test_a_closed_pipe_ends_subscribe_quietly_with_141(
    cli: Cli, centrifugo: CentrifugoServer, adapter_name: str
) -> None:
    """``subscribe ... | head -n 1``: once head has gone, the next line ends it."""
    channel = unique("public:cli-")
    command = " ".join(
        [*cli.command, "subscribe", channel, "--join-leave", "--adapter", adapter_name]
    )
    script = f'{command} | head -n 1; echo "status=${{PIPESTATUS[0]}}" >&2'
    shell = subprocess.Popen(
        ["bash", "-c", script],
        env=cli.env,
        cwd=cli.cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    piped = Running(shell)
    cli.started.append(piped)
    subscribed(piped)
    for n in range(100):  # each publication is one more line into the closed pipe
        publish_api(centrifugo, channel, n)
        try:
            status = piped.line("stderr", contains="status=", timeout=0.2)
        except AssertionError:
            continue
        break
    else:
        raise AssertionError("subscribe went on writing into a closed pipe")
    assert status == f"status={Exit.BROKEN_PIPE.value}"
    assert piped.wait() == 0
    assert json.loads(piped.line())["channel"] == channel  # what head printed
    assert not [line for line in piped.seen_err if "Traceback" in line or "Exception" in line]


# -- how it is started, and how it is told where ------------------------------------------------


def test_python_m_from_the_repository_root(cli: Cli, centrifugo: CentrifugoServer) -> None:
    """From the root, ``python -m`` imports the source folder, which has no
    ``adapters`` inside: ``__main__`` maps the sibling folder in."""
    helped = cli.run("--help", cwd=ROOT)
    assert helped.returncode == 0, helped.stderr
    assert "usage: centrifugo-proto" in helped.stdout
    for code in Exit:
        assert f"{code.value:>3}  {code.meaning}" in helped.stdout
    probe = "import centrifugo_proto, sys; print(centrifugo_proto.__file__)"
    where = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert Path(where.stdout.strip()).parent == ROOT / "centrifugo_proto"  # the source folder
    channel = unique("public:cli-")
    published = cli.run("publish", channel, '"from the root"', "--adapter", "blocking", cwd=ROOT)
    assert published.returncode == Exit.OK, published.stderr


def test_the_console_script(centrifugo: CentrifugoServer, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("centrifugo-proto")
    console = Cli({"CENTRIFUGO_URL": centrifugo.ws_url}, tmp_path, command=[str(script)])
    done = console.run("history", unique("public:cli-"))
    assert_fails(done, Exit.COMMAND_FAILED, "108: not available")


def test_token_file_and_environment(cli: Cli, centrifugo: CentrifugoServer, tmp_path: Path) -> None:
    channel = unique("chat:cli-")
    token_file = tmp_path / "token"
    token_file.write_text(token_for(centrifugo, "mia") + "\n")
    from_file = cli.run("presence", channel, "--as-subscriber", "--token-file", str(token_file))
    assert [r["user"] for r in lines_of(from_file.stdout)] == ["mia"]
    env = {"CENTRIFUGO_TOKEN": token_for(centrifugo, "noah")}
    from_env = cli.run("presence", channel, "--as-subscriber", env=env)
    assert [r["user"] for r in lines_of(from_env.stdout)] == ["noah"]
    missing = cli.run("presence", channel, "--token-file", str(tmp_path / "none"))
    assert_fails(missing, Exit.USAGE, "token file")
    # Options before the command work as well as after it.
    before = cli.run(
        "--token", token_for(centrifugo, "olga"), "presence", channel, "--as-subscriber"
    )
    assert [r["user"] for r in lines_of(before.stdout)] == ["olga"]


def test_codec_protobuf_carries_json_text_and_shows_json_bytes_as_values(
    cli: Cli, centrifugo: CentrifugoServer, adapter_name: str
) -> None:
    """Protobuf payloads are bytes: DATA_JSON goes as its text's bytes, and bytes
    that are JSON print as the value (as a JSON-mode subscriber prints them);
    other bytes as base64."""
    channel = unique("chat:cli-")
    token = token_for(centrifugo, "quinn")
    on = ("--codec", "protobuf", "--token", token, "--adapter", adapter_name)
    sub = cli.start("subscribe", channel, "--count", "3", *on)
    json_sub = cli.start("subscribe", channel, "--count", "1", "--token", token)
    subscribed(sub)
    subscribed(json_sub)
    assert cli.run("publish", channel, '{"via": "protobuf"}', *on).returncode == Exit.OK
    publish_api(centrifugo, channel, {"via": "api"})
    not_json = base64.b64encode(b"\xff\x00binary").decode()
    assert "error" not in centrifugo.api("publish", {"channel": channel, "b64data": not_json})
    lines = [json.loads(sub.line()) for _ in range(3)]
    assert sub.wait() == Exit.OK
    assert [line.get("data") for line in lines[:2]] == [{"via": "protobuf"}, {"via": "api"}]
    assert lines[2]["data_b64"] == not_json
    assert json.loads(json_sub.line())["data"] == {"via": "protobuf"}  # the same value
    history = cli.run("history", channel, "--as-subscriber", "--limit", "2", *on)
    assert [line["data"] for line in lines_of(history.stdout)] == [
        {"via": "protobuf"},
        {"via": "api"},
    ]
    echo = cli.run("rpc", "echo", '{"x": 1}', *on)
    assert (echo.returncode, json.loads(echo.stdout)) == (Exit.OK, {"x": 1})


def test_codec_is_what_the_client_accepts(cli: Cli) -> None:
    done = cli.run("publish", "public:x", "1", "--codec", "no-such-codec")
    assert_fails(done, Exit.USAGE, "unknown codec 'no-such-codec'")


# -- the 1.x dialect ------------------------------------------------------------------------


def test_protocol_v1_against_centrifugo_1_8(legacy_server: LegacyServer, tmp_path: Path) -> None:
    v1 = Cli({"CENTRIFUGO_URL": legacy_server.ws_url}, tmp_path)
    timestamp = str(int(time.time()))
    token = v1.run(
        "gentoken",
        "--legacy",
        "--secret",
        legacy_server.secret,
        "--user",
        "7",
        "--timestamp",
        timestamp,
    ).stdout.strip()
    creds = ("--protocol", "v1", "--user", "7", "--timestamp", timestamp, "--token", token)
    channel = unique("public:cli-")
    sub = v1.start("subscribe", channel, "--count", "1", *creds)
    subscribed(sub)
    # 1.x lets a client publish only where it is subscribed.
    published = v1.run("publish", channel, '{"v": 1}', "--as-subscriber", *creds)
    assert published.returncode == Exit.OK, published.stderr
    record = json.loads(sub.line())
    assert sub.wait() == Exit.OK
    assert (record["channel"], record["data"], record["info"]["user"]) == (channel, {"v": 1}, "7")
    assert record["uid"]
    history = v1.run("history", channel, "--as-subscriber", *creds)
    assert [r["uid"] for r in lines_of(history.stdout)] == [record["uid"]], history.stderr
    presence = v1.run("presence", channel, "--as-subscriber", *creds)
    assert [r["user"] for r in lines_of(presence.stdout)] == ["7"], presence.stderr
    no_rpc = v1.run("rpc", "echo", "{}", *creds)
    assert_fails(no_rpc, Exit.USAGE, "not in the v1 protocol")
    signed = v1.run(
        "api",
        "publish",
        json.dumps({"channel": channel, "data": 2}),
        "--protocol",
        "v1",
        "--api-key",
        legacy_server.secret,
    )
    assert signed.returncode == Exit.OK, signed.stderr
    assert [
        r["data"] for r in lines_of(v1.run("history", channel, "--as-subscriber", *creds).stdout)
    ] == [{"v": 1}, 2]  # oldest first
    wrong = v1.run("api", "publish", "{}", "--protocol", "v1", "--api-key", "wrong")
    assert_fails(wrong, Exit.API_HTTP_ERROR, "401")
    missing = v1.run("publish", channel, "1", "--protocol", "v1", "--user", "7")
    assert_fails(missing, Exit.USAGE, "--timestamp, --token")
