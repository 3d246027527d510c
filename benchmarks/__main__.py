"""Command line: ``python -m benchmarks [--quick] [--only SECTION] [--json PATH] ...``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks import report
from benchmarks.suite import FULL, QUICK, SECTIONS, run_suite

_RESULTS = Path(__file__).resolve().parent / "results"


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark zyntro_async against raw aiohttp and httpx on 127.0.0.1.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller counts (10k items instead of 200k, a 64 MB file instead of 256 MB, "
        "6 s per rate limit instead of 20, ...): about five minutes",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        metavar="SECTION",
        help=f"run only this section (repeatable): {', '.join(SECTIONS)}; the results go to "
        "results/only-SECTION.json unless --json is given, the rate-limit section's chart "
        "to results/only-SECTION.png unless --chart is given, and no overview chart is drawn",
    )
    parser.add_argument(
        "--json",
        type=Path,
        nargs="?",
        metavar="PATH",
        help=f"where to write the results (default, also for a bare --json: "
        f"{_RESULTS / 'latest.json'})",
    )
    parser.add_argument(
        "--chart",
        type=Path,
        nargs="?",
        metavar="PATH",
        const=_RESULTS / "chart.png",
        help=f"where to draw the chart (default, also for a bare --chart: "
        f"{_RESULTS / 'chart.png'}); the rate-limit section's chart goes beside it, as "
        "ratelimit.png",
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="PATH",
        help="do not measure: redraw the table and chart from a saved results file",
    )
    parser.add_argument(
        "--fail-on-target",
        action="store_true",
        help="exit with status 1 when a target fails or could not be measured",
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="also print the table as Markdown (for the README's Performance section)",
    )
    return parser


_STARTED = time.monotonic()


def _progress(line: str) -> None:
    print(f"[{time.monotonic() - _STARTED:5.0f} s] {line}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks (or reload a saved run), print, save and chart the results.

    Returns:
        0, or with ``--fail-on-target`` 1 when a target failed or could not be measured.
    """
    args = build_parser().parse_args(argv)
    chart: Path = args.chart or _RESULTS / "chart.png"
    limit_chart = chart.with_name("ratelimit.png")
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        only = tuple(section for section in SECTIONS if section in (args.only or SECTIONS))
        # A partial run never overwrites the full results the README's table comes from,
        # nor the chart drawn from them.
        stem = "latest" if args.only is None else f"only-{'-'.join(only)}"
        path = args.json or _RESULTS / f"{stem}.json"
        if args.only is not None and args.chart is None:
            limit_chart = _RESULTS / f"{stem}.png"
        results = run_suite(QUICK if args.quick else FULL, _progress, only=only)
        report.write_json(results, path)
        _progress(f"results written to {path}")
    report.print_table(results)
    if report.draw_chart(results, chart):
        _progress(f"chart drawn to {chart}")
    else:
        _progress("no overview chart: matplotlib is not installed, or only some sections ran")
    if report.draw_ratelimit_chart(results, limit_chart):
        _progress(f"rate-limit chart drawn to {limit_chart}")
    if args.markdown:
        print(report.markdown_table(results))
    summary = results["summary"]
    missed = summary["failed"] > 0 or summary["errors"] > 0
    return 1 if args.fail_on_target and missed else 0


if __name__ == "__main__":
    sys.exit(main())
