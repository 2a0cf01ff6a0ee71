"""The harness against a real Centrifugo: configuration, lifecycle, HTTP API, RPC proxy.

These tests use no part of the client library. Where a WebSocket client is needed, a
few lines of wsproto over a blocking socket play it (`_ws_exchange`).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from harness import CentrifugoServer, HarnessError, RpcBackend, ServerFactory, merge_config


def _channel(namespace: str) -> str:
    """A channel no other test uses (the session server is shared)."""
    return f"{namespace}:{uuid.uuid4().hex[:12]}"


Message = dict[str, Any] | tuple[str, int, str]


def _ws_exchange(
    server: CentrifugoServer, commands: list[dict[str, Any]], timeout: float = 5.0
) -> list[Message]:
    """Send each command after the previous reply; every message received, in order.

    Replies (with an `id`) and pushes come as decoded JSON objects; a close frame from
    the server ends the exchange and appears as `("close", code, reason)`.
    """
    ws = WSConnection(ConnectionType.CLIENT)
    messages: list[Message] = []
    pending = [json.dumps(command) for command in commands]
    replies = 0
    text = ""
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        request = Request(host=f"127.0.0.1:{server.port}", target="/connection/websocket")
        sock.sendall(ws.send(request))
        while replies < len(commands):
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            data = sock.recv(65536)
            if not data:
                raise AssertionError(f"server closed the connection; received: {messages}")
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, AcceptConnection):
                    sock.sendall(ws.send(TextMessage(data=pending.pop(0))))
                elif isinstance(event, TextMessage):
                    text += event.data
                    if not event.message_finished:
                        continue
                    decoded = [json.loads(line) for line in text.splitlines() if line]
                    text = ""
                    messages.extend(decoded)
                    answered = sum(1 for message in decoded if "id" in message)
                    replies += answered
                    if answered and pending:
                        sock.sendall(ws.send(TextMessage(data=pending.pop(0))))
                elif isinstance(event, CloseConnection):
                    messages.append(("close", event.code, event.reason))
                    return messages
    return messages


def _replies(messages: list[Message]) -> list[dict[str, Any]]:
    """The command replies among `messages` (pushes and close frames left out)."""
    return [m for m in messages if isinstance(m, dict) and "id" in m]


# -- configuration ------------------------------------------------------------------------


def test_generated_config_passes_checkconfig_strict(centrifugo: CentrifugoServer) -> None:
    result = centrifugo.check_config()
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkconfig_strict_rejects_an_unknown_key() -> None:
    server = CentrifugoServer({"no_such_option": True})
    try:
        result = server.check_config()
        assert result.returncode != 0
        assert "no_such_option" in result.stdout + result.stderr
        with pytest.raises(HarnessError, match="checkconfig --strict"):
            server.start()
        assert not server.is_running()
    finally:
        server.close()


def test_server_listens_on_loopback_only(centrifugo: CentrifugoServer) -> None:
    assert centrifugo.config["http_server"] == {"address": "127.0.0.1", "port": centrifugo.port}
    assert f"on 127.0.0.1:{centrifugo.port}" in centrifugo.log_path.read_text()


def test_overrides_merge_into_the_template() -> None:
    base = {"client": {"ping_interval": "25s", "pong_timeout": "8s"}, "log": {"level": "info"}}
    merged = merge_config(
        base,
        {"client.ping_interval": "2s", "client": {"pong_timeout": "1s"}, "log": None},
    )
    assert merged == {"client": {"ping_interval": "2s", "pong_timeout": "1s"}}
    assert base["client"]["ping_interval"] == "25s", "the base must not change"
    assert merge_config({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}, "lists are replaced"


def test_rpc_proxy_is_configured_for_methods_without_namespace(
    centrifugo: CentrifugoServer, rpc_backend: RpcBackend
) -> None:
    assert centrifugo.config["rpc"]["proxy"]["endpoint"] == rpc_backend.url
    assert centrifugo.config["rpc"]["without_namespace"]["proxy_enabled"] is True
    assert "RPC proxy enabled for methods without namespace" in centrifugo.log_path.read_text()


# -- HTTP endpoints ---------------------------------------------------------------------------


def test_health_answers_200(centrifugo: CentrifugoServer) -> None:
    assert centrifugo.health_status() == 200


def test_api_publish_returns_a_stream_position(centrifugo: CentrifugoServer) -> None:
    reply = centrifugo.api("publish", {"channel": "chat:room1", "data": {"text": "hi"}})
    assert "error" not in reply
    # `chat` keeps history, so the result carries the publication's stream position.
    assert reply["result"]["offset"] >= 1
    assert reply["result"]["epoch"]


def test_api_info_shows_one_node(centrifugo: CentrifugoServer) -> None:
    nodes = centrifugo.api("info", {})["result"]["nodes"]
    assert len(nodes) == 1
    assert nodes[0]["uid"]


def test_api_history_returns_published_data_in_order(centrifugo: CentrifugoServer) -> None:
    channel = _channel("chat")
    for n in (1, 2):
        assert "result" in centrifugo.api("publish", {"channel": channel, "data": {"n": n}})
    result = centrifugo.api("history", {"channel": channel, "limit": 10})["result"]
    publications = result["publications"]
    assert [p["data"] for p in publications] == [{"n": 1}, {"n": 2}]
    assert [p["offset"] for p in publications] == [1, 2]
    assert result["offset"] == 2
    assert result["epoch"]


def test_api_error_is_returned_not_raised(centrifugo: CentrifugoServer) -> None:
    reply = centrifugo.api("publish", {"channel": "nosuchnamespace:x", "data": {}})
    assert reply["error"]["code"] == 102  # unknown channel


def test_api_with_a_wrong_key_raises(centrifugo: CentrifugoServer) -> None:
    with pytest.raises(HarnessError, match="HTTP 401"):
        centrifugo.api("info", {}, api_key="wrong-key")


# -- WebSocket and RPC proxy ---------------------------------------------------------------


def test_websocket_connect_reports_the_configured_ping(centrifugo: CentrifugoServer) -> None:
    (reply,) = _replies(_ws_exchange(centrifugo, [{"id": 1, "connect": {}}]))
    assert reply["id"] == 1
    assert reply["connect"]["ping"] == 25
    assert reply["connect"]["pong"] is True
    assert reply["connect"]["client"]


def test_a_token_signed_with_the_hmac_secret_authenticates(centrifugo: CentrifugoServer) -> None:
    # PyJWT warns about HMAC keys under 32 bytes, and the suite turns warnings into
    # errors: the template's secret must stay long enough for tests to mint tokens.
    token = jwt.encode({"sub": "42"}, centrifugo.hmac_secret, algorithm="HS256")
    channel = _channel("chat")
    messages = _ws_exchange(
        centrifugo,
        [
            {"id": 1, "connect": {"token": token}},
            {"id": 2, "subscribe": {"channel": channel}},
            {"id": 3, "presence": {"channel": channel}},
        ],
    )
    connect, subscribe, presence = _replies(messages)
    client = connect["connect"]["client"]
    # `chat` admits authenticated users only, with forced recovery and presence.
    assert subscribe["subscribe"]["recoverable"] is True
    assert subscribe["subscribe"]["positioned"] is True
    assert presence["presence"]["presence"] == {client: {"user": "42", "client": client}}


def test_a_token_signed_with_another_secret_is_refused(centrifugo: CentrifugoServer) -> None:
    token = jwt.encode({"sub": "42"}, "another-secret-of-at-least-32-bytes", algorithm="HS256")
    messages = _ws_exchange(centrifugo, [{"id": 1, "connect": {"token": token}}])
    assert messages == [("close", 3500, "invalid token")]


def test_rpc_goes_through_the_proxy_backend(
    centrifugo: CentrifugoServer, rpc_backend: RpcBackend
) -> None:
    marker = uuid.uuid4().hex
    replies = _ws_exchange(
        centrifugo,
        [
            {"id": 1, "connect": {}},
            {"id": 2, "rpc": {"method": "echo", "data": {"marker": marker}}},
            {"id": 3, "rpc": {"method": "refuse", "data": {}}},
            {"id": 4, "rpc": {"method": "no_such_method"}},
        ],
    )
    connect, echo, refuse, unknown = _replies(replies)
    assert echo == {"id": 2, "rpc": {"data": {"marker": marker}}}
    assert refuse == {"id": 3, "error": {"code": 1000, "message": "refused"}}
    assert unknown == {"id": 4, "error": {"code": 404, "message": "method not found"}}
    (request,) = [r for r in rpc_backend.requests if r.get("data") == {"marker": marker}]
    assert request["method"] == "echo"
    assert request["client"] == connect["connect"]["client"]
    assert request["transport"] == "websocket"
    assert request["user"] == ""


def test_rpc_disconnect_method_closes_with_its_code(centrifugo: CentrifugoServer) -> None:
    replies = _ws_exchange(
        centrifugo, [{"id": 1, "connect": {}}, {"id": 2, "rpc": {"method": "disconnect"}}]
    )
    assert replies[-1] == ("close", 4500, "bye")


def test_rpc_without_proxy_is_not_available(centrifugo_factory: ServerFactory) -> None:
    server = centrifugo_factory(rpc=False)
    assert server.config["rpc"]["without_namespace"]["proxy_enabled"] is False
    replies = _ws_exchange(
        server, [{"id": 1, "connect": {}}, {"id": 2, "rpc": {"method": "echo", "data": {}}}]
    )
    assert _replies(replies)[1] == {"id": 2, "error": {"code": 108, "message": "not available"}}


# -- lifecycle ---------------------------------------------------------------------------------


def test_server_with_overrides_starts_and_applies_them(centrifugo_factory: ServerFactory) -> None:
    server = centrifugo_factory({"client.ping_interval": "2s", "client.pong_timeout": "1s"})
    assert server.health_status() == 200
    assert server.config["client"]["ping_interval"] == "2s"
    (reply,) = _replies(_ws_exchange(server, [{"id": 1, "connect": {}}]))
    assert reply["connect"]["ping"] == 2


def test_kill_then_start_brings_the_server_back(centrifugo_factory: ServerFactory) -> None:
    server = centrifugo_factory()
    first_pid = server.pid
    before = server.api("publish", {"channel": "chat:room1", "data": {"n": 1}})["result"]

    server.kill()
    assert not server.is_running()
    assert server.health_status() is None, "nothing may answer on the port after SIGKILL"

    server.start()
    assert server.is_running()
    assert server.pid != first_pid
    assert server.health_status() == 200
    after = server.api("publish", {"channel": "chat:room1", "data": {"n": 2}})["result"]
    # The memory engine lost the stream: a new epoch, counting from 1 again.
    assert after["offset"] == 1
    assert after["epoch"] != before["epoch"]


def test_stop_ends_the_process_and_frees_the_port(centrifugo_factory: ServerFactory) -> None:
    server = centrifugo_factory()
    server.stop()
    assert not server.is_running()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", server.port))  # raises if Centrifugo still listened


def test_leaving_the_with_block_stops_the_server_on_an_exception() -> None:
    server = CentrifugoServer()
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


def test_a_server_that_exits_at_startup_is_an_error_with_its_log() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = CentrifugoServer(port=taken.getsockname()[1])
        try:
            with pytest.raises(HarnessError, match="exited with code") as excinfo:
                server.start()
            assert "address already in use" in str(excinfo.value)
        finally:
            server.close()


def test_a_missing_binary_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CENTRIFUGO_BIN", os.fspath(tmp_path / "no-centrifugo-here"))
    with pytest.raises(HarnessError, match="no Centrifugo binary"):
        CentrifugoServer()


def test_caller_centrifugo_env_does_not_reach_the_server(
    monkeypatch: pytest.MonkeyPatch, centrifugo_factory: ServerFactory
) -> None:
    # Centrifugo would read this as http_server.port and listen elsewhere.
    monkeypatch.setenv("CENTRIFUGO_HTTP_SERVER_PORT", "1")
    server = centrifugo_factory()
    assert server.health_status() == 200
