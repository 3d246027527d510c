"""``zyntro-async import --dry-run``: read, map and validate every row; send nothing.

Every row goes through exactly what a real import does before sending (the reader, the
column mapping, the import-format converter and the operations' own validation: fields,
URLs, attachment files that exist, are regular files and have an allowed MIME type), plus
what only a look at the whole file shows:

- an attachment file that exists but cannot be read by this user;
- rows that share an upsert key (the same e-mail, compared in lower case as the API does;
  the same phone, compared by its digits): the later row would update the contact the
  earlier one created, which in an export from another CRM is nearly always a duplicate.

Every problem of every row is printed with the row's place and the field, then what the
import would send (contacts, notes, links, files, comms entries). No client is made, no
credentials are needed, and no connection is opened.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from zyntro_async._errors import ImportLineError, RequestValidationError
from zyntro_async.bulk._format import line_from_op
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
from zyntro_async.bulk._report import _json_line

if TYPE_CHECKING:
    from zyntro_async.cli._readers import ImportReader

__all__ = ["DryRunSummary", "dry_run", "line_problems"]

Problem = tuple[str, str]
"""``(field path, message)``, the path as the import format names it."""

_KINDS = ("contacts", "notes", "links", "files", "comms")


def line_problems(error: RequestValidationError) -> list[Problem]:
    """Every problem an import line's error holds.

    Args:
        error: What the converter raised: an :class:`~zyntro_async.ImportLineError` holds
            them all, a plain :class:`~zyntro_async.RequestValidationError` one.

    Returns:
        ``(field, message)`` pairs.
    """
    if isinstance(error, ImportLineError):
        return list(error.problems)
    return [(error.field, error.message)]


@attrs.define
class DryRunSummary:
    """What a dry run found.

    Attributes:
        rows: Items read (rows or lines).
        bad_rows: Items with at least one problem.
        problems: Problems found, all rows together.
        would_send: Operations the valid items would send, by kind (``contacts``,
            ``notes``, ``links``, ``files``, ``comms``).
    """

    rows: int = 0
    bad_rows: int = 0
    problems: int = 0
    would_send: dict[str, int] = attrs.field(factory=lambda: dict.fromkeys(_KINDS, 0))

    @property
    def clean(self) -> bool:
        """No problem in any row."""
        return self.bad_rows == 0


class _SeenKeys:
    """The first row of each upsert key (member, lookup, normalised value)."""

    def __init__(self) -> None:
        self._first: dict[tuple[str | None, str, str], str] = {}

    def check(self, op: ContactBundle | UpsertContact, source: str) -> list[Problem]:
        contact = op.contact
        if op.lookup_by == "email" and contact.primary_email:
            field, value = "contact.primaryEmail", contact.primary_email
            key = value.lower()
        elif op.lookup_by == "phone" and contact.primary_phone:
            field, value = "contact.primaryPhone", contact.primary_phone
            key = re.sub(r"\D", "", value)
        else:
            return []
        first = self._first.setdefault((op.member_id, op.lookup_by, key), source)
        if first == source:
            return []
        return [
            (
                field,
                f"{value!r} is also the key of {first}: this row would update the contact "
                "that one creates (merge the rows, or remove one)",
            )
        ]


def _children(op: Operation) -> Iterator[tuple[str, Operation]]:
    if isinstance(op, ContactBundle):
        for group, children in (
            ("notes", op.notes),
            ("attachments", op.attachments),
            ("comms", op.comms),
        ):
            for position, child in enumerate(children):
                yield f"{group}[{position}].", child
    else:
        yield "", op


def _file_problems(op: Operation) -> list[Problem]:
    """Attachment files that exist (the operation checked) but this user cannot read."""
    problems: list[Problem] = []
    for prefix, child in _children(op):
        if isinstance(child, AddFile) and isinstance(child.file, str | os.PathLike):
            path = Path(child.file)
            if not os.access(path, os.R_OK):
                problems.append((f"{prefix}path", f"{path} cannot be read (permission denied)"))
    return problems


def _count(op: Operation, would_send: dict[str, int]) -> None:
    if isinstance(op, ContactBundle | UpsertContact):
        would_send["contacts"] += 1
    for _, child in _children(op):
        if isinstance(child, AddNote):
            would_send["notes"] += 1
        elif isinstance(child, AddLink):
            would_send["links"] += 1
        elif isinstance(child, AddFile):
            would_send["files"] += 1
        elif isinstance(child, LogComms):
            would_send["comms"] += 1


def _export_line(op: Operation, problems: list[Problem], export: Path) -> dict[str, Any]:
    """The row in the import format, with its problems (what ``report.export`` writes).

    File paths are written so that they resolve from the export file's folder.
    """
    line = line_from_op(op, relative_to=export.parent)
    line["error"] = {
        "code": "REQUEST_VALIDATION",
        "message": "; ".join(f"{field}: {message}" for field, message in problems),
        "status": "failed",
    }
    return line


def dry_run(reader: ImportReader, *, out: TextIO, export: Path | None = None) -> DryRunSummary:
    """Validate every item of ``reader`` and report, sending nothing.

    Args:
        reader: A checked reader (:meth:`ImportReader.check` passed).
        out: Where the problems and the summary are written.
        export: When given, the items with problems are written there as JSONL in the
            import format (each with ``"error"``), ready to fix and import.

    Returns:
        What was found.

    Raises:
        OSError: The input cannot be read, or the export cannot be written.
    """
    summary = DryRunSummary()
    keys = _SeenKeys()
    with contextlib.ExitStack() as stack:
        export_handle = (
            stack.enter_context(export.open("w", encoding="utf-8")) if export is not None else None
        )
        for index, item in enumerate(reader):
            summary.rows += 1
            source = reader.source(index)
            if isinstance(item, InvalidItem):
                source = item.source or source
                problems = line_problems(item.error)
            else:
                problems = _file_problems(item)
                if isinstance(item, ContactBundle | UpsertContact):
                    problems += keys.check(item, source)
            if not problems:
                _count(item, summary.would_send)
                continue
            summary.bad_rows += 1
            summary.problems += len(problems)
            for field, message in problems:
                out.write(f"{source}  {field}: {message}\n")
            if export_handle is not None and export is not None:
                export_handle.write(_json_line(_export_line(item, problems, export)))
    _write_summary(reader.path.name, summary, out, export)
    return summary


def _write_summary(name: str, summary: DryRunSummary, out: TextIO, export: Path | None) -> None:
    ready = summary.rows - summary.bad_rows
    verdict = (
        "no problems"
        if summary.clean
        else f"{summary.bad_rows} with problems ({summary.problems} in all)"
    )
    out.write(f"dry run of {name}: {summary.rows} rows read, {ready} ready, {verdict}\n")
    sends = summary.would_send
    parts = [
        _plural(sends["contacts"], "contact"),
        _plural(sends["notes"], "note"),
        _plural(sends["links"], "link"),
        _plural(sends["files"], "file"),
        _plural(sends["comms"], "comms entry", "comms entries"),
    ]
    out.write(f"would send: {', '.join(parts)}; nothing was sent (--dry-run)\n")
    if export is not None:
        out.write(f"wrote {summary.bad_rows} line(s) needing attention to {export}\n")
    out.flush()


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"
