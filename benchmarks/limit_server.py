"""An emulator whose token bucket changes on a schedule, in its own process.

Usage::

    python -m benchmarks.limit_server --latency-ms 20 --retry-after seconds \\
        --phase 0:300:60 --phase 10:150:30 --phase 20:300:60

``zyntro-async emulator`` fixes its limits at start; the limit-change scenario needs them
to change while a run is going, so this process runs the same emulator
(:class:`zyntro_async.testing.Emulator`) and calls ``set_limits`` on a timer. Each
``--phase AT:RATE:BURST`` starts ``AT`` seconds after the first API request arrives (so the
schedule follows the client's run, not this process's start-up). Like the CLI with
``--json``, it prints one JSON line with the credentials and ``base_url``, serves
``GET /_emulator/stats``, and stops on SIGTERM or SIGINT, printing ``{"stats": ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

from zyntro_async.testing import Emulator, FaultRule, Latency, RequestRecord, TokenBucket

__all__ = ["main"]


def _phase(text: str) -> tuple[float, float, int]:
    at, rate, burst = text.split(":")
    return float(at), float(rate), int(burst)


def _retry_after(text: str) -> str | int:
    return int(text) if text.isdigit() else text


async def _serve(args: argparse.Namespace) -> None:
    phases = sorted(args.phase)
    if not phases or phases[0][0] != 0:
        raise SystemExit("the first --phase must start at 0")
    loop = asyncio.get_running_loop()

    def bucket(rate: float, burst: int) -> TokenBucket:
        return TokenBucket(rate=rate, burst=burst, retry_after=args.retry_after)

    def start_schedule(record: RequestRecord) -> None:
        # The first request has been handled: time the changes from its arrival.
        if emulator_started:
            return
        emulator_started.append(loop.time())
        for at, rate, burst in phases[1:]:
            delay = max(at - record.duration, 0.0)
            loop.call_later(delay, emulator.set_limits, bucket(rate, burst))

    emulator_started: list[float] = []
    _, rate, burst = phases[0]
    emulator = Emulator.demo(
        faults=[FaultRule(Latency(ms=args.latency_ms))] if args.latency_ms else [],
        limits=[bucket(rate, burst)],
        on_request=start_schedule,
    )
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        base_url = await emulator.start(host="127.0.0.1", port=0)
        print(json.dumps({**emulator.credentials.as_dict(), "base_url": base_url}), flush=True)
        await stop.wait()
        print(json.dumps({"stats": emulator.stats()}), flush=True)
    finally:
        await emulator.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m benchmarks.limit_server", description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--retry-after", type=_retry_after, default="seconds")
    parser.add_argument("--phase", type=_phase, action="append", default=[], required=True)
    asyncio.run(_serve(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
