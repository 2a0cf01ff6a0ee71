"""The publication tags filter of Centrifugo 6.4+: ``SubscribeRequest.tf`` (PROTOCOL.md §2.2, §11).

A subscriber asks the server to send only the publications whose ``tags`` match a
tree of :class:`FilterNode`. Build one with :data:`tags` and combine with ``&``
(all), ``|`` (any) and ``~`` (not)::

    from centrifugo_proto.filters import tags

    goals = tags.eq("type", "goal") & tags.in_("team", ["home", "away"])
    wanted = goals | (tags.exists("vip") & ~tags.lt("score", 10))

or spell the combinators out: ``tags.all_(a, b, c)``, ``tags.any_(a, b)``,
``tags.not_(a)``. ``a & b & c`` is one "and" node of three (likewise ``|``);
``tags.all_`` and ``tags.any_`` keep the nesting they are given.

================  ======  ==============================================================
builder           wire    a publication matches when
================  ======  ==============================================================
eq(k, v)          eq      tag k is present and equals v
neq(k, v)         neq     tag k is absent or differs from v
in_(k, vs)        in      tag k (``""`` when absent) is one of vs
not_in(k, vs)     nin     tag k (``""`` when absent) is none of vs
exists(k)         ex      tag k is present
not_exists(k)     nex     tag k is absent
starts_with(k,v)  sw      tag k is present and starts with v
ends_with(k, v)   ew      tag k is present and ends with v
contains(k, v)    ct      tag k is present and contains v
gt / gte /        gt ...  tag k is present, is a decimal number, and compares so with v
lt / lte(k, v)
================  ======  ==============================================================

These are the semantics of centrifuge's ``internal/filter`` at the commit
Centrifugo v6.9.1 pins (``Match``); :func:`matches` evaluates them, so tests can
hold a real server's filtering against it. Numbers are what the server's
decimal parser (``udecimal.Parse``) reads: ``[+-]digits[.digits]``, at most 19
digits after the point, at most 200 characters, no exponent, no spaces; they
compare exactly (``decimal.Decimal`` here). A tag that is not such a number
matches no numeric comparison.

Construction checks what the server's ``Validate`` checks, so a filter it would
answer with error 107 never leaves the client: ``val`` non-empty for eq, neq,
sw, ew, ct and the numeric comparisons, ``vals`` non-empty for in and nin and
nothing else, neither for ex and nex, a key for every leaf but ex and nex,
"and"/"or" with at least one child, "not" with exactly one. It checks more than
the server, raising :class:`~centrifugo_proto.errors.LocalProtocolError` where a
filter is surely a mistake: strings that are not ``str`` (a ``bytes`` key) or
not valid UTF-8 (a lone surrogate), a numeric comparison with a value the
server's parser refuses (the server accepts the filter, which then matches
nothing), children on a leaf or fields on a branch, and trees deeper than
:data:`MAX_DEPTH`, larger than :data:`MAX_NODES` or carrying more than
:data:`MAX_TEXT_BYTES` of keys and values (the server has no bound; a
subscribe frame past its WebSocket message limit, 64 KiB by default, would
close the connection).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final

import attrs

from .errors import LocalProtocolError

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_TEXT_BYTES",
    "FilterNode",
    "TagsFilterBuilder",
    "matches",
    "tags",
]

#: Levels of nesting a filter may have (a leaf alone is depth 1).
MAX_DEPTH: Final = 32
#: Nodes, leaves and branches together, in one filter.
MAX_NODES: Final = 512
#: UTF-8 bytes of every key, val and vals entry in one filter together.
MAX_TEXT_BYTES: Final = 32 * 1024

_AND, _OR, _NOT = "and", "or", "not"
_BRANCHES = frozenset({_AND, _OR, _NOT})
#: Comparisons that take one non-empty ``val`` (server ``Validate``).
_WITH_VAL = frozenset({"eq", "neq", "sw", "ew", "ct", "gt", "gte", "lt", "lte"})
_NUMERIC = frozenset({"gt", "gte", "lt", "lte"})
#: Comparisons that take a non-empty ``vals``.
_WITH_VALS = frozenset({"in", "nin"})
#: Comparisons that take neither, and the only ones that may have an empty key.
_BARE = frozenset({"ex", "nex"})

#: ``udecimal.Parse`` (ParseModeError, precision 19): optional sign, digits, and an
#: optional point followed by 1 to 19 digits; ASCII digits only (``re``'s ``\\d``
#: would take any Unicode digit, and ``Decimal()`` spaces and underscores too).
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]{1,19})?")
_NUMBER_MAX_CHARS = 200


def _decimal(text: str) -> Decimal | None:
    """The number ``text`` is to the server, or None if its parser refuses it."""
    if len(text) > _NUMBER_MAX_CHARS or not _NUMBER.fullmatch(text):
        return None
    return Decimal(text)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise LocalProtocolError(f"a tags filter {what} must be a str, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise LocalProtocolError(
            f"a tags filter {what} must be valid UTF-8 (no lone surrogates): {value!r}"
        ) from None
    return value


def _vals(value: object) -> tuple[str, ...]:
    # A str is iterable: in_("team", "home") would mean the values "h", "o", ...
    if isinstance(value, (str, bytes, bytearray, memoryview)) or not isinstance(value, Iterable):
        raise LocalProtocolError(
            f"tags filter vals must be a list or tuple of str, not {type(value).__name__}"
        )
    return tuple(_text(v, "value") for v in value)


def _nodes(value: object) -> tuple[FilterNode, ...]:
    if not isinstance(value, (tuple, list)):
        raise LocalProtocolError(
            f"tags filter nodes must be a tuple of FilterNode, not {type(value).__name__}"
        )
    for node in value:
        if not isinstance(node, FilterNode):
            raise LocalProtocolError(
                f"a tags filter node must be a FilterNode, not {type(node).__name__}"
            )
    return tuple(value)


def _measure(node: FilterNode) -> tuple[int, int, int]:
    """(depth, nodes, text bytes) of the tree under ``node``."""
    depth, count = 1, 1
    size = len(node.key.encode()) + len(node.val.encode()) + sum(len(v.encode()) for v in node.vals)
    for child in node.nodes:
        child_depth, child_count, child_size = _measure(child)
        depth = max(depth, child_depth + 1)
        count += child_count
        size += child_size
    return depth, count, size


@attrs.frozen(kw_only=True)
class FilterNode:
    """One node of a tags filter, with the fields of the protocol's ``FilterNode``.

    ``op`` is ``""`` for a leaf (``key``, ``cmp`` and ``val`` or ``vals``), or
    "and", "or", "not" over ``nodes``. Checked when built (module docstring);
    :data:`tags` builds them readably.
    """

    op: str = ""
    key: str = ""
    cmp: str = ""
    val: str = ""
    vals: tuple[str, ...] = attrs.field(default=(), converter=_vals)
    nodes: tuple[FilterNode, ...] = attrs.field(default=(), converter=_nodes)

    def __attrs_post_init__(self) -> None:
        op = _text(self.op, "op")
        key, cmp, val = _text(self.key, "key"), _text(self.cmp, "cmp"), _text(self.val, "val")
        if op in _BRANCHES:
            self._check_branch(op, key, cmp, val)
        elif op:
            raise LocalProtocolError(f"unknown tags filter op {op!r} (and, or, not, or '')")
        else:
            self._check_leaf(key, cmp, val)
        depth, count, size = _measure(self)
        if depth > MAX_DEPTH:
            raise LocalProtocolError(f"a tags filter is {depth} levels deep (at most {MAX_DEPTH})")
        if count > MAX_NODES:
            raise LocalProtocolError(f"a tags filter has {count} nodes (at most {MAX_NODES})")
        if size > MAX_TEXT_BYTES:
            raise LocalProtocolError(
                f"a tags filter carries {size} bytes of keys and values (at most {MAX_TEXT_BYTES})"
            )

    def _check_branch(self, op: str, key: str, cmp: str, val: str) -> None:
        if key or cmp or val or self.vals:
            raise LocalProtocolError(f"a tags filter {op!r} node takes nodes only")
        if op == _NOT and len(self.nodes) != 1:
            raise LocalProtocolError(
                f"a tags filter 'not' node takes exactly one node, not {len(self.nodes)}"
            )
        if not self.nodes:
            raise LocalProtocolError(f"a tags filter {op!r} node takes at least one node")

    def _check_leaf(self, key: str, cmp: str, val: str) -> None:
        if self.nodes:
            raise LocalProtocolError("a tags filter leaf takes no nodes")
        if cmp in _WITH_VAL:
            if not val or self.vals:
                raise LocalProtocolError(f"tags filter {cmp!r} takes one non-empty val, no vals")
            if cmp in _NUMERIC and _decimal(val) is None:
                raise LocalProtocolError(
                    f"tags filter {cmp!r} needs a decimal number the server can read "
                    f"([+-]digits[.1-19 digits], at most {_NUMBER_MAX_CHARS} characters), "
                    f"not {val!r}"
                )
        elif cmp in _WITH_VALS:
            if not self.vals or val:
                raise LocalProtocolError(f"tags filter {cmp!r} takes non-empty vals, no val")
        elif cmp in _BARE:
            if val or self.vals:
                raise LocalProtocolError(f"tags filter {cmp!r} takes neither val nor vals")
        else:
            raise LocalProtocolError(f"unknown tags filter comparison {cmp!r}")
        if not key and cmp not in _BARE:
            raise LocalProtocolError(f"tags filter {cmp!r} needs a key")

    def __and__(self, other: object) -> FilterNode:
        if not isinstance(other, FilterNode):
            return NotImplemented
        return _combine(_AND, self, other)

    def __or__(self, other: object) -> FilterNode:
        if not isinstance(other, FilterNode):
            return NotImplemented
        return _combine(_OR, self, other)

    def __invert__(self) -> FilterNode:
        return FilterNode(op=_NOT, nodes=(self,))


def _combine(op: str, left: FilterNode, right: FilterNode) -> FilterNode:
    # a & b & c is and(a, b, c): only the left side, which the operator built
    # (``a & (b & c)`` keeps the grouping it was written with).
    first = left.nodes if left.op == op else (left,)
    return FilterNode(op=op, nodes=(*first, right))


def _number(value: object) -> str:
    """A numeric comparison's value as the decimal text the server reads."""
    if isinstance(value, bool):
        raise LocalProtocolError("a numeric tags filter value must be a number, not a bool")
    if isinstance(value, str):
        return value  # FilterNode checks it
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LocalProtocolError(f"a numeric tags filter value must be finite, not {value!r}")
        # repr is the shortest text that reads back as this float (0.1, not 0.1000...0555).
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise LocalProtocolError(f"a numeric tags filter value must be finite, not {value!r}")
        return format(value, "f")  # fixed point: the server reads no exponent
    raise LocalProtocolError(
        f"a numeric tags filter value must be str, int, float or Decimal, "
        f"not {type(value).__name__}"
    )


