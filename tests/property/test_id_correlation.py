"""Id correlation (DESIGN "Request handles"): whatever the set of concurrent
commands and the order of their replies, interleaved with pushes and pings, each
reply resolves exactly its own handle, once; wire ids are never reused within a
connection; a late reply to a timed-out command is dropped quietly; an id never
issued, or a second reply to one, is bad input ("bad protocol" reconnect).
"""

from __future__ import annotations

from typing import Any

import pytest
from codec_pairs import CODEC_IDS, CODECS, CodecPair, connected
from hypothesis import given
from hypothesis import strategies as st
from strategies import REPLY_ERRORS, client_infos, publications

from centrifugo_proto import (
    ClientOptions,
    ClientState,
    CommandFailed,
    CommandSucceeded,
    CommandTimeout,
    Connecting,
    ConnectingCode,
    ConnectResult,
    ErrorOccurred,
    HistoryResult,
    PresenceResult,
    PresenceStatsResult,
    PublishResult,
    RemoteProtocolError,
    RpcResult,
)
from centrifugo_proto.messages import (
    PING,
    Push,
    Reply,
    ServerMessage,
)
from serverside import PONG

codecs = pytest.mark.parametrize("codec", CODECS, ids=CODEC_IDS)
TIMEOUT = 5.0
#: No ping deadline: these properties move time only to time commands out.
NO_PING = ConnectResult(client="c", ping=0, pong=True)
OPTIONS = ClientOptions(timeout=TIMEOUT)
METHODS = ("publish", "history", "presence", "presence_stats", "rpc")


def issue(codec: CodecPair, client: Any, method: str, now: float) -> int:
    if method == "publish":
        return client.publish("ch", codec.payload({"n": 1}), now=now)
    if method == "rpc":
        return client.rpc("m", now=now)
    return getattr(client, method)("ch", now=now)


