"""The bulk engine: pulls items lazily, runs them under shared limits, accounts for each.

Shape of a run (all in one anyio task group)::

    items ──pull──> [workers: concurrency (+ buffer), one item each at a time]
                      ├─ an upsert: its turn for its lookup key (bulk/_same_key.py)
                      ├─ journal lookup: resume decision (bulk/_journal.py)
                      ├─ request slot (concurrency), byte budget (attachments)
                      │    └─ client.send(op.request_for(...), observer=ItemObserver)
                      │         (pacing and the journal's "sent" mark: bulk/_item_observer.py)
                      ├─ outcome → status (bulk/_outcome.py)
                      └─ bundle: children in a nested group (bulk/_bundles.py)
    worker ──ItemResult──> report / stream consumer / journal / on_progress

A fixed pool of workers, each pulling its next item when it is done with the last, holds
at most ``concurrency`` items (plus a small buffer with a journal, see
:attr:`RunOptions.workers`) and costs no task per item.

Every input item yields exactly one :class:`ItemResult`, whatever happens: errors become
``failed``, ambiguous creating calls ``unknown``, children of a failed contact ``skipped``;
when the run stops early (``fail_fast``, ``max_failures``, circuit breaker, cancellation),
items with a request out (or one that may have been applied) become ``unknown``, and the
other pulled items ``skipped``. An input that raises stops the pulling only: the items in
flight finish, and the run ends with that error (see ``Run.input_error``). A stop for rate
limiting (the governor's :class:`~zyntro_async.bulk._governor.RateLimitStopError`) cancels
nothing either: the run stops pulling, requests already out come back, and every item
waiting for its turn (or for its retry after a 429) ends ``skipped``, resumable from the
journal.

``max_failures`` and ``fail_fast`` count what this run learns: outcomes restored from the
journal (an earlier ``unknown``, a conflict) and items that fail again as they did in an
earlier run are reported but not counted, so a rerun after an abort gets further.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.lowlevel
import attrs
from anyio.streams.memory import MemoryObjectSendStream

from zyntro_async._errors import CircuitOpenError, RequestValidationError, ZyntroError
from zyntro_async.bulk._bundles import run_bundle
from zyntro_async.bulk._governor import INITIAL_WINDOW, LearnedLimit, RateGovernor
from zyntro_async.bulk._item_observer import ItemObserver
from zyntro_async.bulk._journal import Journal, Resume, recorded_status, resume
from zyntro_async.bulk._limiter import ByteBudget, CircuitBreaker
from zyntro_async.bulk._ops import (
    AddFile,
    AddLink,
    AddNote,
    ContactBundle,
    InvalidItem,
    LogComms,
    RequestOperation,
    UpsertContact,
)
from zyntro_async.bulk._options import RunOptions
from zyntro_async.bulk._outcome import classify, classify_cancelled
from zyntro_async.bulk._report import BulkReport, ItemResult, Progress, Status
from zyntro_async.bulk._same_key import SameKeyGate, lookup_key

if TYPE_CHECKING:
    from zyntro_async._client import ZyntroClient

__all__ = ["Run"]


class _Stop(Exception):
    """Internal: the run must stop (reason attached)."""


class _PendingKey(str):
    """An item's key not computed yet (see ``Run.defer_keys``)."""

    __slots__ = ()


_PENDING_KEY = _PendingKey()
# Our own operations: their keys are pure functions of their content, so computing one
# later gives the same key, and cannot raise.
_KEYED_BY_CONTENT = frozenset({UpsertContact, AddNote, AddLink, AddFile, LogComms, ContactBundle})
_COUNTED_AS_FAILURES = frozenset({Status.FAILED, Status.UNKNOWN})
# Our own request operations: they have a content fingerprint for the journal.
_FINGERPRINTED = (UpsertContact, AddNote, AddLink, AddFile, LogComms)


