"""Tokens, signs, keys and passwords never show in a ``repr`` (docs/logging.md).

Every object that holds one is built here with a known secret, and its ``repr``, the
one a log line or a traceback would show, is searched for it. The whole-session
check, at DEBUG against the real servers, is tests/integration/test_secrets.py.
"""

from __future__ import annotations

import pytest

from centrifugo_proto import ClientProtocol, OpenTransport, SubscriptionOptions
from centrifugo_proto.commands import (
    ConnectRequest,
    RefreshRequest,
    SubRefreshRequest,
    SubscribeRequest,
)
from centrifugo_proto.endpoints import parse_endpoint
from centrifugo_proto.http import HttpRequest
from centrifugo_proto.legacy import ChannelSign, Credentials
from centrifugo_proto.proxy import parse_proxy

SECRET = "s3cr3t-value-for-the-repr-test"


@pytest.mark.parametrize(
    "holder",
    [
        ConnectRequest(token=SECRET, name="python"),
        SubscribeRequest(channel="chat:a", token=SECRET),
        RefreshRequest(token=SECRET),
        SubRefreshRequest("chat:a", SECRET),
        SubscriptionOptions(token=SECRET, recoverable=True),
        Credentials("42", "1700000000", SECRET),
        ChannelSign(SECRET),
        parse_proxy(f"http://user:{SECRET}@127.0.0.1:3128"),
        HttpRequest(method="POST", target="/api/publish", headers=(("X-API-Key", SECRET),)),
        parse_endpoint("ws://127.0.0.1:8000/connection/websocket", headers=(("X-T", SECRET),)),
        parse_endpoint(f"ws://127.0.0.1:8000/connection/websocket?token={SECRET}"),
    ],
    ids=type,
)
def test_repr_hides_the_secret(holder: object) -> None:
    shown = repr(holder)
    assert SECRET not in shown, shown
    assert type(holder).__name__ in shown  # a real repr, not an empty one


def test_what_is_not_secret_still_shows() -> None:
    endpoint = parse_endpoint(
        "ws://example.com:8000/connection/websocket?v=1", headers=(("Authorization", SECRET),)
    )
    shown = repr(endpoint)
    assert "'ws://example.com:8000/connection/websocket?…'" in shown
    assert "'/connection/websocket?…'" in shown
    assert "('Authorization', '…')" in shown
    plain = repr(parse_endpoint("ws://example.com/connection/websocket"))
    assert "'ws://example.com/connection/websocket'" in plain
    assert "channel='chat:a'" in repr(SubscribeRequest(channel="chat:a", token=SECRET))


def test_the_connect_effect_hides_the_headers_given_to_the_client() -> None:
    proto = ClientProtocol(
        "ws://127.0.0.1:8000/connection/websocket",
        token=SECRET,
        headers=(("Cookie", f"session={SECRET}"),),
    )
    proto.connect(now=0.0)
    events = []
    while (event := proto.next_event()) is not None:
        events.append(event)
    opens = [e for e in events if isinstance(e, OpenTransport)]
    assert len(opens) == 1
    assert all(SECRET not in repr(e) for e in events), events
    assert "Cookie" in repr(opens[0])
