"""The resilience infrastructure on its own: Redis, Centrifugo on Redis, a cluster, the
fault proxy.

No part of the client library is used: the server is driven through its HTTP API and
a raw WebSocket client written here (`RawClient`, wsproto over a blocking socket,
JSON protocol).
"""

from __future__ import annotations

import json
import socket
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from integration.resilience_fixtures import FaultProxyFactory
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from harness import (
    CentrifugoCluster,
    CentrifugoServer,
    RedisServer,
    ServerFactory,
    soak_overrides,
)

Message = dict[str, Any]


class Closed(Exception):
    """The connection ended: EOF, a reset or a WebSocket close frame."""


class RawClient:
    """A minimal Centrifugo client: one blocking socket, wsproto, the JSON protocol.

    Server pings (`{}`) are answered with `{}` when the connect reply asked for pongs.
    Every other message (replies and pushes) is kept in arrival order.
    """

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1", "loopback only"
        assert parts.port is not None
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.pending: list[Message] = []
        self.pings = 0
        self.pong = False
        self._text = ""
        self._accepted = False
        self._next_id = 1
        self.sock.sendall(self.ws.send(Request(host=parts.netloc, target=parts.path or "/")))
        deadline = time.monotonic() + timeout
        try:
            while not self._accepted:
                self._read(deadline)
        except BaseException:
            self.sock.close()
            raise

    # -- sending -------------------------------------------------------------------------

    def send(self, command: Message) -> None:
        self.sock.sendall(self.ws.send(TextMessage(data=json.dumps(command))))

    def request(self, method: str, params: Message) -> int:
        """Send a command; its id."""
        command_id = self._next_id
        self._next_id += 1
        self.send({"id": command_id, method: params})
        return command_id

    def call(self, method: str, params: Message, timeout: float = 5.0) -> Message:
        """Send a command and wait for its reply; pushes received meanwhile are kept."""
        command_id = self.request(method, params)
        return self.wait_reply(command_id, timeout)

    def connect(self) -> Message:
        reply = self.call("connect", {})
        assert "error" not in reply, reply
        self.pong = bool(reply["connect"].get("pong"))
        return reply["connect"]

    def subscribe(self, channel: str, **params: Any) -> Message:
        reply = self.call("subscribe", {"channel": channel, **params}, timeout=30)
        assert "error" not in reply, reply
        return reply["subscribe"]

    # -- receiving -----------------------------------------------------------------------

    def wait_reply(self, command_id: int, timeout: float = 5.0) -> Message:
        return self.wait_for(lambda m: m.get("id") == command_id, timeout)

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> Message:
        """The first message (taken out of `pending`) that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            for index, message in enumerate(self.pending):
                if predicate(message):
                    return self.pending.pop(index)
            self._read(deadline)

    def wait_silent(self, seconds: float) -> None:
        """Assert that nothing at all arrives for `seconds`, and no EOF either."""
        deadline = time.monotonic() + seconds
        before = len(self.pending)
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                break
            raise AssertionError(f"received {data!r} while expecting silence")
        assert len(self.pending) == before

    def read_until_closed(self, timeout: float = 5.0) -> BaseException:
        """Read until the connection ends; the exception that ended it."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._read(deadline)
        except (Closed, ConnectionResetError) as exc:
            return exc

    def close(self) -> None:
        self.sock.close()

    def _read(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"nothing expected arrived in time; pending: {self.pending}")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            raise Closed("EOF")
        self.ws.receive_data(data)
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                self._accepted = True
            elif isinstance(event, CloseConnection):
                raise Closed(f"close frame {event.code} {event.reason!r}")
            elif isinstance(event, TextMessage):
                self._text += event.data
                if event.message_finished:
                    text, self._text = self._text, ""
                    for line in text.splitlines():
                        if line:
                            self._on_message(json.loads(line))

    def _on_message(self, message: Message) -> None:
        if message == {}:
            self.pings += 1
            if self.pong:
                self.send({})
        else:
            self.pending.append(message)


def _channel() -> str:
    return f"soak:{uuid.uuid4().hex[:12]}"


def _is_pub(channel: str) -> Any:
    return lambda m: m.get("push", {}).get("channel") == channel and "pub" in m["push"]


def _subscribers(server: CentrifugoServer, channel: str) -> int:
    """Clients subscribed to `channel` on `server` now (the `channels` API is live;
    `num_clients` in `info` is refreshed only every few seconds)."""
    channels = server.api("channels", {"pattern": channel})["result"]["channels"]
    return int(channels.get(channel, {}).get("num_clients", 0))


def _wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout:g}s: {what}")
        time.sleep(0.05)


