"""The 1.x harness against the real Centrifugo 1.8.0: config, lifecycle, API, auth endpoint.

These tests use no part of the client library apart from `generate_token` (through the
harness). Where a WebSocket client is needed, `_Ws` plays it: a few lines of wsproto over
a blocking socket that send 1.x commands and read frames one at a time. The frames
expected are those of LEGACY-V1.md §11.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from integration.legacy_fixtures import require_legacy_binary
from integration.resilience_fixtures import FaultProxyFactory
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

from harness import (
    AuthEndpoint,
    ConnectCredentials,
    CredentialsSource,
    HarnessError,
    LegacyApiError,
    LegacyServer,
    LegacyServerFactory,
)
from harness.legacy import build_legacy_config
from harness.legacy_auth import ALL, FOREIGN_CLIENT

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _channel(prefix: str) -> str:
    """A channel no other test uses (the session server is shared)."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


class Closed:
    """The server's close frame: code and reason text."""

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason

    def __repr__(self) -> str:
        return f"Closed({self.code}, {self.reason!r})"


class _Ws:
    """One raw WebSocket to `/connection/websocket`; answers the server's pings.

    `recv()` returns the next text frame decoded (an object, or an array for a batch),
    or `Closed` when the server closes. A test helper, not the product.
    """

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._pending: list[Any] = []
        self._text = ""
        self._sock.sendall(
            self._ws.send(Request(host=f"127.0.0.1:{port}", target="/connection/websocket"))
        )
        self._accepted = False
        deadline = time.monotonic() + timeout
        while not self._accepted:
            self._pump(deadline)

    def __enter__(self) -> _Ws:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._sock.close()

    def send(self, command: Any) -> None:
        self._sock.sendall(self._ws.send(TextMessage(data=json.dumps(command))))

    def recv(self) -> Any:
        deadline = time.monotonic() + self.timeout
        while not self._pending:
            self._pump(deadline)
        return self._pending.pop(0)

    def recv_until(self, uid: str) -> tuple[list[Any], Any]:
        """Frames up to the reply with `uid`: (the pushes before it, the reply)."""
        before: list[Any] = []
        while True:
            frame = self.recv()
            if isinstance(frame, dict) and frame.get("uid") == uid:
                return before, frame
            if isinstance(frame, Closed):
                raise AssertionError(f"closed before reply {uid}: {frame}; got {before}")
            before.append(frame)

    def command(self, uid: str, method: str, params: dict[str, Any] | None = None) -> Any:
        """Send one command and return its reply (pushes before it are dropped)."""
        message: dict[str, Any] = {"uid": uid, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.recv_until(uid)[1]

    def connect(self, credentials: ConnectCredentials) -> Any:
        return self.command("1", "connect", credentials.params())

    def _pump(self, deadline: float) -> None:
        self._sock.settimeout(max(deadline - time.monotonic(), 0.01))
        data = self._sock.recv(65536)
        if not data:
            raise AssertionError(f"TCP connection ended; undelivered: {self._pending}")
        self._ws.receive_data(data)
        for event in self._ws.events():
            if isinstance(event, AcceptConnection):
                self._accepted = True
            elif isinstance(event, RejectConnection):
                raise AssertionError(f"upgrade refused with HTTP {event.status_code}")
            elif isinstance(event, Ping):
                self._sock.sendall(self._ws.send(event.response()))
            elif isinstance(event, TextMessage):
                self._text += event.data
                if event.message_finished:
                    self._pending.append(json.loads(self._text))
                    self._text = ""
            elif isinstance(event, CloseConnection):
                self._pending.append(Closed(event.code, event.reason or ""))


def _post_auth(endpoint: AuthEndpoint, body: Any) -> tuple[int, bytes]:
    """POST `body` (JSON) to the auth endpoint as a 1.x client would; (status, body)."""
    request = urllib.request.Request(
        endpoint.url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


# -- configuration and lifecycle -----------------------------------------------------


def test_the_template_config_passes_checkconfig(legacy_server: LegacyServer) -> None:
    result = legacy_server.check_config()
    assert result.returncode == 0, result.stdout + result.stderr
    assert [ns["name"] for ns in legacy_server.config["namespaces"]] == ["public", "bare"]


def test_every_generated_config_passes_checkconfig(legacy_factory: LegacyServerFactory) -> None:
    configs: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
        ({}, []),
        (
            {
                "connection_lifetime": 5,
                "expired_connection_close_delay": 1,
                "ping_interval": 2,
                "stale_connection_close_delay": 3,
                "client_request_max_size": 4096,
            },
            [],
        ),
        ({"presence": None, "recover": False}, [{"name": "extra", "history_size": 5}]),
    ]
    for overrides, namespaces in configs:
        server = legacy_factory(overrides, namespaces=namespaces, start=False)
        result = server.check_config()
        assert result.returncode == 0, (overrides, result.stdout + result.stderr)
    extra = legacy_factory.servers[-1].config
    assert "presence" not in extra
    assert [ns["name"] for ns in extra["namespaces"]] == ["public", "bare", "extra"]


def test_checkconfig_rejects_a_bad_namespace_and_start_reports_it() -> None:
    # 1.8.0 wants namespace names matching ^[-a-zA-Z0-9_]{2,}$ (the kit's README).
    server = LegacyServer(binary=require_legacy_binary(), namespaces=[{"name": "x"}])
    try:
        result = server.check_config()
        assert result.returncode != 0
        assert "[F]" in result.stdout + result.stderr
        with pytest.raises(HarnessError, match="checkconfig"):
            server.start()
        assert not server.is_running()
    finally:
        server.close()


@pytest.mark.parametrize(
    ("overrides", "namespaces", "problem"),
    [
        ({"conection_lifetime": 5}, [], "unknown key 'conection_lifetime'"),
        ({"connection_lifetime": "5s"}, [], "'connection_lifetime' must be an int"),
        ({"presence": 1}, [], "'presence' must be a bool"),
        ({"port": 8000}, [], "'port' is set by the harness"),
        ({}, [{"name": "typo", "anonymus": True}], "namespace 'typo': unknown key 'anonymus'"),
        ({}, [{"name": "n1", "history_size": True}], "'history_size' must be an int"),
    ],
)
def test_overrides_1_8_0_would_ignore_are_refused(
    overrides: dict[str, Any], namespaces: list[dict[str, Any]], problem: str
) -> None:
    # 1.8.0's checkconfig passes all of these (exit 0); the server would ignore them.
    with pytest.raises(HarnessError, match=re.escape(problem)):
        build_legacy_config(overrides, namespaces=namespaces)


def test_1_8_0_checkconfig_itself_passes_what_the_harness_refuses(tmp_path: Path) -> None:
    # Why the harness checks keys: the server's own check lets these through.
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "secret": "s",
                "conection_lifetime": 5,
                "connection_lifetime": "5s",
                "namespaces": [{"name": "typo", "anonymus": True}],
            }
        )
    )
    binary = require_legacy_binary()
    result = subprocess.run(
        [str(binary), "checkconfig", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_server_listens_on_loopback_and_answers_info(legacy_server: LegacyServer) -> None:
    assert legacy_server.info_status() == 200
    log = legacy_server.log_path.read_text()
    assert "Version: 1.8.0" in log
    assert f"on 127.0.0.1:{legacy_server.port}" in log


def test_stop_ends_the_process_and_frees_the_port(legacy_factory: LegacyServerFactory) -> None:
    server = legacy_factory()
    server.stop()
    assert not server.is_running()
    assert server.info_status() is None
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", server.port))  # raises if the server still listened


def test_leaving_the_with_block_stops_the_server_on_an_exception() -> None:
    server = LegacyServer(binary=require_legacy_binary())
    seen_running: list[bool] = []

    def fail_inside() -> None:
        with server:
            seen_running.append(server.is_running())
            raise LookupError("test failure inside the block")

    with pytest.raises(LookupError):
        fail_inside()
    assert seen_running == [True]
    assert not server.is_running()
    assert not server.workdir.exists()


def test_caller_centrifugo_env_does_not_reach_the_server(
    monkeypatch: pytest.MonkeyPatch, legacy_factory: LegacyServerFactory
) -> None:
    # 1.8.0 would read this as `secret`; the server must keep the template's.
    monkeypatch.setenv("CENTRIFUGO_SECRET", "from-the-environment")
    server = legacy_factory()
    with _Ws(server.port) as ws:
        assert ws.connect(server.credentials("42"))["body"]["client"]


# -- missing binary: skip outside CI, fail in CI ---------------------------------------


def test_a_missing_kit_skips_with_its_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CENTRIFUGO_LEGACY_BIN", os.fspath(tmp_path / "no-binary"))
    monkeypatch.setenv("CENTRIFUGO_LEGACY_KIT", os.fspath(tmp_path / "no-kit"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"`\.\./shared/legacy-server` was not found"):
        require_legacy_binary()


def test_a_kit_not_built_yet_skips_asking_for_make(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "build.sh").write_text("#!/bin/sh\n")
    monkeypatch.setenv("CENTRIFUGO_LEGACY_BIN", os.fspath(tmp_path / "no-binary"))
    monkeypatch.setenv("CENTRIFUGO_LEGACY_KIT", os.fspath(tmp_path))
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="run `make legacy-server`"):
        require_legacy_binary()


def test_in_ci_a_missing_binary_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CENTRIFUGO_LEGACY_BIN", os.fspath(tmp_path / "no-binary"))
    monkeypatch.setenv("CENTRIFUGO_LEGACY_KIT", os.fspath(tmp_path / "no-kit"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI needs the Centrifugo 1\.8\.0 server"):
        require_legacy_binary()


def test_a_binary_of_another_version_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    impostor = tmp_path / "centrifugo"
    impostor.write_text("#!/bin/sh\necho 'Centrifugo v6.9.1'\n")
    impostor.chmod(0o755)
    monkeypatch.setenv("CENTRIFUGO_LEGACY_BIN", os.fspath(impostor))
    with pytest.raises(HarnessError, match=r"is not Centrifugo 1\.8\.0"):
        require_legacy_binary()


# -- connect (LEGACY-V1.md §11.1, §11.7, §11.8) -----------------------------------------


def test_connect_with_an_hmac_token_gives_version_and_client_id(
    legacy_server: LegacyServer,
) -> None:
    with _Ws(legacy_server.port) as ws:
        reply = ws.connect(legacy_server.credentials("42"))
    assert list(reply) == ["uid", "method", "body"]
    assert reply["uid"] == "1"
    assert reply["method"] == "connect"
    body = reply["body"]
    assert body["version"] == "1.8.0"
    assert UUID4.match(body["client"]), body
    assert (body["expires"], body["expired"], body["ttl"]) == (False, False, 0)


def test_a_wrong_token_closes_with_3000_invalid_token(legacy_server: LegacyServer) -> None:
    good = legacy_server.credentials("42")
    wrong = ConnectCredentials(good.user, good.timestamp, "0" * 64, good.info)
    with _Ws(legacy_server.port) as ws:
        ws.send({"uid": "1", "method": "connect", "params": wrong.params()})
        closed = ws.recv()
    assert isinstance(closed, Closed), closed
    assert closed.code == 3000
    assert closed.reason == '{"reason":"invalid token","reconnect":false}'


def test_connection_lifetime_gives_expires_with_its_ttl(
    legacy_factory: LegacyServerFactory,
) -> None:
    server = legacy_factory({"connection_lifetime": 30})
    with _Ws(server.port) as ws:
        fresh = ws.connect(server.credentials("42"))["body"]
    assert (fresh["expires"], fresh["expired"], fresh["ttl"]) == (True, False, 30)
    assert UUID4.match(fresh["client"])
    with _Ws(server.port) as ws:
        stale = ws.connect(server.credentials("42", age=60))["body"]
    # An expired connect has no client id and stays unauthenticated (§11.8).
    assert (stale["expires"], stale["expired"], stale["ttl"], stale["client"]) == (
        True,
        True,
        30,
        "",
    )


def test_a_credentials_source_refreshes_a_connection(legacy_factory: LegacyServerFactory) -> None:
    server = legacy_factory({"connection_lifetime": 30})
    source = CredentialsSource(server.secret, "42", info='{"name":"Alice"}')
    with _Ws(server.port) as ws:
        client = ws.connect(source())["body"]["client"]
        refreshed = ws.command("2", "refresh", source().params())
        source.age = 120
        stale = ws.command("3", "refresh", source().params())
    assert refreshed["body"]["client"] == client
    assert refreshed["body"]["expired"] is False
    assert stale["body"]["expired"] is True
    assert source.calls == 3
    stamps = [int(credentials.timestamp) for credentials in source.issued]
    assert stamps[2] < stamps[1] - 100
    source.error = PermissionError("refresh refused")
    with pytest.raises(PermissionError):
        source()
    assert source.calls == 4


# -- HTTP API (LEGACY-V1.md §11.9) and the message push (§11.3) ------------------------


def test_signed_api_publish_reaches_a_subscriber(legacy_server: LegacyServer) -> None:
    channel = _channel("public:")
    with _Ws(legacy_server.port) as ws:
        client = ws.connect(legacy_server.credentials("42"))["body"]["client"]
        ws.send({"uid": "2", "method": "subscribe", "params": {"channel": channel}})
        pushes, reply = ws.recv_until("2")
        assert reply["body"]["status"] is True
        # join_leave is on in `public`: the subscriber's own join comes first (§11.2).
        assert pushes == [
            {
                "method": "join",
                "body": {"channel": channel, "data": {"user": "42", "client": client}},
            }
        ]
        entry = legacy_server.publish(channel, {"text": "hello from API"})
        assert entry == {"method": "publish", "error": None, "body": None}
        message = ws.recv()
    assert message["method"] == "message"
    assert list(message["body"]) == ["uid", "channel", "data"]
    assert message["body"]["channel"] == channel
    assert message["body"]["data"] == {"text": "hello from API"}
    assert len(message["body"]["uid"]) == 22


def test_api_batch_and_refusals(legacy_server: LegacyServer) -> None:
    channel = _channel("public:")
    replies = legacy_server.api(
        [
            {"method": "publish", "params": {"channel": channel, "data": {"n": 1}}},
            {"method": "publish", "params": {"channel": channel, "data": {"n": 2}}},
            {"method": "history", "params": {"channel": channel}},
            {"method": "publish", "params": {"channel": "nope:x", "data": {}}},
        ]
    )
    assert [r["method"] for r in replies] == ["publish", "publish", "history", "publish"]
    # History is newest first (§11.4).
    assert [m["data"] for m in replies[2]["body"]["data"]] == [{"n": 2}, {"n": 1}]
    assert (replies[3]["error"], replies[3]["advice"]) == ("namespace not found", "fix")
    command = {"method": "publish", "params": {"channel": channel, "data": {}}}
    with pytest.raises(LegacyApiError) as wrong:
        legacy_server.api(command, sign="0" * 64)
    assert wrong.value.status == 401
    with pytest.raises(LegacyApiError) as unsigned:
        legacy_server.api(command, sign="")
    assert unsigned.value.status == 400


def test_a_namespace_with_options_off_is_not_available(legacy_server: LegacyServer) -> None:
    channel = _channel("bare:")
    with _Ws(legacy_server.port) as ws:
        ws.connect(legacy_server.credentials("42"))
        assert ws.command("2", "subscribe", {"channel": channel})["body"]["status"] is True
        presence = ws.command("3", "presence", {"channel": channel})
        history = ws.command("4", "history", {"channel": channel})
    assert (presence["error"], presence["advice"]) == ("not available", "retry")
    assert (history["error"], history["advice"]) == ("not available", "retry")


# -- private channels through the auth endpoint (LEGACY-V1.md §6, §11.2) --------------


def test_auth_endpoint_signs_let_private_subscribes_succeed(
    legacy_server: LegacyServer, legacy_auth: AuthEndpoint
) -> None:
    first, second = _channel("$"), _channel("$")
    legacy_auth.infos[second] = '{"role":"admin"}'
    with _Ws(legacy_server.port) as ws:
        client = ws.connect(legacy_server.credentials("42"))["body"]["client"]
        status, raw = _post_auth(legacy_auth, {"client": client, "channels": [first, second]})
        assert status == 200
        answer = json.loads(raw)
        assert answer[second]["info"] == '{"role":"admin"}'
        for uid, channel in (("2", first), ("3", second)):
            params = {"channel": channel, "client": client, **answer[channel]}
            reply = ws.command(uid, "subscribe", params)
            assert reply["body"]["status"] is True, reply
    (request,) = legacy_auth.requests
    assert (request.client, request.channels) == (client, (first, second))
    assert request.path == "/centrifuge/auth/"
    assert request.header("content-type") == "application/json"
    assert request.header("X-Requested-With") == "XMLHttpRequest"


def test_a_sign_for_another_client_is_permission_denied(
    legacy_server: LegacyServer, legacy_auth: AuthEndpoint
) -> None:
    channel = _channel("$")
    legacy_auth.foreign.add(channel)
    with _Ws(legacy_server.port) as ws:
        client = ws.connect(legacy_server.credentials("42"))["body"]["client"]
        _, raw = _post_auth(legacy_auth, {"client": client, "channels": [channel]})
        answer = json.loads(raw)[channel]
        assert answer["sign"] == legacy_auth.sign(FOREIGN_CLIENT, channel)
        reply = ws.command("2", "subscribe", {"channel": channel, "client": client, **answer})
    assert (reply["error"], reply["advice"]) == ("permission denied", "fix")
    assert reply["body"]["status"] is False


def test_auth_endpoint_list_format(legacy_auth: AuthEndpoint) -> None:
    legacy_auth.answer_format = "list"
    legacy_auth.deny["$b"] = 403
    status, raw = _post_auth(legacy_auth, {"client": "c1", "channels": ["$a", "$b"]})
    assert status == 200
    assert json.loads(raw) == {
        "channels": [
            {"channel": "$a", "sign": legacy_auth.sign("c1", "$a"), "info": ""},
            {"channel": "$b", "status": 403},
        ]
    }


def test_auth_endpoint_faults(legacy_auth: AuthEndpoint) -> None:
    request = {"client": "c1", "channels": ["$a", "$b"]}
    legacy_auth.omit.add("$b")
    assert json.loads(_post_auth(legacy_auth, request)[1]) == {
        "$a": {"sign": legacy_auth.sign("c1", "$a"), "info": ""}
    }
    legacy_auth.omit.clear()
    legacy_auth.deny[ALL] = 403
    assert json.loads(_post_auth(legacy_auth, request)[1]) == {
        "$a": {"status": 403},
        "$b": {"status": 403},
    }
    legacy_auth.deny.clear()
    legacy_auth.malformed = True
    status, raw = _post_auth(legacy_auth, request)
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    legacy_auth.malformed = False
    legacy_auth.http_status = 403
    assert _post_auth(legacy_auth, request)[0] == 403
    legacy_auth.http_status = 200
    assert _post_auth(legacy_auth, {"channels": "$a"})[0] == 400
    assert len(legacy_auth.wait_for_requests(5)) == 5
    assert legacy_auth.requests[-1].client is None


def test_auth_endpoint_down_refuses_connections_then_comes_back(
    legacy_auth: AuthEndpoint,
) -> None:
    url = legacy_auth.url
    legacy_auth.down()
    with pytest.raises(urllib.error.URLError) as refused:
        _post_auth(legacy_auth, {"client": "c1", "channels": ["$a"]})
    assert isinstance(refused.value.reason, ConnectionRefusedError)
    legacy_auth.up()
    assert legacy_auth.url == url
    assert _post_auth(legacy_auth, {"client": "c1", "channels": ["$a"]})[0] == 200


# -- TCP faults between client and server ---------------------------------------------


def test_a_fault_proxy_cut_ends_a_legacy_connection(
    legacy_server: LegacyServer, fault_proxy: FaultProxyFactory
) -> None:
    proxy = fault_proxy(legacy_server)
    with _Ws(proxy.address[1]) as ws:
        assert ws.connect(legacy_server.credentials("42"))["body"]["client"]
        proxy.wait_for_connections(1)
        assert proxy.cut() == 1
        with pytest.raises(AssertionError, match="TCP connection ended"):
            ws.recv()
