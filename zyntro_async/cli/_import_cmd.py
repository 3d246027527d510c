"""``zyntro-async import FILE``: bulk import of a CSV or JSONL file.

::

    zyntro-async import examples/contacts.jsonl --emulator          # try it locally
    zyntro-async import contacts.csv --export needs-attention.jsonl  # journals by default

Credentials come from the ``ZYNTRO_*`` environment variables (as for ``ZyntroClient()``);
``--emulator`` imports into an embedded emulator instead and shows what it holds afterwards.

Every run against a real service keeps a journal (``contacts.csv.zyntro-journal`` beside the
input, or under ``$XDG_STATE_HOME/zyntro-async/journals`` when that folder is read-only), so
running the same command again resumes and sends nothing twice. ``--emulator`` starts an
empty service on every run, so it keeps no journal unless ``--journal`` is given.

The first SIGINT or SIGTERM stops reading the input and lets the requests in flight finish
(at most ``--grace`` seconds); a second one stops at once. Either way the summary is
printed, ``--export`` written and the journal closed before exiting.

Exit status: 0 when every item (and every note, attachment and comms entry of every
bundle) succeeded, 1 when some failed, are unknown or were skipped, 2 for usage errors
(bad arguments, missing or unusable file, missing credentials), 130 after SIGINT (Ctrl-C),
143 after SIGTERM.

This module is imported to build the parser, so it imports nothing heavy at the top:
the SDK's bulk machinery, the emulator and rich are loaded when the command runs.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zyntro_async.cli._interrupt import Gate, Stopper, say, single_errors
from zyntro_async.cli._journal_files import (
    journal_done,
    journal_path,
)
from zyntro_async.cli._loop import choose_loop, describe_running_loop
from zyntro_async.cli._loop import run as run_loop

if sys.version_info < (3, 11):  # pragma: no cover - anyio depends on the backport there
    pass

if TYPE_CHECKING:
    from zyntro_async._client import ZyntroClient
    from zyntro_async.bulk._report import BulkReport, ItemResult
    from zyntro_async.cli._progress import ProgressDisplay, Tally
    from zyntro_async.cli._readers import ImportReader
    from zyntro_async.testing import Emulator

__all__ = ["add_parser", "run"]

EXIT_OK = 0
EXIT_ITEMS_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

_PROG = "zyntro-async import"
_MEMBER_ENV = "ZYNTRO_MEMBER_ID"
# Seconds an import waits for its input's count before starting without it (the bar
# gets it whenever it comes; a million JSONL rows count in about 0.6 s here, a CSV or
# XLSX file of as many rows takes longer).
_COUNT_WAIT = 1.0
_REQUIRED_ENV = ("ZYNTRO_API_KEY", "ZYNTRO_DEVELOPER_SECRET", "ZYNTRO_ORG_ID")
DEFAULT_GRACE = 30.0
"""Seconds the requests in flight get to finish after the first SIGINT/SIGTERM."""

# Data files of ``examples/make_dataset.py`` say in this file which rows are bad on purpose.
EXAMPLE_MARKER = ".zyntro-example.json"


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


_positive_int = _whole_number(1)
_non_negative_int = _whole_number(0)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
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
            "--custom-field. A journal (FILE.zyntro-journal) makes a rerun of the same "
            "command resume without sending anything twice. The first Ctrl-C or SIGTERM "
            "lets the requests in flight finish, then reports; a second stops at once. "
            "Exit status: 0 all succeeded, 1 some items need attention (failed, unknown or "
            "skipped), 2 usage error, 130 stopped by SIGINT, 143 stopped by SIGTERM."
        ),
    )
    parser.add_argument("file", metavar="FILE", type=Path, help="the CSV or JSONL file")
    parser.add_argument(
        "--format",
        choices=("csv", "jsonl", "xlsx"),
        default=None,
        help="file format (default: from the extension: .csv, .tsv, .jsonl, .ndjson, .xlsx)",
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
        help="at most R requests per second (default: none; the run finds the API's rate "
        "limit from its 429s anyway, and the summary says the rate to pass here next time)",
    )
    parser.add_argument(
        "--max-pause",
        type=_non_negative_float,
        default=300.0,
        metavar="SECONDS",
        help="the longest Retry-After waited out as an ordinary pause (default: "
        "%(default)g); a longer one (a daily quota's) is handled by --on-long-pause",
    )
    parser.add_argument(
        "--on-long-pause",
        choices=("wait", "stop"),
        default="wait",
        help="when the API asks to wait longer than --max-pause: wait (the progress says "
        "when the import resumes) or stop (resumable with the journal) (default: "
        "%(default)s)",
    )
    parser.add_argument(
        "--rate-limit-stall",
        type=_positive_float,
        default=600.0,
        metavar="SECONDS",
        help="stop (resumable with the journal) when the API refuses every request with "
        "429s for this long (default: %(default)g)",
    )
    parser.add_argument(
        "--journal",
        type=Path,
        default=None,
        metavar="PATH",
        help="SQLite journal of outcomes (default: FILE.zyntro-journal beside the input, or "
        "in $XDG_STATE_HOME/zyntro-async/journals when that folder is read-only; none with "
        "--emulator); re-running with the same journal resumes without sending anything "
        "twice, paced from the rate limit the last run met",
    )
    parser.add_argument(
        "--no-journal",
        action="store_true",
        help="keep no journal: a rerun sends everything again and duplicates the notes, "
        "attachments and comms entries already imported",
    )
    parser.add_argument(
        "--retry-unknown",
        action="store_true",
        help="send again the creating calls the journal says may have been applied "
        "(they may be duplicated)",
    )
    parser.add_argument(
        "--retry-changed",
        action="store_true",
        help="send the notes, attachments and comms entries whose key the journal holds "
        "for different content (reported JOURNAL_CONFLICT otherwise); the earlier entry stays",
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
    # Reading other CRMs' exports (CSV/XLSX), and the dry run: see cli/_readers.py,
    # cli/_mapping.py and cli/_dry_run.py.
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="SOURCE=TARGET",
        dest="column_maps",
        help="CSV/XLSX: column SOURCE feeds TARGET: a contact field (firstName, primaryEmail, "
        "...), company, entity.website, note, tags, attachment, custom:NAME, or ignore "
        "(repeatable)",
    )
    parser.add_argument(
        "--mapping",
        type=Path,
        default=None,
        metavar="FILE",
        help='CSV/XLSX: a TOML (.toml) or JSON file of "SOURCE" = "TARGET" pairs, as --map',
    )
    parser.add_argument(
        "--ignore-unknown-columns",
        action="store_true",
        help="CSV/XLSX: leave out columns that are not known fields (instead of stopping)",
    )
    parser.add_argument(
        "--delimiter",
        default=None,
        metavar="CHAR",
        help="CSV: the delimiter (default: sniffed from the header among , ; tab |); "
        "'tab' for a tab",
    )
    parser.add_argument(
        "--encoding",
        default=None,
        metavar="NAME",
        help="CSV: the file's encoding, e.g. cp1252 or latin-1 (default: UTF-8, with or "
        "without a byte-order mark)",
    )
    parser.add_argument(
        "--sheet",
        default=None,
        metavar="NAME",
        help="XLSX: the sheet to import (default: the first)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="read, map and validate every row and report every problem; send nothing "
        "(no credentials needed); exit 0 when clean, 1 otherwise",
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
    _add_run_flags(parser)
    parser.set_defaults(run=run)
    return parser


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    """How the run behaves (stopping, signals) and which service it talks to."""
    parser.add_argument(
        "--max-failures",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help="stop once more than N items (or notes, files, comms) failed or are unknown",
    )
    parser.add_argument(
        "--fail-fast",
        action="store_true",
        help="stop at the first failed or unknown item",
    )
    parser.add_argument(
        "--grace",
        type=_positive_float,
        default=DEFAULT_GRACE,
        metavar="SECONDS",
        help="after a first Ctrl-C or SIGTERM, how long the requests in flight get to finish "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="the Zyntro API to import into (default: $ZYNTRO_BASE_URL, or Zyntro's)",
    )
    parser.add_argument(
        "--lookup-by",
        choices=("email", "phone", "contact_id"),
        default=None,
        help="how contacts are matched, for the lines that do not say (default: email)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help="timeout of each HTTP attempt (default: the client's, 30)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="log every request (credentials redacted) on standard error",
    )


class _UsageError(Exception):
    """Reported on standard error; exit status 2."""


def run(args: argparse.Namespace) -> int:
    """Run ``import`` with parsed arguments.

    Args:
        args: From the parser :func:`add_parser` registered.

    Returns:
        The exit status (0, 1, 2, or 130/143 after SIGINT/SIGTERM).
    """
    from zyntro_async._errors import JournalError
    from zyntro_async.cli._readers import (
        ImportReader,
        ImportUsageError,
        TableOptions,
        detect_format,
    )

    try:
        path: Path = args.file
        fmt = detect_format(path, args.format)
        options = TableOptions.from_flags(
            maps=args.column_maps,
            mapping=args.mapping,
            custom_fields=args.custom_fields,
            ignore_unknown_columns=args.ignore_unknown_columns,
            delimiter=args.delimiter,
            encoding=args.encoding,
            sheet=args.sheet,
        )
        reader = ImportReader(path, fmt, options=options)
        reader.check()
        for notice in reader.notices:
            print(f"{_PROG}: note: {notice}", file=sys.stderr)
        if args.no_journal and args.journal is not None:
            raise _UsageError("--journal and --no-journal contradict each other")
        if args.emulator and args.base_url is not None:
            raise _UsageError("--base-url and --emulator contradict each other")
        journal = None if args.dry_run else journal_path(args, path)
        for flag, given in (
            ("--retry-unknown", args.retry_unknown),
            ("--retry-changed", args.retry_changed),
        ):
            if given and journal is None:
                raise _UsageError(
                    f"{flag} only makes sense with --journal (or the default journal, "
                    "which --emulator and --no-journal turn off)"
                )
        _check_output_path("--journal", journal, path)
        _check_output_path("--export", args.export, path)
        if args.dry_run:
            return _dry_run(reader, args.export)
        client = (
            None
            if args.emulator
            else _client_from_environment(
                args.member_id, base_url=args.base_url, timeout=args.timeout
            )
        )
    except (ImportUsageError, _UsageError) as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    args.journal = journal
    args.loop = loop = choose_loop()
    if args.verbose:
        _log_to_stderr()
    if args.emulator and journal is not None and journal.exists():
        print(
            f"{_PROG}: note: --emulator starts empty on every run, but {journal} "
            "remembers the previous run: what succeeded then is skipped now",
            file=sys.stderr,
        )
    try:
        return run_loop(_main(args, reader, client), loop)
    except JournalError as exc:
        # Locked by another run, empty, damaged, foreign or newer: nothing was sent.
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except sqlite3.Error as exc:
        print(f"{_PROG}: error: cannot use the journal {journal}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        # The file became unreadable mid-run (what was sent is in the journal, if any).
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # Ctrl-C before the import started (or after it ended): nothing is half done.
        print(f"{_PROG}: interrupted.{_resume_hint(args)}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _dry_run(reader: ImportReader, export: Path | None) -> int:
    """``--dry-run``: validate every row, send nothing (no client, no credentials)."""
    from zyntro_async.cli._dry_run import dry_run

    try:
        summary = dry_run(reader, out=sys.stdout, export=export)
    except OSError as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{_PROG}: dry run interrupted; nothing was sent.", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if summary.clean else EXIT_ITEMS_FAILED


def _resume_hint(args: argparse.Namespace) -> str:
    if args.journal is None:
        return " (no journal: running it again sends everything again)"
    return f" re-run with --journal {args.journal} to resume."


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is now: the live display redirects it above the bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr, flush=True)
        except Exception:
            self.handleError(record)


def _log_to_stderr() -> None:
    """``--verbose``: the SDK's debug log (credentials already redacted by it) on stderr."""
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("zyntro_async")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


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


