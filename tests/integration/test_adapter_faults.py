"""The adapters' half of issue 8: what each adapter does when something goes wrong,
once per adapter (asyncio, trio, blocking) and with the same outcome in all three.

Faults are injected with ``monkeypatch`` into the adapter's own seams (its resolver
``Client._resolve`` and its socket opener ``Client._open_socket``), into the core's
methods the loop calls (``transport_opened``, ``receive_data``, ``handle_timeout``),
or through a TLS context that fails once; the server is always the real Centrifugo.
"""

from __future__ import annotations

import gc
import os
import socket
import ssl
import threading
import weakref
from pathlib import Path
from typing import Any

import pytest
from drivers import PAYLOADS, TIMEOUT, Events, Runner, call_api, token_for, unique

from centrifugo_proto import (
    ClientOptions,
    ClientProtocol,
    ClientState,
    CommandTimeout,
    Connected,
    LocalProtocolError,
    PublishResult,
    Subscribed,
    Subscribing,
    SubscriptionCancelled,
    SubscriptionState,
)
from centrifugo_proto.adapters import TransportFailed, _tls
from centrifugo_proto.adapters import blocking as blocking_adapter
from harness import CentrifugoServer, ServerFactory
from harness.centrifugo import free_port
from harness.tls import TlsFiles

#: Retries come quickly, so a test that makes the first attempt fail stays short.
QUICK = ClientOptions(min_reconnect_delay=0.05, max_reconnect_delay=0.2)


def dead_url() -> str:
    return f"ws://127.0.0.1:{free_port()}/connection/websocket"


def failure_with(failures: Events, error: BaseException) -> TransportFailed:
    """The ``ws_error`` event that carries ``error`` itself (others before it skipped)."""
    while True:
        failure = failures.next(TransportFailed)
        if failure.error is error:
            return failure


class FlakyTlsContext(ssl.SSLContext):
    """Trusts the test CA; its first TLS wrap raises ``error`` (not an SSLError)."""

    error: BaseException
    wraps = 0

    def _count(self) -> None:
        type(self).wraps += 1
        if type(self).wraps == 1:
            raise self.error

    def wrap_bio(self, *args: Any, **kwargs: Any) -> Any:  # asyncio, trio
        self._count()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> Any:  # blocking
        self._count()
        return super().wrap_socket(*args, **kwargs)


def flaky_tls(ca: Path, error: BaseException) -> ssl.SSLContext:
    kind = type("Flaky", (FlakyTlsContext,), {"error": error, "wraps": 0})
    context = kind(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(ca))
    return context


# -- nothing kills the loop ----------------------------------------------------------


