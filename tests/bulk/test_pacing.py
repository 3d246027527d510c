"""Pacing a run: ``max_per_second``, adaptive slow-down on 429, and the circuit breaker.

:class:`RunPacer` is tested with an injected clock and sleep, so its arithmetic is exact;
one end-to-end test checks that ``max_per_second`` really spaces requests out.
"""

from __future__ import annotations

import time

import anyio
import pytest

from zyntro_async import CircuitOpenError, ZyntroClient
from zyntro_async._observe import Attempt, AttemptResult, Call
from zyntro_async._retry import FailureKind
from zyntro_async.bulk._item_observer import ItemObserver
from zyntro_async.bulk._limiter import RunPacer
from zyntro_async.testing import Emulator

from ._helpers import ADD_CONTACTS, FakeClock, upsert


def pacer(clock: FakeClock, **options: object) -> RunPacer:
    return RunPacer(clock=clock, sleep=clock.sleep, **options)  # type: ignore[arg-type]


async def test_max_per_second_spaces_attempts_evenly() -> None:
    clock = FakeClock()
    run = pacer(clock, max_per_second=10)
    times = []
    for _ in range(5):
        await run.before_attempt()
        times.append(clock.now - 1000.0)
    assert times == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


async def test_429_slows_the_run_down_once_per_window_then_it_recovers() -> None:
    clock = FakeClock()
    run = pacer(clock, max_per_second=10)
    await run.before_attempt()

    run.after_attempt(FailureKind.RATE_LIMITED, 2.0)
    assert run.rate == pytest.approx(7.0)
    run.after_attempt(FailureKind.RATE_LIMITED, 2.0)  # the same overload, seen again
    assert run.rate == pytest.approx(7.0)
    assert run.throttle_events == 2

    before = clock.now
    await run.before_attempt()  # everyone waits out Retry-After
    assert clock.now - before >= 2.0

    run.after_attempt(FailureKind.RATE_LIMITED, 0.0)  # a new window: slower again
    assert run.rate == pytest.approx(4.9)

    rates = []
    for _ in range(30):
        await run.before_attempt()
        run.after_attempt(None, None)
        rates.append(run.rate)
    assert rates == sorted(rates)  # back up step by step...
    assert rates[-1] == 10  # ...to the configured ceiling, never above it


async def test_429_without_a_ceiling_slows_down_then_lifts_the_limit() -> None:
    clock = FakeClock()
    run = pacer(clock)
    for _ in range(60):  # about 40 attempts a second: the measured rate
        await run.before_attempt()
        run.after_attempt(None, None)
        clock.now += 0.025
    assert run.rate is None

    run.after_attempt(FailureKind.RATE_LIMITED, None)
    assert run.rate is not None
    assert 20 < run.rate < 35  # 70% of what was measured

    attempts = 0
    while run.rate is not None and attempts < 300:
        await run.before_attempt()
        clock.now += 0.05  # the server now answers at most 20 a second
        run.after_attempt(None, None)
        attempts += 1
    assert run.rate is None, "the limit was never lifted"
    assert attempts < 100


async def test_circuit_opens_after_consecutive_failures_and_answers_reset_it() -> None:
    clock = FakeClock()
    run = pacer(clock, breaker_threshold=3)
    for kind in (FailureKind.NOT_SENT, FailureKind.SERVER_ERROR, None, FailureKind.AMBIGUOUS):
        await run.before_attempt()
        run.after_attempt(kind, None)
    # An error envelope is an answer: the server is alive. A 429 is not a failure either.
    run.after_attempt(FailureKind.UNAVAILABLE, None)
    run.after_attempt(FailureKind.FATAL, None)
    run.after_attempt(FailureKind.RATE_LIMITED, None)
    assert run.open_error is None

    for kind in (FailureKind.UNAVAILABLE, FailureKind.NOT_SENT, FailureKind.SERVER_ERROR):
        await run.before_attempt()
        run.after_attempt(kind, None)
    assert isinstance(run.open_error, CircuitOpenError)
    with pytest.raises(CircuitOpenError):
        await run.before_attempt()


async def test_circuit_breaker_can_be_disabled() -> None:
    run = pacer(FakeClock(), breaker_threshold=None)
    for _ in range(1000):
        run.after_attempt(FailureKind.NOT_SENT, None)
    assert run.open_error is None


async def test_an_item_takes_its_turn_at_once_only_when_the_run_would_not_wait() -> None:
    # The transport awaits the pacer only when it cannot start at once; driven alike, a run
    # seen through items that way and a run always awaited end in the same state.
    direct_clock, item_clock = FakeClock(), FakeClock()
    direct, through_items = pacer(direct_clock), pacer(item_clock)
    script: list[tuple[FailureKind | None, float | None]] = [(None, None)] * 30
    script += [(FailureKind.RATE_LIMITED, 1.5), (None, None), (FailureKind.NOT_SENT, None)]
    script += [(None, None)] * 200
    call = Call("crm/addContactsFull", idempotent=True)
    attempt = Attempt(call, 1, 100)
    for kind, retry_after in script:
        item = ItemObserver(through_items, None, "key")
        await direct.before_attempt()
        await item.before_attempt(attempt)
        direct.after_attempt(kind, retry_after)
        item.after_attempt(AttemptResult(attempt, 0.01, None, kind, None, retry_after))
        assert item.attempts == 1
        assert not item.in_flight
        for clock in (direct_clock, item_clock):
            clock.now += 0.01
    assert item_clock.slept == direct_clock.slept
    assert item_clock.slept  # the 429 paused both, and limited the rate for a while
    assert vars(through_items) == vars(direct) | {"_clock": item_clock, "_sleep": item_clock.sleep}


async def test_a_turn_is_taken_at_once_only_with_no_rate_no_pause_and_a_closed_circuit() -> None:
    clock = FakeClock()
    assert pacer(clock).turn_now()
    assert not pacer(clock, max_per_second=5).turn_now()
    paused = pacer(clock)
    paused.after_attempt(FailureKind.RATE_LIMITED, 2.0)
    paused.rate = None  # only the pause is left
    assert not paused.turn_now()
    clock.now += 2.0
    assert paused.turn_now()
    tripped = pacer(clock, breaker_threshold=1)
    tripped.after_attempt(FailureKind.NOT_SENT, None)
    assert not tripped.turn_now()


def test_max_per_second_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_per_second"):
        RunPacer(max_per_second=0)


async def test_max_per_second_paces_a_real_run(emulator: Emulator, zy: ZyntroClient) -> None:
    n, per_second = 20, 20.0
    counts: list[int] = []
    started = time.monotonic()
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            await anyio.sleep(0.5)
            counts.append(emulator.request_counts[ADD_CONTACTS])

        tg.start_soon(watch)
        report = await zy.bulk.run(
            [upsert(i) for i in range(n)], concurrency=8, max_per_second=per_second
        )
    elapsed = time.monotonic() - started

    assert report.all_succeeded
    # 20 evenly spaced attempts at 20/s take 0.95 s; unpaced they take a few ms.
    assert 0.7 < elapsed < 5
    assert counts[0] <= 0.5 * per_second + 2