class TagsFilterBuilder:
    """The builder behind :data:`tags`: one method per comparison, three combinators."""

    __slots__ = ()

    @staticmethod
    def eq(key: str, value: str) -> FilterNode:
        return FilterNode(key=key, cmp="eq", val=value)

    @staticmethod
    def neq(key: str, value: str) -> FilterNode:
        return FilterNode(key=key, cmp="neq", val=value)

    @staticmethod
    def in_(key: str, values: Iterable[str]) -> FilterNode:
        return FilterNode(key=key, cmp="in", vals=values)

    @staticmethod
    def not_in(key: str, values: Iterable[str]) -> FilterNode:
        return FilterNode(key=key, cmp="nin", vals=values)

    @staticmethod
    def exists(key: str) -> FilterNode:
        return FilterNode(key=key, cmp="ex")

    @staticmethod
    def not_exists(key: str) -> FilterNode:
        return FilterNode(key=key, cmp="nex")

    @staticmethod
    def starts_with(key: str, prefix: str) -> FilterNode:
        return FilterNode(key=key, cmp="sw", val=prefix)

    @staticmethod
    def ends_with(key: str, suffix: str) -> FilterNode:
        return FilterNode(key=key, cmp="ew", val=suffix)

    @staticmethod
    def contains(key: str, part: str) -> FilterNode:
        return FilterNode(key=key, cmp="ct", val=part)

    @staticmethod
    def gt(key: str, value: str | int | float | Decimal) -> FilterNode:
        return FilterNode(key=key, cmp="gt", val=_number(value))

    @staticmethod
    def gte(key: str, value: str | int | float | Decimal) -> FilterNode:
        return FilterNode(key=key, cmp="gte", val=_number(value))

    @staticmethod
    def lt(key: str, value: str | int | float | Decimal) -> FilterNode:
        return FilterNode(key=key, cmp="lt", val=_number(value))

    @staticmethod
    def lte(key: str, value: str | int | float | Decimal) -> FilterNode:
        return FilterNode(key=key, cmp="lte", val=_number(value))

    @staticmethod
    def all_(*nodes: FilterNode) -> FilterNode:
        return FilterNode(op=_AND, nodes=nodes)

    @staticmethod
    def any_(*nodes: FilterNode) -> FilterNode:
        return FilterNode(op=_OR, nodes=nodes)

    @staticmethod
    def not_(node: FilterNode) -> FilterNode:
        return FilterNode(op=_NOT, nodes=(node,))


