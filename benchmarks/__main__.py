"""Command line: ``python -m benchmarks [--quick] [--json PATH] [--chart PATH]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks import report
from benchmarks.suite import FULL, QUICK, run_suite

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
        help="smaller counts (20k items, 64 MB file): under two minutes",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=_RESULTS / "latest.json",
        help="where to write the results (default: %(default)s)",
    )
    parser.add_argument(
        "--chart",
        type=Path,
        default=_RESULTS / "chart.png",
        help="where to draw the chart (default: %(default)s)",
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="PATH",
        help="do not measure: redraw the table and chart from a saved results file",
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="also print the table as Markdown (for the README's Performance section)",
    )
    return parser


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks (or reload a saved run), print, save and chart the results.

    Returns:
        0 when every target passed, 1 when one failed or could not be measured.
    """
    args = build_parser().parse_args(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        results = run_suite(QUICK if args.quick else FULL, _progress)
        report.write_json(results, args.json)
        _progress(f"results written to {args.json}")
    report.print_table(results)
    if report.draw_chart(results, args.chart):
        _progress(f"chart drawn to {args.chart}")
    else:
        _progress("matplotlib is not installed: no chart")
    if args.markdown:
        print(report.markdown_table(results))
    summary = results["summary"]
    return 0 if summary["failed"] == 0 and summary["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
