"""``python -m centrifugo_proto.adapters.cli``: the same as ``centrifugo-proto``."""

from __future__ import annotations

from . import main

raise SystemExit(main())
