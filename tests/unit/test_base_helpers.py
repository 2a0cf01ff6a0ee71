"""adapters/_base: every address in turn (dialing.py) and the token sources (tokens.py)."""

from __future__ import annotations

import pytest

from centrifugo_proto import LocalProtocolError, TokenRequested, TransportError, Unauthorized
from centrifugo_proto.adapters._base.dialing import Dialing
from centrifugo_proto.adapters._base.tokens import check_token_source, not_awaitable, source_for


def test_each_address_gets_an_equal_share_of_what_is_left():
    dialing = Dialing("example.test", ["a", "b", "c"], deadline=9.0)
    assert dialing.next(0.0) == ("a", 3.0)
    dialing.failed(OSError("refused"))  # at once: its share goes to the others
    assert dialing.next(0.0) == ("b", 4.5)
    assert dialing.next(8.0) == ("c", 1.0)
    assert dialing.next(8.0) is None
    assert str(dialing.error()) == "refused"


def test_a_spent_budget_gives_no_time_and_no_address_is_a_transport_error():
    late = Dialing("example.test", ["a"], deadline=1.0)
    assert late.next(5.0) == ("a", 0.0)
    empty = Dialing("example.test", [], deadline=1.0)
    assert empty.next(0.0) is None
    error = empty.error()
    assert isinstance(error, TransportError)
    assert "'example.test' resolved to no address" in str(error)


async def _source(channel: str | None = None) -> str:
    return "t"


class _AsyncCallable:
    async def __call__(self, channel: str | None = None) -> str:
        return "t"


def test_token_sources_are_checked_at_construction():
    check_token_source(None, awaitable=False)
    check_token_source(lambda: "t", awaitable=False)
    check_token_source(_source, awaitable=True)
    with pytest.raises(LocalProtocolError, match="callable"):
        check_token_source("t", awaitable=True)
    for source in (_source, _AsyncCallable()):
        with pytest.raises(LocalProtocolError, match="async function"):
            check_token_source(source, awaitable=False)


def test_the_subscription_source_first_then_the_clients():
    class Sub:
        get_token = None

    subs = {"own": type("Own", (), {"get_token": staticmethod(lambda c: f"own:{c}")})(), "x": Sub()}
    client = lambda channel=None: f"client:{channel}"  # noqa: E731
    assert source_for(TokenRequested(request_id=1, channel=None), client, subs)() == "client:None"
    assert source_for(TokenRequested(request_id=1, channel="own"), client, subs)() == "own:own"
    assert source_for(TokenRequested(request_id=1, channel="x"), client, subs)() == "client:x"
    assert source_for(TokenRequested(request_id=1, channel="gone"), client, subs)() == "client:gone"
    with pytest.raises(Unauthorized):
        source_for(TokenRequested(request_id=1, channel="x"), None, subs)


def test_an_awaitable_nobody_awaits_is_closed_and_refused():
    assert not_awaitable("token") == "token"
    coroutine = _source()
    with pytest.raises(LocalProtocolError, match="returned an awaitable"):
        not_awaitable(coroutine)
    assert coroutine.cr_frame is None  # closed: no "never awaited" warning

    class Awaitable:
        def __await__(self):  # no close(): refused all the same
            yield

    with pytest.raises(LocalProtocolError, match="callback returned an awaitable"):
        not_awaitable(Awaitable(), "callback")
