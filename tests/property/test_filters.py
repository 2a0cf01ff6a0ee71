"""Tags filters (centrifugo_proto/filters.py) over random trees: every valid tree
builds, ``~`` inverts ``matches``, ``&`` and ``|`` are "and" and "or" of their
sides, numbers compare as exact decimals, and any input at all either builds or
raises ``LocalProtocolError``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
from hypothesis import event, given
from hypothesis import strategies as st

from centrifugo_proto.errors import LocalProtocolError
from centrifugo_proto.filters import FilterNode, matches, tags

#: Few keys and values, so that random tags and random filters meet.
KEYS = ["type", "team", "score", "x"]
VALUES = ["goal", "home", "away", "", "10", "-2.5", "007", "1e3", "Zoë"]

#: Any str the protocol can carry (no lone surrogates).
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
values = st.one_of(st.sampled_from(VALUES), text)
keys = st.one_of(st.sampled_from(KEYS), text.filter(bool))
tag_maps = st.dictionaries(st.sampled_from(KEYS), values, max_size=4)

numbers = st.one_of(
    st.integers(-(10**30), 10**30),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=3, min_value=-(10**6), max_value=10**6
    ),
    st.integers(-(10**6), 10**6).map(lambda n: n / 8),  # floats with a short exact repr
    st.from_regex(r"[+-]?[0-9]{1,25}(\.[0-9]{1,19})?", fullmatch=True),
)
one_value = st.sampled_from([tags.eq, tags.neq, tags.starts_with, tags.ends_with, tags.contains])
many_values = st.sampled_from([tags.in_, tags.not_in])
bare = st.sampled_from([tags.exists, tags.not_exists])
numeric = st.sampled_from([tags.gt, tags.gte, tags.lt, tags.lte])

leaves = st.one_of(
    st.builds(lambda f, k, v: f(k, v), one_value, keys, values.filter(bool)),
    st.builds(
        lambda f, k, vs: f(k, vs), many_values, keys, st.lists(values, min_size=1, max_size=4)
    ),
    st.builds(lambda f, k: f(k), bare, st.one_of(keys, st.just(""))),
    st.builds(lambda f, k, n: f(k, n), numeric, keys, numbers),
)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=4).map(lambda ns: tags.all_(*ns)),
        st.lists(children, min_size=1, max_size=4).map(lambda ns: tags.any_(*ns)),
        children.map(tags.not_),
    ),
    max_leaves=20,
)


@given(trees)
def test_every_valid_tree_builds_and_rebuilds_equal(tree):
    assert isinstance(tree, FilterNode)
    # The constructor takes back what it built, field by field.
    assert FilterNode(**attrs.asdict(tree, recurse=False)) == tree


@given(trees, tag_maps)
def test_not_inverts_matches(tree, tag_map):
    assert matches(~tree, tag_map) is (not matches(tree, tag_map))
    assert matches(tags.not_(tags.not_(tree)), tag_map) is matches(tree, tag_map)


@given(trees, trees, tag_maps)
def test_and_or_are_and_or_of_their_sides(a, b, tag_map):
    assert matches(a & b, tag_map) is (matches(a, tag_map) and matches(b, tag_map))
    assert matches(a | b, tag_map) is (matches(a, tag_map) or matches(b, tag_map))
    assert matches(~(a & b), tag_map) is matches(~a | ~b, tag_map)  # De Morgan


@given(keys, st.lists(values, min_size=1, max_size=4), tag_maps)
def test_in_is_eq_on_the_tag_or_on_empty(key, vals, tag_map):
    seen = tag_map.get(key, "")
    assert matches(tags.in_(key, vals), tag_map) is any(seen == v for v in vals)
    assert matches(tags.not_in(key, vals), tag_map) is (seen not in vals)


@given(
    numeric,
    st.decimals(allow_nan=False, allow_infinity=False, places=5),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
)
def test_numbers_compare_as_exact_decimals(build, tag_number, limit):
    tag_text = format(tag_number, "f")  # fixed point, as a publisher would write it
    node = build("n", limit)
    expected = {
        "gt": tag_number > limit,
        "gte": tag_number >= limit,
        "lt": tag_number < limit,
        "lte": tag_number <= limit,
    }[node.cmp]
    assert matches(node, {"n": tag_text}) is expected
    assert Decimal(node.val) == limit


anything: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    text,
    st.text(max_size=4),  # lone surrogates too
    st.binary(max_size=4),
    st.sampled_from(["", "and", "or", "not", "eq", "in", "ex", "gt", "sw", "nin", "lte"]),
    st.lists(st.one_of(text, st.integers()), max_size=3),
)


FIELDS = ["op", "key", "cmp", "val", "vals", "nodes"]


replacements = st.one_of(
    anything,
    values,  # plausible ones too, so that some replaced nodes still build
    st.lists(values, min_size=1, max_size=3).map(tuple),
    st.lists(leaves, min_size=1, max_size=2),
)


@given(trees, st.sampled_from(FIELDS), replacements)
def test_any_input_builds_or_raises_local_protocol_error(tree, field, value):
    # A valid node with one field replaced by anything at all.
    fields = attrs.asdict(tree, recurse=False)
    fields[field] = value
    try:
        node = FilterNode(**fields)
    except LocalProtocolError:
        event("refused")
        return
    event("built")
    assert isinstance(node, FilterNode)
    assert matches(node, {"type": "goal"}) in (True, False)
