"""Which callback an event goes to (adapters/_base/names.py)."""

from __future__ import annotations

import pytest

from centrifugo_proto import (
    ClientInfo,
    CloseTransport,
    CommandSucceeded,
    Connected,
    ConnectResult,
    ErrorOccurred,
    JoinReceived,
    LocalProtocolError,
    OpenTransport,
    PingReceived,
    Publication,
    PublicationReceived,
    PublicationsLost,
    RemoteProtocolError,
    ReplyError,
    Subscribed,
    SubscribeResult,
    Subscribing,
    TokenRefreshed,
    TokenRequested,
    TransportClosed,
    Unsubscribed,
)
from centrifugo_proto.adapters._base.names import CALLBACK_NAMES, callback_target, event_name
from centrifugo_proto.endpoints import parse_endpoint

INFO = ClientInfo(user="u", client="c")


@pytest.mark.parametrize(
    ("event", "target"),
    [
        (PublicationReceived(publication=Publication(channel="a", data=1)), ("a", "publication")),
        (
            PublicationReceived(publication=Publication(channel="s", data=1), server_side=True),
            (None, "publication"),
        ),
        (Subscribing(channel="a", code=0, reason=""), ("a", "subscribing")),
        (Subscribing(channel="s", code=1, reason="", server_side=True), (None, "subscribing")),
        (
            Subscribed(
                channel="a",
                result=SubscribeResult(),
                position=None,
                was_recovering=False,
                recovered=False,
            ),
            ("a", "subscribed"),
        ),
        (Unsubscribed(channel="s", code=0, reason="", server_side=True), (None, "unsubscribed")),
        (JoinReceived(channel="a", info=INFO), ("a", "join")),
        (
            PublicationsLost(channel="a", since=None, reason="recovery failed"),
            ("a", "publications_lost"),
        ),
        (ErrorOccurred(error=ReplyError(100, "x"), channel="a"), ("a", "error")),
        (ErrorOccurred(error=RemoteProtocolError("bad protocol: x")), (None, "error")),
        (TokenRefreshed(channel=None, expires=True, ttl=5), (None, "refresh")),
        (TokenRefreshed(channel="a", expires=True, ttl=5), ("a", "refresh")),
        (
            Connected(client_id="c", version="", data=None, result=ConnectResult(client="c")),
            (None, "connected"),
        ),
        (PingReceived(), (None, "ping")),
        (TransportClosed(code=1006, reason=""), (None, "ws_closed")),
    ],
)
def test_callback_target(event, target):
    assert callback_target(event) == target


@pytest.mark.parametrize(
    "event",
    [
        CloseTransport(),
        OpenTransport(endpoint=parse_endpoint("ws://h/"), attempt=1),
        TokenRequested(request_id=1, channel=None),
        CommandSucceeded(request=1, result=None),
    ],
)
def test_effects_and_replies_go_to_no_callback(event):
    assert callback_target(event) is None


def test_every_callback_name_is_a_known_event_name():
    for name in CALLBACK_NAMES.values():
        assert event_name(name) == name


def test_seed_names_map_to_current_ones_and_typos_are_refused():
    assert event_name("connect") == "connected"
    assert event_name("disconnect") == "disconnected"
    assert event_name("publish") == "publish"
    assert event_name("ws_error") == "ws_error"
    with pytest.raises(LocalProtocolError, match="publicaton"):
        event_name("publicaton")
