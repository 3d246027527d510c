"""A large lazy input is pulled as it is consumed, and memory stays flat.

6 000 upserts come from a generator and go to a minimal aiohttp server on loopback that
answers the documented success envelope. The generator is instrumented: the engine never
holds more than ``concurrency`` + its small buffer of items ahead of their results, every
item it pulled is released once its result is out (weak references count the live ones, an
exact measure where resident memory is only a noisy one), and the process's resident memory
does not grow between the first and second half. The bulk memory benchmark measures the
same at 200 000 items.
"""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from collections.abc import Iterator

import psutil
import pytest
from aiohttp import web

from zyntro_async import ZyntroClient
from zyntro_async.bulk import ItemResult, Status, UpsertContact

from ._helpers import CONTACT_DATA, app_for, serve_app, upsert

N_ITEMS = 6_000
CONCURRENCY = 64
BUFFER = max(2, CONCURRENCY // 4)  # the runner's item buffer beyond concurrency
MiB = 1024 * 1024

ANSWER = json.dumps({"status": "success", "data": CONTACT_DATA}).encode()


async def answer_success(request: web.Request) -> web.Response:
    await request.read()
    await asyncio.sleep(0.005)  # enough latency for `concurrency` requests to be in flight
    return web.Response(body=ANSWER, content_type="application/json")


@pytest.mark.slow
async def test_large_lazy_input_is_pulled_as_consumed_and_memory_stays_flat() -> None:
    process = psutil.Process()
    pulled = completed = ahead = 0
    rss: dict[str, int] = {}
    live: weakref.WeakSet[UpsertContact] = weakref.WeakSet()
    most_live = 0

    def items() -> Iterator[UpsertContact]:
        nonlocal pulled, ahead
        for i in range(N_ITEMS):
            pulled += 1
            ahead = max(ahead, pulled - completed)
            item = upsert(i)
            live.add(item)
            yield item

    def on_result(result: ItemResult) -> None:
        nonlocal completed, most_live
        completed += 1
        assert result.status is Status.SUCCEEDED
        if completed in (N_ITEMS // 10, N_ITEMS // 2, N_ITEMS):
            gc.collect()
            most_live = max(most_live, len(live))
            rss[f"{completed}"] = process.memory_info().rss

    async with (
        serve_app(app_for(answer_success)) as base_url,
        ZyntroClient(
            api_key="k", developer_secret="s", org_id="o", member_id="m", base_url=base_url
        ) as zy,
    ):
        report = await zy.bulk.run(items(), concurrency=CONCURRENCY, on_result=on_result)

    assert report.total == report.succeeded == N_ITEMS
    assert report.results == []  # the report keeps only what needs attention
    # One item may be pulled while it waits for a slot; the rest hold slots.
    assert CONCURRENCY <= ahead <= CONCURRENCY + BUFFER + 1
    # Nothing pulled is kept once its result is out: only the items in flight are alive.
    assert most_live <= CONCURRENCY + BUFFER + 1
    first, half, end = rss.values()
    assert end - half < 20 * MiB
    assert end - first < 30 * MiB
