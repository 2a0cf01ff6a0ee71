"""Secrets never reach a log or a repr, and publications cost no log record.

A whole session runs at DEBUG against the real servers, every record of every
``centrifugo_proto.*`` logger captured (exception text included), and every event the
core handed out recorded as its ``repr``, with every result the calls returned:

- Centrifugo v6, blocking adapter: connect with a JWT that expires in seconds (so the
  client refreshes it), subscribe to a private channel with a subscription JWT that
  expires too (refreshed), publish, history and presence, and a subscription token for
  another channel (the server refuses the connection); the server API with its key, and
  with a wrong key;
- Centrifugo 1.8.0, the core driven by examples/minimal_adapter.py's loop: connect with
  HMAC credentials, subscribe to a ``$`` channel with its sign, publish; the 1.x server
  API signed with the secret.

Then every secret (each token, its signature, the keys, the secrets themselves) is
searched for in all of it. docs/logging.md documents the loggers.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from centrifugo_proto import (
    ApiUnauthorized,
    CentrifugoError,
    ClientProtocol,
    TokenRequested,
    connection_token,
    subscription_token,
)
from centrifugo_proto.adapters.blocking import ApiClient, Client, LegacyApiClient
from centrifugo_proto.legacy import ChannelSign, Credentials
from harness import LegacyServer, ServerFactory

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Capture(logging.Handler):
    """Every record, formatted with its exception text, and the loggers that spoke."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        with self._lock:
            self.records.append(record)
            self.lines.append(line)

    def loggers(self) -> set[str]:
        with self._lock:
            return {r.name for r in self.records}


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Capture, list[str]]]:
    """The DEBUG capture, and the repr of every event any ClientProtocol handed out."""
    capture = Capture()
    logger = logging.getLogger("centrifugo_proto")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(capture)
    reprs: list[str] = []
    next_event = ClientProtocol.next_event

    def recording(self: ClientProtocol) -> Any:
        event = next_event(self)
        if event is not None:
            reprs.append(repr(event))
        return event

    monkeypatch.setattr(ClientProtocol, "next_event", recording)
    try:
        yield capture, reprs
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)


def secrets_in(text: str, secrets: dict[str, str]) -> list[str]:
    """The names of the secrets ``text`` shows; a JWT's signature alone counts too."""
    found = []
    for name, value in secrets.items():
        parts = [value] + ([value.rsplit(".", 1)[1]] if value.count(".") == 2 else [])
        if any(part in text for part in parts):
            found.append(name)
    return found


def load_minimal_adapter() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "minimal_adapter", EXAMPLES / "minimal_adapter.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def v6_session(factory: ServerFactory, secrets: dict[str, str], results: list[Any]) -> None:
    server = factory()
    hmac = server.hmac_secret
    now = int(time.time())
    channel = "private:secrets"
    first = connection_token(hmac, "alice", exp=now + 3)
    sub_first = subscription_token(hmac, "alice", channel, exp=now + 3)
    wrong = subscription_token(hmac, "alice", "private:nowhere", exp=now + 600)  # not that one
    fresh: list[str] = []

    def get_token(sub_channel: str | None = None) -> str:
        if sub_channel is None:
            token = connection_token(hmac, "alice", exp=int(time.time()) + 600)
        else:
            token = subscription_token(hmac, "alice", sub_channel, exp=int(time.time()) + 600)
        fresh.append(token)
        return token

    secrets.update(hmac_secret=hmac, jwt=first, sub_jwt=sub_first, wrong_sub_jwt=wrong)
    refreshed = threading.Event()
    sub_refreshed = threading.Event()
    with Client(server.ws_url, token=first, get_token=get_token) as client:
        client.on("refresh", lambda e: refreshed.set())
        sub = client.new_subscription(channel, token=sub_first, get_token=get_token)
        sub.on("refresh", lambda e: sub_refreshed.set())
        results.append(sub.subscribe())
        results.append(client.publish(channel, {"text": "hi"}))
        results.append(client.history(channel, limit=10))
        results.append(client.presence(channel))
        assert refreshed.wait(15), "the connection token was not refreshed"
        assert sub_refreshed.wait(15), "the subscription token was not refreshed"
        results.append(client.publish(channel, {"text": "after the refresh"}))
    assert len(fresh) >= 2, fresh
    # A subscription token for another channel: the server ends that connection (3500).
    with Client(server.ws_url) as other:
        with pytest.raises(CentrifugoError) as refused:
            other.subscribe("private:elsewhere", token=wrong, timeout=5)
        results.append(refused.value)
    secrets.update({f"fresh_jwt_{n}": token for n, token in enumerate(fresh)})

    secrets["api_key"] = server.api_key
    with ApiClient(f"{server.http_url}/api", api_key=server.api_key) as api:
        results.append(api)
        results.append(api.publish(channel, {"text": "from the backend"}))
        results.append(api.info())
    secrets["wrong_api_key"] = "not-the-key-0123456789"
    with ApiClient(f"{server.http_url}/api", api_key=secrets["wrong_api_key"]) as api:
        results.append(api)
        with pytest.raises(ApiUnauthorized) as unauthorized:
            api.info()
        results.append(unauthorized.value)


