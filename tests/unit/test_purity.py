"""The core does no I/O: no module under centrifugo_proto/ imports a way to do it
(DESIGN "The core": no sockets, no clock, no threads, no randomness of its own).
Nor does the adapters' shared half, adapters/_base/ (DESIGN "Layout": adapter
policy, still pure): the adapters pass the clock, the sockets and the loop in."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "centrifugo_proto"
BASE = ROOT / "adapters" / "_base"

FORBIDDEN = frozenset(
    {
        "socket",
        "ssl",
        "select",
        "selectors",
        "asyncio",
        "trio",
        "anyio",
        "threading",
        "time",
        "os",
        "random",
        "secrets",
        "urllib.request",
        "http.client",
        "subprocess",
    }
)


def imported_modules(tree):
    """Every absolute module an AST imports, with ``from x import y`` counted as
    both ``x`` and ``x.y`` (y may be a submodule: ``from urllib import request``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            yield str(node.args[0].value)


def forbidden_imports(source):
    found = set()
    for name in imported_modules(ast.parse(source)):
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            if prefix in FORBIDDEN:
                found.add(prefix)
    return found


def core_modules():
    modules = sorted(CORE.rglob("*.py"))
    assert CORE / "session.py" in modules  # the walk found the core, not an empty tree
    assert not (CORE / "adapters").exists(), "adapters live outside the core package"
    return modules


def base_modules():
    modules = sorted(BASE.rglob("*.py"))
    assert BASE / "client.py" in modules  # the walk found the adapters' base
    return modules


@pytest.mark.parametrize(
    "path", core_modules() + base_modules(), ids=lambda p: str(p.relative_to(ROOT))
)
def test_module_imports_nothing_that_does_io(path):
    assert forbidden_imports(path.read_text(encoding="utf-8")) == set()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import socket", {"socket"}),
        ("import os.path", {"os"}),
        ("import time as clock", {"time"}),
        ("from time import monotonic", {"time"}),
        ("from asyncio.events import get_event_loop", {"asyncio"}),
        ("from urllib import request", {"urllib.request"}),
        ("import urllib.request", {"urllib.request"}),
        ("from http import client", {"http.client"}),
        ("def f():\n    import random\n", {"random"}),
        ("try:\n    import trio\nexcept ImportError:\n    pass\n", {"trio"}),
        ("threading = __import__('threading')", {"threading"}),
        ("from urllib.parse import urlsplit", set()),
        ("import http", set()),
        ("from . import time", set()),  # the package's own module, not the stdlib
        ("import timeit, osmosis", set()),
    ],
)
def test_the_checker_itself(source, expected):
    assert forbidden_imports(source) == expected