def _publish(server: CentrifugoServer, channel: str, data: Any) -> Message:
    reply = server.api("publish", {"channel": channel, "data": data})
    assert "error" not in reply, reply
    return reply["result"]


def _history(server: CentrifugoServer, channel: str) -> Message:
    reply = server.api("history", {"channel": channel, "limit": -1})
    assert "error" not in reply, reply
    return reply["result"]


@pytest.fixture
def soak_server() -> Iterator[CentrifugoServer]:
    """Memory engine, soak namespace, default pings (nothing times out while frozen)."""
    with CentrifugoServer(soak_overrides()) as server:
        yield server


# -- Redis -------------------------------------------------------------------------------


def test_redis_answers_ping_on_loopback_and_stops(redis_server: RedisServer) -> None:
    assert redis_server.ping()
    assert redis_server.command("PING") == "PONG"
    assert redis_server.command("CONFIG", "GET", "bind") == [b"bind", b"127.0.0.1"]
    assert redis_server.command("CONFIG", "GET", "save") == [b"save", b""]
    assert redis_server.command("CONFIG", "GET", "appendonly") == [b"appendonly", b"no"]

    with RedisServer() as other:
        assert other.port != redis_server.port
        assert other.command("SET", "key", "value") == "OK"
        assert redis_server.command("EXISTS", "key") == 0, "each server has its own data"
    assert not other.is_running()
    assert not other.workdir.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", other.port), timeout=1).close()


def test_centrifugo_engine_is_redis(
    redis_centrifugo: CentrifugoServer, redis_server: RedisServer
) -> None:
    check = redis_centrifugo.check_config()
    assert check.returncode == 0, check.stdout + check.stderr
    assert '"engine_type":"redis"' in redis_centrifugo.log_path.read_text()
    channel = _channel()
    _publish(redis_centrifugo, channel, {"n": 1})
    keys = redis_server.command("KEYS", f"*{channel}*")
    assert isinstance(keys, list)
    assert sorted(keys) == [
        f"centrifugo.stream.meta.{channel}".encode(),
        f"centrifugo.stream.{channel}".encode(),
    ]


def test_soak_history_survives_sigkill_and_restart_with_redis(
    redis_centrifugo: CentrifugoServer,
) -> None:
    channel = _channel()
    results = [_publish(redis_centrifugo, channel, {"n": n}) for n in range(1, 51)]
    epoch = results[0]["epoch"]
    assert [r["offset"] for r in results] == list(range(1, 51))
    pid = redis_centrifugo.pid

    redis_centrifugo.kill()
    assert not redis_centrifugo.is_running()
    started = time.monotonic()
    redis_centrifugo.start()
    restart = time.monotonic() - started
    assert redis_centrifugo.pid != pid
    assert restart < 10, f"restart took {restart:.1f}s"

    history = _history(redis_centrifugo, channel)
    assert history["epoch"] == epoch
    assert history["offset"] == 50
    assert [(p["offset"], p["data"]) for p in history["publications"]] == [
        (n, {"n": n}) for n in range(1, 51)
    ]
    after = _publish(redis_centrifugo, channel, {"n": 51})
    assert (after["epoch"], after["offset"]) == (epoch, 51)


def test_memory_engine_loses_history_on_restart(soak_server: CentrifugoServer) -> None:
    """The control for the test above: without Redis the stream starts over."""
    channel = _channel()
    first = _publish(soak_server, channel, {"n": 1})
    soak_server.kill()
    soak_server.start()
    history = _history(soak_server, channel)
    assert history["publications"] == []
    assert history["epoch"] != first["epoch"]


def test_soak_namespace_recovers_its_whole_history_in_one_subscribe(
    redis_centrifugo: CentrifugoServer,
) -> None:
    """history_size 10000 and client.recovery_max_publication_limit 10000 (default 300)."""
    channel = _channel()
    count = 10_000
    commands = [{"publish": {"channel": channel, "data": {"n": n}}} for n in range(1, count + 1)]
    reply = redis_centrifugo.api("batch", {"commands": commands}, timeout=60)
    assert len(reply["replies"]) == count
    assert all("error" not in r for r in reply["replies"])
    epoch = reply["replies"][0]["publish"]["epoch"]

    client = RawClient(redis_centrifugo.ws_url)
    try:
        client.connect()
        result = client.subscribe(channel, recover=True, epoch=epoch, offset=0)
    finally:
        client.close()
    assert result["recoverable"] is True
    assert result["recovered"] is True
    assert result["epoch"] == epoch
    assert [p["offset"] for p in result["publications"]] == list(range(1, count + 1))


