"""``zy.bulk.stream``: results as they complete, backpressure, and closing early."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from zyntro_async import ZyntroClient
from zyntro_async.bulk import AddNote, BulkAbortedError, ItemResult, Status
from zyntro_async.testing import Emulator, Latency

from ._helpers import Pulled, app_for, engine_tasks, note_answer, serve_app, upsert


async def answer_note_slowly_if_asked(request: web.Request) -> web.Response:
    text = json.loads(await request.read())["note"]
    if text == "slow":
        await asyncio.sleep(0.6)
    return web.Response(body=note_answer(text), content_type="application/json")


async def test_stream_yields_each_result_as_it_completes() -> None:
    texts = ["slow", *(f"fast {i}" for i in range(9))]
    arrivals: list[ItemResult] = []
    async with (
        serve_app(app_for(answer_note_slowly_if_asked)) as base_url,
        ZyntroClient(
            api_key="k", developer_secret="s", org_id="o", member_id="m", base_url=base_url
        ) as zy,
        contextlib.aclosing(
            zy.bulk.stream([AddNote("contact-1", text) for text in texts], concurrency=10)
        ) as results,
    ):
        async for result in results:
            arrivals.append(result)

    order = [result.index for result in arrivals]
    assert sorted(order) == list(range(10))
    # The slow first item came last: the nine others were yielded before it, not held back.
    assert order[-1] == 0
    assert all(result.status is Status.SUCCEEDED for result in arrivals)
    assert arrivals[0].value.note_content.startswith("fast")


async def test_slow_stream_consumer_holds_back_pulling(zy: ZyntroClient) -> None:
    source = Pulled([upsert(i) for i in range(200)])
    consumed = 0
    most_ahead = 0
    async with contextlib.aclosing(zy.bulk.stream(iter(source), concurrency=4)) as results:
        async for _ in results:
            consumed += 1
            most_ahead = max(most_ahead, source.count - consumed)
            await asyncio.sleep(0.01)
            if consumed == 40:
                break
    # concurrency 4 + a buffer of 2 + 4 results waiting in the stream's buffer + 1 pulled
    assert most_ahead <= 4 + 2 + 4 + 1
    assert source.count < 60


async def test_closing_a_stream_early_stops_the_run_and_leaks_nothing(
    emulator: Emulator, zy: ZyntroClient
) -> None:
    emulator.faults.add(Latency(30))
    source = Pulled([upsert(i) for i in range(300)])
    received: list[ItemResult] = []
    async with contextlib.aclosing(zy.bulk.stream(iter(source), concurrency=8)) as results:
        async for result in results:
            received.append(result)
            if len(received) == 5:
                break
    pulled = source.count
    assert engine_tasks() == []
    await asyncio.sleep(0.2)
    gc.collect()
    assert source.count == pulled < 300  # nothing more is pulled once closed
    assert engine_tasks() == []
    # The client is still usable afterwards.
    report = await zy.bulk.run([upsert(1000)])
    assert report.all_succeeded


async def collect(results: AsyncIterator[ItemResult], into: list[ItemResult]) -> None:
    async with contextlib.aclosing(results):
        async for result in results:
            into.append(result)


async def test_stream_raises_bulk_aborted_after_the_last_result(zy: ZyntroClient) -> None:
    items = [upsert(0), AddNote("no-such-contact", "lost"), *(upsert(i) for i in range(1, 50))]
    received: list[ItemResult] = []
    with pytest.raises(BulkAbortedError) as caught:
        await collect(zy.bulk.stream(items, concurrency=1, fail_fast=True), received)
    assert caught.value.report.total == len(received)
    assert any(r.status is Status.FAILED and r.code == "NOT_FOUND" for r in received)
