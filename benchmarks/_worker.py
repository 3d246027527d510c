"""A worker process that runs scenarios on request and answers with their figures.

Usage: ``python -m benchmarks._worker``. The harness writes one JSON :class:`Spec` per line
to standard input and reads one JSON result per line back; each scenario runs on a fresh
event loop. Scenarios that measure memory get a worker of their own, started for that one
scenario, so peak RSS and allocator state are theirs alone; request-level comparisons
reuse one worker per client, so interpreter start-up and imports are paid once.

The answers travel on a private copy of the original standard output; ``sys.stdout`` and
file descriptor 1 are pointed at standard error, so nothing the code under test prints can
corrupt the protocol.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from typing import Any

from benchmarks._spec import Spec
from benchmarks.limited import LIMITED_SCENARIOS
from benchmarks.scenarios import SCENARIOS

_ALL = {**SCENARIOS, **LIMITED_SCENARIOS}


def _answer(spec_line: str) -> dict[str, Any]:
    try:
        raw = json.loads(spec_line)
        raw["paths"] = tuple(raw.get("paths", ()))
        spec = Spec(**raw)
        return asyncio.run(_ALL[spec.scenario](spec))
    except Exception as exc:  # every failure is reported, the worker keeps serving
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}"[:300], "traceback": traceback.format_exc()}


def main() -> int:
    """Serve specs from standard input until it closes."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    for line in sys.stdin:
        if not line.strip():
            continue
        answers.write(json.dumps(_answer(line)) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
