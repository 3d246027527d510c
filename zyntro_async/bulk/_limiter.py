"""The shared pace of a bulk run: rate limit, adaptive 429 backoff, circuit breaker, bytes.

One :class:`RunPacer` serves every attempt of every item in a run (each item's
:class:`~zyntro_async.bulk._item_observer.ItemObserver` consults it, as the transport's
attempt observer):

- ``max_per_second`` spaces attempts evenly;
- a 429 cuts the rate by 30% (starting from the rate actually observed when no limit was set),
  at most once a second, and pauses everyone for ``Retry-After``; each success then raises
  the rate by 2%, until the configured limit (or no limit) is back;
- ``breaker_threshold`` consecutive transport failures or 5xx answers, with no success in
  between, open the circuit: every later attempt raises :class:`CircuitOpenError`, and the
  run stops instead of retrying every remaining item against a dead server.

:class:`ByteBudget` bounds the attachment bytes in flight (the requests in flight are
bounded by an ``anyio.Semaphore``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio

from zyntro_async._errors import CircuitOpenError
from zyntro_async._retry import FailureKind

__all__ = ["MAYBE_APPLIED", "ByteBudget", "RunPacer"]

_TRANSPORT_FAILURES = frozenset(
    {
        FailureKind.NOT_SENT,
        FailureKind.SERVER_ERROR,
        FailureKind.UNAVAILABLE,
        FailureKind.AMBIGUOUS,
    }
)
# Failures after which the request may have been applied.
MAYBE_APPLIED = frozenset({FailureKind.SERVER_ERROR, FailureKind.AMBIGUOUS})
_MIN_RATE = 0.5
_DECREASE = 0.7  # multiplicative decrease per 429 window
_INCREASE = 0.02  # multiplicative increase per success


class RunPacer:
    """Rate, adaptive backoff and circuit breaker shared by one bulk run.

    Args:
        max_per_second: ceiling on attempts per second (``None``: no ceiling).
        breaker_threshold: consecutive failed attempts that open the circuit
            (``None`` disables the breaker).
        clock: monotonic clock; sleep: async sleep (both injectable for tests).
    """

    def __init__(
        self,
        *,
        max_per_second: float | None = None,
        breaker_threshold: int | None = 25,
        retry_after_cap: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if max_per_second is not None and not max_per_second > 0:
            raise ValueError(f"max_per_second must be > 0, got {max_per_second!r}")
        self.ceiling = max_per_second
        self.rate: float | None = max_per_second
        self._breaker_threshold = breaker_threshold
        # The whole run pauses for a Retry-After: held to the retry policy's cap, or
        # "Retry-After: 99999999" would stall it (observers get the server's figure as is).
        self._retry_after_cap = retry_after_cap
        self._clock = clock
        self._sleep = sleep
        self._next_slot = 0.0
        self._pause_until = 0.0
        self._next_decrease = 0.0
        self._consecutive_failures = 0
        self._window_start = clock()
        self._window_count = 0
        self._observed_rate = 0.0
        self.open_error: CircuitOpenError | None = None
        self.throttle_events = 0

    def _observe(self, now: float) -> None:
        self._window_count += 1
        span = now - self._window_start
        if span >= 1.0:
            self._observed_rate = self._window_count / span
            self._window_start, self._window_count = now, 0

    def _measured_rate(self, now: float) -> float:
        span = now - self._window_start
        if span >= 0.25 or self._observed_rate == 0.0:
            return self._window_count / max(span, 0.25)
        return self._observed_rate

    async def before_attempt(self) -> None:
        """Wait for this attempt's turn; raise :class:`CircuitOpenError` when open."""
        if self.open_error is not None:
            raise self.open_error
        now = self._clock()
        wait = max(0.0, self._pause_until - now)
        if self.rate is not None:
            slot = max(now + wait, self._next_slot)
            self._next_slot = slot + 1.0 / self.rate
            wait = slot - now
        if wait > 0:
            await self._sleep(wait)
            if self.open_error is not None:
                raise self.open_error
        self._observe(self._clock())

    def turn_now(self) -> bool:
        """Take this attempt's turn at once when no wait is due (no rate, no pause).

        Returns:
            ``False`` when :meth:`before_attempt` must be awaited instead (it may wait, or
            raise because the circuit is open).
        """
        if self.rate is not None or self.open_error is not None:
            return False
        now = self._clock()
        if self._pause_until > now:
            return False
        self._observe(now)
        return True

    def after_attempt(self, kind: FailureKind | None, retry_after: float | None) -> None:
        """Adapt to how the attempt went (``None``: an answer came back)."""
        if kind is None or kind is FailureKind.FATAL:
            # An answer, even an error envelope, means the server is alive.
            self._consecutive_failures = 0
            if kind is None:
                self._recover()
            return
        if kind is FailureKind.RATE_LIMITED:
            self.throttle_events += 1
            if retry_after is not None:
                retry_after = min(retry_after, self._retry_after_cap)
            now = self._clock()
            # Many in-flight requests see the same overload: slow down once per window,
            # not once per 429, or the rate would collapse to nothing.
            if now >= self._next_decrease:
                current = self.rate or max(self._measured_rate(now), 2 * _MIN_RATE)
                self.rate = max(_MIN_RATE, current * _DECREASE)
                self._next_decrease = now + max(1.0, retry_after or 0.0)
            if retry_after:
                self._pause_until = max(self._pause_until, self._clock() + retry_after)
            return
        if kind in _TRANSPORT_FAILURES:
            self._consecutive_failures += 1
            threshold = self._breaker_threshold
            if threshold is not None and self._consecutive_failures >= threshold:
                self.open_error = CircuitOpenError(
                    f"the server failed {self._consecutive_failures} attempts in a row with no "
                    "success in between; stopping the run instead of retrying every item"
                )

    def _recover(self) -> None:
        if self.rate is None:
            return
        step = max(0.5, self.rate * _INCREASE)
        target = self.ceiling if self.ceiling is not None else self.rate * 4 + 10
        self.rate = min(target, self.rate + step)
        if self.ceiling is None and self.rate >= self._measured_rate(self._clock()) * 2 + 10:
            self.rate = None  # fully recovered: no limit was asked for


class ByteBudget:
    """At most ``capacity`` attachment bytes in flight; a larger file waits for all of it."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"max_inflight_bytes must be >= 1, got {capacity}")
        self.capacity = capacity
        self._available = capacity
        self._changed = anyio.Condition()

    async def acquire(self, size: int) -> int:
        """Take ``size`` bytes (capped at the capacity); returns what to release."""
        need = min(size, self.capacity)
        if need <= 0:
            return 0
        async with self._changed:
            while self._available < need:
                await self._changed.wait()
            self._available -= need
        return need

    async def release(self, amount: int) -> None:
        """Give back what :meth:`acquire` returned."""
        if amount <= 0:
            return
        with anyio.CancelScope(shield=True):
            async with self._changed:
                self._available += amount
                self._changed.notify_all()
