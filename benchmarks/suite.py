"""One benchmark run: the plan (:mod:`benchmarks.plan`) carried out by the processes
(:mod:`benchmarks.processes`) and judged by the verdicts (:mod:`benchmarks.verdicts`).

:func:`run_suite` starts the benchmark server in its own process, runs the sections asked
for, and returns the raw figures with the table rows built from them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Collection
from typing import Any

import attrs

from benchmarks._measure import machine_info
from benchmarks._spec import Spec, fallback_upsert_template
from benchmarks.plan import FULL, QUICK, SECTIONS, Plan
from benchmarks.processes import (
    BenchServer,
    Runner,
    attachment_files,
    attachment_runs,
    bulk_runs,
    bundle_runs,
    cli_runs,
    latency_runs,
    overhead_runs,
    ratelimit_runs,
    sdk_available,
)
from benchmarks.verdicts import Row, build_rows

__all__ = ["FULL", "QUICK", "SECTIONS", "Plan", "Row", "run_suite"]

Result = dict[str, Any]


def run_suite(
    plan: Plan, progress: Callable[[str], None], *, only: Collection[str] = SECTIONS
) -> Result:
    """Run the scenarios of ``plan`` and return raw runs, table rows and machine info.

    Args:
        plan: sizes to run with.
        progress: called with one line of text before each step.
        only: the sections to run (:data:`SECTIONS`; all by default).

    Returns:
        A JSON-ready dict: ``machine``, ``plan``, ``sdk``, ``runs``, ``rows``, ``summary``.
    """
    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    sdk_missing = sdk_available()
    runs: Result = {}
    with BenchServer((0, plan.latency_ms)) as server:
        fast, slow = server.url(0), server.url(plan.latency_ms)
        run = Runner(server, plan, progress, sdk_missing)
        try:
            # The exact body the SDK sends, so the baselines post the same bytes.
            runs["probe"] = run(Spec("probe_sdk", fast), "probe: capture the SDK's upsert body")
            template = fallback_upsert_template()
            captured = server.last_body("addContactsFull")
            if "error" not in runs["probe"] and captured:
                template = json.loads(captured)
            runs["probe"]["template_from_sdk"] = captured is not None
            runs["probe"]["template_keys"] = sorted(template)

            if "overhead" in only:
                runs["overhead"] = overhead_runs(plan, fast, template, run)
            if "latency" in only:
                runs["latency"] = latency_runs(plan, slow, template, run)
            run.close()
            if "bulk" in only:
                runs["bulk"] = bulk_runs(plan, fast, run)
            if "attachments" in only or "bundles" in only:
                progress("writing upload files (random bytes)")
                with attachment_files(plan) as files:
                    if "attachments" in only:
                        runs["attachments"] = attachment_runs(plan, fast, template, files, run)
                    if "bundles" in only:
                        runs["bundles"] = bundle_runs(plan, slow, template, files["small"], run)
            if "ratelimit" in only:
                runs["ratelimit"] = ratelimit_runs(plan, run)
            if "cli" in only:
                runs["cli"] = cli_runs(plan, server, fast, template, progress)
        finally:
            run.close()

    rows = build_rows(plan, runs)
    verdicts = [row.passed for row in rows if row.target and row.value is not None]
    machine = machine_info()
    machine["load_average_before"] = load_before
    return {
        "machine": machine,
        "plan": attrs.asdict(plan),
        "sections": [section for section in SECTIONS if section in runs],
        "sdk": {"importable": sdk_missing is None, "reason": sdk_missing},
        "elapsed_s": time.perf_counter() - started,
        "runs": runs,
        "rows": [{**attrs.asdict(row), "status": row.status} for row in rows],
        "summary": {
            "passed": verdicts.count(True),
            "failed": verdicts.count(False),
            "errors": sum(1 for row in rows if row.status == "ERROR"),
        },
    }