@pytest.mark.parametrize("stage", ["resolve", "connect", "tls", "handshake", "timer"])
def test_a_stray_exception_while_connecting_becomes_a_transport_failure(
    adapter: Runner,
    stage: str,
    centrifugo: CentrifugoServer,
    tls_server: CentrifugoServer,
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A RuntimeError (not an OSError) raised once while resolving, opening the
    socket, starting TLS, starting the WebSocket handshake or inside the timer: the
    caller sees it in ``ws_error``, the client retries with backoff, connects and
    serves a later call."""
    boom = RuntimeError(f"injected into {stage}")
    url: str | list[str] = centrifugo.ws_url
    kwargs: dict[str, Any] = {}
    if stage == "resolve":
        adapter.flaky(monkeypatch, adapter.module.Client, "_resolve", boom)
    elif stage == "connect":
        adapter.flaky(monkeypatch, adapter.module.Client, "_open_socket", boom)
    elif stage == "tls":
        url, kwargs["ssl_context"] = tls_server.ws_url, flaky_tls(tls_files.ca, boom)
    elif stage == "handshake":
        adapter.flaky(monkeypatch, ClientProtocol, "transport_opened", boom)
    else:  # the first endpoint refuses: the retry waits for the timer, which raises once
        url = [dead_url(), centrifugo.ws_url]
        adapter.flaky(monkeypatch, ClientProtocol, "handle_timeout", boom)
    client = adapter.client(url, options=QUICK, **kwargs)
    failures = Events(client, "ws_error")
    try:
        client.connect(timeout=TIMEOUT)
        failure_with(failures, boom)
        assert client.state is ClientState.CONNECTED
        assert client.publish(unique("public:later-"), adapter.payload("x")) == PublishResult()
    finally:
        client.close()


def test_a_stray_exception_while_reading_reconnects(
    adapter: Runner, centrifugo: CentrifugoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``receive_data`` raising once on a server push: the connection is dropped
    and reported, the client reconnects, resubscribes and serves a later call."""
    channel = unique("public:read-")
    boom = RuntimeError("injected into read")
    with adapter.connected(centrifugo.ws_url, options=QUICK) as client:
        first = client.client_id
        sub = client.subscribe(channel)
        failures = Events(client, "ws_error")
        subscribed = Events(sub, "subscribed")
        adapter.flaky(monkeypatch, ClientProtocol, "receive_data", boom)
        call_api(centrifugo, "publish", {"channel": channel, "data": "lost in the read"})
        failure_with(failures, boom)
        subscribed.next(Subscribed)  # resubscribed on the new connection
        assert client.client_id != first
        assert client.publish(channel, adapter.payload("after")) == PublishResult()
        assert [adapter.value(p.data) for p in sub.take(1)] == ["after"]


# -- close() from a callback -----------------------------------------------------------


def test_close_from_a_callback_returns_and_leaves_nothing_running(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    """The client's timeout is three times the test's wait: a close() that stalls
    for one of its own timeouts fails here."""
    channel = unique("public:close-")
    returned = threading.Event()
    with adapter.connected(centrifugo.ws_url, options=ClientOptions(timeout=3 * TIMEOUT)) as client:
        real = client.real

        def close(event: Any) -> Any:
            result = real.close()
            if hasattr(result, "__await__"):

                async def awaited() -> None:
                    await result
                    returned.set()

                return awaited()
            returned.set()
            return None

        sub = client.subscribe(channel)
        sub.on("publication", close)
        call_api(centrifugo, "publish", {"channel": channel, "data": "close now"})
        assert returned.wait(TIMEOUT), "close() inside a callback did not return"
        assert client.state is ClientState.CLOSED
        assert adapter.leftovers(real) == []


# -- construction --------------------------------------------------------------------


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_construction_needs_no_loop_and_starts_nothing(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    """Built on the test's thread, where no event loop runs: no thread, no socket;
    then connected in the adapter's home, it works."""
    threads, fds = set(threading.enumerate()), _fds()
    client = adapter.module.Client(centrifugo.ws_url, **adapter.options())
    assert set(threading.enumerate()) == threads
    assert {fd for fd in _fds() - fds if os.path.exists(f"/proc/self/fd/{fd}")} == set()
    with adapter.enter(client) as connected:
        assert connected.state is ClientState.CONNECTED
        assert connected.publish(unique("public:built-"), adapter.payload(1)) == PublishResult()


def test_a_blocking_client_nobody_closes_is_released_by_its_finalizer(
    centrifugo: CentrifugoServer, codec: str
) -> None:
    """Connected, subscribed, then dropped without close(): once collected, its
    threads end and its sockets close (its threads never held it while waiting).
    The callback thread starts with the first callback to run, not before."""
    threads, fds = set(threading.enumerate()), _fds()
    channel = unique("public:dropped-")
    to_payload, to_value = PAYLOADS[codec]
    client = blocking_adapter.Client(centrifugo.ws_url, codec=codec)
    client.connect()
    sub = client.subscribe(channel)
    client.publish(channel, to_payload("x"))
    assert to_value(sub._next(TIMEOUT).data) == "x"
    started = set(threading.enumerate()) - threads
    # Nothing to call back yet, so no dispatcher thread (about 16 KiB resident each).
    assert {t.name for t in started} == {"centrifugo-io"}
    heard = threading.Event()
    sub.on("publication", lambda event: heard.set())
    client.publish(channel, to_payload("y"))
    assert heard.wait(TIMEOUT)
    started = set(threading.enumerate()) - threads
    assert {t.name for t in started} == {"centrifugo-io", "centrifugo-callbacks"}
    collected = threading.Event()
    weakref.finalize(client, collected.set)
    del client, sub
    gc.collect()
    assert collected.is_set()
    for thread in started:
        thread.join(TIMEOUT)
    assert [t.name for t in started if t.is_alive()] == []
    assert {fd for fd in _fds() - fds if os.path.exists(f"/proc/self/fd/{fd}")} == set()


@pytest.mark.parametrize("url", ["ws://a..b/", "ws://bad_host_ä.test:99999/"])
def test_a_bad_url_is_a_local_protocol_error_in_the_constructor(adapter: Runner, url: str) -> None:
    with pytest.raises(LocalProtocolError):
        adapter.build(url)


def test_a_ws_client_builds_no_tls_context(
    adapter: Runner, centrifugo: CentrifugoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        raise AssertionError("a TLS context was built for ws://")

    monkeypatch.setattr(_tls, "_made", {})  # no shared context made yet, in this test
    monkeypatch.setattr(ssl, "create_default_context", refuse)
    with adapter.connected(centrifugo.ws_url) as client:
        assert client.state is ClientState.CONNECTED


def test_wss_clients_share_one_default_context(
    adapter: Runner, tls_server: CentrifugoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two clients on the system CAs (which do not trust the test CA: both fail the
    same way) make one default context between them."""
    made: list[ssl.SSLContext] = []
    create = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(create(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(_tls, "_made", {})
    monkeypatch.setattr(ssl, "create_default_context", counted)
    for _ in range(2):
        client = adapter.client(tls_server.ws_url)
        with pytest.raises(ssl.SSLCertVerificationError):
            client.connect()
        client.close()
    assert len(made) == 1


# -- trio's nursery never wraps the caller's exception -----------------------------------


class BodyError(Exception):
    pass


def test_the_body_exception_comes_out_as_itself(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    error = BodyError("the caller's own")
    raised = adapter.raised_in_body(error, centrifugo.ws_url)
    assert raised is error


# -- names: every address, off the lock ----------------------------------------------------


def test_every_address_is_tried_in_order(
    adapter: Runner, centrifugo: CentrifugoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resolver gives a refusing address first, then the server's: the first
    attempt connects through the second."""
    dead = socket.getaddrinfo("127.0.0.1", free_port(), type=socket.SOCK_STREAM)[0]
    good = socket.getaddrinfo("127.0.0.1", centrifugo.port, type=socket.SOCK_STREAM)[0]
    opened = adapter.flaky(monkeypatch, adapter.module.Client, "_open_socket", None)

    def resolve(self: Any, host: str, port: int) -> list[Any]:
        return [dead, good]

    if adapter.kind == "blocking":
        monkeypatch.setattr(adapter.module.Client, "_resolve", resolve)
    else:

        async def resolve_async(self: Any, host: str, port: int) -> list[Any]:
            return resolve(self, host, port)

        monkeypatch.setattr(adapter.module.Client, "_resolve", resolve_async)
    client = adapter.client(centrifugo.ws_url, options=QUICK)
    failures = Events(client, "ws_error")
    try:
        client.connect(timeout=TIMEOUT)
        assert [args[0] for args in opened] == [dead, good]
        assert failures.empty()  # the refused address was not a failed attempt
    finally:
        client.close()


def test_blocking_resolution_holds_no_lock(
    centrifugo: CentrifugoServer, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    """While the resolver runs, another thread subscribes (a call into the core,
    under the client's lock) and gets its answer: a resolver holding the lock
    would wait for it in vain."""
    client = blocking_adapter.Client(centrifugo.ws_url, codec=codec)
    sub = client.new_subscription(unique("public:lock-"))
    answered: list[BaseException] = []
    original = blocking_adapter.Client._resolve

    def resolve(self: Any, host: str, port: int) -> Any:
        def call() -> None:
            try:
                sub.subscribe(timeout=0)
            except CommandTimeout as exc:
                answered.append(exc)

        other = threading.Thread(target=call)
        other.start()
        other.join(TIMEOUT)
        return original(self, host, port)

    monkeypatch.setattr(blocking_adapter.Client, "_resolve", resolve)
    try:
        client.connect(timeout=2 * TIMEOUT)
        assert len(answered) == 1
        assert sub.subscribe().channel == sub.channel
    finally:
        client.close()


# -- tokens ---------------------------------------------------------------------------


def test_a_token_fetch_does_not_wait_behind_a_callback(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    """A ``connecting`` callback waits until the token has been fetched: the fetch
    runs while the callback waits (no deadlock until a timeout)."""
    fetched, seen = threading.Event(), []
    user = unique("tok-")

    def get_token(*_: Any) -> str:
        fetched.set()
        return token_for(centrifugo, user)

    client = adapter.client(centrifugo.ws_url, get_token=get_token)
    client.on("connecting", adapter.waiting(fetched, seen))
    connected = Events(client, "connected")  # its callback runs after the one above
    try:
        client.connect(timeout=2 * TIMEOUT)
        assert client.state is ClientState.CONNECTED
        connected.next(Connected)
        assert seen == [True]
    finally:
        client.close()


def test_blocking_refuses_an_async_token_source(centrifugo: CentrifugoServer) -> None:
    async def get_token(*_: Any) -> str:
        return "never"

    with pytest.raises(LocalProtocolError, match="async"):
        blocking_adapter.Client(centrifugo.ws_url, get_token=get_token)
    client = blocking_adapter.Client(centrifugo.ws_url)
    with pytest.raises(LocalProtocolError, match="async"):
        client.new_subscription("public:x", get_token=get_token)
    client.close()


def test_blocking_fails_a_token_request_whose_source_returns_an_awaitable(
    centrifugo: CentrifugoServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def fetch() -> str:
        return "never"

    client = blocking_adapter.Client(centrifugo.ws_url, get_token=lambda *_: fetch())
    try:
        with pytest.raises(CommandTimeout):
            client.connect(timeout=1.0)
    finally:
        client.close()
    errors = [r for r in caplog.records if "awaitable" in r.getMessage()]
    assert errors
    assert all(r.levelname == "ERROR" for r in errors)


def test_blocking_says_so_when_a_callback_is_a_coroutine_function(
    centrifugo: CentrifugoServer, caplog: pytest.LogCaptureFixture, codec: str
) -> None:
    """Nothing in the blocking adapter awaits: the coroutine is closed (no "never
    awaited" warning) and the mistake logged; the client carries on."""

    async def on_connected(event: Any) -> None:
        pass

    with blocking_adapter.Client(centrifugo.ws_url, codec=codec) as client:
        connected = Events(client, "connected")
        client.on("connected", on_connected).on("connected", connected.events.put)
        client.disconnect()
        client.connect()
        connected.next(Connected)  # after the coroutine one: it was handled
        assert client.publish(unique("public:coro-"), PAYLOADS[codec][0](1)) == PublishResult()
    errors = [r for r in caplog.records if r.exc_info and "awaitable" in str(r.exc_info[1])]
    assert [type(r.exc_info[1]) for r in errors if r.exc_info] == [LocalProtocolError]


# -- one exception hierarchy ------------------------------------------------------------


def test_misuse_raises_local_protocol_errors(adapter: Runner, centrifugo: CentrifugoServer) -> None:
    client = adapter.client(centrifugo.ws_url)
    try:
        channel = unique("public:twice-")
        client.new_subscription(channel)
        with pytest.raises(LocalProtocolError):
            client.new_subscription(channel)
        with pytest.raises(LocalProtocolError):
            client.unsubscribe(unique("public:unknown-"))
        with pytest.raises(LocalProtocolError):
            client.on("mesage", print)
        with pytest.raises(LocalProtocolError):
            client.get_subscription(channel).on("publicaton", print)
    finally:
        client.close()


def test_unsubscribe_is_quiet_when_there_is_nothing_to_end(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    with adapter.connected(centrifugo.ws_url) as client:
        never = client.new_subscription(unique("public:never-"))
        never.unsubscribe()  # made, never subscribed: nothing to end
        assert never.state is SubscriptionState.UNSUBSCRIBED
        sub = client.subscribe(unique("public:twice-"))
        sub.unsubscribe()
        sub.unsubscribe()  # unsubscribed already
        client.unsubscribe(sub.channel)
        assert sub.state is SubscriptionState.UNSUBSCRIBED


def test_the_callers_unsubscribe_cancels_a_pending_subscribe(
    adapter: Runner, centrifugo: CentrifugoServer
) -> None:
    client = adapter.client(centrifugo.ws_url)  # not connected: the subscribe waits
    try:
        sub = client.new_subscription(unique("public:cancel-"))
        subscribing = Events(sub, "subscribing")
        pending = adapter.background(sub.subscribe)
        subscribing.next(Subscribing)
        sub.unsubscribe()
        with pytest.raises(SubscriptionCancelled):
            pending.result(TIMEOUT)
    finally:
        client.close()


def test_a_connect_that_times_out_is_a_command_timeout(adapter: Runner) -> None:
    client = adapter.client(dead_url())
    try:
        with pytest.raises(CommandTimeout, match=r"connect timed out.*it waited 0\.3 s"):
            client.connect(timeout=0.3)
        with pytest.raises(CommandTimeout, match=r"connect timed out.*it waited 0 s"):
            client.connect(timeout=0)
    finally:
        client.close()


# -- timeout= on every waiting method ---------------------------------------------------


def test_every_waiting_method_honours_its_own_timeout(
    adapter: Runner, centrifugo_factory: ServerFactory, fault_proxy: Any
) -> None:
    """Behind a frozen connection nothing is answered: each call gives up after its
    own 0.2 s (not the client's 30 s), with a CommandTimeout that says so."""
    server = centrifugo_factory()
    proxy = fault_proxy(server)
    options = ClientOptions(timeout=30.0)
    channel = unique("chat:frozen-")
    token = token_for(server, unique("frozen-"))
    with adapter.connected(proxy.url, token=token, options=options) as client:
        sub = client.subscribe(channel)
        other = client.new_subscription(unique("chat:frozen-other-"))
        proxy.freeze()
        calls: dict[str, Any] = {
            "publish": lambda t: client.publish(channel, adapter.payload(1), timeout=t),
            "history": lambda t: client.history(channel, limit=1, timeout=t),
            "presence": lambda t: client.presence(channel, timeout=t),
            "presence_stats": lambda t: client.presence_stats(channel, timeout=t),
            "rpc": lambda t: client.rpc("echo", adapter.payload({"x": 1}), timeout=t),
            "sub.publish": lambda t: sub.publish(adapter.payload(1), timeout=t),
            "sub.history": lambda t: sub.history(limit=1, timeout=t),
            "sub.presence": lambda t: sub.presence(timeout=t),
            "sub.presence_stats": lambda t: sub.presence_stats(timeout=t),
            "subscribe": lambda t: client.subscribe(unique("chat:frozen-new-"), timeout=t),
            "sub.subscribe": lambda t: other.subscribe(timeout=t),
            "next publication": lambda t: sub.take(1, timeout=t),
        }
        for name, call in calls.items():
            for timeout, shown in ((0.2, r"0\.2"), (0, "0")):
                with pytest.raises(
                    CommandTimeout, match=rf"timed out; it waited {shown} s"
                ) as info:
                    call(timeout)
                assert isinstance(info.value, CommandTimeout), name
        proxy.thaw()
        assert (
            client.publish(channel, adapter.payload("thawed"), timeout=TIMEOUT) == PublishResult()
        )
        # Done once queued, whatever the server does with it (this one, with no
        # message handler, disconnects: last, then).
        assert client.send(adapter.payload({"fire": "forget"}), timeout=0) is None
