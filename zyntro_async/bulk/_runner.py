"""``zy.bulk``: run many operations with bounded concurrency, one outcome per item.

This module is the facade (:class:`Bulk`, :class:`BulkAbortedError`); the settings are in
:mod:`zyntro_async.bulk._options`, the run itself in :mod:`zyntro_async.bulk._engine`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sized
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, Literal

import anyio
from anyio.streams.memory import MemoryObjectSendStream

if sys.version_info < (3, 11):  # pragma: no cover - anyio brings the backport
    from exceptiongroup import BaseExceptionGroup

from zyntro_async._errors import BulkAbortedError, CircuitOpenError, ZyntroError
from zyntro_async._tracing import run_span
from zyntro_async.bulk._engine import Run
from zyntro_async.bulk._governor import LearnedLimit, RateLimitStopError
from zyntro_async.bulk._journal import Journal
from zyntro_async.bulk._options import DEFAULT_MAX_INFLIGHT_BYTES, RunOptions
from zyntro_async.bulk._report import BulkReport, ItemResult, Progress

if TYPE_CHECKING:
    from zyntro_async._client import ZyntroClient

__all__ = ["Bulk", "BulkAbortedError", "RunOptions", "cancelled_report"]


class Bulk:
    """``zy.bulk``: run many operations with bounded concurrency (see the module docs)."""

    def __init__(self, client: ZyntroClient) -> None:
        self._client = client
        # In flight at once without a 429 in the previous run: the next starts there.
        self._window_opened: int | None = None
        # What the previous run learned of the API's limit: the next starts from it.
        self._learned: LearnedLimit | None = None

    async def run(
        self,
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = 16,
        max_per_second: float | None = None,
        max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES,
        journal: str | Any | None = None,
        retry_unknown: bool = False,
        retry_changed: bool = False,
        fail_fast: bool = False,
        max_failures: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
        on_result: Callable[[ItemResult], object] | None = None,
        progress_interval: float = 0.5,
        breaker_threshold: int | None = 25,
        rate_limit_stall: float | None = 600.0,
        max_pause: float = 300.0,
        on_long_pause: Literal["wait", "stop"] = "wait",
        total: int | None = None,
    ) -> BulkReport:
        """Run every item and return the report.

        Args:
            items: operations (``ContactBundle``, ``UpsertContact``, ``AddNote``, ...), any
                iterable or async iterable; pulled lazily, at most about ``concurrency``
                (plus a small buffer) held at once.
            concurrency: requests in flight at once (children of bundles included).
            max_per_second: ceiling on requests per second for the whole run. With or
                without it, the run paces itself to the API's unannounced rate limit,
                learned from its 429 answers (see README, "Rate limits"); a 429 never
                fails an item, and never counts against its retries. A run after one that
                met the limit starts paced from what that one learned (the limit holds for
                the client's credential, not for one run).
            max_inflight_bytes: attachment bytes being uploaded at once.
            journal: path of an SQLite journal; re-running with it skips what succeeded and
                does not re-send creating calls that may have been applied. It also keeps
                what the run learned of the rate limit, so a rerun in a new process (after
                Ctrl-C) starts paced from it, as this client's next run would
                (``BulkReport.started_from`` says so).
            retry_unknown: with a journal, send again creating calls whose outcome was
                unknown (they may be duplicated).
            retry_changed: with a journal, send a creating call (note, attachment, comms)
                whose key an earlier run used for different content, instead of reporting
                it ``failed`` with code ``JOURNAL_CONFLICT`` (the earlier entry stays).
            fail_fast: stop at the first failed or unknown item.
            max_failures: stop once more than this many items failed or are unknown.
                Outcomes restored from the journal, and items failing again as they did
                in an earlier run, do not count: a rerun after an abort gets further.
            on_progress: called with a :class:`Progress` every ``progress_interval`` s.
            on_result: called with each :class:`ItemResult` as it completes.
            breaker_threshold: consecutive failed attempts that stop the run (None: never).
            rate_limit_stall: seconds with no request succeeding while the API refuses them
                with 429s after which the run stops (``None``: never). A pause the run
                chose to wait out (below) does not count.
            max_pause: the longest ``Retry-After`` (seconds) waited out as an ordinary
                pause; a longer one (a daily quota's) is handled by ``on_long_pause``.
            on_long_pause: ``"wait"`` waits out a longer ``Retry-After`` anyway (the
                progress shows when the run resumes); ``"stop"`` stops the run at once.
            total: how many items ``items`` yields, for an input of no ``len()`` (a
                generator, a file read as it goes); not given, ``len(items)`` where it
                has one. Given, it is taken as is.
                ``Progress.total`` shows it, and the pacing knows from it how much of the
                run is left (see README, "Rate limits"). Only a count: a wrong one
                misleads the progress, never drops or adds an item.

        Returns:
            The :class:`BulkReport` (``settled_rate``: the rate the API's limit allowed).

        Raises:
            BulkAbortedError: the run stopped early (``fail_fast``, ``max_failures``, the
                circuit breaker: ``reason`` is a ``CircuitOpenError``; rate limiting:
                ``reason`` is a ``RateLimitStopError``, the items not sent are
                ``skipped``, and rerunning with the journal sends them; or the input
                raised: ``reason`` is its error, and the items in flight were let finish);
                ``.report`` holds every item pulled so far.
            JournalError: the journal is in use by another run, or not a usable journal
                (nothing was sent).
            ValueError: a bad setting (``concurrency < 1``, ...).

        Cancelled (a cancel scope, ``task.cancel()``, Ctrl-C under ``asyncio.run``), the run
        stops at once and the cancellation propagates as itself; the exception then carries
        the report of every item pulled so far in its ``report`` attribute (see
        :func:`cancelled_report`). A cancel scope that swallows the cancellation
        (``anyio.move_on_after``) swallows that report too: collect ``on_result`` then.
        """
        options = RunOptions(
            concurrency=concurrency,
            max_per_second=max_per_second,
            max_inflight_bytes=max_inflight_bytes,
            journal=journal,
            retry_unknown=retry_unknown,
            retry_changed=retry_changed,
            fail_fast=fail_fast,
            max_failures=max_failures,
            on_progress=on_progress,
            progress_interval=progress_interval,
            breaker_threshold=breaker_threshold,
            rate_limit_stall=rate_limit_stall,
            max_pause=max_pause,
            on_long_pause=on_long_pause,
            total=total,
        )
        run = self._new_run(options, items, on_result=on_result)
        try:
            await self._drive(run, items)
        except anyio.get_cancelled_exc_class() as cancelled:
            _attach_report(cancelled, run)
            raise
        return self._finish(run)

    async def stream(
        self,
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = 16,
        max_per_second: float | None = None,
        max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES,
        journal: str | Any | None = None,
        retry_unknown: bool = False,
        retry_changed: bool = False,
        fail_fast: bool = False,
        max_failures: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
        progress_interval: float = 0.5,
        breaker_threshold: int | None = 25,
        rate_limit_stall: float | None = 600.0,
        max_pause: float = 300.0,
        on_long_pause: Literal["wait", "stop"] = "wait",
        total: int | None = None,
    ) -> AsyncIterator[ItemResult]:
        """Run every item, yielding each :class:`ItemResult` as it completes.

        Same arguments as :meth:`run`. A slow consumer slows the run (results are handed
        over through a small buffer, and items wait for it). To stop early, close the
        iterator: ``async with contextlib.aclosing(zy.bulk.stream(items)) as results``.

        Raises:
            BulkAbortedError: after the last result, when the run stopped early.
        """
        options = RunOptions(
            concurrency=concurrency,
            max_per_second=max_per_second,
            max_inflight_bytes=max_inflight_bytes,
            journal=journal,
            retry_unknown=retry_unknown,
            retry_changed=retry_changed,
            fail_fast=fail_fast,
            max_failures=max_failures,
            on_progress=on_progress,
            progress_interval=progress_interval,
            breaker_threshold=breaker_threshold,
            rate_limit_stall=rate_limit_stall,
            max_pause=max_pause,
            on_long_pause=on_long_pause,
            total=total,
        )
        send, receive = anyio.create_memory_object_stream[ItemResult](options.concurrency)
        run = self._new_run(options, items, send=send)

        async def produce() -> None:
            async with send:
                await self._drive(run, items)

        async with anyio.create_task_group() as tg, receive:
            tg.start_soon(produce)
            try:
                async for result in receive:
                    yield result
            except GeneratorExit:
                # Closed early (``aclosing`` + ``break``): stop the run and end quietly;
                # letting GeneratorExit through the task group would wrap it in a group.
                tg.cancel_scope.cancel()
                return
        self._finish(run)

    async def _drive(self, run: Run, items: Iterable[Any] | AsyncIterable[Any]) -> None:
        options = run.options
        try:
            # The run's span is current while the workers start: their calls are children.
            with run_span(
                concurrency=options.concurrency, journal=options.journal is not None
            ) as span:
                try:
                    async with AsyncExitStack() as stack:
                        if options.journal is not None:
                            run.journal = await _open_journal(stack, options.journal)
                            await self._start_from_journal(run, run.journal)
                        try:
                            await run.pull(items)
                        finally:
                            if run.journal is not None:
                                await _keep_learned(run, run.journal)
                finally:
                    report = run.report
                    report.shared_keys = run.same_key.shared
                    report.shared_key_examples = list(run.same_key.examples)
                    span.set_counts(
                        {
                            "total": report.total,
                            "succeeded": report.succeeded,
                            "failed": report.failed,
                            "unknown": report.unknown,
                            "skipped": report.skipped,
                        }
                    )
        except BaseExceptionGroup as group:
            # An error of the caller's own callback surfaces as itself (one of their input
            # is a BulkAbortedError with the report: see ``Run.input_error``).
            errors = [
                exc
                for exc in group.exceptions
                if not isinstance(exc, anyio.get_cancelled_exc_class())
            ]
            if len(errors) == 1:
                raise errors[0] from group
            raise

    async def _start_from_journal(self, run: Run, journal: Journal) -> None:
        """Pace ``run`` from what the journal's last run learned, if this client knows less.

        A rerun in a new process (after Ctrl-C) meets the same limit as the run it resumes;
        within a process the client's own previous run is the fresher.
        """
        if self._learned is not None:
            return
        learned = await journal.learned_limit()
        if learned is not None:
            run.governor.start_from(learned)

    def _new_run(
        self,
        options: RunOptions,
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        on_result: Callable[[ItemResult], object] | None = None,
        send: MemoryObjectSendStream[ItemResult] | None = None,
    ) -> Run:
        """A run of this client's, started from what the previous run learned of the limit."""
        return Run(
            self._client,
            options,
            total=options.total if options.total is not None else _length(items),
            on_result=on_result,
            send=send,
            window_opened=self._window_opened,
            learned=self._learned,
        )

    def _finish(self, run: Run) -> BulkReport:
        run.report.elapsed = time.monotonic() - run.started
        run.report.rate_limited = run.governor.rate_limited
        run.report.settled_rate = run.governor.settled_rate
        run.report.settled_concurrency = run.governor.settled_window
        run.report.started_from = run.governor.started_from
        fault = run.governor.fault
        if fault is not None:
            run.report.pacing_fault = f"{type(fault).__name__}: {fault}"
        self._window_opened = run.governor.window_opened
        self._learned = run.governor.learned
        run.progress(force=True)
        failed_input = run.input_error
        if failed_input is not None:
            raise BulkAbortedError(
                f"bulk run stopped after {run.report.total} items: the input raised "
                f"{type(failed_input).__name__}: {failed_input} (the items pulled before "
                "were run to the end; .report has them, .reason is the error)",
                report=run.report,
                reason=failed_input,
            ) from failed_input
        if run.stop_reason is not None:
            reason = run.stop_reason
            run.report.stopped = reason if isinstance(reason, ZyntroError) else None
            what = (
                "the circuit breaker opened"
                if isinstance(reason, CircuitOpenError)
                else "rate limited"
                if isinstance(reason, RateLimitStopError)
                else "fail_fast"
                if run.options.fail_fast
                else f"more than {run.options.max_failures} failures"
            )
            raise BulkAbortedError(
                f"bulk run stopped early ({what}) after {run.report.total} items: {reason}",
                report=run.report,
                reason=reason,
            )
        return run.report


def cancelled_report(cancelled: BaseException) -> BulkReport | None:
    """The report a cancelled ``bulk.run`` left on its cancellation exception.

    ``zy.bulk.run`` never swallows a cancellation nor turns it into another exception;
    it lets it propagate, with the report of every item pulled so far (each in flight
    ``unknown`` or ``skipped``) set as its ``report`` attribute::

        try:
            report = await zy.bulk.run(items, journal="import.journal")
        except asyncio.CancelledError as cancelled:
            report = cancelled_report(cancelled)  # then re-raise, as always
            raise

    Args:
        cancelled: the cancellation exception that came out of ``run``.

    Returns:
        The report, or ``None`` when the exception did not come out of a run.
    """
    report = vars(cancelled).get("report")
    return report if isinstance(report, BulkReport) else None


def _attach_report(cancelled: BaseException, run: Run) -> None:
    """Leave the report so far on a cancellation leaving ``run`` (see ``cancelled_report``)."""
    run.report.elapsed = time.monotonic() - run.started
    # An attribute of the very exception that propagates: nothing else is raised instead.
    vars(cancelled)["report"] = run.report
    if sys.version_info >= (3, 11):
        cancelled.add_note(
            f"zyntro-async: the bulk run was cancelled after {run.report.total} items; "
            "its report is this exception's .report"
        )


def _length(items: Iterable[Any] | AsyncIterable[Any]) -> int | None:
    return len(items) if isinstance(items, Sized) else None


async def _keep_learned(run: Run, journal: Journal) -> None:
    """Keep in the journal what ``run`` learned of the limit, for a rerun's start."""
    learned = run.governor.learned
    if learned is not None:
        with anyio.CancelScope(shield=True):  # a cancelled run keeps it too
            await journal.keep_learned(learned)


async def _open_journal(stack: AsyncExitStack, journal: Any) -> Journal:
    if isinstance(journal, Journal):
        return journal
    opened = Journal(journal)
    await opened.open()
    stack.push_async_callback(opened.aclose)
    return opened