def legacy_session(server: LegacyServer, secrets: dict[str, str], results: list[Any]) -> None:
    minimal = load_minimal_adapter()
    timestamp = str(int(time.time()))
    token = server.connect_token("42", timestamp)
    secrets.update(legacy_secret=server.secret, legacy_token=token)
    channel = "$public:secrets"
    proto = ClientProtocol(server.ws_url, token=Credentials("42", timestamp, token), protocol="v1")
    published: list[Any] = []

    class SigningLoop(minimal.SelectorLoop):  # type: ignore[name-defined,misc]
        def answer(self, event: TokenRequested) -> None:
            assert event.channel == channel
            sign = server.channel_sign(str(proto.client_id), channel)
            secrets["legacy_sign"] = sign
            proto.provide_token(event, ChannelSign(sign), now=time.monotonic())

    def handle(event: Any) -> None:
        results.append(event)
        name = type(event).__name__
        if name == "Subscribed":
            proto.publish(channel, {"text": "1.x"}, now=time.monotonic())
        elif name == "PublicationReceived":
            published.append(event.publication)
            proto.close(now=time.monotonic())

    loop = SigningLoop(proto, handle)
    loop.call(proto.connect)
    loop.call(proto.subscribe, channel)
    runner = threading.Thread(target=loop.run, daemon=True)
    runner.start()
    runner.join(15)
    assert not runner.is_alive(), "the 1.x session did not finish"
    assert [p.data for p in published] == [{"text": "1.x"}]
    assert "legacy_sign" in secrets

    with LegacyApiClient(f"{server.http_url}/api/", secret=server.secret) as api:
        results.append(api)
        api.publish("public:secrets", {"text": "from the 1.x backend"})
        results.append(api.presence("public:secrets"))


def test_no_secret_in_logs_or_reprs(
    seen: tuple[Capture, list[str]],
    centrifugo_factory: ServerFactory,
    legacy_server: LegacyServer,
) -> None:
    capture, event_reprs = seen
    secrets: dict[str, str] = {}
    results: list[Any] = []
    v6_session(centrifugo_factory, secrets, results)
    legacy_session(legacy_server, secrets, results)

    # What was captured is the whole session, from every layer.
    assert {
        "centrifugo_proto.session",
        "centrifugo_proto.websocket",
        "centrifugo_proto.adapters.api",
    } <= capture.loggers(), capture.loggers()
    text = "\n".join(capture.lines)
    for said in (
        "connected as client",
        "connection token refreshed",
        "subscription token of 'private:secrets' refreshed",
        "connection refused, not reconnecting: invalid token (code 3500)",
        "POST /api/publish: HTTP 200",
        "POST /api/info: HTTP 401",
    ):
        assert said in text, said
    names = {r.split("(", 1)[0] for r in event_reprs}
    assert {"OpenTransport", "TokenRequested", "TokenRefreshed", "CommandSucceeded"} <= names
    assert {
        "hmac_secret",
        "jwt",
        "sub_jwt",
        "wrong_sub_jwt",
        "fresh_jwt_0",
        "fresh_jwt_1",
        "api_key",
        "wrong_api_key",
        "legacy_secret",
        "legacy_token",
        "legacy_sign",
    } <= secrets.keys(), sorted(secrets)

    assert secrets_in(text, secrets) == [], "a secret in the logs"
    for shown in event_reprs:
        assert secrets_in(shown, secrets) == [], shown
    for result in results:
        assert secrets_in(repr(result), secrets) == [], repr(result)
        assert secrets_in(str(result), secrets) == [], str(result)


def test_publications_cost_no_log_record(
    seen: tuple[Capture, list[str]], centrifugo_factory: ServerFactory
) -> None:
    """At DEBUG, a subscriber receiving publications logs nothing for them."""
    capture, _ = seen
    server = centrifugo_factory()
    count = 200
    with Client(server.ws_url) as client:
        sub = client.subscribe("public:flood")
        before = len(capture.lines)
        for n in range(count):
            server.api("publish", {"channel": "public:flood", "data": {"n": n}})
        received = [pub.data["n"] for pub in itertools.islice(sub, count)]
        during = capture.lines[before:]
    assert received == list(range(count))
    assert during == [], during[:10]
    assert capture.lines, "the capture works: connecting logged"