class Run:
    """One run's state: limits, journal, counters, and how results leave.

    Args:
        on_result: called with each result (``run``'s callback).
        send: where ``stream`` hands results to its consumer.
    """

    def __init__(
        self,
        client: ZyntroClient,
        options: RunOptions,
        *,
        total: int | None,
        on_result: Callable[[ItemResult], object] | None = None,
        send: MemoryObjectSendStream[ItemResult] | None = None,
        window_opened: int | None = None,
        learned: LearnedLimit | None = None,
    ) -> None:
        self.client = client
        self.options = options
        # Taking a free slot checks for cancellation but does not yield to the loop (a loop
        # turn per request for nothing); a released slot goes to the longest waiter.
        self.requests = anyio.Semaphore(options.concurrency, fast_acquire=True)
        # One governor paces every attempt of the run: the API's limit is the run's.
        self.governor = RateGovernor(
            max_per_second=options.max_per_second,
            max_pause=options.max_pause,
            on_long_pause=options.on_long_pause,
            stall_timeout=options.rate_limit_stall,
            # Slow start begins where the client's previous run got without a 429.
            initial_window=max(INITIAL_WINDOW, window_opened or 0),
            # ... and paced from what the previous run learned of the limit, if it met one.
            learned=learned,
        )
        self.breaker = CircuitBreaker(options.breaker_threshold)
        self.bytes = ByteBudget(options.max_inflight_bytes)
        self.journal: Journal | None = None
        self.on_result = on_result
        self.send = send
        # Whether every result is handed to someone (``on_result`` or a stream).
        self.observed = on_result is not None or send is not None
        # Whether keys are computed only for the results that keep them (set when the
        # run starts, once the journal is known). A key hashes the item's JSON, a real cost
        # per item; with no journal and nobody receiving each result, a succeeded item's
        # key is never seen: only the results the report keeps (not fully succeeded) need
        # theirs.
        self.defer_keys = False
        self.total = total
        self.report = BulkReport()
        self.started = time.monotonic()
        self.pulled = 0
        self.failures = 0
        self.finished = 0  # items accounted for (report.total, without summing its counts)
        self.stop_reason: BaseException | None = None
        # What the input raised: pulling stops there, the items in flight finish.
        self.input_error: Exception | None = None
        # Upserts of one contact (e-mail, phone, id) run one at a time.
        self.same_key = SameKeyGate()
        # Keys of items that failed again as an earlier run recorded: not news, not counted.
        self._repeats: set[str] = set()
        self.scope: anyio.CancelScope | None = None
        self._exhausted = False
        self._last_progress = 0.0

    # ---- accounting -------------------------------------------------------------------

    def account(self, result: ItemResult) -> ItemResult:
        """Count a finished item; decide whether the run must stop.

        Returns:
            The result, with its keys filled in if they were left for later.
        """
        ok = (result.status is Status.SUCCEEDED and not result.children) or result.ok
        if not ok and type(result.key) is _PendingKey:
            result = _with_keys(result)
        self.report.add(result)
        self.finished += 1
        if self.total is not None:
            # The governor probes a run's first floor soon only where enough of the run
            # is left (RateGovernor.work_left).
            self.governor.work_left(max(0, self.total - self.finished), self.finished)
        if not ok:
            self.failures += sum(map(self._new_failure, (result, *result.children)))
        options = self.options
        if self.stop_reason is None:
            if isinstance(result.error, CircuitOpenError) or self.breaker.open_error is not None:
                self.stop(self.breaker.open_error or result.error)
            elif self.governor.stopped is not None:
                self.stop_reason = self.governor.stopped  # the rest drains: see the docstring
            elif (options.fail_fast and self.failures) or (
                options.max_failures is not None and self.failures > options.max_failures
            ):
                self.stop(result.error or _first_error(result))
        if options.on_progress is not None:
            self.progress(force=False)
        return result

    def _new_failure(self, result: ItemResult) -> bool:
        """Whether ``result`` counts toward ``max_failures``/``fail_fast``.

        Only what this run learnt counts: not an outcome restored from the journal, nor
        an item that failed (or was unknown) in an earlier run and does again. Otherwise a
        rerun after an abort would stop again at the same items, never getting further.
        """
        if result.status not in _COUNTED_AS_FAILURES or result.from_journal:
            return False
        if result.key in self._repeats:
            self._repeats.discard(result.key)
            return False
        return True

    def stop(self, reason: BaseException | None) -> None:
        """Stop pulling and cancel what is in flight."""
        if self.stop_reason is None:
            self.stop_reason = reason or _Stop("stopped")
        if self.scope is not None:
            self.scope.cancel()

    def progress(self, *, force: bool) -> None:
        """Call ``on_progress`` at most every ``progress_interval`` seconds (or now)."""
        on_progress = self.options.on_progress
        if on_progress is None:
            return
        now = time.monotonic()
        if not force and now - self._last_progress < self.options.progress_interval:
            return
        self._last_progress = now
        elapsed = now - self.started
        done = self.report.total
        pacing = self.governor.snapshot()
        on_progress(
            Progress(
                done=done,
                pulled=self.pulled,
                total=self.total,
                counts=dict(self.report.counts),
                elapsed=elapsed,
                rate=done / elapsed if elapsed > 0 else 0.0,
                request_rate=pacing.accepted_rate,
                rate_limited=pacing.rate_limited,
                pacing=pacing,
            )
        )

    async def deliver(self, result: ItemResult) -> None:
        """Hand a result to ``on_result`` or the stream's consumer."""
        if self.on_result is not None:
            self.on_result(result)
        send = self.send
        if send is not None:
            # A consumer that closed the stream early no longer wants results.
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                # As ``send.send()`` does, minus its yield to the loop when there is room.
                await anyio.lowlevel.checkpoint_if_cancelled()
                try:
                    send.send_nowait(result)
                except anyio.WouldBlock:
                    await send.send(result)

    # ---- pulling ----------------------------------------------------------------------

    async def pull(self, items: Iterable[Any] | AsyncIterable[Any]) -> None:
        """Run every item on the workers, pulling each when a worker is free."""
        self.defer_keys = self.journal is None and not self.observed
        with anyio.CancelScope() as scope:
            self.scope = scope
            async with anyio.create_task_group() as ticking:
                if self.options.on_progress is not None:
                    ticking.start_soon(self._tick)
                async with anyio.create_task_group() as tg:
                    if isinstance(items, AsyncIterable):
                        await self._feed(items, tg)
                    else:
                        iterator = iter(items)
                        for _ in range(self.options.workers):
                            tg.start_soon(self._work_on, iterator, tg.cancel_scope)
                ticking.cancel_scope.cancel()

    async def _tick(self) -> None:
        """``on_progress`` also while no item finishes (waiting out a ``Retry-After``)."""
        while True:
            await anyio.sleep(self.options.progress_interval)
            self.progress(force=False)

    async def _work_on(self, iterator: Iterator[Any], group: anyio.CancelScope) -> None:
        """A worker: take the next item, run it, repeat (a plain iterator's items)."""
        while True:
            # A stopped or failing run pulls nothing more. (A run cancelled from outside may
            # pull one more item per worker: it ends ``skipped``, since taking a request
            # slot checks for cancellation before anything is sent.)
            if self._exhausted or self.stop_reason is not None or group.cancel_called:
                return
            try:
                item = next(iterator)
            except StopIteration:
                self._exhausted = True
                return
            except Exception as exc:
                self._input_failed(exc)
                return
            index = self.pulled
            self.pulled += 1
            await self._item(index, item)

    async def _feed(self, items: AsyncIterable[Any], tg: anyio.abc.TaskGroup) -> None:
        """Pull an async iterable here, in the caller's task, and hand items to workers.

        An async generator keeps running in the one task that started it, as it would
        under ``async for`` (its own cancel scopes or timeouts may depend on that).
        """
        send, receive = anyio.create_memory_object_stream[tuple[int, Any]](0)
        async with receive:
            for _ in range(self.options.workers):
                tg.start_soon(self._work_from, receive.clone())
        pulling = aiter(items)
        async with send:
            index = 0
            while self.stop_reason is None:  # stopped without cancelling: pull no more
                try:
                    item = await anext(pulling)
                except StopAsyncIteration:
                    return
                except Exception as exc:
                    self._input_failed(exc)
                    return
                self.pulled += 1
                try:
                    await send.send((index, item))
                except anyio.get_cancelled_exc_class():
                    # Pulled but never started: still accounted for.
                    await self._finish_shielded(self._not_started(index, item), journal=True)
                    raise
                index += 1

    def _input_failed(self, error: Exception) -> None:
        """The input raised: pull nothing more, let the items in flight finish.

        The requests out are not the input's fault: cancelling them would only turn
        outcomes into ``unknown``. The run then ends with a ``BulkAbortedError`` whose
        ``reason`` is ``error`` (see ``Bulk._finish``).
        """
        if self.input_error is None:
            self.input_error = error
        self._exhausted = True

    async def _work_from(self, receive: anyio.abc.ObjectReceiveStream[tuple[int, Any]]) -> None:
        """A worker: run the items the feeder hands over (an async iterable's items)."""
        async with receive:
            async for index, item in receive:
                await self._item(index, item)

    async def _finish_shielded(self, result: ItemResult, *, journal: bool) -> None:
        result = self.account(result)
        # Never journal "skipped": it would overwrite an earlier run's "sent" or "unknown"
        # mark, and the run after this one would then send a maybe-applied item again.
        if journal and self.journal is not None and result.status is not Status.SKIPPED:
            self.journal.record(result.key, result.status, result.value, result.error)
        if self.observed:
            with anyio.CancelScope(shield=True):
                await self.deliver(result)

    def _not_started(self, index: int, item: Any) -> ItemResult:
        key = _safe_key(item)
        return ItemResult(
            index=index,
            key=key,
            op=item,
            status=Status.SKIPPED,
            error=self.stop_reason if isinstance(self.stop_reason, ZyntroError) else None,
        )

    async def _item(self, index: int, item: Any) -> None:
        holder: list[ItemResult] = []
        # The worker hands the result over before it pulls again, so a slow ``stream``
        # consumer holds back the pulling instead of piling up finished results.
        try:
            # What _process would do, inline: a coroutine less per item (its frame is
            # crossed at every resumption of the item's request).
            if type(item) is UpsertContact:
                key = _PENDING_KEY if self.defer_keys else item.stable_key()
                result = await self._op(index, key, item, None, holder)
            else:
                result = await self._process(index, item, holder)
        except anyio.get_cancelled_exc_class():
            # The run stopped mid-item: account for it as far as it got, then unwind.
            result = holder[0] if holder else self._not_started(index, item)
            await self._finish_shielded(result, journal=False)
            raise
        result = self.account(result)
        if not self.observed:
            return
        if self.stop_reason is None:
            await self.deliver(result)
        else:
            with anyio.CancelScope(shield=True):
                await self.deliver(result)

    # ---- processing -------------------------------------------------------------------

    async def _process(self, index: int, item: Any, holder: list[ItemResult]) -> ItemResult:
        if isinstance(item, InvalidItem):
            return await self._invalid(index, item)
        keyed_by_content = type(item) in _KEYED_BY_CONTENT
        if not keyed_by_content and not isinstance(item, RequestOperation):
            error = RequestValidationError("item", f"not a bulk operation: {type(item).__name__}")
            return ItemResult(
                index=index, key=f"invalid:{index}", op=item, status=Status.FAILED, error=error
            )
        if keyed_by_content and self.defer_keys:
            key: str = _PENDING_KEY
        else:
            key = item.stable_key()
        if isinstance(item, ContactBundle):
            return await run_bundle(self._op, index, key, item, holder)
        return await self._op(index, key, item, None, holder)

    async def _invalid(self, index: int, item: InvalidItem) -> ItemResult:
        """A row that could not be read: ``failed``, and journaled as such.

        Journaled so that a rerun knows it failed before: then it is no news, and does not
        count toward ``max_failures`` again (a rerun after an abort gets further).
        """
        key = item.stable_key()
        journal = self.journal
        if journal is not None:
            entry = await journal.lookup(key)
            if entry is not None and entry.status == Status.FAILED.value:
                self._repeats.add(key)
            journal.record(key, Status.FAILED, None, item.error)
        return ItemResult(index=index, key=key, op=item, status=Status.FAILED, error=item.error)

    async def _op(
        self,
        index: int,
        key: str,
        op: RequestOperation,
        contact_id: str | None,
        holder: list[ItemResult],
    ) -> ItemResult:
        """Run one request operation (a bundle child gets its contact's id).

        An upsert first waits for its turn: no two items with one lookup key (e-mail,
        phone, contact id) run at once, so the later updates what the earlier created
        instead of both creating. The wait comes before its request slot, so a waiting
        item never keeps the earlier one from getting a slot. Registering in the line is
        the first thing it does, so items queue in the order they were pulled.
        """
        same = (
            lookup_key(op.lookup_by, op.contact, op.request.contact_id)
            if isinstance(op, UpsertContact)
            else None
        )
        # Joined at once (items queue in the order they were pulled), left in the finally.
        # Not ``async with``: its two coroutines per item were a cost of every row.
        turn = None if same is None else self.same_key.join(same, index)
        try:
            if turn is not None and turn.previous is not None:
                await turn.wait()
            journal = self.journal
            endpoint = op.endpoint or op.kind
            decision: Resume | None = None
            fingerprint: str | None = None
            if journal is not None:
                if isinstance(op, _FINGERPRINTED):
                    fingerprint = op.fingerprint()
                decision = resume(
                    await journal.lookup(key),
                    idempotent=op.idempotent,
                    retry_unknown=self.options.retry_unknown,
                    endpoint=endpoint,
                    key=key,
                    fingerprint=fingerprint,
                    retry_changed=self.options.retry_changed,
                )
                if decision.status is not None:
                    return ItemResult(
                        index=index,
                        key=key,
                        op=op,
                        status=decision.status,
                        value=decision.value,
                        error=decision.error,
                        from_journal=True,
                    )
            started = time.monotonic()
            # Only creating requests need the journal's write-ahead "sent" mark.
            observer = ItemObserver(
                self.governor,
                self.breaker,
                None if journal is None or op.idempotent else journal,
                key,
                fingerprint=fingerprint,
            )
            value: Any = None
            failure: BaseException | None = None
            held_bytes = 0

            # Failing again as an earlier run recorded: no news (see ``_new_failure``).
            repeated = decision is not None and decision.earlier_failed
            try:
                request = op.request_for(contact_id)
                size = op.size
                if size:
                    held_bytes = await self.bytes.acquire(size)
                # acquire/release rather than ``async with``: two coroutines less per item.
                await self.requests.acquire()
                try:
                    value = await self.client.send(request, observer=observer)
                finally:
                    self.requests.release()
            except anyio.get_cancelled_exc_class():
                status = classify_cancelled(
                    in_flight=observer.in_flight, maybe_applied=observer.maybe_applied
                )
                result = _sent(index, key, op, status, observer=observer, started=started)
                if repeated and status in _COUNTED_AS_FAILURES:
                    self._repeats.add(key)
                if journal is not None and observer.attempts:
                    # Also when skipped: that replaces the "sent" marks of attempts that proved
                    # nothing was applied (a 429 or 503), so the next run sends it.
                    kept = _kept(status, decision)
                    journal.record(key, kept, None, None, fingerprint=fingerprint)
                holder.append(result)
                raise
            except (ZyntroError, OSError, ValueError) as exc:
                failure = exc
            finally:
                if held_bytes:
                    await self.bytes.release(held_bytes)
            if failure is None:
                status, error = Status.SUCCEEDED, None  # what classify() says, without the call
            else:
                status, error = classify(
                    failure,
                    endpoint=endpoint,
                    attempts=observer.attempts,
                    maybe_applied=observer.maybe_applied,
                )
                if repeated and status in _COUNTED_AS_FAILURES:
                    self._repeats.add(key)
            result = _sent(
                index, key, op, status, observer=observer, started=started, value=value, error=error
            )
            # A skipped item that made attempts (429s, then the run stopped for rate limiting)
            # is recorded too: that replaces their "sent" marks, so the next run sends it.
            if journal is not None and (status is not Status.SKIPPED or observer.attempts):
                journal.record(key, _kept(status, decision), value, error, fingerprint=fingerprint)
            return result
        finally:
            if turn is not None:
                turn.leave()