#: The tags filter builder: ``tags.eq("type", "goal") & tags.gt("score", 10)``.
tags: Final = TagsFilterBuilder()


def matches(node: FilterNode, tags: Mapping[str, str]) -> bool:
    """Whether a publication with these ``tags`` passes the filter, as the server
    decides it (centrifuge ``internal/filter.Match``; module docstring)."""
    op = node.op
    if op == _AND:
        return all(matches(child, tags) for child in node.nodes)
    if op == _OR:
        return any(matches(child, tags) for child in node.nodes)
    if op == _NOT:
        return not matches(node.nodes[0], tags)
    cmp = node.cmp
    value = tags.get(node.key)
    if cmp == "in":
        return ("" if value is None else value) in node.vals
    if cmp == "nin":
        return ("" if value is None else value) not in node.vals
    if cmp == "neq":
        return value is None or value != node.val
    if cmp == "nex":
        return value is None
    if value is None:
        return False  # eq, ex, sw, ew, ct and the numeric comparisons need the tag
    if cmp == "eq":
        return value == node.val
    if cmp == "ex":
        return True
    if cmp == "sw":
        return value.startswith(node.val)
    if cmp == "ew":
        return value.endswith(node.val)
    if cmp == "ct":
        # On valid UTF-8 a code-point substring is a byte substring and back
        # (Go's strings.Contains works on bytes).
        return node.val in value
    number = _decimal(value)
    if number is None:
        return False
    limit = Decimal(node.val)  # checked at construction
    if cmp == "gt":
        return number > limit
    if cmp == "gte":
        return number >= limit
    if cmp == "lt":
        return number < limit
    return number <= limit  # lte: the last comparison construction lets through
