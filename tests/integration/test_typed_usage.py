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
from typed_usage import use_asyncio, use_blocking, use_trio

from centrifugo_proto import (
    ClientState,
    HistoryResult,
    PresenceResult,
    PublishResult,
    RpcResult,
    SubscriptionState,
)
from harness import CentrifugoServer


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
