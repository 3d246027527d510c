"""Fuzz the rate governor: simulated bulk runs against any limit the simulator can build.

The same runs and checks as ``tests/bulk/test_governor_properties.py`` (no exception, no
item lost, no pace of nothing), drawn afresh for as long as the budget allows. Such draws
found random 429s answered at once (a gateway) read as a pace of 0/s, a limit that a real
bulk run then divided by (1 run in 3,000, before the fix of 2026-12-06).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given

from tests.bulk.test_governor_properties import check_a_run_against, runs

from ._budget import fuzz_settings, run_for


@fuzz_settings
@given(runs())
def run_against_anything(run: dict[str, Any]) -> None:
    check_a_run_against(run)


def test_fuzz_the_governor(fuzz_budget: float, fuzz_seed: int) -> None:
    run_for(run_against_anything, budget=fuzz_budget, seed=fuzz_seed)
