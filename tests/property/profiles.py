"""Hypothesis profiles for the property suite (loaded by ``conftest.py``).

- ``dev`` (the default): quick, for the edit-test loop.
- ``ci`` (selected when ``CI=true``): large enough to matter. Every ``@given``
  property runs 500 examples; the state machine (``test_state_machine.py``) runs
  200 programs of up to 50 steps each. The whole suite stays near two minutes on
  two cores.
- ``HYPOTHESIS_PROFILE=<name>`` picks one by hand (``thorough``: 5000 examples,
  1000 state-machine programs, for a long local run).

Numbers a test needs of its own (the state machine's program count) are read
from :data:`STATEFUL_EXAMPLES` by profile name.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    max_examples=500,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=5000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)

#: State-machine programs per profile (each up to ``STATEFUL_STEPS`` steps).
STATEFUL_EXAMPLES = {"dev": 100, "ci": 500, "thorough": 2000}
STATEFUL_STEPS = 50

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or (
    "ci" if os.environ.get("CI", "").lower() == "true" else "dev"
)
settings.load_profile(PROFILE)
