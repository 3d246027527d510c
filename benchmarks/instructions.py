"""Instructions per request, counted: ``python -m benchmarks.instructions`` (needs valgrind).

The socket benchmarks (``--only overhead``) time two processes sharing two cores, and their
figures swing by a third between runs of the same code. This counts instead: each client
loop of :mod:`benchmarks.scenarios` runs under ``valgrind --tool=cachegrind`` (instruction
counting only) against the benchmark server, once with ``--count`` requests more than
the other (the same start-up and warm-up), and the difference divided by the count is what one
request costs the client, in instructions. Two runs of the same code agree within about
1%, so a change of a few percent is visible; a run takes about a minute.

Instructions are not time: the SDK's code spreads over more functions and objects than the
raw loop, so each of its instructions costs more in a real run (caches), and its CPU ratio
to raw aiohttp comes out above the instruction ratio. Use this to see whether a change
removed work, and the socket benchmarks for what the work costs.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.profile import benchmark_server

__all__ = ["main"]

_ROOT = Path(__file__).resolve().parent.parent
_CLIENTS = ("upsert_aiohttp", "upsert_sdk", "bulk_upserts")
_RUN = (
    "import sys\n"
    "from benchmarks._spec import Spec, fallback_upsert_template\n"
    "from benchmarks.scenarios import run_scenario\n"
    "run_scenario(Spec(sys.argv[1], sys.argv[2], count=int(sys.argv[3]),"
    " concurrency=int(sys.argv[4]), warmup=int(sys.argv[4]) * 8,"
    " template=fallback_upsert_template()))\n"
)
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _instructions(scenario: str, url: str, count: int, concurrency: int) -> int:
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-c",
        _RUN,
        scenario,
        url,
        str(count),
        str(concurrency),
    ]
    done = subprocess.run(command, cwd=_ROOT, capture_output=True, text=True, check=True)
    found = _REFS.search(done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output: {done.stderr[-300:]}")
    return int(found.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    """Print each client's instructions per request, and their ratio to raw aiohttp's."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.instructions", description=__doc__.split("\n", 1)[0]
    )
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("clients", nargs="*", choices=[*_CLIENTS, []], help="default: all")
    args = parser.parse_args(argv)
    clients = args.clients or list(_CLIENTS)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed", file=sys.stderr)
        return 2
    per_request: dict[str, float] = {}
    with benchmark_server(0) as url:
        for client in clients:
            # One request, not none: the scenarios divide by their count.
            base = _instructions(client, url, 1, args.concurrency)
            full = _instructions(client, url, args.count + 1, args.concurrency)
            per_request[client] = (full - base) / args.count
    raw = per_request.get("upsert_aiohttp")
    for client, figure in per_request.items():
        ratio = f" ({figure / raw:.3f}x raw aiohttp)" if raw else ""
        print(f"{client}: {figure:,.0f} instructions per request{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
