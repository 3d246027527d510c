"""The client side of the rate-limit section: ``zy.bulk.run`` against an emulator that limits.

Runs in a worker process (:mod:`benchmarks._worker`); the emulator runs in another process
(``zyntro-async emulator`` or :mod:`benchmarks.limit_server`). Only the SDK's public API is
used (``zy.bulk.run`` with ``on_progress`` and ``on_result``, ``zy.contacts.upsert``), so the
figures follow whatever pacing the SDK does. What the server accepted is read from the
emulator's own counters (``GET /_emulator/stats``), sampled every ``sample_s`` seconds: the
server, not the client, says how many requests took effect and how many it refused.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import attrs

from benchmarks._spec import Spec
from benchmarks.scenarios import _contacts, _measure_drive, _names
from zyntro_async import Contact, ZyntroClient

__all__ = ["LIMITED_SCENARIOS"]

Result = dict[str, Any]


def _client(spec: Spec, concurrency: int) -> ZyntroClient:
    credentials = spec.options["credentials"]
    return ZyntroClient(
        api_key=credentials["api_key"],
        developer_secret=credentials["developer_secret"],
        org_id=credentials["org_id"],
        member_id=credentials["member_id"],
        brand_id=credentials.get("brand_id"),
        base_url=spec.base_url,
        max_connections=concurrency,
    )


async def _counters(session: aiohttp.ClientSession, base_url: str) -> tuple[int, int, int]:
    """The emulator's ``(applied, rate_limited, requests)`` so far."""
    async with session.get(f"{base_url}/_emulator/stats") as response:
        stats = await response.json()
    return int(stats["applied"]), int(stats["rate_limited"]), int(stats["requests"])


async def _sample(
    session: aiohttp.ClientSession,
    base_url: str,
    started: float,
    interval: float,
    samples: list[list[float]],
) -> None:
    """Append ``[t, applied, rate_limited, requests]`` every ``interval`` s until cancelled."""
    while True:
        counters = await _counters(session, base_url)
        samples.append([time.perf_counter() - started, *counters])
        await asyncio.sleep(interval)


def _progress_snapshot(progress: Any) -> dict[str, Any]:
    """The numeric and text fields of a ``Progress``, whatever fields the SDK adds."""
    fields = (
        {a.name: getattr(progress, a.name) for a in attrs.fields(type(progress))}
        if attrs.has(type(progress))
        else dict(vars(progress))
    )
    snapshot: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, (int, float, str)) or value is None:
            snapshot[name] = value
        elif isinstance(value, dict):  # counts per status
            snapshot[name] = {str(getattr(k, "value", k)): v for k, v in value.items()}
        else:  # an enum state, a datetime "paused until": its text
            snapshot[name] = str(getattr(value, "value", value))
    return snapshot


async def bulk_limited(spec: Spec) -> Result:
    """``zy.bulk.run`` of ``spec.count`` upserts at ``spec.concurrency``, no ``max_per_second``.

    The run is given ``spec.max_seconds``; items it has not finished by then count as not
    succeeded. A run the SDK stops itself (``BulkAbortedError``) is figured up to its stop.
    The upserts are a list, as an import of a file read in full would pass them: the run
    knows how many are left (see ``RateGovernor.work_left``).
    """
    from zyntro_async.bulk import BulkAbortedError

    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    progress: list[dict[str, Any]] = []
    samples: list[list[float]] = []

    def on_result(result: Any) -> None:
        status = str(getattr(result.status, "value", result.status))
        statuses[status] += 1
        if status != "succeeded":
            errors[type(result.error).__name__ if result.error else status] += 1

    def on_progress(snapshot: Any) -> None:
        progress.append(_progress_snapshot(snapshot))

    async with aiohttp.ClientSession() as session, _client(spec, spec.concurrency) as zy:
        before = await _counters(session, spec.base_url)
        started = time.perf_counter()
        # The emulator aligns a window quota's windows to multiples of the window on
        # time.monotonic() (system-wide): where they fall in this run's samples.
        clock_start = time.monotonic()
        sampler = asyncio.ensure_future(
            _sample(session, spec.base_url, started, spec.options["sample_s"], samples)
        )
        run = asyncio.ensure_future(
            zy.bulk.run(
                list(_contacts(0, spec.count)),
                concurrency=spec.concurrency,
                on_progress=on_progress,
                on_result=on_result,
                progress_interval=spec.options["sample_s"],
            )
        )
        finished, _ = await asyncio.wait({run}, timeout=spec.max_seconds)
        elapsed = time.perf_counter() - started
        stopped = ""
        if not finished:
            run.cancel()
            stopped = f"still running after {spec.max_seconds:.0f} s: cancelled"
        try:
            await run
        except asyncio.CancelledError:
            pass
        except BulkAbortedError as exc:
            stopped = f"{type(exc.reason).__name__ if exc.reason else 'stopped'}: {exc}"[:200]
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
        applied, limited, requests = await _counters(session, spec.base_url)
    # The first and last samples are the exact counters at the run's start and end.
    samples = [[0.0, *before], *samples, [elapsed, applied, limited, requests]]
    base = samples[0]
    return {
        "count": spec.count,
        "elapsed_s": elapsed,
        "clock_start": clock_start,
        "succeeded": statuses["succeeded"],
        "statuses": dict(statuses),
        "errors": dict(errors),
        "stopped": stopped,
        "applied": applied - before[0],
        "rate_limited": limited - before[1],
        "requests": requests - before[2],
        "samples": [[t, a - base[1], r - base[2], n - base[3]] for t, a, r, n in samples],
        "progress": progress,
    }


async def calibrate_limited(spec: Spec) -> Result:
    """``zy.contacts.upsert`` from exactly ``spec.concurrency`` workers for ``max_seconds``.

    Against a concurrency cap of the same size, this is the rate the cap allows: the
    reference its goodput is judged against (the ideal ``cap / latency`` ignores the time a
    request spends outside the server's handler).
    """
    async with aiohttp.ClientSession() as session, _client(spec, spec.concurrency) as zy:

        async def call(i: int) -> object:
            first, email = _names(i)
            return await zy.contacts.upsert(Contact(first_name=first, primary_email=email))

        before = await _counters(session, spec.base_url)
        result = await _measure_drive(spec, call)
        after = await _counters(session, spec.base_url)
    return {**result, "rate_limited": after[1] - before[1]}


LIMITED_SCENARIOS: dict[str, Callable[[Spec], Coroutine[Any, Any, Result]]] = {
    "bulk_limited": bulk_limited,
    "calibrate_limited": calibrate_limited,
}
