"""The generated docs match their sources."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_state_diagrams_are_generated_from_the_tables() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_state_diagrams", DOCS / "make_state_diagrams.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rendered = module.render()
    assert (DOCS / "states.md").read_text() == rendered, (
        "docs/states.md is stale: run python docs/make_state_diagrams.py"
    )
    # Every transition of the tables appears as an arrow.
    assert "connected --> connecting: connection lost" in rendered
    assert "subscribed --> subscribing: server asks to resubscribe" in rendered
