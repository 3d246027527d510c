"""Pacing a run: the rate governor behind each item, ``max_per_second``, the circuit breaker.

The :class:`~zyntro_async.bulk._governor.RateGovernor`'s control law has its own tests
(``test_governor.py``); these check how a run plugs it in: each item's
:class:`ItemObserver` asks the breaker, then the governor, and tells both how the attempt
went; the transport leaves a 429's wait to it. :class:`CircuitBreaker` and the governor
are driven with an injected clock, so their arithmetic is exact; one end-to-end test checks
that ``max_per_second`` really spaces requests out.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from zyntro_async import CircuitOpenError, ZyntroClient
from zyntro_async._observe import Attempt, AttemptResult, Call, ObserverChain, paces_rate_limits
from zyntro_async._retry import FailureKind
from zyntro_async.bulk import RunOptions
from zyntro_async.bulk._governor import RateGovernor
from zyntro_async.bulk._item_observer import ItemObserver
from zyntro_async.bulk._limiter import CircuitBreaker
from zyntro_async.testing import Emulator

from ._helpers import ADD_CONTACTS, FakeClock, upsert


def observer(clock: FakeClock, **options: object) -> tuple[ItemObserver, RateGovernor]:
    governor = RateGovernor(clock=clock, sleep=clock.sleep, **options)  # type: ignore[arg-type]
    return ItemObserver(governor, CircuitBreaker(3), None, "key"), governor


def attempt() -> Attempt:
    return Attempt(Call("crm/addContactsFull", idempotent=True), 1, 100)


async def test_max_per_second_spaces_an_items_attempts_evenly() -> None:
    clock = FakeClock()
    item, _ = observer(clock, max_per_second=10)
    times = []
    for _ in range(5):
        started = attempt()
        await item.before_attempt(started)
        item.after_attempt(AttemptResult(started, 0.01, 200, None, None))
        times.append(clock.now - 1000.0)
    assert times == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


async def test_an_item_tells_the_governor_of_a_429_and_waits_out_its_pause() -> None:
    clock = FakeClock()
    item, governor = observer(clock)
    first = attempt()
    await item.before_attempt(first)
    item.after_attempt(AttemptResult(first, 0.01, 429, FailureKind.RATE_LIMITED, None, 2.0, 0.0))
    assert governor.rate_limited == 1
    before = clock.now
    await item.before_attempt(attempt())  # the retry: held by the governor, not the transport
    assert clock.now - before >= 2.0
    assert item.attempts == 2


def test_an_item_observer_paces_rate_limits_and_a_chain_of_it_does_too() -> None:
    item, _ = observer(FakeClock())
    assert paces_rate_limits(item)
    assert paces_rate_limits(ObserverChain.of(CircuitBreakerless(), item))
    assert not paces_rate_limits(CircuitBreakerless())
    assert not paces_rate_limits(None)


class CircuitBreakerless:
    """An observer written before ``paces_rate_limits`` existed: it does not pace."""

    wants_last_byte = False

    async def before_attempt(self, attempt: Attempt) -> None:
        pass

    async def before_last_byte(self, attempt: Attempt) -> None:
        pass

    def after_attempt(self, result: AttemptResult) -> None:
        pass


def test_circuit_opens_after_consecutive_failures_and_answers_reset_it() -> None:
    breaker = CircuitBreaker(3)
    for kind in (FailureKind.NOT_SENT, FailureKind.SERVER_ERROR, None, FailureKind.AMBIGUOUS):
        breaker.after_attempt(kind)
    # An error envelope is an answer: the server is alive. A 429 is not a failure either.
    breaker.after_attempt(FailureKind.UNAVAILABLE)
    breaker.after_attempt(FailureKind.FATAL)
    breaker.after_attempt(FailureKind.RATE_LIMITED)
    assert breaker.open_error is None

    for kind in (FailureKind.UNAVAILABLE, FailureKind.NOT_SENT, FailureKind.SERVER_ERROR):
        breaker.after_attempt(kind)
    assert isinstance(breaker.open_error, CircuitOpenError)
    with pytest.raises(CircuitOpenError):
        breaker.check()


async def test_an_open_circuit_stops_an_item_before_the_governor_counts_it() -> None:
    clock = FakeClock()
    item, governor = observer(clock)
    for _ in range(3):
        item.after_attempt(AttemptResult(attempt(), 0.01, None, FailureKind.NOT_SENT, None))
    with pytest.raises(CircuitOpenError):
        await item.before_attempt(attempt())
    assert item.attempts == 0
    assert governor.requests == 0


def test_circuit_breaker_can_be_disabled() -> None:
    breaker = CircuitBreaker(None)
    for _ in range(1000):
        breaker.after_attempt(FailureKind.NOT_SENT)
    assert breaker.open_error is None


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"max_per_second": 0}, "max_per_second"),
        ({"rate_limit_stall": 0}, "rate_limit_stall"),
        ({"max_pause": -1}, "max_pause"),
        ({"on_long_pause": "later"}, "on_long_pause"),
    ],
)
def test_bad_pacing_options_name_the_field(options: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        RunOptions(**options)  # type: ignore[arg-type]


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


async def test_a_run_starts_slowly_and_the_next_one_where_it_got(zy: ZyntroClient) -> None:
    """Slow start opens the window by one per success; the client's next run starts open."""
    windows: list[int | None] = []

    def watch(progress: object) -> None:
        windows.append(progress.pacing.window)  # type: ignore[attr-defined]

    first = await zy.bulk.run(
        [upsert(i) for i in range(200)], concurrency=32, on_progress=watch, progress_interval=0
    )
    assert first.all_succeeded
    assert windows[0] is not None
    assert windows[0] <= 8  # the first requests go out a few at a time
    opened_at = windows[0]

    windows.clear()
    second = await zy.bulk.run(
        [upsert(i) for i in range(200, 400)],
        concurrency=32,
        on_progress=watch,
        progress_interval=0,
    )
    assert second.all_succeeded
    # It starts with as many in flight as the API took at once before, not a few again.
    assert windows[0] is None or windows[0] > opened_at


