"""Hypothesis strategies for the core's protocol objects, parametrised by the
codec's payload strategy (JSON values in JSON mode).

The factories are cached: building a strategy costs more than drawing from it,
and tests that draw inside ``st.data()`` would otherwise build one per example.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from hypothesis import strategies as st

from centrifugo_proto.commands import PONG as PONG_REQUEST
from centrifugo_proto.commands import (
    ConnectRequest,
    HistoryRequest,
    PresenceRequest,
    PresenceStatsRequest,
    PublishRequest,
    RefreshRequest,
    RpcRequest,
    SendRequest,
    SubRefreshRequest,
    SubscribeRequest,
    UnsubscribeRequest,
)
from centrifugo_proto.errors import ReplyError
from centrifugo_proto.filters import FilterNode, tags
from centrifugo_proto.messages import (
    PING,
    Ignored,
    Incoming,
    Join,
    Leave,
    Push,
    Reply,
    ServerDisconnect,
    ServerMessage,
    ServerSubscribe,
    ServerUnsubscribe,
)
from centrifugo_proto.results import (
    ClientInfo,
    ConnectResult,
    HistoryResult,
    PresenceResult,
    PresenceStatsResult,
    Publication,
    PublishResult,
    RefreshResult,
    RpcResult,
    StreamPosition,
    SubRefreshResult,
    SubscribeResult,
    UnsubscribeResult,
)

UINT32 = st.integers(min_value=0, max_value=2**32 - 1)
UINT64 = st.integers(min_value=0, max_value=2**64 - 1)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
TEXT = st.text(max_size=16)
#: Wire ids of replies: 0 would make a Reply a ping.
WIRE_IDS = st.integers(min_value=1, max_value=2**32 - 1)

#: Every Command field but connect/ping (PROTOCOL.md §2.1).
METHODS = (
    "subscribe",
    "unsubscribe",
    "publish",
    "presence",
    "presence_stats",
    "history",
    "send",
    "rpc",
    "refresh",
    "sub_refresh",
    "connect",
)


@cache
def client_infos(payloads: st.SearchStrategy[Any]) -> st.SearchStrategy[ClientInfo]:
    return st.builds(
        ClientInfo,
        user=TEXT,
        client=TEXT,
        conn_info=st.none() | payloads,
        chan_info=st.none() | payloads,
    )


@cache
def publications(
    payloads: st.SearchStrategy[Any], channels: st.SearchStrategy[str] = TEXT
) -> st.SearchStrategy[Publication]:
    return st.builds(
        Publication,
        channel=channels,
        data=payloads,
        offset=UINT64,
        info=st.none() | client_infos(payloads),
        # The server leaves empty maps out (PROTOCOL.md §1.1): no tags is None.
        tags=st.none() | st.dictionaries(TEXT, TEXT, min_size=1, max_size=3),
        time=INT64,
        epoch=TEXT,
        delta=st.booleans(),
    )


@cache
def subscribe_results(payloads: st.SearchStrategy[Any]) -> st.SearchStrategy[SubscribeResult]:
    return st.builds(
        SubscribeResult,
        expires=st.booleans(),
        ttl=UINT32,
        recoverable=st.booleans(),
        positioned=st.booleans(),
        epoch=TEXT,
        offset=UINT64,
        publications=st.lists(publications(payloads), max_size=3).map(tuple),
        recovered=st.booleans(),
        was_recovering=st.booleans(),
        data=st.none() | payloads,
        delta=st.booleans(),
    )


@cache
def subscribe_pushes(payloads: st.SearchStrategy[Any]) -> st.SearchStrategy[ServerSubscribe]:
    """A ``subscribe`` push: its Subscribe message has only these fields (§3)."""
    return st.builds(
        ServerSubscribe,
        st.builds(
            SubscribeResult,
            recoverable=st.booleans(),
            positioned=st.booleans(),
            epoch=TEXT,
            offset=UINT64,
            data=st.none() | payloads,
        ),
    )


@cache
def results(payloads: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A result of every kind a Reply can carry (PROTOCOL.md §2.3)."""
    return st.one_of(
        st.builds(
            ConnectResult,
            client=TEXT,
            version=TEXT,
            expires=st.booleans(),
            ttl=UINT32,
            data=st.none() | payloads,
            subs=st.dictionaries(TEXT, subscribe_results(payloads), max_size=2),
            ping=UINT32,
            pong=st.booleans(),
            session=TEXT,
            node=TEXT,
            time=INT64,
        ),
        subscribe_results(payloads),
        st.builds(
            HistoryResult,
            publications=st.lists(publications(payloads), max_size=3).map(tuple),
            offset=UINT64,
            epoch=TEXT,
        ),
        st.builds(
            PresenceResult, clients=st.dictionaries(TEXT, client_infos(payloads), max_size=3)
        ),
        st.builds(PresenceStatsResult, num_clients=UINT32, num_users=UINT32),
        st.builds(RpcResult, data=st.none() | payloads),
        st.builds(RefreshResult, client=TEXT, version=TEXT, expires=st.booleans(), ttl=UINT32),
        st.builds(SubRefreshResult, expires=st.booleans(), ttl=UINT32),
        st.just(PublishResult()),
        st.just(UnsubscribeResult()),
    )


