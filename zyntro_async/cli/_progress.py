"""What ``zyntro-async import`` shows while it runs and when it is done.

Two renderings of the same information:

- **terminal**: a live rich progress bar on standard error (done/total, rate, ETA, then a
  second line with the counts per status, the notes/files/comms done and the items resumed
  from the journal, and once the API has rate limited the run a fourth line with the
  request rate, the pacing's state and the 429s), fitting 80 columns; then summary tables
  on standard output;
- **plain** (CI logs, pipes): a ``progress:`` line every few seconds on standard error and a
  plain-text summary, with no escape sequences.

rich is imported only when a terminal rendering is asked for, so ``zyntro-async --help``
and plain runs do not pay for it.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any, Protocol

import attrs

from zyntro_async._errors import APIError
from zyntro_async.bulk._governor import (
    GovernorPhase,
    GovernorState,
    RateLimitStopError,
    duration_text,
)
from zyntro_async.bulk._report import (
    BulkReport,
    ItemResult,
    Progress,
    Status,
    format_rate,
    learned_limit_text,
    requests_in_flight,
)

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "Attention",
    "PlainDisplay",
    "ProgressDisplay",
    "RichDisplay",
    "SilentDisplay",
    "Tally",
    "attention_rows",
    "describe_error",
    "pacing_text",
    "rate_limit_line",
    "render_summary",
]

PLAIN_INTERVAL = 2.0
"""Seconds between ``progress:`` lines without a terminal."""

SHOWN_ATTENTION_ROWS = 20
"""Failed or unknown items listed in the summary; the rest are counted."""

_MESSAGE_LIMIT = 300


@attrs.define
class Tally:
    """What the runner's :class:`Progress` does not count: children, and resumed items.

    Fed with every finished item (``on_result``); the displays read it.

    Attributes:
        children: Children (notes, attachments, comms) finished, per status.
        resumed: Items whose whole outcome came from the journal (nothing sent).
        sent: Items finished in this run that were not entirely resumed.
    """

    children: dict[Status, int] = attrs.field(factory=lambda: dict.fromkeys(Status, 0))
    resumed: int = 0
    sent: int = 0

    def add(self, result: ItemResult) -> None:
        """Count one finished item.

        Args:
            result: The item's result, as ``on_result`` receives it.
        """
        for child in result.children:
            self.children[child.status] += 1
        if result.from_journal and all(child.from_journal for child in result.children):
            self.resumed += 1
        else:
            self.sent += 1


def eta_text(progress: Progress, total: int | None, tally: Tally) -> str:
    """Time left, from the rate of the items sent in this run (resumed ones are instant).

    Args:
        progress: The runner's counts.
        total: Items in the input, when known.
        tally: The children and resumed counts.

    Returns:
        ``"0:01:23"``, or ``"-:--:--"`` while it cannot be estimated.
    """
    total = progress.total if progress.total is not None else total
    if total is None or progress.elapsed <= 0:
        return "-:--:--"
    remaining = max(0, total - progress.done)
    if remaining == 0:
        return "0:00:00"
    # (``progress.done`` rather than ``tally.sent``: the runner reports progress before it
    # hands the item that completed it to ``on_result``.)
    rate = max(0, progress.done - tally.resumed) / progress.elapsed
    if rate <= 0:
        return "-:--:--"
    seconds = int(remaining / rate + 0.5)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _status_counts(counts: dict[Status, int]) -> str:
    """``2,455 succeeded, 5 failed`` (unknown and skipped only when there are some)."""
    return ", ".join(
        f"{counts.get(status, 0):,} {status.value}"
        for status in Status
        if counts.get(status, 0) or status in (Status.SUCCEEDED, Status.FAILED)
    )


def _children_text(tally: Tally) -> str:
    done = sum(tally.children.values())
    bad = [
        f"{tally.children[status]:,} {status.value}"
        for status in (Status.FAILED, Status.UNKNOWN, Status.SKIPPED)
        if tally.children[status]
    ]
    return f"{done:,} notes/files/comms" + (f" ({', '.join(bad)})" if bad else "")


LONG_PAUSE = 60.0
"""A pause this long (seconds), or longer than the run's ``max_pause``, is announced with
the time the run resumes (to the second when it is under a minute away)."""


def pacing_text(
    pacing: GovernorState | None,
    *,
    now: Callable[[], datetime.datetime] = datetime.datetime.now,
) -> str | None:
    """The rate governor's state in a line, once the API has rate limited the run.

    ``requests: 291/s, settled at 291/s; 42 answered 429 (retried)`` (``settled at 8 in
    flight`` under a cap on concurrent requests), or while waiting out
    a long ``Retry-After``: ``rate limited: the API asks to wait 58 min; resuming at 14:05``.
    A run started from what an earlier run learned is paced from its first request, and
    says so before any 429: ``requests: 33/s, searching up from 33.5/s, the limit an
    earlier run learned; no 429 yet``. Once the governor's learning failed (a bug, see
    :attr:`GovernorState.fallback`), it says so: ``requests: 80/s, paced by a plain fallback
    after the rate governor failed (see the log); 3 answered 429 (retried)``.

    Args:
        pacing: the governor's state from :class:`Progress` (``None``: none reported).
        now: the local wall clock (injectable for tests).

    Returns:
        The line, or ``None`` while no 429 was met (nothing worth a line) in a run that
        started blind.
    """
    if pacing is None:
        return None
    if not pacing.rate_limited and pacing.paused_until is None and not pacing.fallback:
        return _started_from_text(pacing)
    refused = f"{pacing.rate_limited:,} answered 429 (retried)"
    if pacing.phase is GovernorPhase.PAUSED:
        wait = duration_text(pacing.pause_remaining)
        if pacing.long_pause or pacing.pause_remaining >= LONG_PAUSE:
            resuming = now() + datetime.timedelta(seconds=pacing.pause_remaining)
            clock = "%H:%M" if pacing.pause_remaining >= LONG_PAUSE else "%H:%M:%S"
            at = resuming.strftime(clock)
            return f"rate limited: the API asks to wait {wait}; resuming at {at}"
        return f"rate limited: paused {wait} as the API asks; {refused}"
    pace = "" if pacing.rate_limit is None else format_rate(pacing.rate_limit)
    if pacing.fallback:
        state = "paced by a plain fallback after the rate governor failed (see the log)"
    elif pacing.phase is GovernorPhase.THROTTLED:
        state = "throttled by the API" + (f" to {pace}/s" if pace else "")
    elif pacing.phase is GovernorPhase.SETTLED and pacing.settled_window is not None:
        state = f"settled at {pacing.settled_window} in flight"  # a cap on concurrency
    elif pacing.phase is GovernorPhase.SETTLED:
        state = f"settled at {pace}/s" if pace else "settled"
    elif pacing.learned_limit is not None:
        state = f"probing above {format_rate(pacing.learned_limit)}/s"
    else:
        state = "probing for the API's limit"
    return f"requests: {pacing.accepted_rate:.0f}/s, {state}; {refused}"


def _started_from_text(pacing: GovernorState) -> str | None:
    """The pacing line of a run started from an earlier run's limit, before any 429."""
    start = learned_limit_text(
        pacing.started_from, per_second="/s", in_flight=lambda count: f"{count} in flight"
    )
    if start is None:
        return None
    return (
        f"requests: {pacing.accepted_rate:.0f}/s, searching up from {start} an earlier run "
        "learned; no 429 yet"
    )


