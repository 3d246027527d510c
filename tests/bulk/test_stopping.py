"""Stopping a run early: every pulled item is still accounted for, exactly once.

Cancelling (a cancel scope or ``task.cancel()``), ``fail_fast``, ``max_failures`` and the
circuit breaker all stop pulling and cancel what is in flight; in-flight items end
``unknown`` (a request was out) or ``skipped``, and ``on_result`` sees every one of them.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

import anyio
import pytest

from zyntro_async import CircuitOpenError, NotFoundError, ZyntroClient
from zyntro_async.bulk import AddNote, BulkAbortedError, ItemResult, Status
from zyntro_async.testing import Emulator, Latency, ServerFailure

from ._helpers import (
    ADD_CONTACTS,
    ClientFactory,
    Pulled,
    check_one_result_per_input,
    engine_tasks,
    fast_retry,
    upsert,
)


def check_stopped_cleanly(results: Sequence[ItemResult], source: Pulled) -> None:
    """Every pulled item has one result; the run did not pull everything."""
    check_one_result_per_input(results, source.count)
    assert source.count < len(source.items)
    assert engine_tasks() == []


async def test_cancelling_a_run_reports_in_flight_items_and_drops_none(
    emulator: Emulator, zy: ZyntroClient
) -> None:
    emulator.faults.add(Latency(200), endpoint=ADD_CONTACTS)
    source = Pulled([upsert(i) for i in range(100)])
    results: list[ItemResult] = []
    with anyio.move_on_after(0.5) as scope:
        await zy.bulk.run(iter(source), concurrency=4, on_result=results.append)
    assert scope.cancelled_caught
    assert source.count < len(source.items)  # it stopped pulling when cancelled

    check_stopped_cleanly(results, source)
    statuses = {r.status for r in results}
    assert Status.SUCCEEDED in statuses
    in_flight = [r for r in results if r.status is not Status.SUCCEEDED]
    assert in_flight
    assert Status.UNKNOWN in {r.status for r in in_flight}  # requests were out
    for result in in_flight:
        # A request was out (it may have been applied), or it never started.
        assert result.status in (Status.UNKNOWN, Status.SKIPPED)
        assert result.attempts == (result.status is Status.UNKNOWN)


async def test_cancelling_the_task_of_a_run_propagates_and_drops_nothing(
    emulator: Emulator, zy: ZyntroClient
) -> None:
    emulator.faults.add(Latency(200), endpoint=ADD_CONTACTS)
    source = Pulled([upsert(i) for i in range(100)])
    results: list[ItemResult] = []
    task = asyncio.ensure_future(zy.bulk.run(iter(source), concurrency=4, on_result=results.append))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    check_stopped_cleanly(results, source)
    assert {r.status for r in results} >= {Status.SUCCEEDED, Status.UNKNOWN}


async def test_fail_fast_stops_at_the_first_failure_with_a_complete_report(
    emulator: Emulator, zy: ZyntroClient
) -> None:
    emulator.faults.add(Latency(20))
    items = [upsert(i) for i in range(100)]
    items[10] = AddNote("no-such-contact", "lost")  # type: ignore[call-overload]
    source = Pulled(items)
    results: list[ItemResult] = []
    with pytest.raises(BulkAbortedError) as caught:
        await zy.bulk.run(iter(source), concurrency=4, fail_fast=True, on_result=results.append)

    error = caught.value
    assert isinstance(error.reason, NotFoundError)
    assert "fail_fast" in str(error)
    assert error.report.total == source.count == len(results)
    assert error.report.failed == 1
    assert error.report.stopped is error.reason
    check_stopped_cleanly(results, source)


async def test_max_failures_stops_once_exceeded_with_a_complete_report(
    emulator: Emulator, zy: ZyntroClient
) -> None:
    emulator.faults.add(Latency(20))
    items = [
        AddNote("no-such-contact", f"lost {i}") if i % 4 == 3 else upsert(i) for i in range(200)
    ]
    source = Pulled(items)
    results: list[ItemResult] = []
    with pytest.raises(BulkAbortedError) as caught:
        await zy.bulk.run(iter(source), concurrency=4, max_failures=3, on_result=results.append)

    report = caught.value.report
    assert report.failed + report.unknown >= 4
    assert report.total == source.count == len(results)
    assert "more than 3 failures" in str(caught.value)
    check_stopped_cleanly(results, source)


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_circuit_breaker_stops_a_run_against_a_dead_server_quickly() -> None:
    source = Pulled([upsert(i) for i in range(500)])
    results: list[ItemResult] = []
    async with ZyntroClient(
        api_key="k",
        developer_secret="s",
        org_id="o",
        member_id="m",
        base_url=f"http://127.0.0.1:{closed_port()}",
        retry_policy=fast_retry(max_retries=3),
    ) as zy:
        with pytest.raises(BulkAbortedError) as caught:
            await zy.bulk.run(iter(source), concurrency=8, on_result=results.append)

    assert isinstance(caught.value.reason, CircuitOpenError)
    assert "circuit breaker" in str(caught.value)
    attempts = sum(r.attempts for r in results)
    assert attempts < 100  # not 500 items x 4 attempts
    assert caught.value.report.total == source.count == len(results)
    check_stopped_cleanly(results, source)
    # Nothing reached a server: nothing is unknown.
    assert {r.status for r in results} <= {Status.FAILED, Status.SKIPPED}


async def test_circuit_breaker_stops_a_run_when_every_answer_is_503(
    emulator: Emulator, make_client: ClientFactory
) -> None:
    emulator.faults.add(ServerFailure(503))
    source = Pulled([upsert(i) for i in range(500)])
    results: list[ItemResult] = []
    async with make_client(retry_policy=fast_retry(max_retries=3)) as zy:
        with pytest.raises(BulkAbortedError) as caught:
            await zy.bulk.run(iter(source), concurrency=8, on_result=results.append)

    assert isinstance(caught.value.reason, CircuitOpenError)
    assert sum(emulator.request_counts.values()) < 60
    assert emulator.contacts == []
    check_stopped_cleanly(results, source)
