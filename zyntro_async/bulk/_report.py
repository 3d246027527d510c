"""What a bulk run tells you: one :class:`ItemResult` per input, and the :class:`BulkReport`."""

from __future__ import annotations

import enum
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from zyntro_async._errors import (
    APIError,
    JournalConflictError,
    RequestValidationError,
    ZyntroError,
)
from zyntro_async.bulk._format import line_from_op
from zyntro_async.bulk._governor import GovernorPhase, GovernorState, LearnedLimit
from zyntro_async.bulk._same_key import SharedKey

__all__ = ["BulkReport", "ItemResult", "Progress", "Status", "error_code", "format_rate"]


class Status(str, enum.Enum):
    """The outcome of one item."""

    SUCCEEDED = "succeeded"  # applied; ``value`` holds the typed result
    FAILED = "failed"  # not applied; retrying the same input would not help
    UNKNOWN = "unknown"  # a creating call that may or may not have been applied
    SKIPPED = "skipped"  # not attempted (its bundle's contact failed, or the run stopped)

    def __str__(self) -> str:
        return self.value


def error_code(error: BaseException | None) -> str | None:
    """The code to report for an error: the API's code, or the exception's kind."""
    if error is None:
        return None
    if isinstance(error, APIError | JournalConflictError):
        return error.code
    if isinstance(error, RequestValidationError):
        return "REQUEST_VALIDATION"
    if isinstance(error, ZyntroError):
        return type(error).__name__
    return type(error).__name__


@attrs.frozen
class ItemResult:
    """The outcome of one input item (a bundle's result carries its children's).

    Attributes:
        index: position in the input (0-based); children carry their bundle's index.
        key: the item's journal key.
        op: the operation.
        status: :class:`Status`.
        value: the typed result when succeeded (``ContactResult``, ``Note``, ...).
        error: the typed error when failed, unknown or skipped for a reason.
        attempts: HTTP attempts made (0 when restored from the journal or skipped).
        elapsed: seconds spent on it.
        children: a bundle's children's results, in the bundle's order.
        from_journal: the outcome was restored from the journal, not sent again (or, for
            a ``JOURNAL_CONFLICT``, decided from it); it does not count toward
            ``max_failures`` / ``fail_fast``.
    """

    index: int
    key: str
    op: Any
    status: Status
    value: Any = None
    error: BaseException | None = None
    attempts: int = 0
    elapsed: float = 0.0
    children: tuple[ItemResult, ...] = ()
    from_journal: bool = False

    @property
    def code(self) -> str | None:
        """The error's code (``"NOT_OWNER"``, ``"REQUEST_VALIDATION"``, ...), if any."""
        return error_code(self.error)

    @property
    def ok(self) -> bool:
        """Succeeded, with every child succeeded too."""
        if self.status is not Status.SUCCEEDED:
            return False
        # Most results have no children: no generator for them (this runs for every item).
        return not self.children or all(c.ok for c in self.children)


@attrs.frozen
class Progress:
    """Counts so far, for ``on_progress`` callbacks and progress bars.

    Attributes:
        done: items finished (all statuses).
        pulled: items taken from the input so far (``done`` + in flight).
        total: items in the input when known (``len(items)``, or the run's ``total=``), else
            ``None``.
        counts: items per status.
        elapsed: seconds since the run started.
        rate: finished items per second.
        request_rate: requests the API accepted per second, over the last second.
        rate_limited: 429 answers so far (none of them counts against an item).
        pacing: the rate governor's state: ``pacing.phase`` (probing, settled, throttled,
            paused), ``pacing.rate_limit`` (the current pace, requests per second),
            ``pacing.paused_until`` / ``pacing.pause_remaining`` while waiting out a
            ``Retry-After``, ``pacing.settled_rate`` (``None`` until a limit was met).
    """

    done: int
    pulled: int
    total: int | None
    counts: dict[Status, int]
    elapsed: float
    rate: float
    request_rate: float = 0.0
    rate_limited: int = 0
    pacing: GovernorState | None = None

    @property
    def phase(self) -> GovernorPhase | None:
        """The governor's phase (``None`` when no governor reported)."""
        return None if self.pacing is None else self.pacing.phase


