"""Run one scenario in this (fresh) process and write its figures as JSON.

Usage: ``python -m benchmarks._worker SPEC_JSON OUT_PATH``. The harness starts one of
these per measurement so that peak RSS, CPU time and allocator state are the scenario's
own; the result goes to a file rather than stdout so nothing the code under test prints
can corrupt it.
"""

from __future__ import annotations

import json
import sys

from benchmarks._spec import Spec
from benchmarks.scenarios import run_scenario


def main(argv: list[str]) -> int:
    """Run the scenario described by ``argv[0]`` and write the result to ``argv[1]``."""
    raw = json.loads(argv[0])
    raw["paths"] = tuple(raw.get("paths", ()))
    result = run_scenario(Spec(**raw))
    with open(argv[1], "w") as out:
        json.dump(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