# -- two nodes on one Redis ------------------------------------------------------------------


def test_publication_through_node_a_reaches_subscriber_on_node_b(
    centrifugo_cluster: CentrifugoCluster,
) -> None:
    node_a, node_b = centrifugo_cluster.nodes
    assert node_a.port != node_b.port
    names = {n["name"] for n in node_a.api("info", {})["result"]["nodes"]}
    assert names == {"node0", "node1"}

    channel = _channel()
    client = RawClient(node_b.ws_url)
    try:
        client.connect()
        client.subscribe(channel)
        result = _publish(node_a, channel, {"via": "node a"})
        push = client.wait_for(_is_pub(channel))
        assert push["push"]["pub"]["data"] == {"via": "node a"}
        assert push["push"]["pub"]["offset"] == result["offset"]
    finally:
        client.close()
    assert _history(node_b, channel)["publications"][0]["data"] == {"via": "node a"}


def test_cluster_keeps_the_stream_when_a_node_is_killed_and_restarted(
    centrifugo_cluster: CentrifugoCluster,
) -> None:
    node_a, node_b = centrifugo_cluster.nodes
    channel = _channel()
    on_a = RawClient(node_a.ws_url)
    try:
        on_a.connect()
        on_a.subscribe(channel)
        first = _publish(node_b, channel, {"n": 1})
        assert on_a.wait_for(_is_pub(channel))["push"]["pub"]["data"] == {"n": 1}

        node_a.kill()
        assert isinstance(on_a.read_until_closed(timeout=5), (Closed, ConnectionResetError))
    finally:
        on_a.close()
    second = _publish(node_b, channel, {"n": 2})
    assert (second["epoch"], second["offset"]) == (first["epoch"], 2)

    centrifugo_cluster.start()  # starts what is not running: node A, same port
    assert node_a.is_running()
    on_a = RawClient(node_a.ws_url)
    try:
        on_a.connect()
        on_a.subscribe(channel)
        _publish(node_b, channel, {"n": 3})
        assert on_a.wait_for(_is_pub(channel))["push"]["pub"]["data"] == {"n": 3}
    finally:
        on_a.close()
    history = _history(node_a, channel)
    assert history["epoch"] == first["epoch"]
    assert [p["data"]["n"] for p in history["publications"]] == [1, 2, 3]


# -- the fault proxy -------------------------------------------------------------------------


def test_proxy_forwards_a_websocket_session(
    soak_server: CentrifugoServer, fault_proxy: FaultProxyFactory
) -> None:
    proxy = fault_proxy(soak_server)
    assert proxy.url == f"ws://127.0.0.1:{proxy.port}/connection/websocket"
    client = RawClient(proxy.url)
    try:
        assert client.connect()["client"]
        assert proxy.connections == 1
        channel = _channel()
        client.subscribe(channel)
        assert _subscribers(soak_server, channel) == 1
        _publish(soak_server, channel, {"n": 1})
        assert client.wait_for(_is_pub(channel))["push"]["pub"]["data"] == {"n": 1}
    finally:
        client.close()
    proxy.wait_for_connections(0, timeout=5)
    _wait_until(lambda: _subscribers(soak_server, channel) == 0, 5, "server saw the client go")


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_cut_closes_every_connection_on_both_sides(
    soak_server: CentrifugoServer, fault_proxy: FaultProxyFactory, reset: bool
) -> None:
    proxy = fault_proxy(soak_server)
    channel = _channel()
    clients = [RawClient(proxy.url) for _ in range(2)]
    try:
        for client in clients:
            client.connect()
            client.subscribe(channel)
        assert proxy.connections == 2
        assert _subscribers(soak_server, channel) == 2

        assert proxy.cut(reset=reset) == 2
        assert proxy.connections == 0
        for client in clients:
            ended = client.read_until_closed(timeout=2)
            if reset:
                assert isinstance(ended, ConnectionResetError), ended
            else:
                assert isinstance(ended, Closed), ended
                assert str(ended) == "EOF", ended
        _wait_until(
            lambda: _subscribers(soak_server, channel) == 0, 5, "server dropped both clients"
        )

        again = RawClient(proxy.url)
        clients.append(again)
        assert again.connect()["client"], "the proxy accepts new connections after a cut"
        assert proxy.connections == 1
    finally:
        for client in clients:
            client.close()


