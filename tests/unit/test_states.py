"""The transition tables are total (centrifugo_proto/states.py rule 2)."""

from __future__ import annotations

import itertools

import pytest

from centrifugo_proto.states import (
    CLIENT_TRANSITIONS,
    INVALID,
    STAY,
    SUBSCRIPTION_TRANSITIONS,
    ClientInput,
    ClientState,
    Outcome,
    SubscriptionInput,
    SubscriptionState,
)

TABLES = [
    (CLIENT_TRANSITIONS, ClientState, ClientInput),
    (SUBSCRIPTION_TRANSITIONS, SubscriptionState, SubscriptionInput),
]


@pytest.mark.parametrize(("table", "states", "inputs"), TABLES, ids=["client", "subscription"])
def test_every_state_input_pair_has_exactly_one_row(table, states, inputs):
    expected = set(itertools.product(states, inputs))
    assert set(table) == expected
    assert len(table) == len(expected)


@pytest.mark.parametrize(("table", "states", "inputs"), TABLES, ids=["client", "subscription"])
def test_every_row_is_a_state_stay_or_invalid(table, states, inputs):
    for key, outcome in table.items():
        assert isinstance(outcome, states) or outcome in (STAY, INVALID), (key, outcome)
        assert outcome is not key[0], f"{key}: moving to the same state is written STAY"


@pytest.mark.parametrize(("table", "states", "inputs"), TABLES, ids=["client", "subscription"])
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
