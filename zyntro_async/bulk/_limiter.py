"""A bulk run's shared limits besides the pace: the circuit breaker and the byte budget.

The pace (the API's rate limit, ``max_per_second``, ``Retry-After``) is the
:class:`~zyntro_async.bulk._governor.RateGovernor`'s. Beside it, each item's
:class:`~zyntro_async.bulk._item_observer.ItemObserver` consults the run's
:class:`CircuitBreaker`: ``breaker_threshold`` consecutive transport failures or 5xx answers,
with no success in between, open the circuit; every later attempt raises
:class:`CircuitOpenError`, and the run stops instead of retrying every remaining item
against a dead server. A 429 is neither a failure nor an answer to it: a working server
pacing us.

:class:`ByteBudget` bounds the attachment bytes in flight (the requests in flight are
bounded by an ``anyio.Semaphore``).
"""

from __future__ import annotations

import anyio

from zyntro_async._errors import CircuitOpenError
from zyntro_async._retry import FailureKind

__all__ = ["MAYBE_APPLIED", "ByteBudget", "CircuitBreaker"]

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


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failed attempts with no answer in between.

    Args:
        threshold: consecutive failed attempts that open the circuit (``None``: never).

    Attributes:
        open_error: the error every attempt raises once open (``None`` while closed).
    """

    __slots__ = ("_consecutive_failures", "_threshold", "open_error")

    def __init__(self, threshold: int | None = 25) -> None:
        self._threshold = threshold
        self._consecutive_failures = 0
        self.open_error: CircuitOpenError | None = None

    def check(self) -> None:
        """Let an attempt start, unless the circuit is open.

        Raises:
            CircuitOpenError: the circuit is open.
        """
        if self.open_error is not None:
            raise self.open_error

    def after_attempt(self, kind: FailureKind | None) -> None:
        """Count how an attempt went.

        Args:
            kind: how it failed (``None``: it succeeded).
        """
        if kind is None or kind is FailureKind.FATAL:
            # An answer, even an error envelope, means the server is alive.
            self._consecutive_failures = 0
            return
        if kind in _TRANSPORT_FAILURES:
            self._consecutive_failures += 1
            threshold = self._threshold
            if threshold is not None and self._consecutive_failures >= threshold:
                self.open_error = CircuitOpenError(
                    f"the server failed {self._consecutive_failures} attempts in a row with no "
                    "success in between; stopping the run instead of retrying every item"
                )


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
