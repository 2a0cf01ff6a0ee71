"""The publication tags filter (centrifugo_proto/filters.py, PROTOCOL.md §2.2, §11):
the builder, what construction refuses, and ``matches`` against the server's
rules (centrifuge ``internal/filter`` at the commit Centrifugo v6.9.1 pins)."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from centrifugo_proto.errors import LocalProtocolError
from centrifugo_proto.filters import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_TEXT_BYTES,
    FilterNode,
    matches,
    tags,
)


def test_the_node_has_exactly_the_protocols_fields():
    assert [f.name for f in attrs.fields(FilterNode)] == [
        "op",
        "key",
        "cmp",
        "val",
        "vals",
        "nodes",
    ]
    node = tags.eq("type", "goal")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        node.val = "other"  # type: ignore[misc]
    assert node == FilterNode(key="type", cmp="eq", val="goal")
    assert hash(node) == hash(FilterNode(key="type", cmp="eq", val="goal"))


@pytest.mark.parametrize(
    ("built", "wire"),
    [
        (tags.eq("k", "v"), FilterNode(key="k", cmp="eq", val="v")),
        (tags.neq("k", "v"), FilterNode(key="k", cmp="neq", val="v")),
        (tags.in_("k", ["a", "b"]), FilterNode(key="k", cmp="in", vals=("a", "b"))),
        (tags.not_in("k", ("a",)), FilterNode(key="k", cmp="nin", vals=("a",))),
        (tags.exists("k"), FilterNode(key="k", cmp="ex")),
        (tags.not_exists("k"), FilterNode(key="k", cmp="nex")),
        (tags.starts_with("k", "v"), FilterNode(key="k", cmp="sw", val="v")),
        (tags.ends_with("k", "v"), FilterNode(key="k", cmp="ew", val="v")),
        (tags.contains("k", "v"), FilterNode(key="k", cmp="ct", val="v")),
        (tags.gt("k", 10), FilterNode(key="k", cmp="gt", val="10")),
        (tags.gte("k", "-1.5"), FilterNode(key="k", cmp="gte", val="-1.5")),
        (tags.lt("k", Decimal("1E+3")), FilterNode(key="k", cmp="lt", val="1000")),
        (tags.lte("k", 0.1), FilterNode(key="k", cmp="lte", val="0.1")),
    ],
)
def test_the_builder_writes_the_wire_names(built, wire):
    assert built == wire


def test_numbers_are_written_as_the_server_reads_them():
    assert tags.gt("k", 1e22).val == "10000000000000000000000"  # never "1e+22"
    assert tags.gt("k", 2.5e-7).val == "0.00000025"
    assert tags.gt("k", Decimal("1.50")).val == "1.50"
    assert tags.gt("k", -(10**30)).val == "-" + "1" + "0" * 30
    assert tags.gt("k", "+007").val == "+007"


def test_combinators():
    a, b, c = tags.eq("a", "1"), tags.eq("b", "2"), tags.eq("c", "3")
    assert tags.all_(a, b) == FilterNode(op="and", nodes=(a, b))
    assert tags.any_(a) == FilterNode(op="or", nodes=(a,))
    assert tags.not_(a) == FilterNode(op="not", nodes=(a,)) == ~a
    # Chains flatten from the left; explicit grouping stays.
    assert a & b & c == tags.all_(a, b, c)
    assert a | b | c == tags.any_(a, b, c)
    assert a & (b & c) == tags.all_(a, tags.all_(b, c))
    assert tags.all_(tags.all_(a, b), c) != tags.all_(a, b, c)
    assert (a & b) | c == tags.any_(tags.all_(a, b), c)
    assert ~~a == tags.not_(tags.not_(a))
    # FilterNode(..., nodes=[...]) takes a list too.
    assert FilterNode(op="or", nodes=[a, b]) == a | b


def test_combining_with_something_else_is_a_type_error():
    with pytest.raises(TypeError):
        tags.eq("a", "1") & "b"  # type: ignore[operator]
    with pytest.raises(TypeError):
        tags.eq("a", "1") | None  # type: ignore[operator]


def refused(match: str, build):
    with pytest.raises(LocalProtocolError, match=match):
        build()


@pytest.mark.parametrize(
    ("match", "build"),
    [
        # Strings only where the protocol has strings, and valid UTF-8.
        ("key must be a str, not bytes", lambda: tags.eq(b"type", "goal")),
        ("val must be a str, not int", lambda: tags.eq("score", 10)),
        ("val must be a str, not NoneType", lambda: tags.starts_with("k", None)),
        ("op must be a str", lambda: FilterNode(op=None)),
        ("cmp must be a str", lambda: FilterNode(key="k", cmp=b"eq", val="v")),
        ("key must be valid UTF-8", lambda: tags.eq("\ud800", "v")),
        ("val must be valid UTF-8", lambda: tags.contains("k", "a\udfffb")),
        ("value must be valid UTF-8", lambda: tags.in_("k", ["ok", "\udc80"])),
        ("value must be a str, not int", lambda: tags.in_("k", ["a", 1])),
        # vals: a list of str, only for in/nin, never empty there.
        ("vals must be a list or tuple of str, not str", lambda: tags.in_("team", "home")),
        ("vals must be a list or tuple of str, not bytes", lambda: tags.not_in("k", b"ab")),
        ("vals must be a list or tuple of str, not int", lambda: tags.in_("k", 5)),
        ("'in' takes non-empty vals", lambda: tags.in_("k", [])),
        ("'nin' takes non-empty vals", lambda: tags.not_in("k", ())),
        (
            "'in' takes non-empty vals, no val",
            lambda: FilterNode(key="k", cmp="in", val="x", vals=("a",)),
        ),
        (
            "'eq' takes one non-empty val, no vals",
            lambda: FilterNode(key="k", cmp="eq", val="v", vals=("a",)),
        ),
        ("'ex' takes neither", lambda: FilterNode(key="k", cmp="ex", val="v")),
        ("'nex' takes neither", lambda: FilterNode(key="k", cmp="nex", vals=("a",))),
        # An empty val is error 107 on the server for every one-value comparison.
        ("'eq' takes one non-empty val", lambda: tags.eq("k", "")),
        ("'neq' takes one non-empty val", lambda: tags.neq("k", "")),
        ("'sw' takes one non-empty val", lambda: tags.starts_with("k", "")),
        ("'ew' takes one non-empty val", lambda: tags.ends_with("k", "")),
        ("'ct' takes one non-empty val", lambda: tags.contains("k", "")),
        ("'gt' takes one non-empty val", lambda: tags.gt("k", "")),
        # A key for every leaf but ex and nex (the server's own exception).
        ("'eq' needs a key", lambda: tags.eq("", "v")),
        ("'in' needs a key", lambda: tags.in_("", ["v"])),
        # Names the server does not know.
        (
            "unknown tags filter comparison 'starts'",
            lambda: FilterNode(key="k", cmp="starts", val="v"),
        ),
        ("unknown tags filter comparison ''", lambda: FilterNode(key="k")),
        ("unknown tags filter op 'xor'", lambda: FilterNode(op="xor", nodes=(tags.exists("k"),))),
        ("unknown tags filter op 'AND'", lambda: FilterNode(op="AND", nodes=(tags.exists("k"),))),
        # Branches: nodes only, and/or at least one, not exactly one.
        ("'and' node takes at least one node", lambda: tags.all_()),
        ("'or' node takes at least one node", lambda: tags.any_()),
        (
            "'not' node takes exactly one node, not 2",
            lambda: FilterNode(op="not", nodes=(tags.exists("a"), tags.exists("b"))),
        ),
        ("'not' node takes exactly one node, not 0", lambda: FilterNode(op="not")),
        (
            "'and' node takes nodes only",
            lambda: FilterNode(op="and", key="k", nodes=(tags.exists("a"),)),
        ),
        (
            "'or' node takes nodes only",
            lambda: FilterNode(op="or", vals=("a",), nodes=(tags.exists("a"),)),
        ),
        (
            "a tags filter leaf takes no nodes",
            lambda: FilterNode(key="k", cmp="ex", nodes=(tags.exists("a"),)),
        ),
        ("nodes must be a tuple of FilterNode, not str", lambda: FilterNode(op="and", nodes="ab")),
        ("a tags filter node must be a FilterNode, not dict", lambda: tags.all_({"op": ""})),
    ],
)
def test_construction_refuses(match, build):
    refused(match, build)


@pytest.mark.parametrize(
    "value",
    [
        "NaN",
        "inf",
        "1e3",  # the server's parser reads no exponent
        "1.",
        ".5",
        "-.5",
        " 1",
        "1 ",
        "1_000",
        "\u0663",  # ARABIC-INDIC DIGIT THREE: Python's int() reads it, the server does not
        "1.2.3",
        "+",
        "0x10",
        "1." + "0" * 20,  # more than 19 digits after the point
        "1" * 201,  # more than 200 characters
        "ten",
    ],
)
def test_numeric_comparisons_refuse_what_the_servers_parser_refuses(value):
    # The server accepts such a filter and then never matches: surely a mistake.
    for build in (tags.gt, tags.gte, tags.lt, tags.lte):
        refused("needs a decimal number the server can read", lambda b=build: b("score", value))


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (float("nan"), "must be finite"),
        (float("inf"), "must be finite"),
        (Decimal("NaN"), "must be finite"),
        (Decimal("-Infinity"), "must be finite"),
        (True, "not a bool"),
        (None, "must be str, int, float or Decimal, not NoneType"),
        (b"10", "not bytes"),
        (1e-20, "needs a decimal number"),  # 20 digits after the point
    ],
)
def test_numeric_values_of_other_kinds(value, match):
    refused(match, lambda: tags.gt("score", value))


def test_numbers_at_the_edge_of_the_servers_parser():
    assert tags.gt("k", "0." + "1" * 19).val == "0." + "1" * 19
    assert tags.gt("k", "9" * 200).val == "9" * 200
    assert tags.lt("k", "-0").val == "-0"


def test_ex_and_nex_may_have_an_empty_key():
    # The server's Validate lets these two through without a key.
    assert tags.exists("").key == ""
    assert matches(tags.exists(""), {"": "x"})
    assert matches(tags.not_exists(""), {"a": "x"})


def chain(depth: int) -> FilterNode:
    node = tags.exists("k")
    for _ in range(depth - 1):
        node = ~node
    return node


def test_the_depth_bound():
    assert chain(MAX_DEPTH)  # builds
    refused(f"{MAX_DEPTH + 1} levels deep", lambda: ~chain(MAX_DEPTH))


def test_the_node_count_bound():
    leaves = [tags.exists(f"k{i}") for i in range(MAX_NODES - 1)]
    assert len(tags.any_(*leaves).nodes) == MAX_NODES - 1
    refused(f"has {MAX_NODES + 1} nodes", lambda: tags.any_(*leaves, tags.exists("x")))


def test_the_text_bound():
    half = "x" * (MAX_TEXT_BYTES // 2)
    assert tags.in_("k", [half[:-2]]) & tags.eq("j", half)  # k + j + both: exactly the bound
    refused("carries", lambda: tags.in_("k", [half]) & tags.eq("j", half))
    refused("carries", lambda: tags.eq("k", "é" * (MAX_TEXT_BYTES // 2)))  # bytes, not characters


# -- matches: the server's rules, operator by operator ---------------------------------

PRESENT = {"type": "goal", "team": "home", "score": "12", "name": "Zoë", "empty": ""}


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (tags.eq("type", "goal"), True),
        (tags.eq("type", "Goal"), False),
        (tags.eq("missing", "goal"), False),
        (tags.neq("type", "goal"), False),
        (tags.neq("type", "card"), True),
        (tags.neq("missing", "x"), True),  # an absent tag always differs
        (tags.in_("team", ["away", "home"]), True),
        (tags.in_("team", ["away"]), False),
        (tags.in_("missing", ["", "x"]), True),  # an absent tag compares as ""
        (tags.in_("missing", ["x"]), False),
        (tags.in_("empty", [""]), True),
        (tags.not_in("team", ["away"]), True),
        (tags.not_in("team", ["home"]), False),
        (tags.not_in("missing", [""]), False),
        (tags.not_in("missing", ["x"]), True),
        (tags.exists("type"), True),
        (tags.exists("empty"), True),  # present with an empty value is present
        (tags.exists("missing"), False),
        (tags.not_exists("missing"), True),
        (tags.not_exists("empty"), False),
        (tags.starts_with("name", "Zo"), True),
        (tags.starts_with("name", "oë"), False),
        (tags.starts_with("missing", "x"), False),
        (tags.ends_with("name", "oë"), True),
        (tags.ends_with("name", "Zo"), False),
        (tags.ends_with("missing", "x"), False),
        (tags.contains("name", "o"), True),
        (tags.contains("name", "ë"), True),
        (tags.contains("name", "x"), False),
        (tags.contains("missing", "x"), False),
        (tags.gt("score", 11), True),
        (tags.gt("score", 12), False),
        (tags.gte("score", 12), True),
        (tags.gte("score", "12.0000000000000000001"), False),  # exact, not float
        (tags.lt("score", "12.5"), True),
        (tags.lt("score", 12), False),
        (tags.lte("score", "+12"), True),
        (tags.lte("score", 11), False),
        (tags.gt("missing", 0), False),
        (tags.lte("missing", 0), False),
        (tags.gt("type", 0), False),  # not a number: no numeric comparison matches
        (tags.lte("type", 0), False),
        (tags.lt("empty", 1), False),
    ],
)
def test_matches(node, expected):
    assert matches(node, PRESENT) is expected
    assert matches(~node, PRESENT) is (not expected)


@pytest.mark.parametrize(
    ("tag", "gt_zero"),
    [
        ("1", True),
        ("-1", False),
        ("+1", True),
        ("0.0000000000000000001", True),  # 19 digits after the point
        ("0.00000000000000000001", False),  # 20: the server cannot parse it
        ("1e3", False),  # nor an exponent
        ("-0", False),
        ("007", True),
        (" 1", False),
        ("1" * 200, True),
        ("1" * 201, False),  # past 200 characters
        ("\u0661", False),  # ARABIC-INDIC DIGIT ONE
    ],
)
def test_tag_values_read_as_numbers_as_the_server_reads_them(tag, gt_zero):
    assert matches(tags.gt("n", 0), {"n": tag}) is gt_zero


def test_branches():
    goal, home = tags.eq("type", "goal"), tags.eq("team", "home")
    away = tags.eq("team", "away")
    assert matches(goal & home, PRESENT)
    assert not matches(goal & away, PRESENT)
    assert matches(goal | away, PRESENT)
    assert not matches(away | tags.exists("missing"), PRESENT)
    assert matches(tags.all_(goal), PRESENT)
    assert matches(tags.any_(away, away, goal), PRESENT)
    assert not matches(tags.not_(goal), PRESENT)
    assert matches(~(away & goal) & ~tags.exists("missing"), PRESENT)
