"""What the adapters promise beyond the protocol (issue "Pick an adapter", Evidence),
once per adapter: TLS against a Centrifugo that serves it itself, callbacks that
cannot hurt the client, events by their current and seed names, and a blocking
client that leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from drivers import (
    PAYLOADS,
    TIMEOUT,
    Events,
    Runner,
    adapter,
    call_api,
    on_every_adapter,
    token_for,
    unique,
)

from centrifugo_proto import (
    ClientState,
    CommandTimeout,
    Connected,
    Disconnected,
    ErrorOccurred,
    LocalProtocolError,
    PingReceived,
    PresenceResult,
    PublicationReceived,
    PublishResult,
    ReplyError,
    TransportClosed,
)
from centrifugo_proto.adapters import CommandReplied, TransportFailed
from centrifugo_proto.adapters.blocking import Client as BlockingClient
from harness import CentrifugoServer, ServerFactory
from harness.centrifugo import free_port
from harness.connect_proxy import ConnectProxy
from harness.tls import TlsFiles

__all__ = ["adapter"]
FAST_PING = {"client.ping_interval": "2s", "client.pong_timeout": "1s"}
SLOW_CALLBACK = 30.0  # seconds: fifteen server pings, each answered within 1 s or cut


# -- TLS -------------------------------------------------------------------------------


def test_tls_server_config_passes_strict_check(tls_server: CentrifugoServer) -> None:
    assert tls_server.ws_url.startswith("wss://127.0.0.1:")
    result = tls_server.check_config()
    assert result.returncode == 0, result.stdout + result.stderr
    assert tls_server.health_status() == 200  # over https, trusting the test CA


def test_tls_without_the_ca_fails_with_a_certificate_error(
    adapter: Runner, tls_server: CentrifugoServer
) -> None:
    client = adapter.client(tls_server.ws_url)
    failures = Events(client, "ws_error")
    started = time.monotonic()
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        client.connect()
    assert time.monotonic() - started < TIMEOUT / 2  # at once, not after the connect timeout
    failure = failures.next(TransportFailed)
    assert isinstance(failure.error, ssl.SSLCertVerificationError)
    assert client.state is ClientState.CONNECTING  # it keeps trying with backoff
    client.close()


def test_tls_with_the_ca_works(
    adapter: Runner, tls_server: CentrifugoServer, tls_files: TlsFiles
) -> None:
    context = ssl.create_default_context(cafile=str(tls_files.ca))
    channel = unique("chat:tls-")
    token = token_for(tls_server, unique("tls-"))
    with adapter.connected(tls_server.ws_url, token=token, ssl_context=context) as client:
        sub = client.subscribe(channel)
        client.publish(channel, adapter.payload({"over": "tls"}))
        (pub,) = sub.take(1)
        assert adapter.value(pub.data) == {"over": "tls"}


def test_tls_no_verify_works_and_warns(
    adapter: Runner, tls_server: CentrifugoServer, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="centrifugo_proto"),
        adapter.connected(tls_server.ws_url, ssl_no_verify=True) as client,
    ):
        assert client.state is ClientState.CONNECTED
    warnings = [r for r in caplog.records if "NOT verified" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


def test_plain_ws_refused_port_reports_ws_error(adapter: Runner) -> None:
    client = adapter.client(f"ws://127.0.0.1:{free_port()}/connection/websocket")
    failures = Events(client, "ws_error")
    with pytest.raises(Exception, match=r"timed out \(last error: transport failed: "):
        client.connect(timeout=0.5)
    assert isinstance(failures.next(TransportFailed).error, OSError)  # refused
    client.close()


# -- HTTP CONNECT proxy ------------------------------------------------------------------


def test_ws_through_a_connect_proxy(adapter: Runner, centrifugo: CentrifugoServer) -> None:
    channel = unique("chat:proxied-")
    with ConnectProxy() as proxy:
        token = token_for(centrifugo, unique("px-"))
        with adapter.connected(centrifugo.ws_url, token=token, proxy=proxy.url) as client:
            sub = client.subscribe(channel)
            client.publish(channel, adapter.payload({"via": "proxy"}))
            (pub,) = sub.take(1)
            assert adapter.value(pub.data) == {"via": "proxy"}
        assert proxy.tunnels == [f"127.0.0.1:{centrifugo.port}"]


def test_wss_through_a_connect_proxy(
    adapter: Runner, tls_server: CentrifugoServer, tls_files: TlsFiles
) -> None:
    """TLS inside the tunnel: the certificate is checked against the server's name."""
    context = ssl.create_default_context(cafile=str(tls_files.ca))
    with ConnectProxy() as proxy:
        with adapter.connected(tls_server.ws_url, ssl_context=context, proxy=proxy.url) as client:
            assert client.state is ClientState.CONNECTED
            assert client.client_id
        assert proxy.tunnels == [f"127.0.0.1:{tls_server.port}"]
        client = adapter.client(tls_server.ws_url, proxy=proxy.url)  # without the CA
        with pytest.raises(ssl.SSLCertVerificationError):
            client.connect()
        client.close()


