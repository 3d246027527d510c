"""The bulk runner: pulls items lazily, runs them under shared limits, accounts for each.

Shape of a run (all in one anyio task group)::

    items ──pull──> [workers: concurrency (+ buffer), one item each at a time]
                      ├─ journal lookup (resume)
                      ├─ request slots (concurrency)
                      │    └─ op.execute(client)
                      └─ bundle: children in a nested group, each under a request slot
    worker ──ItemResult──> report / stream consumer / journal / on_progress

A fixed pool of workers, each pulling its next item when it is done with the last, holds
at most ``concurrency`` items (plus a small buffer with a journal, see
:attr:`RunOptions.workers`) and costs no task per item.

Every input item yields exactly one :class:`ItemResult`, whatever happens: errors become
``failed``, ambiguous creating calls ``unknown``, children of a failed contact ``skipped``;
when the run stops early (``fail_fast``, ``max_failures``, circuit breaker, cancellation),
items with a request out (or one that may have been applied) become ``unknown``, and the
other pulled items ``skipped``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.lowlevel
import attrs
from anyio.streams.memory import MemoryObjectSendStream

if sys.version_info < (3, 11):  # pragma: no cover - anyio brings the backport
    from exceptiongroup import BaseExceptionGroup

from zyntro_async._errors import (
    AmbiguousOutcomeError,
    BulkAbortedError,
    CircuitOpenError,
    MalformedResponseError,
    RequestValidationError,
    ZyntroError,
)
from zyntro_async._retry import current_pacer, current_send_hook
from zyntro_async._tracing import run_span
from zyntro_async.bulk._journal import Journal
from zyntro_async.bulk._limiter import ByteBudget, ItemPacer, RequestSlots, RunPacer
from zyntro_async.bulk._ops import (
    AddFile,
    AddLink,
    AddNote,
    ContactBundle,
    InvalidItem,
    LogComms,
    Operation,
    UpsertContact,
)
from zyntro_async.bulk._report import BulkReport, ItemResult, Progress, Status

if TYPE_CHECKING:
    from zyntro_async._client import ZyntroClient

__all__ = ["Bulk", "BulkAbortedError"]

DEFAULT_MAX_INFLIGHT_BYTES = 256 * 1024 * 1024


class _Stop(Exception):
    """Internal: the run must stop (reason attached)."""


def _check_concurrency(_: object, __: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {value!r}")


def _check_max_failures(_: object, __: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"max_failures must be >= 0, got {value!r}")


@attrs.frozen
class RunOptions:
    """The settings of one run: what ``run`` and ``stream`` take as keyword arguments.

    Built once per call (checking ``concurrency`` and ``max_failures``); see
    :meth:`Bulk.run` for what each one means.
    """

    concurrency: int = attrs.field(default=16, validator=_check_concurrency)
    max_per_second: float | None = None
    max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES
    journal: str | os.PathLike[str] | Journal | None = None
    retry_unknown: bool = False
    fail_fast: bool = False
    max_failures: int | None = attrs.field(default=None, validator=_check_max_failures)
    on_progress: Callable[[Progress], object] | None = None
    progress_interval: float = 0.5
    breaker_threshold: int | None = 25

    @property
    def workers(self) -> int:
        """Items held at once: one per request slot, plus a few with a journal.

        A bundle keeps its slots busy on its own (its children queue for them). Items
        looking up the journal (in a thread) hold no slot meanwhile: a few more of them
        keep every slot busy. More items than that would only queue for the slots, and
        handing a slot from one task to another is not free.
        """
        if self.journal is None:
            return self.concurrency
        return self.concurrency + max(2, self.concurrency // 4)


class _PendingKey(str):
    """An item's key not computed yet (see ``_Run.defer_keys``)."""

    __slots__ = ()


_PENDING_KEY = _PendingKey()
# Our own operations: their keys are pure functions of their content, so computing one
# later gives the same key, and cannot raise.
_KEYED_BY_CONTENT = frozenset({UpsertContact, AddNote, AddLink, AddFile, LogComms, ContactBundle})
_COUNTED_AS_FAILURES = frozenset({Status.FAILED, Status.UNKNOWN})


