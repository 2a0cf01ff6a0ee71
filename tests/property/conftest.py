"""Loads the hypothesis profile of the property suite (``profiles.py``)."""

from __future__ import annotations

import profiles  # noqa: F401  (registers and loads the profile)
