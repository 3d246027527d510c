"""The soak driver: a long bulk run against an emulator process, sampled as it goes.

:func:`soak` runs ``n`` operations (contact upserts, notes, comms entries, in a lazily
generated mix) through ``zy.bulk.run`` with a journal, and every ``sample_every`` finished
items records what this process holds: asyncio tasks, TCP connections, open files, resident
memory. The test compares the first window of the run with the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import random
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import attrs
import psutil

from zyntro_async import Contact, RetryPolicy, ZyntroClient
from zyntro_async.bulk import AddNote, ItemResult, LogComms, Status, UpsertContact

__all__ = ["Sample", "SoakResult", "emulator_process", "soak"]

_SERVER = Path(__file__).with_name("_emulator_process.py")


@attrs.frozen
class Sample:
    """What the process held after ``done`` items."""

    done: int
    tasks: int
    connections: int
    fds: int
    rss: int


@attrs.frozen
class SoakResult:
    """A finished soak run."""

    n: int
    counts: dict[str, int]
    seen: int
    duplicates_seen: int
    samples: list[Sample]
    after_close: Sample
    before: Sample
    elapsed: float
    server: dict[str, Any]
    statuses_by_kind: dict[str, dict[str, int]]

    def window(self, first: bool, size: int) -> list[Sample]:
        """The samples of the first (or last) ``size`` items."""
        if first:
            return [s for s in self.samples if s.done <= size]
        return [s for s in self.samples if s.done > self.n - size]


def sample(done: int, port: int) -> Sample:
    process = psutil.Process()
    connections = sum(
        1
        for conn in process.net_connections(kind="tcp")
        if conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
    )
    return Sample(
        done=done,
        tasks=len(asyncio.all_tasks()),
        connections=connections,
        fds=process.num_fds(),
        rss=process.memory_info().rss,
    )


@contextlib.asynccontextmanager
async def emulator_process(
    *, fault_probability: float, contacts: int = 200
) -> AsyncIterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Start the emulator process; yields (its first line, a dict filled at exit)."""
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, str(_SERVER), "--fault-probability", str(fault_probability)),
        *("--contacts", str(contacts)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=2**24,  # the first line lists the seeded contact ids
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    summary: dict[str, Any] = {}
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        if not line:
            raise RuntimeError("the emulator process did not start")
        yield json.loads(line), summary
        proc.stdin.close()  # the process answers with its summary line and exits
        last = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        if last:
            summary.update(json.loads(last))
    finally:
        if not proc.stdin.is_closing():
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout=15)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()


def operations(n: int, contact_ids: list[str], *, seed: int = 0) -> Iterator[Any]:
    """A lazy mix: 40% upserts (creates, then updates), 30% notes, 30% comms entries."""
    rng = random.Random(seed)
    for i in range(n):
        roll = rng.random()
        if roll < 0.4:
            email = f"soak{i % 5000}@acme.com"
            yield UpsertContact(Contact(first_name=f"S{i}", primary_email=email, tags=["soak"]))
        elif roll < 0.7:
            yield AddNote(contact_id=rng.choice(contact_ids), note=f"soak note {i}")
        else:
            yield LogComms(contact_id=rng.choice(contact_ids), comms_type="call", data=f"c {i}")


async def soak(
    *,
    n: int,
    concurrency: int,
    fault_probability: float,
    journal: Path,
    sample_every: int,
) -> SoakResult:
    """Run ``n`` operations and sample the process along the way."""
    async with emulator_process(fault_probability=fault_probability) as (server, summary):
        base_url = server.pop("base_url")
        contact_ids = server.pop("contact_ids")
        port = int(base_url.rsplit(":", 1)[1])
        gc.collect()
        before = sample(0, port)
        samples: list[Sample] = []
        seen = bytearray(n)
        duplicates = [0]
        finished = [0]
        statuses: dict[str, dict[str, int]] = {}

        def on_result(result: ItemResult) -> None:
            if seen[result.index]:
                duplicates[0] += 1
            seen[result.index] = 1
            by_kind = statuses.setdefault(type(result.op).__name__, {})
            by_kind[result.status.value] = by_kind.get(result.status.value, 0) + 1
            finished[0] += 1
            if finished[0] % sample_every == 0:
                samples.append(sample(finished[0], port))

        policy = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.2)
        started = time.monotonic()
        async with ZyntroClient(
            **server, base_url=base_url, timeout=10.0, retry_policy=policy
        ) as zy:
            report = await zy.bulk.run(
                operations(n, contact_ids),
                concurrency=concurrency,
                journal=journal,
                on_result=on_result,
            )
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.2)  # let closed sockets leave the table
        gc.collect()
        after_close = sample(n, port)
    return SoakResult(
        n=n,
        counts={status.value: report.counts[status] for status in Status},
        seen=sum(seen),
        duplicates_seen=duplicates[0],
        samples=samples,
        after_close=after_close,
        before=before,
        elapsed=elapsed,
        server=summary,
        statuses_by_kind=statuses,
    )


def describe(result: SoakResult) -> str:
    """A few lines for the test's failure message and ``-s`` output."""
    lines = [
        f"{result.n} items in {result.elapsed:.1f}s ({result.n / result.elapsed:.0f}/s): "
        f"{result.counts}",
        f"server: {result.server}",
        f"before: {result.before}",
        f"after close: {result.after_close}",
    ]
    lines += [f"  {s}" for s in result.samples[:: max(1, len(result.samples) // 10)]]
    return "\n".join(lines) + os.linesep