class _Run:
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
    ) -> None:
        self.client = client
        self.options = options
        self.requests = RequestSlots(options.concurrency)
        self.pacer = RunPacer(
            max_per_second=options.max_per_second, breaker_threshold=options.breaker_threshold
        )
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
        self.stop_reason: BaseException | None = None
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
        if not ok:
            self.failures += sum(
                r.status in _COUNTED_AS_FAILURES for r in (result, *result.children)
            )
        options = self.options
        if self.stop_reason is None:
            if isinstance(result.error, CircuitOpenError) or self.pacer.open_error is not None:
                self.stop(self.pacer.open_error or result.error)
            elif (options.fail_fast and self.failures) or (
                options.max_failures is not None and self.failures > options.max_failures
            ):
                self.stop(result.error or _first_error(result))
        if options.on_progress is not None:
            self.progress(force=False)
        return result

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
        on_progress(
            Progress(
                done=done,
                pulled=self.pulled,
                total=self.total,
                counts=dict(self.report.counts),
                elapsed=elapsed,
                rate=done / elapsed if elapsed > 0 else 0.0,
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
            async with anyio.create_task_group() as tg:
                if isinstance(items, AsyncIterable):
                    await self._feed(items, tg)
                else:
                    iterator = iter(items)
                    for _ in range(self.options.workers):
                        tg.start_soon(self._work_on, iterator, tg.cancel_scope)

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
        async with send:
            index = 0
            async for item in items:
                self.pulled += 1
                try:
                    await send.send((index, item))
                except anyio.get_cancelled_exc_class():
                    # Pulled but never started: still accounted for.
                    await self._finish_shielded(self._not_started(index, item), journal=True)
                    raise
                index += 1

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
            return ItemResult(
                index=index, key=item.stable_key(), op=item, status=Status.FAILED, error=item.error
            )
        if not hasattr(item, "execute") and not isinstance(item, ContactBundle):
            error = RequestValidationError("item", f"not a bulk operation: {type(item).__name__}")
            return ItemResult(
                index=index, key=f"invalid:{index}", op=item, status=Status.FAILED, error=error
            )
        if type(item) in _KEYED_BY_CONTENT and self.defer_keys:
            key: str = _PENDING_KEY
        else:
            key = item.stable_key()
        if isinstance(item, ContactBundle):
            return await self._bundle(index, key, item, holder)
        return await self._op(index, key, item, None, holder)

    async def _bundle(
        self, index: int, key: str, bundle: ContactBundle, holder: list[ItemResult]
    ) -> ItemResult:
        started = time.monotonic()
        parent_holder: list[ItemResult] = []
        try:
            parent = await self._op(index, key, bundle.parent, None, parent_holder)
        except anyio.get_cancelled_exc_class():
            if parent_holder:
                skipped = tuple(
                    ItemResult(
                        index=index,
                        key=f"{key}/{bundle.child_label(i)}",
                        op=child,
                        status=Status.SKIPPED,
                    )
                    for i, child in enumerate(bundle.children)
                )
                holder.append(_replace(parent_holder[0], op=bundle, children=skipped))
            raise
        children = bundle.children
        if parent.status is not Status.SUCCEEDED:
            reason = parent.error
            skipped = tuple(
                ItemResult(
                    index=index,
                    key=f"{key}/{bundle.child_label(i)}",
                    op=child,
                    status=Status.SKIPPED,
                    error=reason,
                )
                for i, child in enumerate(children)
            )
            return _replace(parent, op=bundle, children=skipped)
        contact_id = parent.value.contact_id
        results: list[ItemResult | None] = [None] * len(children)

        async def run_child(position: int) -> None:
            child_key = f"{key}/{bundle.child_label(position)}"
            child_holder: list[ItemResult] = []
            try:
                results[position] = await self._op(
                    index, child_key, children[position], contact_id, child_holder
                )
            except anyio.get_cancelled_exc_class():
                if child_holder:
                    results[position] = child_holder[0]
                raise

        try:
            async with anyio.create_task_group() as tg:
                for position in range(len(children)):
                    tg.start_soon(run_child, position)
        except anyio.get_cancelled_exc_class():
            # Children the cancellation caught before they started are skipped.
            holder.append(
                _replace(parent, op=bundle, children=self._fill(index, key, bundle, results))
            )
            raise
        done = self._fill(index, key, bundle, results)
        return _replace(parent, op=bundle, children=done, elapsed=time.monotonic() - started)

    def _fill(
        self, index: int, key: str, bundle: ContactBundle, results: list[ItemResult | None]
    ) -> tuple[ItemResult, ...]:
        return tuple(
            result
            if result is not None
            else ItemResult(
                index=index,
                key=f"{key}/{bundle.child_label(position)}",
                op=bundle.children[position],
                status=Status.SKIPPED,
            )
            for position, result in enumerate(results)
        )

    async def _op(
        self,
        index: int,
        key: str,
        op: Operation,
        contact_id: str | None,
        holder: list[ItemResult],
    ) -> ItemResult:
        journal = self.journal
        # An earlier run may have applied this creating call (and retry_unknown sends it
        # again): whatever this run's attempts prove, the journal keeps saying "unknown".
        earlier_unknown = False
        if journal is not None:
            prior = await journal.lookup(key)
            if prior is not None:
                earlier_unknown = prior.maybe_applied and not op.idempotent
                if prior.status == Status.SUCCEEDED.value and prior.value is not None:
                    return ItemResult(
                        index=index,
                        key=key,
                        op=op,
                        status=Status.SUCCEEDED,
                        value=prior.value,
                        from_journal=True,
                    )
                if prior.maybe_applied and not op.idempotent and not self.options.retry_unknown:
                    earlier = AmbiguousOutcomeError(
                        "an earlier run may have applied this; not sent again "
                        "(use retry_unknown=True to send it anyway)",
                        endpoint=op.endpoint or op.kind,
                    )
                    return ItemResult(
                        index=index,
                        key=key,
                        op=op,
                        status=Status.UNKNOWN,
                        error=earlier,
                        from_journal=True,
                    )
        started = time.monotonic()
        size = op.size if isinstance(op, AddFile) else 0
        pacer = ItemPacer(self.pacer)
        status: Status = Status.FAILED
        value: Any = None
        error: BaseException | None = None
        held_bytes = 0
        try:
            if size:
                held_bytes = await self.bytes.acquire(size)
            await self.requests.acquire()
            try:
                pacer_token = current_pacer.set(pacer)
                hook = (
                    _sent_hook(journal, key) if journal is not None and not op.idempotent else None
                )
                # Without a hook to set there is usually none to clear either.
                hook_token = (
                    current_send_hook.set(hook)
                    if hook is not None or current_send_hook.get() is not None
                    else None
                )
                try:
                    if contact_id is None:
                        value = await op.execute(self.client)  # type: ignore[union-attr]
                    else:
                        value = await op.execute(self.client, contact_id)  # type: ignore[union-attr,call-arg]
                    status = Status.SUCCEEDED
                finally:
                    if hook_token is not None:
                        current_send_hook.reset(hook_token)
                    current_pacer.reset(pacer_token)
            finally:
                self.requests.release()
        except anyio.get_cancelled_exc_class():
            # A request still out, or one that may have been applied, leaves the item
            # unknown; an item that never started, or was waiting to retry after attempts
            # that provably applied nothing (refused, 429, 503), was skipped: a rerun sends it.
            maybe = pacer.in_flight or pacer.maybe_applied
            status = Status.UNKNOWN if maybe else Status.SKIPPED
            result = ItemResult(
                index=index,
                key=key,
                op=op,
                status=status,
                attempts=pacer.attempts,
                elapsed=time.monotonic() - started,
            )
            if journal is not None and pacer.attempts:
                # Also when skipped: that replaces the "sent" marks of attempts that proved
                # nothing was applied (a 429 or 503), so the next run sends it.
                journal.record(key, _kept(status, earlier_unknown), None, None)
            holder.append(result)
            raise
        except AmbiguousOutcomeError as exc:
            status, error = Status.UNKNOWN, exc
        except CircuitOpenError as exc:
            status = (
                Status.SKIPPED
                if pacer.attempts == 0
                else Status.UNKNOWN
                if pacer.maybe_applied
                else Status.FAILED
            )
            error = _ambiguous(op, exc) if status is Status.UNKNOWN else exc
        except MalformedResponseError as exc:
            # An answer came back but could not be read: it may well report a success.
            status, error = Status.UNKNOWN, _ambiguous(op, exc)
        except ZyntroError as exc:
            # ``failed`` means "not applied": an idempotent call whose earlier attempt was
            # reset or answered 5xx may have been applied even if its last attempt failed.
            if pacer.maybe_applied:
                status, error = Status.UNKNOWN, _ambiguous(op, exc)
            else:
                status, error = Status.FAILED, exc
        except (OSError, ValueError) as exc:
            # A file that vanished or a value the SDK could not send: this item only.
            status, error = Status.FAILED, exc
        finally:
            if held_bytes:
                await self.bytes.release(held_bytes)
        result = ItemResult(
            index=index,
            key=key,
            op=op,
            status=status,
            value=value,
            error=error,
            attempts=pacer.attempts,
            elapsed=time.monotonic() - started,
        )
        if journal is not None and status is not Status.SKIPPED:
            journal.record(key, _kept(status, earlier_unknown), value, error)
        return result


def _kept(status: Status, earlier_unknown: bool) -> Status:
    """The status to journal: an earlier "may have been applied" stays until a success."""
    return Status.UNKNOWN if earlier_unknown and status is not Status.SUCCEEDED else status


def _ambiguous(op: Operation, cause: ZyntroError) -> AmbiguousOutcomeError:
    endpoint = getattr(cause, "endpoint", None) or op.endpoint or op.kind
    detail = str(cause).removeprefix(f"{endpoint}: ")
    error = AmbiguousOutcomeError(
        f"the request may or may not have been applied ({detail})", endpoint=endpoint
    )
    error.__cause__ = cause
    return error


def _sent_hook(journal: Journal, key: str) -> Callable[[], Awaitable[None]]:
    async def hook() -> None:
        await journal.mark_sent(key)

    return hook


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


def _replace(result: ItemResult, **changes: Any) -> ItemResult:
    return attrs.evolve(result, **changes)


def _with_keys(result: ItemResult) -> ItemResult:
    """``result`` with the keys ``_Run.defer_keys`` left out (its children's too)."""
    op = result.op
    key = op.stable_key()
    if not result.children:
        return _replace(result, key=key)
    children = tuple(
        _replace(child, key=f"{key}/{op.child_label(position)}")
        for position, child in enumerate(result.children)
    )
    return _replace(result, key=key, children=children)


class Bulk:
    """``zy.bulk``: run many operations with bounded concurrency (see the module docs)."""

    def __init__(self, client: ZyntroClient) -> None:
        self._client = client

    async def run(
        self,
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = 16,
        max_per_second: float | None = None,
        max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES,
        journal: str | Any | None = None,
        retry_unknown: bool = False,
        fail_fast: bool = False,
        max_failures: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
        on_result: Callable[[ItemResult], object] | None = None,
        progress_interval: float = 0.5,
        breaker_threshold: int | None = 25,
    ) -> BulkReport:
        """Run every item and return the report.

        Args:
            items: operations (``ContactBundle``, ``UpsertContact``, ``AddNote``, ...), any
                iterable or async iterable; pulled lazily, at most about ``concurrency``
                (plus a small buffer) held at once.
            concurrency: requests in flight at once (children of bundles included).
            max_per_second: ceiling on requests per second for the whole run.
            max_inflight_bytes: attachment bytes being uploaded at once.
            journal: path of an SQLite journal; re-running with it skips what succeeded and
                does not re-send creating calls that may have been applied.
            retry_unknown: with a journal, send again creating calls whose outcome was
                unknown (they may be duplicated).
            fail_fast: stop at the first failed or unknown item.
            max_failures: stop once more than this many items failed or are unknown.
            on_progress: called with a :class:`Progress` every ``progress_interval`` s.
            on_result: called with each :class:`ItemResult` as it completes.
            breaker_threshold: consecutive failed attempts that stop the run (None: never).

        Returns:
            The :class:`BulkReport`.

        Raises:
            BulkAbortedError: the run stopped early (``fail_fast``, ``max_failures``, or the
                circuit breaker: ``reason`` is a ``CircuitOpenError``); ``.report`` holds
                every item pulled so far.
            ValueError: a bad setting (``concurrency < 1``, ...).
        """
        options = RunOptions(
            concurrency=concurrency,
            max_per_second=max_per_second,
            max_inflight_bytes=max_inflight_bytes,
            journal=journal,
            retry_unknown=retry_unknown,
            fail_fast=fail_fast,
            max_failures=max_failures,
            on_progress=on_progress,
            progress_interval=progress_interval,
            breaker_threshold=breaker_threshold,
        )
        run = _Run(self._client, options, total=_length(items), on_result=on_result)
        await self._drive(run, items)
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
        fail_fast: bool = False,
        max_failures: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
        progress_interval: float = 0.5,
        breaker_threshold: int | None = 25,
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
            fail_fast=fail_fast,
            max_failures=max_failures,
            on_progress=on_progress,
            progress_interval=progress_interval,
            breaker_threshold=breaker_threshold,
        )
        send, receive = anyio.create_memory_object_stream[ItemResult](options.concurrency)
        run = _Run(self._client, options, total=_length(items), send=send)

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

    async def _drive(self, run: _Run, items: Iterable[Any] | AsyncIterable[Any]) -> None:
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
                        await run.pull(items)
                finally:
                    report = run.report
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
            # An error of the caller's own (their iterator or callback) surfaces as itself.
            errors = [
                exc
                for exc in group.exceptions
                if not isinstance(exc, anyio.get_cancelled_exc_class())
            ]
            if len(errors) == 1:
                raise errors[0] from group
            raise

    def _finish(self, run: _Run) -> BulkReport:
        run.report.elapsed = time.monotonic() - run.started
        run.progress(force=True)
        if run.stop_reason is not None:
            reason = run.stop_reason
            run.report.stopped = reason if isinstance(reason, ZyntroError) else None
            what = (
                "the circuit breaker opened"
                if isinstance(reason, CircuitOpenError)
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


def _length(items: Iterable[Any] | AsyncIterable[Any]) -> int | None:
    return len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]


async def _open_journal(stack: AsyncExitStack, journal: Any) -> Journal:
    if isinstance(journal, Journal):
        return journal
    opened = Journal(journal)
    await opened.open()
    stack.push_async_callback(opened.aclose)
    return opened