def rate_limit_line(report: BulkReport) -> str | None:
    """The summary's line on the API's rate limit, phrased to reuse as ``--max-per-second``.

    Args:
        report: the run's report.

    Returns:
        ``rate limit: the run settled at 291 requests/s (42 answered 429, retried; none
        failed an item); next time pass --max-per-second 291`` (under a cap on concurrent
        requests, ``... settled at 8 requests in flight, 326 requests/s (...); next time
        pass --concurrency 8``), or ``None`` when the API never answered 429. A run that a
        rate limit stopped before it settled says so (``rate limit: met, the run stopped
        before settling (...)``), not that it found none. A run started from an earlier
        run's limit that met no 429 says why its first seconds were paced: ``rate limit:
        none met; the run started at 33.5 requests/s, the limit an earlier run learned``.
        A run whose rate governor failed says that instead, whatever it met: ``rate
        limit: paced by a plain fallback after the rate governor failed
        (ZeroDivisionError: ...; see the log above; 3 answered 429, retried)``.
    """
    if report.pacing_fault is not None:
        return (
            "rate limit: paced by a plain fallback after the rate governor failed "
            f"({report.pacing_fault}; see the log above; "
            f"{report.rate_limited:,} answered 429, retried)"
        )
    if not report.rate_limited:
        start = learned_limit_text(report.started_from)
        if start is None:
            return None
        return f"rate limit: none met; the run started at {start} an earlier run learned"
    retried = f"{report.rate_limited:,} answered 429, retried; none failed an item"
    if report.settled_rate is None:
        if isinstance(report.stopped, RateLimitStopError):
            return f"rate limit: met, the run stopped before settling ({retried})"
        return f"rate limit: none found ({retried})"
    rate = format_rate(report.settled_rate)
    window = report.settled_concurrency
    if window is not None:
        return (
            f"rate limit: the run settled at {requests_in_flight(window)}, {rate} requests/s "
            f"({retried}); next time pass --concurrency {window}"
        )
    return (
        f"rate limit: the run settled at {rate} requests/s ({retried}); "
        f"next time pass --max-per-second {rate}"
    )