def test_connect_proxy_refusal_is_a_transport_error(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    with ConnectProxy(refuse=407) as proxy:
        client = adapter.client(centrifugo.ws_url, proxy=proxy.url)
        errors = Events(client, "error")
        with pytest.raises(CommandTimeout, match="proxy refused CONNECT: HTTP 407"):
            client.connect(timeout=0.5)
        assert "HTTP 407" in str(errors.next(ErrorOccurred).error)
        assert client.state is ClientState.CONNECTING  # retried with backoff
        client.close()
    assert proxy.tunnels == []


# -- events by name ---------------------------------------------------------------------


def test_seed_event_names(adapter: Runner, centrifugo: CentrifugoServer) -> None:
    channel = unique("chat:seed-")
    client = adapter.client(centrifugo.ws_url, token=token_for(centrifugo, unique("seed-")))
    seen = Events(client, "connect", "publish", "presence", "history", "subscribe")
    seen_unsubscribe = Events(client, "unsubscribe")
    with pytest.raises(LocalProtocolError, match="no event is called 'conect'"):
        client.on("conect", print)
    try:
        client.connect()
        assert seen.next(Connected).client_id == client.client_id  # connect → connected
        client.subscribe(channel)
        subscribed = seen.next(CommandReplied)
        assert (subscribed.command, subscribed.channel, subscribed.error) == (
            "subscribe",
            channel,
            None,
        )
        client.publish(channel, adapter.payload({"n": 1}))
        published = seen.next(CommandReplied)
        assert (published.command, published.channel) == ("publish", channel)
        assert isinstance(published.request, int)
        assert published.result == PublishResult()
        client.presence(channel)
        presence = seen.next(CommandReplied)
        assert presence.command == "presence"
        assert isinstance(presence.result, PresenceResult)
        assert client.client_id in presence.result.clients
        client.history(channel, limit=1)
        assert seen.next(CommandReplied).command == "history"
        with pytest.raises(ReplyError):
            client.subscribe(unique("private:"))
        refused = seen.next(CommandReplied)
        assert refused.command == "subscribe"
        assert isinstance(refused.error, ReplyError)
        assert refused.error.code == 103
        client.unsubscribe(channel)
        assert seen_unsubscribe.next(CommandReplied).channel == channel
    finally:
        client.close()


def test_ping_and_ws_closed_by_seed_names(
    adapter: Runner, centrifugo_factory: ServerFactory
) -> None:
    server = centrifugo_factory(FAST_PING)
    user = unique("pinged-")
    client = adapter.client(server.ws_url, token=token_for(server, user))
    pings = Events(client, "ping")
    events = Events(client, "ws_closed", "disconnect")
    try:
        client.connect()
        assert isinstance(pings.next(PingReceived), PingReceived)  # within 2 s
        disconnect = {"code": 4501, "reason": "bye"}
        call_api(server, "disconnect", {"user": user, "disconnect": disconnect})
        closed = events.next(TransportClosed)  # ws_closed
        assert (closed.code, closed.reason) == (4501, "bye")
        assert events.next(Disconnected).code == 4501  # disconnect → disconnected
    finally:
        client.close()


# -- callbacks cannot hurt the client ---------------------------------------------------


def test_raising_slow_and_publishing_callbacks_keep_the_client_connected(
    centrifugo_factory: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """With the server pinging every 2 s and cutting after 1 s without a pong: one
    callback raises on every publication, one sleeps 30 s (awaited in the async
    adapters, ``time.sleep`` in the blocking one) and one publishes from inside
    the publication handler. Every client stays on its first connection.

    The three adapters in both codecs run at once (30 s, not 180 s), each in a
    thread of its own through the same drivers as the parametrised tests."""
    server = centrifugo_factory(FAST_PING)
    channels = on_every_adapter(lambda runner: _callbacks_scenario(runner, server))
    for name, channel in channels.items():
        # close() let the queued callbacks finish: one logged failure per publication.
        failures = [r for r in caplog.records if channel in r.getMessage()]
        assert [str(r.exc_info[1]) for r in failures if r.exc_info] == [
            f"callback failure on purpose at {{'n': {n}}}" for n in (0, 1, 2, 3, 99)
        ], name
        assert {r.name for r in failures} == {f"centrifugo_proto.adapters.{name.split('/')[0]}"}


def _callbacks_scenario(adapter: Runner, server: CentrifugoServer) -> str:
    channel = unique(f"chat:callbacks-{adapter.kind}-")
    with adapter.connected(server.ws_url, token=token_for(server, unique("cb-"))) as client:
        first_id = client.client_id
        trouble = Events(client, "connecting", "disconnected")
        pings = Events(client, "ping")
        real = client.real
        sleep = adapter.sleeper(SLOW_CALLBACK)

        def republish(event: PublicationReceived) -> Any:  # 0 → 1 → 2 → 3
            n = adapter.value(event.publication.data)["n"]
            return real.publish(channel, adapter.payload({"n": n + 1})) if n < 3 else None

        def boom(event: PublicationReceived) -> None:
            value = adapter.value(event.publication.data)
            raise RuntimeError(f"callback failure on purpose at {value}")

        def slow_once(event: PublicationReceived) -> Any:
            return sleep(event) if adapter.value(event.publication.data)["n"] == 0 else None

        sub = client.new_subscription(channel)
        sub.on("publication", adapter.handler(republish)).on("publication", boom)
        sub.on("publication", adapter.handler(slow_once))
        handled = Events(sub, "publication")  # after the others, in order
        sub.subscribe()
        started = time.monotonic()
        call_api(server, "publish", {"channel": channel, "data": {"n": 0}})
        assert [adapter.value(p.data)["n"] for p in sub.take(2)] == [0, 1]  # no waiting
        later = sub.take(2, timeout=SLOW_CALLBACK + TIMEOUT)
        assert [adapter.value(p.data)["n"] for p in later] == [2, 3]
        assert time.monotonic() - started >= SLOW_CALLBACK  # 2 was published after the sleep
        for n in range(4):
            assert adapter.value(handled.next(PublicationReceived).publication.data) == {"n": n}
        # The server pinged all along and the pongs went out in time: the pings
        # queued behind the slow callback, the connection did not change.
        for _ in range(10):
            pings.next(PingReceived)
        assert trouble.empty()
        assert client.state is ClientState.CONNECTED
        assert client.client_id == first_id
        assert client.publish(channel, adapter.payload({"n": 99})) == PublishResult()
    return channel


# -- the blocking adapter leaves nothing behind -----------------------------------------


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_blocking_close_leaves_no_thread_and_no_socket(
    centrifugo: CentrifugoServer, codec: str
) -> None:
    threads, fds = set(threading.enumerate()), _fds()
    channel = unique("chat:leaks-")
    token = token_for(centrifugo, unique("leak-"))
    client = BlockingClient(centrifugo.ws_url, token=token, codec=codec)
    to_payload, to_value = PAYLOADS[codec]
    with client:
        sub = client.subscribe(channel)
        heard = threading.Event()
        sub.on("publication", lambda event: heard.set())  # so the dispatcher runs too
        client.publish(channel, to_payload("x"))
        assert to_value(sub._next(TIMEOUT).data) == "x"
        assert heard.wait(TIMEOUT)
        during = set(threading.enumerate()) - threads
        assert {t.name for t in during} == {"centrifugo-io", "centrifugo-callbacks"}
        sockets = [fd for fd in _fds() - fds if "socket" in _link(fd)]
        assert len(sockets) >= 3  # the WebSocket and the wake-up pair
    assert client.state is ClientState.CLOSED
    assert not any(t.is_alive() for t in during)
    assert set(threading.enumerate()) - threads == set()
    assert {_link(fd) for fd in _fds() - fds} <= {""}  # nothing new remains open
    assert list(sub) == []  # iteration ends after close


def _link(fd: str) -> str:
    try:
        return os.readlink(Path("/proc/self/fd") / fd)
    except OSError:
        return ""  # closed meanwhile (e.g. the listdir's own descriptor)