@attrs.define
class BulkReport:
    """The outcome of a bulk run.

    ``results`` keeps only the items that did not fully succeed (those you need to act on),
    so a report over millions of items stays small; bundles whose contact succeeded but a
    child did not are kept too.

    Attributes:
        counts: items per status; child_counts: bundles' children per status.
        results: the items that did not fully succeed.
        elapsed: seconds the run took.
        stopped: why the run stopped early (``None``: it ran to the end).
        rate_limited: 429 answers the run met (each was retried; none failed an item).
        settled_rate: the request rate the run settled at under the API's rate limit,
            requests per second (``None``: no limit was met). Pass it as
            ``max_per_second`` (``--max-per-second``) next time to start at it.
        settled_concurrency: the requests in flight a cap on concurrent requests held the
            run to (``None``: no such cap was met). Pass it as ``concurrency``
            (``--concurrency``) next time: a run that never exceeds the cap never meets it.
        started_from: what an earlier run (of the same client, or with the same journal)
            learned of the limit, that this run started paced from (``None``: it started
            blind); see :class:`~zyntro_async.bulk.LearnedLimit`.
        shared_keys: items whose contact lookup key (e-mail, phone or contact id) an
            earlier item of the run had: they ran after it, one at a time, and updated
            the contact it created or found.
        shared_key_examples: the first of those (up to 20), each with its index, the
            earlier item's index and the key.
        pacing_fault: the rate governor's own error, as ``"ZeroDivisionError: ..."``,
            when its learning failed and the rest of the run was paced by its plain
            fallback (the error is logged with its traceback: a bug to report); ``None``
            in a healthy run. No item is lost to it, but the run may have been slower.
    """

    counts: dict[Status, int] = attrs.field(factory=lambda: dict.fromkeys(Status, 0))
    child_counts: dict[Status, int] = attrs.field(factory=lambda: dict.fromkeys(Status, 0))
    results: list[ItemResult] = attrs.field(factory=list)
    elapsed: float = 0.0
    stopped: ZyntroError | None = None
    rate_limited: int = 0
    settled_rate: float | None = None
    settled_concurrency: int | None = None
    started_from: LearnedLimit | None = None
    shared_keys: int = 0
    shared_key_examples: list[SharedKey] = attrs.field(factory=list)
    pacing_fault: str | None = None

    def add(self, result: ItemResult) -> None:
        """Count a finished item (the runner calls this)."""
        self.counts[result.status] += 1
        for child in result.children:
            self.child_counts[child.status] += 1
        if not result.ok:
            self.results.append(result)

    @property
    def total(self) -> int:
        """Items accounted for."""
        return sum(self.counts.values())

    @property
    def succeeded(self) -> int:
        """Items that succeeded (bundles: the contact; see ``child_counts``)."""
        return self.counts[Status.SUCCEEDED]

    @property
    def failed(self) -> int:
        """Items that failed."""
        return self.counts[Status.FAILED]

    @property
    def unknown(self) -> int:
        """Items whose outcome is unknown."""
        return self.counts[Status.UNKNOWN]

    @property
    def skipped(self) -> int:
        """Items not attempted."""
        return self.counts[Status.SKIPPED]

    @property
    def items_per_second(self) -> float:
        """Throughput over the whole run."""
        return self.total / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def all_succeeded(self) -> bool:
        """Every item and every child succeeded."""
        return not self.results and self.counts[Status.SUCCEEDED] == self.total

    def export(
        self, path: str | os.PathLike[str], *, rephrase: Callable[[str], str] | None = None
    ) -> int:
        """Write the items that need attention as JSONL in the import format.

        Each line is the item as it would be imported (for a bundle whose contact
        succeeded, only the children that did not), plus ``"error": {"code", "message",
        "status"}``. Fix the lines and import the file again.

        File paths resolve from the export file: a file in the export's folder (or below
        it) is written relative to that folder, any other as an absolute path. So the
        export can be written anywhere and imported from there, whatever folder the
        input was read from.

        The file is UTF-8. A line holding a string that UTF-8 cannot encode (a lone
        surrogate, as JSON's ``"\\ud800"`` reads) is written with ``\\u`` escapes instead,
        so it is still written, and reads back as the same strings.

        Args:
            path: the file to write.
            rephrase: applied to each error message (the CLI names its own flags where
                a message names a Python option such as ``retry_unknown=True``).

        Returns:
            The number of lines written.
        """
        lines = 0
        target = Path(path)
        folder = target.resolve().parent
        with target.open("w", encoding="utf-8") as out:
            for result in self.results:
                line = export_line(result, relative_to=folder)
                if line is None:
                    continue
                if rephrase is not None:
                    line["error"]["message"] = rephrase(line["error"]["message"])
                out.write(_json_line(line))
                lines += 1
        return lines

    def summary(self) -> str:
        """One line: counts per status, elapsed, rate, the rate limit met, if any, and
        whether the pacing fell back after the rate governor failed (``pacing_fault``).

        A run that met no 429 but started paced from an earlier run's limit says so
        (``...; no 429; started at 33.5 requests/s, the limit an earlier run learned``).
        """
        parts = ", ".join(f"{count} {status.value}" for status, count in self.counts.items())
        line = f"{self.total} items: {parts} in {self.elapsed:.1f}s ({self.items_per_second:.0f}/s)"
        if self.shared_keys:
            line += f"; {self.shared_keys} shared a contact's lookup key with an earlier item"
        advice = self.rate_limit_advice() or self._started_from_text()
        if advice:
            line = f"{line}; {advice}"
        if self.pacing_fault is not None:
            line += (
                "; paced by a plain fallback after the rate governor failed "
                f"({self.pacing_fault}; see the log)"
            )
        return line

    def _started_from_text(self) -> str | None:
        """Why a run that met no 429 was paced: it started from an earlier run's limit."""
        start = None if self.rate_limited else learned_limit_text(self.started_from)
        return None if start is None else f"no 429; started at {start} an earlier run learned"

    def rate_limit_advice(self) -> str | None:
        """What the run learned of the API's rate limit, phrased to reuse next time.

        Returns:
            ``"rate limited (120 429s): settled at 291 requests/s; pass
            max_per_second=291 next time"`` (under a cap on concurrent requests: "settled
            at 8 requests in flight (326 requests/s); pass concurrency=8 next time"), or
            ``None`` when no limit was met.
        """
        if self.settled_rate is None:
            return None
        rate = format_rate(self.settled_rate)
        if self.settled_concurrency is not None:
            return (
                f"rate limited ({self.rate_limited} 429s): settled at "
                f"{requests_in_flight(self.settled_concurrency)} ({rate} requests/s); "
                f"pass concurrency={self.settled_concurrency} next time"
            )
        return (
            f"rate limited ({self.rate_limited} 429s): settled at {rate} requests/s; "
            f"pass max_per_second={rate} next time"
        )


