"""Every (state, input) pair of the transition tables has a defined outcome, and
the client does what the row says (centrifugo_proto/states.py).

``tests/unit/test_states.py`` checks the tables are total as data. Here every
pair is driven through the public API: the client is put in the state, the input
is made to happen the way it happens in use (a call, a reply, a push, the
transport ending), and the client ends where the row says. A row INVALID for a
caller input raises LocalProtocolError and changes nothing; a row INVALID for a
server input names something the session never applies (the server cannot
produce it in that state), so the nearest thing the server *can* send there is
sent and must raise nothing.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from wsproto.events import AcceptConnection

from centrifugo_proto import (
    ClientProtocol,
    ClientState,
    LocalProtocolError,
    SubscriptionState,
    TokenRequested,
)
from centrifugo_proto.states import (
    CLIENT_TRANSITIONS,
    INVALID,
    STAY,
    SUBSCRIPTION_TRANSITIONS,
    ClientInput,
    SubscriptionInput,
)
from serverside import (
    FakeServer,
    ServerWebSocket,
    connect_reply,
    error,
    make_client,
    options,
    push_unsubscribe,
    reply,
)

NOW = 1.0


def _client_in(state: ClientState) -> tuple[ClientProtocol, FakeServer]:
    client = make_client(options=options())
    server = FakeServer(client)
    if state is ClientState.CONNECTING:
        client.connect(now=NOW)
        server.open(now=NOW)  # connect (id 1) in flight
    elif state is ClientState.CONNECTED:
        server.connect(now=NOW)
    elif state is ClientState.CLOSED:
        client.close(now=NOW)
    server.events()
    assert client.state is state
    return client, server


def _stray_bytes(server: FakeServer, *lines: Any) -> None:
    """Bytes as the server would send them, also where no transport is open."""
    if server.ws is None or server.ws.closed:
        server.ws = None
        ws = ServerWebSocket()
        ws.ws.receive_data(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        for _ in ws.ws.events():
            ws.ws.send(AcceptConnection())
        server.client.receive_data(ws.send_text("\n".join(map(_json, lines))), now=NOW)
        return
    server.client.receive_data(server.send(*lines), now=NOW)


def _json(line: Any) -> str:
    return json.dumps(line)


CLIENT_STIMULI: dict[ClientInput, Callable[[ClientProtocol, FakeServer], None]] = {
    ClientInput.CONNECT_CALLED: lambda c, s: c.connect(now=NOW),
    ClientInput.DISCONNECT_CALLED: lambda c, s: c.disconnect(now=NOW),
    ClientInput.CLOSE_CALLED: lambda c, s: c.close(now=NOW),
    # The connect reply: to the connect in flight, or stray where none is.
    ClientInput.CONNECT_SUCCEEDED: lambda c, s: _stray_bytes(s, connect_reply(1)),
    ClientInput.CONNECTION_LOST: lambda c, s: c.receive_eof(now=NOW),
    # A terminal close code (§5.3): 3500 "invalid token".
    ClientInput.CONNECTION_REFUSED: lambda c, s: (
        c.receive_data(s.close_frame(3500, "invalid token"), now=NOW)
        if s.ws is not None
        else c.transport_failed("refused", now=NOW)
    ),
}
CALLER = {ClientInput.CONNECT_CALLED, ClientInput.DISCONNECT_CALLED, ClientInput.CLOSE_CALLED}


@pytest.mark.parametrize(
    ("state", "value"),
    list(itertools.product(ClientState, ClientInput)),
    ids=lambda x: x.name,
)
def test_the_client_follows_its_table(state: ClientState, value: ClientInput) -> None:
    outcome = CLIENT_TRANSITIONS[state, value]
    client, server = _client_in(state)
    stimulus = CLIENT_STIMULI[value]
    if outcome is INVALID and value in CALLER:
        with pytest.raises(LocalProtocolError):
            stimulus(client, server)
        assert client.state is state
        assert server.events() == []
        return
    stimulus(client, server)  # never raises
    if outcome is INVALID:
        # The server cannot make this input happen here: what it sent instead was a
        # reply to an id no longer in flight (bad protocol, reconnect) or bytes for a
        # transport that no longer exists (ignored).
        assert value is ClientInput.CONNECT_SUCCEEDED
        expected = ClientState.CONNECTING if state is ClientState.CONNECTED else state
        assert client.state is expected
        return
    assert client.state is (state if outcome is STAY else outcome)


# -- subscriptions ----------------------------------------------------------------------


def _subscription_in(state: SubscriptionState) -> tuple[ClientProtocol, FakeServer]:
    """Connected, with subscription "a" in ``state``. Unsubscribed: after a subscribe
    that went out (wire id 2) and was given up on; subscribing: that subscribe in
    flight; subscribed: answered."""
    client, server = _client_in(ClientState.CONNECTED)
    client.subscribe("a", now=NOW)
    assert [c["id"] for c in server.commands()] == [2]
    if state is SubscriptionState.UNSUBSCRIBED:
        client.unsubscribe("a", now=NOW)
    elif state is SubscriptionState.SUBSCRIBED:
        server.feed(reply(2, subscribe={}), now=NOW)
    server.commands()
    server.events()
    assert client.subscription_state("a") is state
    return client, server


SUB_STIMULI: dict[SubscriptionInput, Callable[[ClientProtocol, FakeServer], None]] = {
    SubscriptionInput.SUBSCRIBE_CALLED: lambda c, s: c.subscribe("a", now=NOW),
    SubscriptionInput.SUBSCRIBE_SUCCEEDED: lambda c, s: s.feed(reply(2, subscribe={}), now=NOW),
    SubscriptionInput.SUBSCRIBE_RETRYABLE_ERROR: lambda c, s: s.feed(
        error(2, 100, "internal", temporary=True), now=NOW
    ),
    SubscriptionInput.SUBSCRIBE_TERMINAL_ERROR: lambda c, s: s.feed(
        error(2, 103, "permission denied"), now=NOW
    ),
    SubscriptionInput.UNSUBSCRIBE_CALLED: lambda c, s: c.unsubscribe("a", now=NOW),
    SubscriptionInput.CONNECTION_LOST: lambda c, s: c.receive_eof(now=NOW),
    SubscriptionInput.SERVER_RESUBSCRIBE: lambda c, s: s.feed(push_unsubscribe("a", 2500), now=NOW),
    SubscriptionInput.SERVER_UNSUBSCRIBE: lambda c, s: s.feed(push_unsubscribe("a", 2000), now=NOW),
    SubscriptionInput.CLIENT_CLOSED: lambda c, s: c.close(now=NOW),
}
_REPLIES = {
    SubscriptionInput.SUBSCRIBE_SUCCEEDED,
    SubscriptionInput.SUBSCRIBE_RETRYABLE_ERROR,
    SubscriptionInput.SUBSCRIBE_TERMINAL_ERROR,
}


@pytest.mark.parametrize(
    ("state", "value"),
    list(itertools.product(SubscriptionState, SubscriptionInput)),
    ids=lambda x: x.name,
)
def test_a_subscription_follows_its_table(
    state: SubscriptionState, value: SubscriptionInput
) -> None:
    outcome = SUBSCRIPTION_TRANSITIONS[state, value]
    if state is SubscriptionState.SUBSCRIBING and value is SubscriptionInput.SERVER_UNSUBSCRIBE:
        # The server ends a subscription it has not confirmed yet only by refusing its
        # token (an unsubscribe push while subscribing is news of an older one).
        client, server = _client_in(ClientState.CONNECTED)
        client.subscribe("a", now=NOW, has_token_source=True)
        (request,) = [e for e in server.events() if isinstance(e, TokenRequested)]
        client.token_failed(request, unauthorized=True, now=NOW)
        assert client.subscription_state("a") is outcome
        return
    client, server = _subscription_in(state)
    # Never raises: no subscription input is INVALID for a caller.
    SUB_STIMULI[value](client, server)
    if outcome is INVALID:
        # Only replies to a subscribe are INVALID, and only once subscribed: no
        # subscribe is in flight, so the reply is a second one to id 2 (bad protocol).
        assert value in _REPLIES
        assert state is SubscriptionState.SUBSCRIBED
        assert client.state is ClientState.CONNECTING
        assert client.subscription_state("a") is SubscriptionState.SUBSCRIBING
        return
    assert client.subscription_state("a") is (state if outcome is STAY else outcome)
    if value in _REPLIES or value is SubscriptionInput.SERVER_RESUBSCRIBE:
        assert client.state is ClientState.CONNECTED  # a reply or push the session expected