class ProgressDisplay(Protocol):
    """Receives the run's progress; one of the classes below."""

    def start(self, description: str) -> None:
        """The run begins."""

    def set_total(self, total: int) -> None:
        """The number of items became known."""

    def update(self, progress: Progress) -> None:
        """Counts so far (the runner calls this every ``progress_interval``)."""

    def stop(self) -> None:
        """The run is over (also after an error)."""


class SilentDisplay:
    """``--quiet``: shows nothing while running."""

    def start(self, description: str) -> None:
        """Ignored."""

    def set_total(self, total: int) -> None:
        """Ignored."""

    def update(self, progress: Progress) -> None:
        """Ignored."""

    def stop(self) -> None:
        """Ignored."""


class PlainDisplay:
    """A ``progress:`` line every ``interval`` seconds, for logs and pipes.

    Args:
        stream: Where to write (standard error).
        interval: Seconds between lines.
        clock: Monotonic clock (injectable for tests).
        tally: Children and resumed counts, shown on each line.
    """

    def __init__(
        self,
        stream: IO[str],
        *,
        interval: float = PLAIN_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        tally: Tally | None = None,
    ) -> None:
        self._stream = stream
        self._tally = tally if tally is not None else Tally()
        self._interval = interval
        self._clock = clock
        self._total: int | None = None
        self._last_line = clock()
        self._latest: Progress | None = None

    def start(self, description: str) -> None:
        """Say what is being imported."""
        self._print(description)

    def set_total(self, total: int) -> None:
        """Remember the total for the following lines."""
        self._total = total

    def update(self, progress: Progress) -> None:
        """Print a line if ``interval`` has passed since the last one."""
        self._latest = progress
        now = self._clock()
        if now - self._last_line >= self._interval:
            self._last_line = now
            self._print(plain_progress_line(progress, self._total, self._tally))

    def stop(self) -> None:
        """Print the last counts."""
        if self._latest is not None:
            self._print(plain_progress_line(self._latest, self._total, self._tally))

    def _print(self, text: str) -> None:
        print(text, file=self._stream, flush=True)


def plain_progress_line(progress: Progress, total: int | None, tally: Tally | None = None) -> str:
    """``progress: 120/300 done, 3 failed, 45.1 items/s, ETA 0:00:04; 310 notes/files/comms``.

    (``120 done`` without a total; ``N resumed`` when items came from the journal.)

    Args:
        progress: The runner's counts.
        total: Items in the input, when known.
        tally: Children and resumed counts.

    Returns:
        The line.
    """
    tally = tally if tally is not None else Tally()
    total = progress.total if progress.total is not None else total
    done = f"{progress.done}/{total}" if total is not None else str(progress.done)
    parts = [f"{done} done", f"{progress.counts.get(Status.FAILED, 0)} failed"]
    for status in (Status.UNKNOWN, Status.SKIPPED):
        if progress.counts.get(status, 0):
            parts.append(f"{progress.counts[status]} {status.value}")
    line = f"progress: {', '.join(parts)}, {progress.rate:.1f} items/s"
    line += f", ETA {eta_text(progress, total, tally)}; {_children_text(tally)}"
    if tally.resumed:
        line += f"; {tally.resumed} resumed from the journal"
    pacing = pacing_text(progress.pacing)
    if pacing is not None:
        line += f"; {pacing}"
    return line