def requests_in_flight(count: int) -> str:
    """``1 request in flight`` or ``8 requests in flight``."""
    return f"{count} request in flight" if count == 1 else f"{count} requests in flight"


def learned_limit_text(
    learned: LearnedLimit | None,
    *,
    per_second: str = " requests/s",
    in_flight: Callable[[int], str] = requests_in_flight,
) -> str | None:
    """``33.5 requests/s, the limit`` or ``8 requests in flight, the cap`` (the units as
    given), or ``None`` when nothing was learned to start from."""
    if learned is None:
        return None
    if learned.rate is not None:
        return f"{format_rate(learned.rate)}{per_second}, the limit"
    if learned.window is not None:
        return f"{in_flight(learned.window)}, the cap"
    return None


def format_rate(rate: float) -> str:
    """A rate as a user would type it: ``291``, ``9.78``, ``0.25`` (never rounded up).

    Args:
        rate: requests per second (> 0).

    Returns:
        Three significant figures (whole numbers from 100 up), rounded down, so passing it
        back as ``max_per_second`` stays at or under what the run settled at.
    """
    if rate >= 100:
        return str(math.floor(rate + 1e-9))
    digits = 2 - math.floor(math.log10(rate)) if rate > 0 else 0
    scale = 10**digits
    # (The small epsilon: 9.78 * 100 is 977.99... in binary, not 978.)
    text = f"{math.floor(rate * scale + 1e-6) / scale:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _json_line(line: dict[str, Any]) -> str:
    """``line`` as one line of JSON that UTF-8 can encode."""
    text = json.dumps(line, ensure_ascii=False, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates: only ASCII escapes keep them (and keep the line valid UTF-8).
        text = json.dumps(line, ensure_ascii=True, default=str)
    return text + "\n"


def _error_dict(result: ItemResult) -> dict[str, Any]:
    error = result.error
    message = str(error) if error is not None else ""
    if isinstance(error, APIError):
        message = error.message
    return {
        "code": result.code or result.status.value.upper(),
        "message": message,
        "status": result.status.value,
    }


def export_line(
    result: ItemResult, *, relative_to: str | os.PathLike[str] | None = None
) -> dict[str, Any] | None:
    """One item needing attention, in the import format (``None`` if nothing to redo).

    Args:
        result: The item's result.
        relative_to: The folder of the file the line goes to; file paths under it are
            written relative to it, others absolute (all absolute when ``None``).

    Returns:
        The line with its ``"error"``; for a bundle whose contact succeeded, only the
        children that did not; ``None`` when nothing is left to do.
    """
    if result.children and result.status is Status.SUCCEEDED:
        redo: Sequence[int] = [i for i, c in enumerate(result.children) if not c.ok]
        if not redo:
            return None
        line = line_from_op(result.op, relative_to=relative_to, only_children=redo)
        first = next(c for c in result.children if not c.ok)
        line["error"] = _error_dict(first)
        return line
    line = line_from_op(result.op, relative_to=relative_to)
    line["error"] = _error_dict(result)
    return line