def _sent(
    index: int,
    key: str,
    op: RequestOperation,
    status: Status,
    *,
    observer: ItemObserver,
    started: float,
    value: Any = None,
    error: BaseException | None = None,
) -> ItemResult:
    """The result of a request operation that was sent (or about to be)."""
    # A function, not a closure made per item: a closure's cells are objects the garbage
    # collector tracks, and with many items in flight they live long enough to be
    # promoted and scanned again.
    return ItemResult(
        index=index,
        key=key,
        op=op,
        status=status,
        value=value,
        error=error,
        attempts=observer.attempts,
        elapsed=time.monotonic() - started,
    )


def _kept(status: Status, decision: Resume | None) -> Status:
    return status if decision is None else recorded_status(status, decision)


def _safe_key(item: Any) -> str:
    try:
        return str(item.stable_key())
    except Exception:
        return f"unkeyed:{id(item)}"


def _first_error(result: ItemResult) -> BaseException | None:
    for child in result.children:
        if child.error is not None:
            return child.error
    return None


def _with_keys(result: ItemResult) -> ItemResult:
    """``result`` with the keys ``Run.defer_keys`` left out (its children's too)."""
    op = result.op
    key = op.stable_key()
    if not result.children:
        return attrs.evolve(result, key=key)
    children = tuple(
        attrs.evolve(child, key=f"{key}/{op.child_label(position)}")
        for position, child in enumerate(result.children)
    )
    return attrs.evolve(result, key=key, children=children)