def missing_credentials(member_id: str | None, environ: dict[str, str] | None = None) -> list[str]:
    """Every ``ZYNTRO_*`` variable an import needs and the environment lacks, in one list.

    Args:
        member_id: ``--member-id``, which stands in for ``ZYNTRO_MEMBER_ID``.
        environ: The environment (default: ``os.environ``).

    Returns:
        The missing variables' names (empty when nothing is missing).
    """
    environ = dict(os.environ) if environ is None else environ
    missing = [name for name in _REQUIRED_ENV if not (environ.get(name) or "").strip()]
    if member_id is None and not (environ.get(_MEMBER_ENV) or "").strip():
        missing.append(_MEMBER_ENV)
    return missing


def _client_from_environment(
    member_id: str | None, *, base_url: str | None = None, timeout: float | None = None
) -> ZyntroClient:
    """A client configured from ``ZYNTRO_*`` variables and the flags, or a usage error."""
    from zyntro_async._client import ZyntroClient
    from zyntro_async._errors import ConfigurationError

    missing = missing_credentials(member_id)
    if missing:
        member = " (or pass --member-id)" if _MEMBER_ENV in missing else ""
        raise _UsageError(
            f"missing credentials: set {_join(missing)}{member}; "
            "or use --emulator to try against a local emulator"
        )
    options: dict[str, Any] = {"member_id": member_id, "base_url": base_url}
    if timeout is not None:
        options["timeout"] = timeout
    try:
        return ZyntroClient(**options)
    except ConfigurationError as exc:
        # A setting that is there but unusable (ZYNTRO_TIMEOUT=soon): named by its variable.
        where = f" (check {exc.variable})" if exc.variable and exc.variable not in str(exc) else ""
        raise _UsageError(f"{exc}{where}") from exc


