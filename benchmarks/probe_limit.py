"""One rate limit of your choosing, met over real sockets the way the benchmark meets its own.

``python -m benchmarks.probe_limit --items 6000 -- --max-concurrent 20 --latency 100ms
--retry-after date`` starts ``zyntro-async emulator --json`` with the flags after ``--`` in
its own process, runs ``zy.bulk.run`` of that many contact upserts at ``--concurrency`` (64)
with no ``max_per_second`` against it, and prints what #12's targets judge: goodput over the
run's second half (settled) and over the whole run, as a fraction of the limit; 429s as a
fraction of requests; items not succeeded, and any errors. The figures come from the
emulator's counters, as in the benchmark's rate-limit section
(:func:`benchmarks.verdicts.limit_figures`).

The limit is what the flags say: ``--rate``, a ``--quota``'s count per window, and for a
``--max-concurrent`` cap what exactly that many requests in flight get through back to back,
measured first for 2 s (its ideal, the cap over ``--latency``, is printed beside it). With
several, the least. ``--runs N`` repeats the run against a fresh emulator each time.

The benchmark's section uses a handful of fixed limits; a governor change should also hold
at others (other rates, bursts, latencies and ``Retry-After`` styles), as the limiters #12
is checked with will be. ``--json PATH`` keeps each run's figures and raw samples.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from benchmarks._spec import Spec
from benchmarks.limited import bulk_limited, calibrate_limited
from benchmarks.plan import FULL
from benchmarks.processes import EmulatorProcess, calibration_spec, emulator_command
from benchmarks.verdicts import limit_figures
from zyntro_async.cli import build_parser

Result = dict[str, Any]
CALIBRATION_S = 2.0  # how long a cap's back-to-back rate is measured


@attrs.frozen
class NominalLimit:
    """The limit the emulator's flags set, before any calibration.

    Raises:
        ValueError: no limit at all, or a cap with no latency to give it a rate.

    Attributes:
        rate: the least of the bucket's rate and the quota's count per second (``None``:
            neither is set).
        cap: the concurrency cap (``None``: not set).
        latency: the emulator's latency in seconds.
        window: the quota's window in seconds (``None``: no quota).
    """

    rate: float | None
    cap: int | None
    latency: float
    window: float | None

    def __attrs_post_init__(self) -> None:
        if self.rate is None and self.cap is None:
            raise ValueError("the emulator's flags set no rate limit")
        if self.cap is not None and self.latency <= 0:
            raise ValueError("a --max-concurrent cap needs --latency to have a rate")

    @property
    def ideal(self) -> float:
        """The limit in requests per second, a cap counted as ``cap / latency``."""
        cap_rate = None if self.cap is None else self.cap / self.latency
        return min(r for r in (self.rate, cap_rate) if r is not None)


def nominal_limit(flags: Sequence[str]) -> NominalLimit:
    """Read the limit from ``zyntro-async emulator`` flags, with the CLI's own parser.

    Raises:
        ValueError: the flags set no rate limit, or are not the emulator's.
    """
    try:
        args = build_parser().parse_args(["emulator", *flags])
    except SystemExit as exc:  # argparse has printed why
        raise ValueError(f"not flags of zyntro-async emulator: {' '.join(flags)}") from exc
    rates = []
    window = None
    if args.rate is not None:
        rates.append(float(args.rate))
    if args.quota is not None:
        count, window = args.quota
        rates.append(count / window)
    return NominalLimit(
        rate=min(rates) if rates else None,
        cap=args.max_concurrent,
        latency=float(args.latency or 0.0),
        window=window,
    )


def probe(flags: Sequence[str], items: int, concurrency: int, max_seconds: float) -> Result:
    """One run against a fresh emulator: its figures, the limit they are judged by, the raw
    result."""
    nominal = nominal_limit(flags)
    with EmulatorProcess(emulator_command(flags)) as emulator:
        options = {"credentials": emulator.credentials, "sample_s": FULL.limit_sample_s}
        limit, calibrated = nominal.ideal, None
        if nominal.cap is not None:
            spec = calibration_spec(emulator.base_url, nominal.cap, options, CALIBRATION_S)
            calibration = asyncio.run(calibrate_limited(spec))
            calibrated = calibration.get("per_second")
            if calibrated:
                limit = min(nominal.rate or calibrated, calibrated)
        spec = Spec(
            "bulk_limited",
            emulator.base_url,
            count=items,
            concurrency=concurrency,
            max_seconds=max_seconds,
            options=options,
        )
        result = asyncio.run(bulk_limited(spec))
    figures = limit_figures(result, limit, window=nominal.window)
    return {
        "flags": list(flags),
        "limit": limit,
        "ideal": nominal.ideal,
        "calibrated": calibrated,
        "figures": figures,
        "result": result,
    }


def describe(run: Result) -> str:
    """One line per run: the figures #12 judges, and what went wrong if anything did."""
    f = run["figures"]
    limit = f"{run['limit']:,.1f}/s"
    if run["calibrated"]:
        limit += f" (measured back to back; ideal {run['ideal']:,.1f}/s)"
    settled = "-" if f["settled"] is None else f"{f['settled']:.3f}"
    whole = "-" if f["goodput"] is None else f"{f['goodput']:.3f}"
    share = "-" if f["share_429"] is None else f"{f['share_429']:.1%}"
    result = run["result"]
    line = (
        f"limit {limit}: settled {settled}, whole {whole}, 429s {share} of "
        f"{result['requests']:,} requests, {f['not_succeeded']:,} of {result['count']:,} "
        f"items not succeeded, {result['elapsed_s']:.1f} s"
    )
    if f.get("settled_windows"):
        line += f" (settled over {f['settled_windows']} whole windows)"
    if result.get("errors"):
        line += "; errors: " + ", ".join(f"{n:,} {name}" for name, n in result["errors"].items())
    if result.get("stopped"):
        line += f"; {result['stopped']}"
    return line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.probe_limit",
        description="Run zy.bulk.run against the emulator with the rate limit given after --.",
        epilog="example: python -m benchmarks.probe_limit --items 6000 -- --max-concurrent 20 "
        "--latency 100ms --retry-after date",
    )
    parser.add_argument("--items", type=int, default=3000, help="upserts to send (3000)")
    parser.add_argument("--concurrency", type=int, default=64, help="bulk concurrency (64)")
    parser.add_argument("--runs", type=int, default=1, help="runs, each a fresh emulator (1)")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="a run's time limit (600)")
    parser.add_argument("--json", type=Path, help="write every run's figures and samples here")
    parser.add_argument("flags", nargs=argparse.REMAINDER, help="-- then the emulator's flags")
    args = parser.parse_args(argv)
    flags = args.flags[1:] if args.flags[:1] == ["--"] else args.flags
    try:
        nominal_limit(flags)
    except ValueError as exc:
        parser.error(str(exc))
    runs = []
    for number in range(1, args.runs + 1):
        run = probe(flags, args.items, args.concurrency, args.max_seconds)
        runs.append(run)
        print(f"[{number}] {' '.join(flags)}\n  {describe(run)}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
