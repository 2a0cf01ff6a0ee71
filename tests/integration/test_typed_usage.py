"""The typed usage example (tests/typed_usage.py, checked by mypy --strict in make
lint) run against the real server: every public method of every adapter does
what its type says.

JSON only: the example is a program as a user writes it (JSON payloads, the
default codec), run as written; the types it checks are the same in Protobuf
mode (payloads are ``Any`` in both), and what Protobuf changes at run time is
covered by every test that takes the ``adapter`` fixture."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import pytest
import trio
from drivers import token_for, unique
from typed_usage import (
    use_api_asyncio,
    use_api_blocking,
    use_api_trio,
    use_asyncio,
    use_blocking,
    use_legacy_api_asyncio,
    use_legacy_api_blocking,
    use_legacy_api_trio,
    use_legacy_asyncio,
    use_legacy_blocking,
    use_legacy_trio,
    use_trio,
)

from centrifugo_proto import (
    ClientState,
    Credentials,
    HistoryResult,
    PingResult,
    PresenceResult,
    PublishResult,
    RpcResult,
    SubscriptionState,
)
from harness import AuthEndpoint, CentrifugoServer, LegacyServer


def run(kind: str, url: str, token: str, channel: str) -> dict[str, Any]:
    if kind == "asyncio":
        return asyncio.run(use_asyncio(url, token, channel))
    if kind == "trio":
        return trio.run(partial(use_trio, url, token, channel))
    return use_blocking(url, token, channel)


@pytest.mark.parametrize("kind", ["asyncio", "trio", "blocking"])
def test_every_public_method_does_what_its_type_says(
    kind: str, centrifugo: CentrifugoServer
) -> None:
    channel = unique(f"chat:typed-{kind}-")
    results = run(kind, centrifugo.ws_url, token_for(centrifugo, unique("typed-")), channel)
    assert results["subscribed"].channel == channel
    assert results["publish"] == PublishResult()
    assert [p.data for p in results["received"]] == [{"n": 1}, {"n": 2}]
    history = results["history"]
    assert isinstance(history, HistoryResult)
    assert [p.data for p in history.publications] == [{"n": 1}, {"n": 2}]
    assert isinstance(results["presence"], PresenceResult)
    assert len(results["presence"].clients) == 1
    assert results["presence_stats"].num_users == 1
    assert results["rpc"] == RpcResult(data={"x": 1})
    assert (results["dropped"], results["last_drop"]) == (0, None)
    assert results["reconnected"] is ClientState.CONNECTED
    assert results["closed"] is ClientState.CLOSED
    assert SubscriptionState.UNSUBSCRIBED  # the states the example reads


def run_legacy(kind: str, *args: Any) -> dict[str, Any]:
    if kind == "asyncio":
        return asyncio.run(use_legacy_asyncio(*args))
    if kind == "trio":
        return trio.run(partial(use_legacy_trio, *args))
    return use_legacy_blocking(*args)


@pytest.mark.parametrize("kind", ["asyncio", "trio", "blocking"])
def test_every_public_method_of_the_1x_dialect_does_what_its_type_says(
    kind: str, legacy_server: LegacyServer, legacy_auth: AuthEndpoint
) -> None:
    channel, private = unique(f"public:typed-{kind}-"), unique(f"$typed-{kind}-")
    made = legacy_server.credentials(unique("typed-"))
    credentials = Credentials(made.user, made.timestamp, made.token)
    results = run_legacy(kind, legacy_server.ws_url, legacy_auth.url, credentials, channel, private)
    assert results["private"] is SubscriptionState.SUBSCRIBED
    assert results["publish"] == PublishResult(uid="typed-1")
    assert results["presence"].uid == "typed-p"
    assert [p.data for p in results["history"].publications] == [{"n": 1}, {"n": 2}]
    assert results["history"].uid == "typed-h"
    assert results["ping"].data == ""
    assert results["ping_data"] == PingResult(data="hey", uid="typed-ping")
    assert results["reconnected"] is ClientState.CONNECTED


# -- the server API clients ------------------------------------------------------------------


def run_api(kind: str, *args: Any, legacy: bool = False) -> dict[str, Any]:
    if kind == "asyncio":
        return asyncio.run((use_legacy_api_asyncio if legacy else use_api_asyncio)(*args))
    if kind == "trio":
        return trio.run(partial(use_legacy_api_trio if legacy else use_api_trio, *args))
    return (use_legacy_api_blocking if legacy else use_api_blocking)(*args)


@pytest.mark.parametrize("kind", ["asyncio", "trio", "blocking"])
def test_every_method_of_the_api_client_does_what_its_type_says(
    kind: str, centrifugo: CentrifugoServer
) -> None:
    channel = unique(f"chat:typed-api-{kind}-")
    results = run_api(kind, centrifugo.http_url, centrifugo.api_key, channel)
    assert results["publish"].offset == 1
    assert [type(item).__name__ for item in results["broadcast"].responses] == ["PublishResult"]
    assert [p.data for p in results["history"].publications] == [{"n": 1}, {"n": 2}]
    assert results["history"].publications[0].tags == {"k": "v"}
    assert results["call"].offset == 2
    assert [type(item).__name__ for item in results["batch"]] == ["PresenceStatsResult"]
    assert results["presence"].clients == {}
    assert channel not in results["channels"].channels  # nobody is subscribed
    assert len(results["info"].nodes) == 1
    assert results["rpc_code"] == 104  # not found
    assert (results["post_json"], results["request"]) == (200, 200)


@pytest.mark.parametrize("kind", ["asyncio", "trio", "blocking"])
def test_every_method_of_the_1x_api_client_does_what_its_type_says(
    kind: str, legacy_server: LegacyServer
) -> None:
    channel = unique(f"public:typed-api-{kind}-")
    url = f"{legacy_server.http_url}/api/"
    results = run_api(kind, url, legacy_server.secret, channel, legacy=True)
    assert [m.data for m in results["history"].messages] == [{"n": 2}, {"n": 1}]  # newest first
    assert results["call"] == results["history"]
    assert results["presence"].clients == {}
    assert channel not in results["channels"].channels
    assert results["stats"].nodes
    assert results["node"].uid
    assert [type(item).__name__ for item in results["batch"]] == ["LegacyPresenceResult"]