def _join(names: list[str]) -> str:
    if len(names) == 1:
        return f"the {names[0]} environment variable"
    return f"the {', '.join(names[:-1])} and {names[-1]} environment variables"


async def _main(args: argparse.Namespace, reader: ImportReader, client: ZyntroClient | None) -> int:
    if args.verbose:
        # Said from inside the loop: the loop the import really runs on.
        logging.getLogger("zyntro_async.cli").info(
            "event loop: %s", describe_running_loop(args.loop)
        )
    emulator: Emulator | None = None
    try:
        if client is None:
            from zyntro_async.testing import DEFAULT_CUSTOM_FIELDS, Emulator

            # The demo organization's custom fields, plus any the CSV declares.
            extra_fields = {
                name: None for name in reader.custom_fields if name not in DEFAULT_CUSTOM_FIELDS
            }
            emulator = Emulator.demo(custom_fields=extra_fields)
            await emulator.start(host="127.0.0.1", port=0)
            overrides: dict[str, Any] = {"member_id": args.member_id} if args.member_id else {}
            if args.timeout is not None:
                overrides["timeout"] = args.timeout
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

    from zyntro_async.bulk import BulkAbortedError, BulkReport, cancelled_report
    from zyntro_async.cli import _progress

    journal: Path | None = args.journal
    known_total = _announce_journal(args, reader)
    tally = _progress.Tally()
    display, summary_console = _make_display(args, tally)
    where = "the embedded emulator" if emulator is not None else client.config.base_url
    display.start(f"importing {reader.path.name} ({reader.format}) into {where}")
    report: BulkReport | None = None
    # Every result also lands here: in-flight counts, and the report if the run gives none.
    received = BulkReport()
    stopped: str | None = None
    unreadable: OSError | None = None  # the input failed mid-run (a disk error)

    stop_counting = threading.Event()

    counted: list[int] = []  # the input's count, once the thread has it
    count_ended = anyio.Event()

    async def count_items() -> None:
        # In a worker thread, while the import runs: the bar gets its total when known.
        try:
            total = await anyio.to_thread.run_sync(
                functools.partial(reader.count, cancelled=stop_counting), abandon_on_cancel=True
            )
        except OSError:
            total = None
        if total is not None:
            counted.append(total)
            display.set_total(total)
        count_ended.set()

    gate = Gate(iter(reader), lookup_by=args.lookup_by)

    def on_result(result: ItemResult) -> None:
        received.add(result)
        tally.add(result)
        gate.check(result)

    run_scope = anyio.CancelScope()
    stopper = Stopper(
        gate,
        run_scope,
        grace=args.grace,
        in_flight=lambda: gate.pulled - received.total,
    )
    started = anyio.current_time()
    with stopper.installed():
        try:
            with single_errors():
                async with anyio.create_task_group() as tg:
                    if known_total is None:
                        tg.start_soon(count_items)
                    else:
                        display.set_total(known_total)
                    try:
                        with run_scope:
                            try:
                                total = known_total
                                if total is None:
                                    # An input counted within a moment tells the run its
                                    # length: the pacing probes a first limit sooner where
                                    # enough of the run is left (RateGovernor.work_left).
                                    with anyio.move_on_after(_COUNT_WAIT):
                                        await count_ended.wait()
                                    total = counted[0] if counted else None
                                report = await client.bulk.run(
                                    gate.items,
                                    total=total,
                                    concurrency=args.concurrency,
                                    max_per_second=args.max_per_second,
                                    journal=journal,
                                    retry_unknown=args.retry_unknown,
                                    retry_changed=args.retry_changed,
                                    fail_fast=args.fail_fast,
                                    max_failures=args.max_failures,
                                    on_progress=display.update,
                                    on_result=on_result,
                                    progress_interval=0.25,
                                    rate_limit_stall=args.rate_limit_stall,
                                    max_pause=args.max_pause,
                                    on_long_pause=args.on_long_pause,
                                )
                            except anyio.get_cancelled_exc_class() as cancelled:
                                # Stopped at once (second signal, grace over): the run's
                                # report of every item pulled comes with the cancellation.
                                report = cancelled_report(cancelled)
                                raise
                    except BulkAbortedError as exc:
                        report = exc.report
                        if isinstance(exc.reason, OSError):
                            unreadable = exc.reason
                        if not stopper.forced:  # a forced stop is reported as such
                            stopped = _progress.describe_error(exc.reason) or str(exc)
                    finally:
                        tg.cancel_scope.cancel()
        finally:
            stop_counting.set()
            gate.close()
            display.stop()
        if report is None:
            # Stopped before the run could say (a cancellation from elsewhere): every
            # result it handed over is in ``received``; the journal is closed.
            report = received
            report.elapsed = anyio.current_time() - started
        # Still under the signal handlers: a signal now does not cut the summary short.
        status = _conclude(
            args,
            reader,
            report,
            emulator=emulator,
            summary_console=summary_console,
            tally=tally,
            gate=gate,
            stopper=stopper,
            stopped=stopped,
        )
        if unreadable is not None and stopper.signum is None:
            # What was read is reported (and journaled); the file itself is unusable.
            print(f"{_PROG}: error: cannot read {reader.path}: {unreadable}", file=sys.stderr)
            return EXIT_USAGE
        return status


