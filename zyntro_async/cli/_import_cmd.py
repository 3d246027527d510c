"""``zyntro-async import FILE``: bulk import of a CSV or JSONL file.

::

    zyntro-async import examples/contacts.jsonl --emulator          # try it locally
    zyntro-async import contacts.csv --journal import.db --export needs-attention.jsonl

Credentials come from the ``ZYNTRO_*`` environment variables (as for ``ZyntroClient()``);
``--emulator`` imports into an embedded emulator instead and shows what it holds afterwards.

Exit status: 0 when every item (and every note, attachment and comms entry of every
bundle) succeeded, 1 when some failed, are unknown or were skipped, 2 for usage errors
(bad arguments, missing or unusable file, missing credentials), 130 when interrupted.

This module is imported to build the parser, so it imports nothing heavy at the top:
the SDK's bulk machinery, the emulator and rich are loaded when the command runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if sys.version_info < (3, 11):  # pragma: no cover - anyio depends on the backport there
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:
    from zyntro_async._client import ZyntroClient
    from zyntro_async.bulk._report import BulkReport, ItemResult
    from zyntro_async.cli._progress import ProgressDisplay
    from zyntro_async.cli._readers import ImportReader
    from zyntro_async.testing import Emulator

__all__ = ["add_parser", "run"]

EXIT_OK = 0
EXIT_ITEMS_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_PROG = "zyntro-async import"
_MEMBER_ENV = "ZYNTRO_MEMBER_ID"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Register the ``import`` subcommand.

    Args:
        subparsers: The top-level parser's subparsers.

    Returns:
        The subcommand's parser.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "import",
        help="import contacts (with notes, attachments, comms) from a CSV or JSONL file",
        description=(
            "Import a CSV or JSONL file into Zyntro, with bounded concurrency, a progress "
            "display and a summary. Credentials come from the ZYNTRO_API_KEY, "
            "ZYNTRO_DEVELOPER_SECRET, ZYNTRO_ORG_ID and ZYNTRO_MEMBER_ID environment "
            "variables (ZYNTRO_BASE_URL optional), unless --emulator is given."
        ),
        epilog=(
            "CSV columns: firstName, lastName, primaryEmail (required), primaryPhone, source, "
            "status, roleLabel, tags (';'-separated), company, note, attachment (a URL, or "
            "a file path relative to the CSV); any other column must be declared with "
            "--custom-field. Exit status: 0 all succeeded, 1 some items failed, were "
            "unknown or skipped, 2 usage error."
        ),
    )
    parser.add_argument("file", metavar="FILE", type=Path, help="the CSV or JSONL file")
    parser.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        default=None,
        help="file format (default: from the extension: .csv, .jsonl or .ndjson)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive_int,
        default=16,
        metavar="N",
        help="requests in flight at once (default: %(default)s)",
    )
    parser.add_argument(
        "--max-per-second",
        type=_positive_float,
        default=None,
        metavar="R",
        help="at most R requests per second (default: no limit; 429s slow it down anyway)",
    )
    parser.add_argument(
        "--journal",
        type=Path,
        default=None,
        metavar="PATH",
        help="SQLite journal of outcomes; re-running with the same journal resumes without "
        "sending anything twice",
    )
    parser.add_argument(
        "--retry-unknown",
        action="store_true",
        help="with --journal: send again the creating calls whose outcome was unknown "
        "(they may be duplicated)",
    )
    parser.add_argument(
        "--export",
        type=Path,
        default=None,
        metavar="PATH",
        help="write the items that need attention to PATH (JSONL, ready to fix and import)",
    )
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="import into an embedded local emulator instead of Zyntro (no credentials "
        "needed); shows what it holds afterwards",
    )
    parser.add_argument(
        "--custom-field",
        action="append",
        default=[],
        metavar="NAME",
        dest="custom_fields",
        help="CSV: treat column NAME as a custom field (repeatable); with --emulator, NAME "
        "is also defined in the emulator",
    )
    parser.add_argument(
        "--member-id",
        default=None,
        metavar="ID",
        help=f"member performing the import (default: ${_MEMBER_ENV})",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress display; only the summary",
    )
    parser.set_defaults(run=run)
    return parser


class _UsageError(Exception):
    """Reported on standard error; exit status 2."""


def run(args: argparse.Namespace) -> int:
    """Run ``import`` with parsed arguments.

    Args:
        args: From the parser :func:`add_parser` registered.

    Returns:
        The exit status (0, 1, 2, or 130 when interrupted).
    """
    from zyntro_async.cli._readers import ImportReader, ImportUsageError, detect_format

    try:
        path: Path = args.file
        fmt = detect_format(path, args.format)
        reader = ImportReader(path, fmt, custom_fields=args.custom_fields)
        reader.check()
        if args.retry_unknown and args.journal is None:
            raise _UsageError("--retry-unknown only makes sense with --journal")
        _check_output_path("--journal", args.journal, path)
        _check_output_path("--export", args.export, path)
        client = None if args.emulator else _client_from_environment(args.member_id)
    except (ImportUsageError, _UsageError) as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.emulator and args.journal is not None and args.journal.exists():
        print(
            f"{_PROG}: note: --emulator starts empty on every run, but {args.journal} "
            "remembers the previous run: what succeeded then is skipped now",
            file=sys.stderr,
        )
    try:
        return asyncio.run(_main(args, reader, client))
    except sqlite3.Error as exc:
        print(f"{_PROG}: error: cannot use the journal {args.journal}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        # The file became unreadable mid-run (what was sent is in the journal, if any).
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        hint = f" re-run with --journal {args.journal} to resume." if args.journal else ""
        print(f"{_PROG}: interrupted.{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _check_output_path(flag: str, target: Path | None, source: Path) -> None:
    """A file the command writes must be creatable, and must not be the input."""
    if target is None:
        return
    if target.is_dir():
        raise _UsageError(f"{flag} {target}: is a directory; give a file name")
    if not target.parent.is_dir():
        raise _UsageError(f"{flag} {target}: the directory {target.parent} does not exist")
    if target.exists() and target.resolve() == source.resolve():
        raise _UsageError(f"{flag} {target}: that is the file being imported")


def _client_from_environment(member_id: str | None) -> ZyntroClient:
    """A client configured from ``ZYNTRO_*`` variables, or a usage error naming the missing one."""
    from zyntro_async._client import ZyntroClient
    from zyntro_async._errors import ConfigurationError

    try:
        client = ZyntroClient(member_id=member_id)
    except ConfigurationError as exc:
        if exc.variable is not None:
            raise _UsageError(
                f"missing credentials: set the {exc.variable} environment variable "
                f"({exc}); or use --emulator to try against a local emulator"
            ) from exc
        raise _UsageError(str(exc)) from exc
    if member_id is None and not (os.environ.get(_MEMBER_ENV) or "").strip():
        raise _UsageError(
            f"missing member id: set the {_MEMBER_ENV} environment variable or pass "
            "--member-id (every import writes as a member of the organization)"
        )
    return client


async def _main(args: argparse.Namespace, reader: ImportReader, client: ZyntroClient | None) -> int:
    emulator: Emulator | None = None
    try:
        if client is None:
            from zyntro_async.testing import DEFAULT_CUSTOM_FIELDS, Emulator

            # The demo organization's custom fields, plus any the CSV declares.
            extra_fields = {
                name: None for name in args.custom_fields if name not in DEFAULT_CUSTOM_FIELDS
            }
            emulator = Emulator.demo(custom_fields=extra_fields)
            await emulator.start(host="127.0.0.1", port=0)
            overrides = {"member_id": args.member_id} if args.member_id else {}
            client = emulator.client(**overrides)
        async with client:
            return await _import(args, reader, client, emulator)
    finally:
        if emulator is not None:
            await emulator.close()


async def _import(
    args: argparse.Namespace, reader: ImportReader, client: ZyntroClient, emulator: Emulator | None
) -> int:
    import anyio
    import anyio.to_thread

    from zyntro_async.bulk import BulkAbortedError
    from zyntro_async.cli import _progress

    display, summary_console = _make_display(args)
    where = "the embedded emulator" if emulator is not None else _base_url()
    display.start(f"importing {reader.path.name} ({reader.format}) into {where}")
    report: BulkReport
    stopped: str | None = None

    stop_counting = threading.Event()

    async def count_items() -> None:
        # In a worker thread, while the import runs: the bar gets its total when known.
        try:
            total = await anyio.to_thread.run_sync(
                functools.partial(reader.count, cancelled=stop_counting), abandon_on_cancel=True
            )
        except OSError:
            return
        if total is not None:
            display.set_total(total)

    guard = _AccountGuard(iter(reader))
    items = guard.items
    try:
        with _single_errors():
            async with anyio.create_task_group() as tg:
                tg.start_soon(count_items)
                try:
                    report = await client.bulk.run(
                        items,
                        concurrency=args.concurrency,
                        max_per_second=args.max_per_second,
                        journal=args.journal,
                        retry_unknown=args.retry_unknown,
                        on_progress=display.update,
                        on_result=guard.check,
                        progress_interval=0.25,
                    )
                except BulkAbortedError as exc:
                    report = exc.report
                    stopped = _progress.describe_error(exc.reason) or str(exc)
                finally:
                    tg.cancel_scope.cancel()
    finally:
        stop_counting.set()
        guard.close()
        display.stop()

    def source_of(result: ItemResult) -> str:
        source = getattr(result.op, "source", None)
        return source if isinstance(source, str) else reader.source(result.index)

    rows = list(_progress.attention_rows(report, source_of))
    if stopped is not None or guard.reason is not None:
        title = f"Import of {reader.path.name} stopped early"
    else:
        title = f"Imported {reader.path.name}"
    export = str(args.export) if args.export is not None else None
    _progress.render_summary(
        report,
        title=title,
        rows=rows,
        console=summary_console,
        stream=sys.stdout,
        export_path=export,
    )
    if guard.reason is not None:
        print(
            f"stopped early: Zyntro refused the credentials or the account "
            f"({_progress.describe_error(guard.reason)}); every other item would fail the "
            "same way. Check the ZYNTRO_* variables (and --member-id), then run it again.",
            flush=True,
        )
    elif stopped is not None:
        print(f"stopped early: {stopped}", flush=True)
    if args.export is not None:
        # Completion order is arbitrary; input order is what a person fixing the file wants.
        report.results.sort(key=lambda result: result.index)
        written = report.export(args.export)
        print(f"wrote {written} line(s) needing attention to {args.export}", flush=True)
    if emulator is not None:
        print(_emulator_contents(emulator), flush=True)
    if guard.reason is not None:
        return EXIT_USAGE
    ok = report.all_succeeded and stopped is None
    return EXIT_OK if ok else EXIT_ITEMS_FAILED


# Errors about the account rather than the item: every later item would fail the same way.
_ACCOUNT_CODES = frozenset(
    {
        "MISSING_API_KEY",
        "INVALID_API_KEY",
        "USER_INACTIVE",
        "MISSING_DEVELOPER_SECRET",
        "INVALID_DEVELOPER_SECRET",
        "IP_NOT_WHITELISTED",
        "WRONG_ORG",
    }
)


class _AccountGuard:
    """Stops pulling items once Zyntro rejects the account itself (bad key, IP, org).

    Items already in flight finish; the rest are never read, so with a journal a re-run
    after fixing the credentials picks up where this one stopped.
    """

    def __init__(self, items: Iterator[Any]) -> None:
        self._source = items
        self.reason: BaseException | None = None
        self.items = self._pull()

    def _pull(self) -> Iterator[Any]:
        for item in self._source:
            if self.reason is not None:
                return
            yield item

    def check(self, result: ItemResult) -> None:
        """``on_result``: remember the first account-level error."""
        for outcome in (result, *result.children):
            if self.reason is not None:
                return
            # An unknown member is the account's problem when it is the default member
            # (ZYNTRO_MEMBER_ID / --member-id), and that line's problem when it names one.
            default_member = getattr(outcome.op, "member_id", None) is None
            if outcome.code in _ACCOUNT_CODES or (
                outcome.code == "MEMBER_NOT_FOUND" and default_member
            ):
                self.reason = outcome.error

    def close(self) -> None:
        """Close the file behind the items."""
        close = getattr(self._source, "close", None)
        if callable(close):
            close()


@contextlib.contextmanager
def _single_errors() -> Iterator[None]:
    """Let a task group's lone error surface as itself, not as an exception group."""
    try:
        yield
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise


