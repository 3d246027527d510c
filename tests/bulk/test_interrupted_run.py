"""An interrupted ``bulk.run`` still tells what happened to every item it pulled.

An input that raises ends the run with a ``BulkAbortedError`` carrying the report (the
items in flight are let finish: they are not the input's fault); a cancelled run lets the
cancellation propagate as itself, with the report on it (``cancelled_report``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from zyntro_async import ZyntroClient
from zyntro_async.bulk import (
    BulkAbortedError,
    ItemResult,
    Status,
    UpsertContact,
    cancelled_report,
)
from zyntro_async.testing import Emulator, Latency

from ._helpers import ADD_CONTACTS, check_one_result_per_input, upsert


class BrokenRow(Exception):
    """What the test's input raises after its good rows."""


def rows_then_error(good: int) -> Iterator[UpsertContact]:
    yield from (upsert(i) for i in range(good))
    raise BrokenRow(f"row {good + 1} cannot be read")


async def async_rows_then_error(good: int) -> AsyncIterator[UpsertContact]:
    for i in range(good):
        yield upsert(i)
    raise BrokenRow(f"row {good + 1} cannot be read")


@pytest.mark.parametrize("kind", ["iterable", "async iterable"])
async def test_an_input_that_raises_ends_with_the_report_of_every_item_pulled(
    emulator: Emulator, zy: ZyntroClient, tmp_path: Path, kind: str
) -> None:
    # Slow answers: the input raises while every pulled item is still in flight.
    emulator.faults.add(Latency(100), endpoint=ADD_CONTACTS)
    items = rows_then_error(5) if kind == "iterable" else async_rows_then_error(5)
    results: list[ItemResult] = []

    with pytest.raises(BulkAbortedError) as caught:
        await zy.bulk.run(items, concurrency=8, journal=tmp_path / "j", on_result=results.append)

    error = caught.value
    assert isinstance(error.reason, BrokenRow)
    assert error.__cause__ is error.reason
    assert "the input raised BrokenRow: row 6 cannot be read" in str(error)
    # The items in flight were let finish, not cut off into "unknown".
    assert error.report.total == 5
    assert error.report.succeeded == 5
    check_one_result_per_input(results, 5)
    assert len(emulator.contacts) == 5
    # The journal has them: a rerun with a fixed input sends only the rest.
    rerun: list[ItemResult] = []
    await zy.bulk.run([upsert(i) for i in range(7)], journal=tmp_path / "j", on_result=rerun.append)
    assert sorted(r.index for r in rerun if not r.from_journal) == [5, 6]


async def test_a_cancelled_run_propagates_the_cancellation_carrying_its_report(
    emulator: Emulator, zy: ZyntroClient
) -> None:
    emulator.faults.add(Latency(200), endpoint=ADD_CONTACTS)
    results: list[ItemResult] = []
    answered = asyncio.Event()

    def on_result(result: ItemResult) -> None:
        results.append(result)
        if len(results) == 4:  # the first answers are in; four more requests are out
            answered.set()

    task = asyncio.ensure_future(
        zy.bulk.run((upsert(i) for i in range(100)), concurrency=4, on_result=on_result)
    )
    await answered.wait()
    task.cancel()

    with pytest.raises(asyncio.CancelledError) as caught:
        await task

    report = cancelled_report(caught.value)
    assert report is not None
    assert report.total == len(results)  # every pulled item, in flight ones included
    assert report.succeeded >= 4
    assert report.unknown + report.skipped == len(report.results) > 0
    assert report.elapsed > 0
    if sys.version_info >= (3, 11):
        assert any("report" in note for note in caught.value.__notes__)


async def test_a_cancel_scope_sees_the_report_when_it_catches_the_cancellation(
    emulator: Emulator, zy: ZyntroClient
) -> None:
    emulator.faults.add(Latency(200), endpoint=ADD_CONTACTS)
    carried = None
    with anyio.CancelScope() as scope:
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_cancel_soon, scope)
                await zy.bulk.run([upsert(i) for i in range(50)], concurrency=4)
        except anyio.get_cancelled_exc_class() as cancelled:
            carried = cancelled_report(cancelled)
            raise
    assert scope.cancelled_caught
    assert carried is not None
    assert carried.total > 0
    assert {r.status for r in carried.results} <= {Status.UNKNOWN, Status.SKIPPED}


async def _cancel_soon(scope: anyio.CancelScope) -> None:
    await anyio.sleep(0.3)
    scope.cancel()


def test_an_exception_that_did_not_come_from_a_run_has_no_report() -> None:
    assert cancelled_report(asyncio.CancelledError()) is None