class RichDisplay:
    """A live rich progress display (for a terminal), three lines that fit 80 columns.

    ``importing ━━━━━━━━━━━━━━━━━━━━━━━━ 2,460/3,000  82% 45.1/s ETA 0:00:12``
    ``items: 2,455 succeeded, 5 failed; 1,200 resumed from the journal``
    ``notes/files/comms: 6,120 succeeded, 3 failed``

    Once the API has answered 429, a fourth line says how the run is paced:
    ``requests: 291/s, settled at 291/s; 42 answered 429 (retried)``, or
    ``rate limited: the API asks to wait 58 min; resuming at 14:05; ...``.

    Args:
        console: A rich console writing to standard error.
        tally: Children and resumed counts, shown on the second and third lines.
    """

    def __init__(self, console: Console, *, tally: Tally | None = None) -> None:
        from rich.progress import BarColumn, TaskProgressColumn, TextColumn
        from rich.progress import Progress as RichProgress

        self._tally = tally if tally is not None else Tally()
        self._task: Any = None
        self._total: int | None = None
        self._latest: Progress | None = None
        details = self._details

        class _WithCounts(RichProgress):
            # The counts on their own lines: on the bar's line they pushed it past 80
            # columns, and rich cut the bar's numbers ("2460/119…").
            def get_renderables(self) -> Iterator[Any]:
                yield self.make_tasks_table(self.tasks)
                yield from details()

        self._bar = _WithCounts(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[done]}"),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}/s ETA {task.fields[eta]}"),
            console=console,
            refresh_per_second=8,
        )

    def _details(self) -> list[Any]:
        from rich.text import Text

        counts = self._latest.counts if self._latest is not None else {}
        items = f"items: {_status_counts(counts)}"
        if self._tally.resumed:
            items += f"; {self._tally.resumed:,} resumed from the journal"
        children = f"notes/files/comms: {_status_counts(self._tally.children)}"
        lines = [items, children]
        pacing = pacing_text(self._latest.pacing if self._latest is not None else None)
        if pacing is not None:
            lines.append(pacing)
        return [Text(line, no_wrap=True, overflow="ellipsis") for line in lines]

    def renderable(self) -> Any:
        """What the display shows now (the bar and the counts), for rendering elsewhere."""
        return self._bar.get_renderable()

    def start(self, description: str) -> None:
        """Say what is being imported, then show the bar (total unknown until known)."""
        self._bar.console.print(description, highlight=False)
        self._task = self._bar.add_task("importing", total=None, done="0", rate="0.0", eta="-")
        self._bar.start()

    def set_total(self, total: int) -> None:
        """Give the bar its length."""
        self._total = total
        if self._task is not None:
            done = self._latest.done if self._latest is not None else 0
            self._bar.update(self._task, total=total, done=f"{done:,}/{total:,}")

    def update(self, progress: Progress) -> None:
        """Move the bar and refresh the counts."""
        self._latest = progress
        if self._task is None:
            return
        total = progress.total if progress.total is not None else self._total
        changes: dict[str, Any] = {}
        if total is not None:
            changes["total"] = total
        self._bar.update(
            self._task,
            completed=progress.done,
            done=f"{progress.done:,}" + (f"/{total:,}" if total is not None else ""),
            rate=f"{progress.rate:.1f}",
            eta=eta_text(progress, total, self._tally),
            **changes,
        )

    def stop(self) -> None:
        """Leave the final state of the bar on screen."""
        self._bar.stop()


# --------------------------------------------------------------------------- summary


@attrs.frozen
class Attention:
    """One row of "needs attention": an item (or a bundle's child) that did not succeed.

    Attributes:
        index: The item's position in the input.
        source: Where it came from (``contacts.jsonl:17``).
        part: Which part failed: ``contact``, ``notes/0``, ``attachments/1``, ...
        status: ``failed``, ``unknown`` or ``skipped``.
        code: The error code (``CUSTOM_FIELD_ERROR``, ``REQUEST_VALIDATION``, ...).
        message: What went wrong.
    """

    index: int
    source: str
    part: str
    status: str
    code: str
    message: str


def describe_error(error: BaseException | None) -> str:
    """A one-line message for an item's error (never a traceback).

    Args:
        error: The error, if any.

    Returns:
        The API's messages, or the exception's text.
    """
    if error is None:
        return ""
    text = error.message if isinstance(error, APIError) else str(error)
    text = " ".join(text.split()) or type(error).__name__
    # Messages quote the input file; its control characters (terminal escapes) and lone
    # surrogates (which a strict UTF-8 stdout cannot print) are shown escaped instead.
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."


def _message(result: ItemResult) -> str:
    if result.error is not None:
        return describe_error(result.error)
    if result.status is Status.UNKNOWN:
        return "cut off in flight when the run stopped: it may or may not have been applied"
    if result.status is Status.SKIPPED:
        return "not attempted: the run stopped first"
    return ""


def _part(result: ItemResult) -> str:
    kind = getattr(result.op, "kind", "")
    if kind == "bundle":
        return "contact"
    return "-" if kind == "invalid" else str(kind)