def test_freeze_holds_traffic_both_ways_without_closing_then_thaw_releases_it(
    soak_server: CentrifugoServer, fault_proxy: FaultProxyFactory
) -> None:
    frozen_for = 3.0
    proxy = fault_proxy(soak_server)
    channel = _channel()
    client = RawClient(proxy.url)
    try:
        client.connect()
        client.subscribe(channel)

        proxy.freeze()
        assert proxy.frozen
        for n in (1, 2, 3):
            _publish(soak_server, channel, {"n": n})  # server -> client, held
        publish_id = client.request("publish", {"channel": channel, "data": {"n": 4}})
        started = time.monotonic()
        client.wait_silent(frozen_for)  # no push, no reply, no EOF
        assert time.monotonic() - started >= frozen_for
        assert client.sock.fileno() != -1
        assert proxy.connections == 1
        # client -> server, held: the server has only the API publications.
        assert [p["data"]["n"] for p in _history(soak_server, channel)["publications"]] == [
            1,
            2,
            3,
        ]
        assert _subscribers(soak_server, channel) == 1, "the server still has the client"

        proxy.thaw()
        pushes = [client.wait_for(_is_pub(channel)) for _ in range(3)]
        assert [p["push"]["pub"]["data"]["n"] for p in pushes] == [1, 2, 3]
        assert "error" not in client.wait_reply(publish_id)
        assert client.wait_for(_is_pub(channel))["push"]["pub"]["data"] == {"n": 4}
        assert [p["data"]["n"] for p in _history(soak_server, channel)["publications"]] == [
            1,
            2,
            3,
            4,
        ]
    finally:
        client.close()


def test_delay_adds_latency_each_way(
    soak_server: CentrifugoServer, fault_proxy: FaultProxyFactory
) -> None:
    delay = 0.25
    proxy = fault_proxy(soak_server)
    channel = _channel()
    client = RawClient(proxy.url)

    def round_trip() -> float:
        started = time.monotonic()
        reply = client.call("publish", {"channel": channel, "data": {}})
        assert "error" not in reply
        return time.monotonic() - started

    try:
        client.connect()
        baseline = statistics.median(round_trip() for _ in range(5))
        proxy.delay(delay)
        delayed = statistics.median(round_trip() for _ in range(5))
        proxy.delay(0)
        restored = statistics.median(round_trip() for _ in range(5))
    finally:
        client.close()
    assert baseline < 0.2, baseline
    # The delay applies in each direction: a round trip takes 2 x delay longer.
    assert 2 * delay * 0.9 <= delayed <= 2 * delay + 1.0, (baseline, delayed)
    assert restored < 0.2, restored


def test_retarget_sends_new_connections_elsewhere(
    centrifugo_factory: ServerFactory, fault_proxy: FaultProxyFactory
) -> None:
    first = centrifugo_factory(soak_overrides(), rpc=False)
    second = centrifugo_factory(soak_overrides(), rpc=False)
    proxy = fault_proxy(first)
    channel = _channel()
    old = RawClient(proxy.url)
    try:
        old.connect()
        old.subscribe(channel)
        proxy.retarget("127.0.0.1", second.port)
        assert proxy.target == ("127.0.0.1", second.port)
        new = RawClient(proxy.url)
        try:
            new.connect()
            new.subscribe(channel)
            assert proxy.connections == 2
            assert _subscribers(first, channel) == 1, "the old connection stays where it was"
            assert _subscribers(second, channel) == 1
        finally:
            new.close()
    finally:
        old.close()


def test_clients_are_reset_while_the_target_is_down(
    soak_server: CentrifugoServer, fault_proxy: FaultProxyFactory
) -> None:
    proxy = fault_proxy(soak_server)
    client = RawClient(proxy.url)
    try:
        client.connect()
        soak_server.kill()
        assert isinstance(client.read_until_closed(timeout=5), (Closed, ConnectionResetError))
    finally:
        client.close()
    proxy.wait_for_connections(0, timeout=5)
    with pytest.raises((ConnectionError, Closed)):
        RawClient(proxy.url, timeout=2)
    soak_server.start()
    client = RawClient(proxy.url)
    try:
        assert client.connect()["client"], "the same proxy works once the server is back"
    finally:
        client.close()


def test_closed_proxy_refuses_connections_and_ends_its_own(
    soak_server: CentrifugoServer, fault_proxy: FaultProxyFactory
) -> None:
    proxy = fault_proxy(soak_server)
    channel = _channel()
    client = RawClient(proxy.url)
    try:
        client.connect()
        client.subscribe(channel)
        proxy.close()
        assert proxy.closed
        assert isinstance(client.read_until_closed(timeout=5), (Closed, ConnectionResetError))
    finally:
        client.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(proxy.address, timeout=1).close()
    _wait_until(lambda: _subscribers(soak_server, channel) == 0, 5, "server saw the client go")