def _conclude(
    args: argparse.Namespace,
    reader: ImportReader,
    report: BulkReport,
    *,
    emulator: Emulator | None,
    summary_console: Any,
    tally: Tally,
    gate: Gate,
    stopper: Stopper,
    stopped: str | None,
) -> int:
    """Print the summary, write ``--export``; return the exit status."""
    import attrs

    from zyntro_async.bulk import Status
    from zyntro_async.cli import _progress

    def source_of(result: ItemResult) -> str:
        source = getattr(result.op, "source", None)
        return source if isinstance(source, str) else reader.source(result.index)

    rows = [
        attrs.evolve(row, message=in_cli_terms(row.message))
        for row in _progress.attention_rows(report, source_of)
    ]
    interrupted = stopper.signum is not None
    if stopped is not None or gate.reason is not None or interrupted:
        title = f"Import of {reader.path.name} stopped early"
    else:
        title = f"Imported {reader.path.name}"
    if report.total and tally.sent == 0 and report.all_succeeded and not interrupted:
        print(
            f"nothing left to do: all {report.total:,} items of {reader.path.name} were "
            f"already imported (journal {args.journal})",
            flush=True,
        )
    example = _example_note(reader.path) if not report.all_succeeded else None
    if example is not None:
        print(example, flush=True)
    export = str(args.export) if args.export is not None else None
    _progress.render_summary(
        report,
        title=title,
        rows=rows,
        console=summary_console,
        stream=sys.stdout,
        export_path=export,
    )
    if gate.reason is not None:
        print(
            f"stopped early: Zyntro refused the credentials or the account "
            f"({_progress.describe_error(gate.reason)}); every other item would fail the "
            "same way. Check the ZYNTRO_* variables (and --member-id), then run it again.",
            flush=True,
        )
    elif stopped is not None:
        print(f"stopped early: {in_cli_terms(stopped)}", flush=True)
    if report.shared_keys:
        print(shared_keys_line(report, reader.source), flush=True)
    unknown = report.counts[Status.UNKNOWN] + report.child_counts[Status.UNKNOWN]
    if unknown and args.journal is not None and not args.retry_unknown:
        print(
            f"{unknown:,} unknown: they may have been applied, so rerunning does not send them "
            "again. Check them in Zyntro; rerun with --retry-unknown to send them all again "
            "(any already applied would then be there twice), or import only the missing "
            "ones from --export.",
            flush=True,
        )
    advice = _progress.rate_limit_line(report)
    if advice is not None:
        print(advice, flush=True)
    if args.export is not None:
        # Completion order is arbitrary; input order is what a person fixing the file wants.
        report.results.sort(key=lambda result: result.index)
        written = report.export(args.export, rephrase=in_cli_terms)
        print(f"wrote {written} line(s) needing attention to {args.export}", flush=True)
    if emulator is not None:
        print(_emulator_contents(emulator), flush=True)
    if stopper.signum is not None:
        name = signal.Signals(stopper.signum).name
        print(f"{_PROG}: interrupted by {name}.{_resume_hint(args)}", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED if stopper.signum == signal.SIGINT else EXIT_TERMINATED
    if gate.reason is not None:
        return EXIT_USAGE
    if report.all_succeeded and stopped is None:
        return EXIT_OK
    where = (
        f"they are in {args.export}"
        if args.export is not None
        else "use --export PATH to get them in a file to fix and import again"
    )
    print(f"exit status 1: some items need attention; {where}", flush=True)
    return EXIT_ITEMS_FAILED


# The library's messages name its Python options; on the command line, these flags.
_CLI_OPTIONS = (
    ("retry_unknown=True", "--retry-unknown"),
    ("retry_changed=True", "--retry-changed"),
)


def in_cli_terms(message: str) -> str:
    """``message`` naming the command's flags where it names the library's options.

    Args:
        message: An item's error message (``"... retry_unknown=True sends it anyway"``).

    Returns:
        The message as the command's user acts on it (``"--retry-unknown ..."``).
    """
    for python, flag in _CLI_OPTIONS:
        message = message.replace(python, flag)
    return message


def shared_keys_line(report: BulkReport, source: Callable[[int], str]) -> str:
    """The summary's line about rows that shared a contact's e-mail, phone or id.

    Args:
        report: The run's report (``shared_keys``, ``shared_key_examples``).
        source: Where the item at an index came from (``contacts.csv:17``).

    Returns:
        ``"3 rows shared a contact with an earlier row ...: contacts.csv:5 after ..."``.
    """
    shown = report.shared_key_examples[:3]
    where = ", ".join(
        f"{source(shared.index)} after {source(shared.earlier)} ({shared.key})" for shared in shown
    )
    more = report.shared_keys - len(shown)
    if more > 0:
        where += f", and {more:,} more"
    rows = "row" if report.shared_keys == 1 else "rows"
    return (
        f"{report.shared_keys:,} {rows} shared a contact's e-mail, phone or id with an earlier "
        f"row: each ran after it, one at a time, and updated that contact: {where}"
    )


def _announce_journal(args: argparse.Namespace, reader: ImportReader) -> int | None:
    """The first line: what the journal resumes, or what running without one risks.

    Returns:
        The number of items in the input, when it was counted for the line.
    """
    journal: Path | None = args.journal
    if journal is None:
        if args.no_journal:
            say(
                "no journal (--no-journal): running this again, or after an interruption, "
                "sends everything again and duplicates the notes, attachments and comms "
                "entries already imported"
            )
        return None
    done = journal_done(journal)
    if done is None:
        say(f"journal {journal} (run the same command again to resume)")
        return None
    total = reader.count()
    of = f" of {total:,}" if total is not None else ""
    say(f"resuming: {done:,}{of} already done, journal {journal}")
    return total


_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _example_note(path: Path) -> str | None:
    """For the bundled example data: its failures are on purpose (before the summary)."""
    import json

    try:
        marker = json.loads((path.parent / EXAMPLE_MARKER).read_text(encoding="utf-8"))
        refused = marker[path.name]["refused"]
        lines = [int(line) for line in marker[path.name].get("lines", [])]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(refused, int) or refused < 1:
        return None
    count = _NUMBER_WORDS[refused] if refused < len(_NUMBER_WORDS) else f"{refused:,}"
    where = f" (lines {', '.join(map(str, lines))})" if 0 < len(lines) == refused else ""
    rows = "row" if refused == 1 else "rows"
    return (
        f"note: {path.name} is example data: it contains {count} {rows}{where} that the API "
        f"refuses on purpose, to show how failures are reported (see "
        f"{path.parent / 'README.md'}); exit status 1 means some items need attention."
    )


def _make_display(args: argparse.Namespace, tally: Tally) -> tuple[ProgressDisplay, Any]:
    """The progress display for this run, and a rich console for the summary (or None).

    Without rich (installed without the ``cli`` extra), terminals get the plain output.
    """
    from zyntro_async.cli import _progress

    try:
        from rich.console import Console
    except ImportError:
        Console = None  # type: ignore[assignment,misc]
    summary_console = None
    if Console is not None and sys.stdout.isatty() and not args.quiet:
        summary_console = Console(file=sys.stdout)
    if args.quiet:
        return _progress.SilentDisplay(), summary_console
    if Console is not None and sys.stderr.isatty():
        return _progress.RichDisplay(Console(file=sys.stderr), tally=tally), summary_console
    return _progress.PlainDisplay(sys.stderr, tally=tally), summary_console


def _emulator_contents(emulator: Emulator) -> str:
    return (
        f"the emulator now holds {len(emulator.contacts)} contacts "
        f"({len(emulator.entities)} companies), {len(emulator.notes)} notes, "
        f"{len(emulator.attachments)} attachments and {len(emulator.comms)} comms entries "
        "(it is discarded when this command exits; drop --emulator to import into Zyntro)"
    )