def _base_url() -> str:
    """Where the import goes, for the first progress line (the same rule as the client)."""
    from zyntro_async._config import DEFAULT_BASE_URL, ENV_BASE_URL

    return (os.environ.get(ENV_BASE_URL) or "").strip() or DEFAULT_BASE_URL


def _make_display(args: argparse.Namespace) -> tuple[ProgressDisplay, Any]:
    """The progress display for this run, and a rich console for the summary (or None)."""
    from zyntro_async.cli import _progress

    summary_console = None
    if sys.stdout.isatty() and not args.quiet:
        from rich.console import Console

        summary_console = Console(file=sys.stdout)
    if args.quiet:
        return _progress.SilentDisplay(), summary_console
    if sys.stderr.isatty():
        from rich.console import Console

        return _progress.RichDisplay(Console(file=sys.stderr)), summary_console
    return _progress.PlainDisplay(sys.stderr), summary_console


def _emulator_contents(emulator: Emulator) -> str:
    return (
        f"the emulator now holds {len(emulator.contacts)} contacts "
        f"({len(emulator.entities)} companies), {len(emulator.notes)} notes, "
        f"{len(emulator.attachments)} attachments and {len(emulator.comms)} comms entries "
        "(it is discarded when this command exits; drop --emulator to import into Zyntro)"
    )