@pytest.mark.parametrize(
    "input_", ["list", "generator", "generator with total"], ids=lambda input_: input_
)
async def test_a_run_tells_the_governor_the_items_left_where_its_input_has_a_length(
    zy: ZyntroClient, monkeypatch: pytest.MonkeyPatch, input_: str
) -> None:
    # The governor probes the first limit a run meets soon only where enough of the run is
    # left to use what it finds (see RateGovernor.work_left): a list tells how much, and so
    # does a generator given with its ``total``; a bare generator does not, and the
    # governor is told nothing.
    told: list[tuple[int | None, int]] = []
    monkeypatch.setattr(
        RateGovernor, "work_left", lambda self, left, done: told.append((left, done))
    )
    totals: list[int | None] = []
    items = [upsert(i) for i in range(5)]
    report = await zy.bulk.run(
        items if input_ == "list" else iter(items),
        concurrency=2,
        total=5 if input_ == "generator with total" else None,
        on_progress=lambda progress: totals.append(progress.total),
        progress_interval=0,
    )
    assert report.succeeded == 5
    if input_ == "generator":
        assert told == []
        assert set(totals) == {None}
    else:
        assert sorted(told, key=lambda pair: pair[1]) == [(5 - n, n) for n in range(1, 6)]
        assert set(totals) == {5}


@pytest.mark.parametrize("total", [-1, True, 2.5, "5"])
async def test_a_bad_total_is_refused_naming_it(zy: ZyntroClient, total: Any) -> None:
    with pytest.raises(ValueError, match="total must be an int >= 0"):
        await zy.bulk.run(iter([upsert(1)]), total=total)
