"""``python -m centrifugo_proto``: the ``centrifugo-proto`` command line.

The command line lives with the adapters (``centrifugo_proto.adapters.cli``):
it reads the environment and files and handles signals, which the pure core
never does. Installed, ``centrifugo_proto.adapters`` is the top-level
``adapters/`` folder of the source tree mapped in by setuptools. Run from a
source checkout's root, ``python -m`` imports this folder itself, where that
mapping does not exist: then :func:`adapters_beside` registers the sibling
``adapters/`` folder under that name, as the installed package would have it.
Nothing here runs on ``import centrifugo_proto``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import PurePath
from types import ModuleType

import centrifugo_proto

NAME = "centrifugo_proto.adapters"


def adapters_beside(package_file: str) -> ModuleType | None:
    """Register ``adapters/`` next to the package whose ``__init__.py`` is
    ``package_file`` as ``centrifugo_proto.adapters``; None if there is none."""
    folder = PurePath(package_file).parent.parent / "adapters"
    spec = importlib.util.spec_from_file_location(
        NAME, str(folder / "__init__.py"), submodule_search_locations=[str(folder)]
    )
    assert spec is not None  # a .py path: the source loader
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module
    try:
        spec.loader.exec_module(module)
    except FileNotFoundError:
        del sys.modules[NAME]
        return None
    centrifugo_proto.adapters = module  # type: ignore[attr-defined]
    return module


def run() -> int:
    if importlib.util.find_spec(NAME) is None:
        adapters_beside(centrifugo_proto.__file__ or "")
    from centrifugo_proto.adapters.cli import main

    return main()


if __name__ == "__main__":
    raise SystemExit(run())