#: Tags filters (PROTOCOL.md §2.2) built as the caller builds them (centrifugo_proto.filters).
_FILTER_LEAVES = st.one_of(
    st.builds(tags.eq, TEXT.filter(bool), TEXT.filter(bool)),
    st.builds(tags.in_, TEXT.filter(bool), st.lists(TEXT, min_size=1, max_size=3)),
    st.builds(tags.exists, TEXT),
    st.builds(tags.gt, TEXT.filter(bool), st.integers(-(10**6), 10**6)),
)
TAGS_FILTERS: st.SearchStrategy[FilterNode] = st.recursive(
    _FILTER_LEAVES,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda ns: tags.all_(*ns)),
        st.lists(children, min_size=1, max_size=3).map(lambda ns: tags.any_(*ns)),
        children.map(tags.not_),
    ),
    max_leaves=6,
)

REPLY_ERRORS = st.builds(ReplyError, UINT32, TEXT, st.booleans())


@cache
def replies(
    payloads: st.SearchStrategy[Any], ids: st.SearchStrategy[int] = WIRE_IDS
) -> st.SearchStrategy[Reply]:
    return st.one_of(
        st.builds(Reply, ids, results(payloads)),
        st.builds(Reply, ids, st.none(), REPLY_ERRORS),
    )


@cache
def push_bodies(payloads: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(Join, client_infos(payloads)),
        st.builds(Leave, client_infos(payloads)),
        st.builds(ServerUnsubscribe, UINT32, TEXT),
        subscribe_pushes(payloads),
        st.builds(ServerMessage, st.none() | payloads),
        st.builds(ServerDisconnect, UINT32, TEXT),
        st.sampled_from(["connect", "refresh", "unknown"]).map(Ignored),
    )


@cache
def pushes(
    payloads: st.SearchStrategy[Any], channels: st.SearchStrategy[str] = TEXT
) -> st.SearchStrategy[Incoming]:
    """Pushes, publications (decoded straight to Publication) and pings."""
    return st.one_of(
        publications(payloads, channels),
        st.builds(Push, channels, push_bodies(payloads)),
        st.just(PING),
    )


@cache
def incoming(payloads: st.SearchStrategy[Any]) -> st.SearchStrategy[Incoming]:
    """Anything a server message can hold."""
    return st.one_of(replies(payloads), pushes(payloads))


def _subscribe_requests(
    payloads: st.SearchStrategy[Any], channel: st.SearchStrategy[str]
) -> st.SearchStrategy[SubscribeRequest]:
    return st.builds(
        SubscribeRequest,
        channel=channel,
        token=TEXT,
        recover=st.booleans(),
        epoch=TEXT,
        offset=UINT64,
        data=st.none() | payloads,
        positioned=st.booleans(),
        recoverable=st.booleans(),
        join_leave=st.booleans(),
        delta=st.sampled_from(["", "fossil"]),
        tags_filter=st.none() | TAGS_FILTERS,
    )


@cache
def commands(payloads: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[int | None, Any]]:
    """(wire id, typed command) pairs as the session sends them: ids from 1 for
    commands with replies, none for ``send`` and the pong (PROTOCOL.md §2.1, §4)."""
    # Channels and RPC methods are never empty on the wire: the facade refuses an
    # empty channel, and both are always written (JSON) or simply present.
    channel = st.text(min_size=1, max_size=16)
    with_reply = st.one_of(
        st.builds(
            ConnectRequest,
            token=TEXT,
            data=st.none() | payloads,
            subs=st.dictionaries(TEXT, _subscribe_requests(payloads, st.just("")), max_size=2),
            name=TEXT,
            version=TEXT,
        ),
        _subscribe_requests(payloads, channel),
        st.builds(UnsubscribeRequest, channel),
        st.builds(PublishRequest, channel, payloads),
        st.builds(PresenceRequest, channel),
        st.builds(PresenceStatsRequest, channel),
        st.builds(
            HistoryRequest,
            channel=channel,
            limit=st.integers(-1, 2**31 - 1),
            since=st.none() | st.builds(StreamPosition, UINT64, TEXT),
            reverse=st.booleans(),
        ),
        st.builds(RpcRequest, channel, st.none() | payloads),
        st.builds(RefreshRequest, token=TEXT),
        st.builds(SubRefreshRequest, channel, TEXT),
    )
    return st.one_of(
        st.tuples(WIRE_IDS, with_reply),
        st.tuples(st.none(), st.builds(SendRequest, payloads)),
        st.tuples(st.none(), st.just(PONG_REQUEST)),
    )
