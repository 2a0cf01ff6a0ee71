"""The transition tables are total (centrifugo_proto/states.py rule 2): the client's,
the subscription's and the connection's phases."""

from __future__ import annotations

import itertools

import pytest

from centrifugo_proto.states import (
    CLIENT_TRANSITIONS,
    IGNORED,
    INVALID,
    PHASE_TRANSITIONS,
    STAY,
    SUBSCRIPTION_TRANSITIONS,
    ClientInput,
    ClientState,
    Outcome,
    Phase,
    PhaseInput,
    SubscriptionInput,
    SubscriptionState,
)

TABLES = [
    (CLIENT_TRANSITIONS, ClientState, ClientInput),
    (SUBSCRIPTION_TRANSITIONS, SubscriptionState, SubscriptionInput),
    (PHASE_TRANSITIONS, Phase, PhaseInput),
]
IDS = ["client", "subscription", "phase"]


@pytest.mark.parametrize(("table", "states", "inputs"), TABLES, ids=IDS)
def test_every_state_input_pair_has_exactly_one_row(table, states, inputs):
    expected = set(itertools.product(states, inputs))
    assert set(table) == expected
    assert len(table) == len(expected)


@pytest.mark.parametrize(("table", "states", "inputs"), TABLES, ids=IDS)
def test_every_row_is_a_state_stay_or_invalid(table, states, inputs):
    for key, outcome in table.items():
        assert isinstance(outcome, states) or outcome in (STAY, INVALID, IGNORED), (key, outcome)
        if states is not Phase:  # tear down from idle stays idle: a move, written as one
            assert outcome is not key[0], f"{key}: moving to the same state is written STAY"
        assert states is Phase or outcome is not IGNORED, "IGNORED is for stale transport news"


@pytest.mark.parametrize(("table", "states", "inputs"), TABLES, ids=IDS)
def test_every_state_is_reachable_and_every_input_is_used(table, states, inputs):
    targets = {o for o in table.values() if not isinstance(o, Outcome)}
    initial = next(iter(states))
    assert targets | {initial} == set(states)
    for value in inputs:
        assert any(table[s, value] is not INVALID for s in states), value


def test_closed_is_final_and_disconnected_is_where_the_client_starts():
    for value in ClientInput:
        assert CLIENT_TRANSITIONS[ClientState.CLOSED, value] in (STAY, INVALID)
    assert CLIENT_TRANSITIONS[ClientState.DISCONNECTED, ClientInput.CONNECT_CALLED] is (
        ClientState.CONNECTING
    )
    assert CLIENT_TRANSITIONS[ClientState.CLOSED, ClientInput.CONNECT_CALLED] is INVALID


def test_every_phase_can_be_torn_down_and_stale_news_is_ignored_not_invalid():
    for phase in Phase:
        assert PHASE_TRANSITIONS[phase, PhaseInput.TEAR_DOWN] is Phase.IDLE
    for value in (PhaseInput.TRANSPORT_OPENED, PhaseInput.TLS_STARTED):
        assert PHASE_TRANSITIONS[Phase.IDLE, value] is IGNORED
        assert PHASE_TRANSITIONS[Phase.CONNECTED, value] is IGNORED
    # Only the attempt that asked for a socket takes it.
    assert PHASE_TRANSITIONS[Phase.OPENING, PhaseInput.TRANSPORT_OPENED] is Phase.HANDSHAKE


def test_the_phase_reads_and_holds_a_transport_where_it_should():
    assert {p for p in Phase if p.reads_messages} == {Phase.CONNECT_SENT, Phase.CONNECTED}
    assert not Phase.IDLE.has_transport
    assert not Phase.BACKOFF.has_transport
    assert not Phase.TOKEN.has_transport
    assert all(p.has_transport for p in Phase if p.reads_messages)
