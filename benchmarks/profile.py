"""Profile one scenario: ``python -m benchmarks.profile SCENARIO [options] [-o FILE]``.

Runs a scenario of :mod:`benchmarks.scenarios` in this process, against its own benchmark
server, under pyinstrument (``pip install pyinstrument``; not a dependency of the project)
and writes the text profile. The profiler slows the client down, so read the profile for
where the time goes, not for how much there is: the figures come from ``python -m
benchmarks``. The profiles in ``results/profiles/`` were made this way, for example::

    python -m benchmarks.profile upsert_sdk --count 8000 --concurrency 64
    python -m benchmarks.profile bulk_upserts --count 10240 --concurrency 256 --latency-ms 50
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from benchmarks._spec import Spec, fallback_upsert_template
from benchmarks.scenarios import SCENARIOS, run_scenario

_ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def benchmark_server(latency_ms: int) -> Iterator[str]:
    """Run :mod:`benchmarks.server` in its own process while the block runs.

    Yields:
        The base URL of its port with ``latency_ms`` of latency.
    """
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.server", "--latency-ms", str(latency_ms)],
        cwd=_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = json.loads(server.stdout.readline())["ports"][str(latency_ms)]
        yield f"http://127.0.0.1:{port}"
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait()


def main(argv: list[str] | None = None) -> int:
    """Profile the scenario and write (or print) the text profile."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--count", type=int, default=8000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=512)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path, help="where to write the text profile")
    args = parser.parse_args(argv)
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument is not installed: pip install pyinstrument", file=sys.stderr)
        return 2

    with benchmark_server(args.latency_ms) as url:
        spec = Spec(
            args.scenario,
            url,
            count=args.count,
            concurrency=args.concurrency,
            warmup=args.warmup,
            template=fallback_upsert_template(),
        )
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        figures = run_scenario(spec)
        profiler.stop()

    header = (
        f"# python -m benchmarks.profile {args.scenario} --count {args.count} "
        f"--concurrency {args.concurrency} --latency-ms {args.latency_ms}\n"
        f"# pyinstrument, wall clock; the profiler inflates every figure "
        f"(here {figures.get('cpu_us_per_item', 0):.0f} us of client CPU per item): "
        f"read the shares, not the times\n"
    )
    text = header + profiler.output_text(unicode=False, color=False)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
