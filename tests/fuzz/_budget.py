"""Run a hypothesis test for a time budget instead of a number of examples.

Hypothesis stops after ``max_examples``; a fuzz run should stop after so many seconds. So a
target runs in batches, each with its own seed (``seed``, ``seed + 1``, ...), until the
budget is spent. A failure stops at once, shrunk, with the seed and a reproduction blob.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed

__all__ = ["BATCH", "fuzz_settings", "run_for"]

BATCH = 100

fuzz_settings = settings(
    max_examples=BATCH,
    deadline=None,
    database=None,
    print_blob=True,
    phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)


def run_for(test: Callable[[], Any], *, budget: float, seed: int) -> int:
    """Call the ``@given`` test ``test`` in seeded batches until ``budget`` seconds pass.

    Returns:
        The number of examples tried (batches times :data:`BATCH`, about).
    """
    deadline = time.monotonic() + budget
    batches = 0
    while True:
        try:
            hypothesis_seed(seed + batches)(test)()
        except Exception:
            print(f"fuzz batch seed: {seed + batches} (FUZZ_SEED={seed}, batch {batches})")
            raise
        batches += 1
        if time.monotonic() >= deadline:
            return batches * BATCH