def result_for(method: str, payloads: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A result of the kind ``method`` gets (history publications carry their channel)."""
    if method == "publish":
        return st.just(PublishResult())
    if method == "history":
        return st.builds(
            HistoryResult,
            publications=st.lists(publications(payloads, st.just("ch")), max_size=2).map(tuple),
            offset=st.integers(0, 99),
            epoch=st.text(max_size=3),
        )
    if method == "presence":
        return st.builds(
            PresenceResult,
            clients=st.dictionaries(st.text(max_size=4), client_infos(payloads), max_size=2),
        )
    if method == "presence_stats":
        return st.builds(
            PresenceStatsResult, num_clients=st.integers(0, 9), num_users=st.integers(0, 9)
        )
    return st.builds(RpcResult, data=payloads)


def outcomes(events: list[Any]) -> list[CommandSucceeded | CommandFailed]:
    return [e for e in events if isinstance(e, CommandSucceeded | CommandFailed)]


@codecs
@given(data=st.data())
def test_each_reply_resolves_exactly_its_own_handle_once(
    codec: CodecPair, data: st.DataObject
) -> None:
    draw = data.draw
    client, peer = connected(codec, result=NO_PING, options=OPTIONS)
    now = 1.0
    wire: dict[int, tuple[int, str]] = {}  # wire id -> (handle, method)
    seen_ids: list[int] = [1]  # connect
    unanswered: list[int] = []
    expected: dict[int, Any] = {}  # handle -> result or ReplyError
    events: list[Any] = []
    for _ in range(draw(st.integers(1, 25))):
        step = draw(st.sampled_from(["issue", "issue", "reply", "reply", "push"]))
        if step == "issue" or (not unanswered and step == "reply"):
            method = draw(st.sampled_from(METHODS))
            handle = issue(codec, client, method, now)
            (command,) = [c for c in peer.commands() if c != PONG]
            assert command.method == method
            assert command.id not in seen_ids, "a wire id was reused"
            seen_ids.append(command.id)
            wire[command.id] = (handle, method)
            unanswered.append(command.id)
            events += peer.events()
        elif step == "reply":
            # Several replies in one frame, in any order, pushes and pings between them.
            picked = draw(
                st.lists(st.sampled_from(unanswered), min_size=1, max_size=4, unique=True)
            )
            frame: list[Any] = []
            for wire_id in picked:
                handle, method = wire[wire_id]
                if draw(st.booleans()):
                    outcome = draw(result_for(method, codec.payloads))
                    frame.append(Reply(wire_id, outcome))
                else:
                    outcome = draw(REPLY_ERRORS)
                    frame.append(Reply(wire_id, None, outcome))
                expected[handle] = outcome
                unanswered.remove(wire_id)
                if draw(st.booleans()):
                    frame.append(draw(st.sampled_from([PING, Push("", ServerMessage(1))])))
            events += peer.feed(*frame, now=now)
        else:
            events += peer.feed(PING, Push("", ServerMessage(codec.payload({"x": 1}))), now=now)
        now += draw(st.sampled_from([0.0, 0.01, 0.1]))
    assert client.state is ClientState.CONNECTED
    resolved = outcomes(events)
    assert sorted(e.request for e in resolved) == sorted(expected), "each handle resolved once"
    for event in resolved:
        if isinstance(event, CommandSucceeded):
            assert event.result == expected[event.request]
        else:
            assert event.error == expected[event.request]
    assert sorted(seen_ids) == seen_ids, "wire ids only grow within a connection"


@codecs
@given(data=st.data())
def test_late_replies_to_timed_out_commands_are_dropped(
    codec: CodecPair, data: st.DataObject
) -> None:
    draw = data.draw
    client, peer = connected(codec, result=NO_PING, options=OPTIONS)
    count = draw(st.integers(1, 8))
    methods = [draw(st.sampled_from(METHODS)) for _ in range(count)]
    handles = [issue(codec, client, method, 1.0) for method in methods]
    ids = [c.id for c in peer.commands()]

    def answer(wire_id: int) -> Reply:
        return Reply(wire_id, draw(result_for(methods[ids.index(wire_id)], codec.payloads)))

    # Some get their reply in time, the rest time out, then get theirs late.
    in_time = draw(st.lists(st.sampled_from(ids), unique=True, max_size=count))
    if in_time:
        peer.feed(*map(answer, in_time), now=2.0)
    client.handle_timeout(now=1.0 + TIMEOUT)
    events = peer.events()
    late = [i for i in ids if i not in in_time]
    timed_out = [e for e in outcomes(events) if e.request in handles]
    assert {e.request for e in timed_out} >= {handles[ids.index(i)] for i in late}
    assert all(
        isinstance(e, CommandFailed) and isinstance(e.error, CommandTimeout) for e in timed_out
    )
    order = draw(st.permutations(late))
    events = peer.feed(*map(answer, order), now=1.0 + TIMEOUT + 1)
    assert outcomes(events) == [], "a late reply resolves nothing"
    assert not [e for e in events if isinstance(e, ErrorOccurred | Connecting)]
    assert client.state is ClientState.CONNECTED
    # A second late reply to one of them is a reply to an id no longer issued.
    if late:
        again = draw(st.sampled_from(late))
        events = peer.feed(answer(again), now=1.0 + TIMEOUT + 2)
        assert Connecting(code=ConnectingCode.BAD_PROTOCOL, reason=_reason(events)) in events


def _reason(events: list[Any]) -> str:
    (error,) = [e for e in events if isinstance(e, ErrorOccurred)]
    assert isinstance(error.error, RemoteProtocolError)
    assert str(error.error).startswith("bad protocol: ")
    return str(error.error)


@codecs
@given(data=st.data())
def test_an_id_never_issued_or_answered_twice_is_bad_protocol(
    codec: CodecPair, data: st.DataObject
) -> None:
    draw = data.draw
    client, peer = connected(codec, result=NO_PING, options=OPTIONS)
    count = draw(st.integers(0, 5))
    handles = [issue(codec, client, "publish", 1.0) for _ in range(count)]
    ids = [c.id for c in peer.commands()]
    answered = draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
    if answered:
        peer.feed(*(Reply(i, PublishResult()) for i in answered), now=1.0)
    bad = draw(
        st.one_of(
            st.integers(max(ids, default=1) + 1, 2**32 - 1),  # never issued
            st.just(1),  # the connect command's id: answered already
            *([st.sampled_from(answered)] if answered else []),  # a second reply
        )
    )
    events = peer.feed(Reply(bad, PublishResult()), now=1.0)
    reason = _reason(events)
    assert events[-1] == Connecting(code=ConnectingCode.BAD_PROTOCOL, reason=reason)
    assert client.state is ClientState.CONNECTING
    peer.pump()
    assert peer.ws is not None
    assert peer.ws.close_code == 1002  # protocol error
    # Commands still in flight fail, once; none succeeds by the stray reply.
    failed = [e for e in outcomes(events) if isinstance(e, CommandFailed)]
    pending = {handles[ids.index(i)] for i in ids if i not in answered}
    assert {e.request for e in failed} == pending
    assert not [e for e in outcomes(events) if isinstance(e, CommandSucceeded)]