def attention_rows(
    report: BulkReport, source_of: Callable[[ItemResult], str]
) -> Iterator[Attention]:
    """The items needing attention, in input order.

    A bundle whose contact failed is one row (its children were skipped because of it);
    a bundle whose contact succeeded contributes one row per child that did not.

    Args:
        report: The run's report.
        source_of: Where an item came from.

    Yields:
        :class:`Attention` rows.
    """
    for result in sorted(report.results, key=lambda r: r.index):
        source = source_of(result)
        if result.status is not Status.SUCCEEDED:
            yield Attention(
                index=result.index,
                source=source,
                part=_part(result),
                status=result.status.value,
                code=result.code or result.status.value.upper(),
                message=_message(result),
            )
            continue
        for position, child in enumerate(result.children):
            if child.ok:
                continue
            label = getattr(result.op, "child_label", None)
            yield Attention(
                index=result.index,
                source=source,
                part=label(position) if callable(label) else str(position),
                status=child.status.value,
                code=child.code or child.status.value.upper(),
                message=_message(child),
            )


def _counts_line(counts: dict[Status, int]) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{counts.get(status, 0)} {status.value}" for status in Status)
    return f"{parts} ({total} total)"


def render_summary(
    report: BulkReport,
    *,
    title: str,
    rows: list[Attention],
    console: Console | None,
    stream: IO[str],
    export_path: str | None,
    limit: int = SHOWN_ATTENTION_ROWS,
) -> None:
    """Print the end-of-run summary: counts, rate, and the items needing attention.

    Args:
        report: The run's report.
        title: First line, e.g. ``"Imported contacts.jsonl"``.
        rows: From :func:`attention_rows`.
        console: A rich console for tables, or ``None`` for plain text.
        stream: Where plain text goes.
        export_path: ``--export`` target, mentioned when rows are left out.
        limit: Rows to list before "... and N more".
    """
    hidden = max(0, len(rows) - limit)
    more = ""
    if hidden:
        where = f"see {export_path}" if export_path else "use --export PATH to get them all"
        more = f"... and {hidden} more ({where})"
    rate = f"{report.elapsed:.1f}s, {report.items_per_second:.1f} items/s"
    if console is None:
        _plain_summary(report, title=title, rows=rows[:limit], more=more, rate=rate, out=stream)
    else:
        _rich_summary(report, title=title, rows=rows[:limit], more=more, rate=rate, console=console)


def _plain_summary(
    report: BulkReport, *, title: str, rows: list[Attention], more: str, rate: str, out: IO[str]
) -> None:
    lines = [
        f"{title} in {rate}",
        f"items:    {_counts_line(report.counts)}",
        f"children: {_counts_line(report.child_counts)}",
    ]
    if rows:
        lines.append("needs attention:")
        lines.extend(
            f"  {row.source}  {row.part}  {row.status}  {row.code}  {row.message}" for row in rows
        )
        if more:
            lines.append(f"  {more}")
    print("\n".join(lines), file=out, flush=True)


def _rich_summary(
    report: BulkReport,
    *,
    title: str,
    rows: list[Attention],
    more: str,
    rate: str,
    console: Console,
) -> None:
    from rich.table import Table

    styles = {
        Status.SUCCEEDED: "green",
        Status.FAILED: "red",
        Status.UNKNOWN: "yellow",
        Status.SKIPPED: "dim",
    }
    counts = Table(title=f"{title} in {rate}", title_justify="left")
    counts.add_column("")
    for status in Status:
        counts.add_column(status.value, justify="right", style=styles[status])
    counts.add_column("total", justify="right", style="bold")
    for label, numbers in (("items", report.counts), ("children", report.child_counts)):
        counts.add_row(
            label,
            *(str(numbers.get(status, 0)) for status in Status),
            str(sum(numbers.values())),
        )
    console.print(counts)
    if not rows:
        return
    attention = Table(title="Needs attention", title_justify="left", show_lines=False)
    attention.add_column("source", no_wrap=True)
    attention.add_column("part", no_wrap=True)
    attention.add_column("status", no_wrap=True)
    attention.add_column("code", no_wrap=True, style="bold")
    attention.add_column("message", overflow="fold")
    for row in rows:
        style = "yellow" if row.status == Status.UNKNOWN.value else "red"
        attention.add_row(
            row.source, row.part, f"[{style}]{row.status}[/]", row.code, _escape(row.message)
        )
    if more:
        attention.caption = more
        attention.caption_justify = "left"
    console.print(attention)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
