"""Import files -> bulk operations, lazily: a million-row file is never held in memory.

Two formats:

- **JSONL**: one operation a line, in the import format (:mod:`zyntro_async.bulk._format`);
  attachment paths are relative to the file's directory.
- **CSV**: one contact a row. Columns are the API's contact field names (``firstName``,
  ``lastName``, ``primaryEmail``, ``primaryPhone``, ``source``, ``status``, ``roleLabel``)
  plus ``tags`` (``;``-separated), ``company`` (the entity's name), ``note`` (one note) and
  ``attachment`` (an ``http(s)://`` URL becomes a link named after it; anything else is a
  file path relative to the CSV). Other columns are custom fields, and must be declared
  (``--custom-field NAME``): an undeclared column is more likely a typo than a field, so
  it stops the import before anything is sent (:class:`ImportUsageError`).

Both are UTF-8, with or without a byte-order mark. Blank lines and empty rows are skipped.
A line or row that cannot be used, down to one that cannot even be parsed, is yielded as
an :class:`~zyntro_async.bulk.InvalidItem` naming its place (``contacts.csv:17``), so the
run reports it as ``failed`` and goes on. Only a CSV header that cannot be used (or parsed)
stops the import, before anything is sent (:class:`ImportUsageError`). Each CSV row is
turned into the JSONL form first, so its errors name the same fields
(``contact.primaryEmail``, ``attachments[0].path``), and ``report.export`` writes it back
as a JSONL line ready to fix and import.
"""

from __future__ import annotations

import csv
import difflib
import json
import threading
from array import array
from collections.abc import Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

from zyntro_async._errors import RequestValidationError
from zyntro_async.bulk._format import CONTACT_KEYS, item_from_line
from zyntro_async.bulk._ops import InvalidItem, Operation

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "ImportReader",
    "ImportUsageError",
    "count_items",
    "detect_format",
    "read_csv",
    "read_jsonl",
]

Format = Literal["csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl")

_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonlines": "jsonl",
}

_CONTACT_COLUMNS = tuple(name for name in CONTACT_KEYS if name not in ("tags", "customFields"))
CSV_COLUMNS: tuple[str, ...] = (*_CONTACT_COLUMNS, "tags", "company", "note", "attachment")
"""Columns the CSV reader knows; others must be declared custom fields."""

_BOM = b"\xef\xbb\xbf"


class ImportUsageError(Exception):
    """The file cannot be imported as asked (wrong format, unknown columns, ...).

    Raised before anything is sent; the command line exits with status 2.
    """


def detect_format(path: Path, explicit: str | None = None) -> Format:
    """The file's format: ``explicit`` when given, else from the extension.

    Args:
        path: The input file.
        explicit: ``"csv"`` or ``"jsonl"`` (``--format``), or ``None``.

    Returns:
        ``"csv"`` or ``"jsonl"``.

    Raises:
        ImportUsageError: No format given and the extension is not a known one.
    """
    if explicit is not None:
        if explicit not in FORMATS:
            raise ImportUsageError(f"unknown format {explicit!r}; use csv or jsonl")
        return "csv" if explicit == "csv" else "jsonl"
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise ImportUsageError(
            f"cannot tell the format of {path.name} from its extension; "
            "pass --format csv or --format jsonl"
        )
    return found


# ------------------------------------------------------------------------------ JSONL


def read_jsonl(
    path: Path, *, line_numbers: array[int] | None = None
) -> Generator[Operation, None, None]:
    """Yield one operation per non-blank line of a JSONL import file.

    Args:
        path: The file; attachment paths in it are relative to its directory.
        line_numbers: When given, the line number of each yielded item is appended
            (so a result's ``index`` can be traced back to its line).

    Yields:
        Operations; :class:`~zyntro_async.bulk.InvalidItem` for a line that is not valid
        UTF-8, not JSON, JSON that Python cannot hold (nested too deeply, an integer of
        thousands of digits), not an object, or not a valid operation.

    Raises:
        OSError: The file cannot be opened or read.
    """
    base_dir = path.parent.resolve()
    with path.open("rb") as handle:
        for number, data in _jsonl_lines(handle):
            if line_numbers is not None:
                line_numbers.append(number)
            yield _jsonl_item(data, base_dir, f"{path.name}:{number}")


def _jsonl_lines(handle: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of a JSONL file, numbered from 1, without a leading BOM.

    The one definition of "a line is an item", shared by the reader and the counter.
    """
    for number, raw_line in enumerate(handle, start=1):
        data = raw_line.removeprefix(_BOM) if number == 1 else raw_line
        if data.strip():
            yield number, data


def _jsonl_item(data: bytes, base_dir: Path, source: str) -> Operation:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        error = RequestValidationError("line", f"is not valid UTF-8 (byte {exc.start})")
        return InvalidItem(error, source=source, raw=data.decode("utf-8", "replace").strip())
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        error = RequestValidationError("line", f"is not valid JSON: {exc.msg} (column {exc.colno})")
        return InvalidItem(error, source=source, raw=text.strip())
    except RecursionError:
        error = RequestValidationError("line", "is nested too deeply")
        return InvalidItem(error, source=source, raw=text.strip()[:200])
    except ValueError:
        # Valid JSON that Python refuses to convert: an integer longer than
        # sys.get_int_max_str_digits() (4300 digits by default). Kept whole as text.
        error = RequestValidationError("line", "has a number with too many digits to read")
        return InvalidItem(error, source=source, raw=text.strip())
    return item_from_line(parsed, base_dir=base_dir, source=source)


# -------------------------------------------------------------------------------- CSV


def check_csv_header(path: Path, *, custom_fields: Sequence[str] = ()) -> list[str]:
    """Read and check a CSV file's header row.

    Args:
        path: The CSV file.
        custom_fields: Columns declared as custom fields (``--custom-field``).

    Returns:
        The column names, in order.

    Raises:
        ImportUsageError: No header, a header that is not valid CSV (a name longer than
            ``csv.field_size_limit()``, a stray line break, ...), a blank or repeated
            column name, an undeclared column, a declared custom field with no column,
            or no ``primaryEmail`` column.
        OSError: The file cannot be read.
    """
    with path.open("rb") as handle:
        header, _ = _csv_records(path.name, handle)
    if not header or not any(name.strip() for name in header):
        raise ImportUsageError(f"{path.name} has no header row (the first row names the columns)")
    columns = [name.strip() for name in header]
    for position, name in enumerate(columns, start=1):
        if not name:
            raise ImportUsageError(f"{path.name}: column {position} has no name")
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise ImportUsageError(f"{path.name}: column {repeated[0]!r} appears more than once")
    declared = list(dict.fromkeys(custom_fields))
    clash = [name for name in declared if name in CSV_COLUMNS]
    if clash:
        raise ImportUsageError(
            f"--custom-field {clash[0]}: {clash[0]!r} is a contact column, not a custom field"
        )
    unknown = [name for name in columns if name not in CSV_COLUMNS and name not in declared]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, CSV_COLUMNS, n=1)
        hint = (
            f"did you mean {close[0]!r}? "
            if close
            else f"if it is a custom field, pass --custom-field {name}; "
        )
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise ImportUsageError(
            f"{path.name}: unknown column {name!r}{more}: {hint}known columns are "
            f"{', '.join(CSV_COLUMNS)}"
        )
    missing = [name for name in declared if name not in columns]
    if missing:
        raise ImportUsageError(
            f"--custom-field {missing[0]}: {path.name} has no column named {missing[0]!r}"
        )
    if "primaryEmail" not in columns:
        raise ImportUsageError(
            f"{path.name} has no primaryEmail column: contacts are matched by e-mail"
        )
    return columns


def read_csv(
    path: Path,
    *,
    custom_fields: Sequence[str] = (),
    line_numbers: array[int] | None = None,
) -> Generator[Operation, None, None]:
    """Yield one :class:`~zyntro_async.bulk.ContactBundle` per non-empty CSV row.

    Call :func:`check_csv_header` first: this generator assumes the header is valid.

    A row the ``csv`` module cannot parse (a cell longer than ``csv.field_size_limit()``,
    a NUL byte on Python 3.10, a bare carriage return inside an unquoted cell) is an
    :class:`~zyntro_async.bulk.InvalidItem` like any other bad row; reading goes on at
    the next line (after a cell that was too long, that line may be the rest of the
    broken row, and then fails too: each is reported, none stops the import).

    Args:
        path: The CSV file (UTF-8, with or without a byte-order mark).
        custom_fields: Columns that are custom fields.
        line_numbers: When given, the line number each yielded row starts on is appended.

    Yields:
        Bundles; :class:`~zyntro_async.bulk.InvalidItem` for a row that cannot be used
        (not valid CSV, too many values, not UTF-8, invalid field), whose ``raw`` is the
        row in the JSONL import format (the row's text, when it could not be parsed).

    Raises:
        ImportUsageError: The header row is not valid CSV (see :func:`check_csv_header`),
            raised before anything is yielded.
        OSError: The file cannot be opened or read.
    """
    base_dir = path.parent.resolve()
    declared = set(custom_fields)
    bad_lines: set[int] = set()
    with path.open("rb") as handle:
        names, records = _csv_records(path.name, handle, bad_lines)
        header = [name.strip() for name in names or ()]
        for start, end, row in records:
            if line_numbers is not None:
                line_numbers.append(start)
            source = f"{path.name}:{start}"
            if isinstance(row, _Unparsable):
                error = RequestValidationError("row", f"is not valid CSV: {row.reason}")
                yield InvalidItem(error, source=source, raw=row.text)
            elif any(number in bad_lines for number in range(start, end + 1)):
                error = RequestValidationError("row", "is not valid UTF-8")
                yield InvalidItem(error, source=source, raw=row)
            else:
                yield _csv_item(row, header, declared, base_dir, source)


class _Unparsable(NamedTuple):
    """A CSV record the ``csv`` module refused."""

    reason: str  # the csv.Error's message
    text: str  # the lines it was read from, as read


_Record = tuple[int, int, "list[str] | _Unparsable"]


def _csv_records(
    name: str, handle: Iterable[bytes], bad_lines: set[int] | None = None
) -> tuple[list[str] | None, Iterator[_Record]]:
    """Parse a CSV file's header, and the records after it that are items.

    The one definition of "a row is an item", shared by the reader and the counter.

    Args:
        name: The file's name, for messages.
        handle: The file, opened in binary mode.
        bad_lines: Where to note the numbers of lines that are not valid UTF-8.

    Returns:
        The header (``None`` for an empty file) and, lazily, ``(first line, last line,
        row)`` for each record that is not empty, with an :class:`_Unparsable` in place
        of the row when the record could not be parsed.

    Raises:
        ImportUsageError: The header row is not valid CSV.
    """
    taken: list[str] = []  # the lines of the record being parsed
    rows = csv.reader(_decoded_lines(handle, set() if bad_lines is None else bad_lines, taken))
    try:
        header = next(rows, None)
    except csv.Error as exc:
        raise ImportUsageError(
            f"{name}: the header row (line {rows.line_num}) is not valid CSV: {exc}"
        ) from exc

    def records() -> Iterator[_Record]:
        last_line = rows.line_num
        while True:
            start = last_line + 1
            taken.clear()
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:
                # The parser starts afresh on the next line: report this record, go on.
                last_line = rows.line_num
                yield start, last_line, _Unparsable(str(exc), "".join(taken).rstrip("\r\n"))
                continue
            last_line = rows.line_num
            if any(cell.strip() for cell in row):
                yield start, last_line, row

    return header, records()


def _csv_item(
    row: Sequence[str], header: Sequence[str], declared: set[str], base_dir: Path, source: str
) -> Operation:
    if len(row) > len(header):
        error = RequestValidationError(
            "row", f"has {len(row)} values but the header has {len(header)} columns"
        )
        return InvalidItem(error, source=source, raw=list(row))
    cells = {name: value.strip() for name, value in zip(header, row, strict=False) if value.strip()}
    line = _csv_line(cells, declared, base_dir)
    return item_from_line(line, base_dir=base_dir, source=source)


def _csv_line(cells: dict[str, str], declared: set[str], base_dir: Path) -> dict[str, Any]:
    """One CSV row in the JSONL import format (file paths made absolute)."""
    contact: dict[str, Any] = {name: cells[name] for name in _CONTACT_COLUMNS if name in cells}
    if "tags" in cells:
        tags = [tag.strip() for tag in cells["tags"].split(";") if tag.strip()]
        if tags:
            contact["tags"] = tags
    custom = {name: value for name, value in cells.items() if name in declared}
    if custom:
        contact["customFields"] = custom
    line: dict[str, Any] = {"contact": contact}
    if "company" in cells:
        line["entity"] = {"name": cells["company"]}
    if "note" in cells:
        line["notes"] = [{"note": cells["note"]}]
    if "attachment" in cells:
        line["attachments"] = [_csv_attachment(cells["attachment"], base_dir)]
    return line


def _csv_attachment(value: str, base_dir: Path) -> dict[str, Any]:
    if "://" in value:
        return {"name": _name_from_url(value), "url": value}
    try:
        path = Path(value).expanduser()
    except (RuntimeError, ValueError):  # "~nosuchuser/...": op_from_line refuses it by name
        return {"path": value}
    return {"path": str(path if path.is_absolute() else base_dir / path)}


def _name_from_url(url: str) -> str:
    """``https://acme.com/files/deck.pdf`` -> ``deck.pdf``; ``https://acme.com`` -> ``acme.com``."""
    rest = url.split("://", 1)[1].split("?", 1)[0].split("#", 1)[0]
    host, _, path = rest.partition("/")
    segments = [segment for segment in path.split("/") if segment]
    return segments[-1] if segments else host or url


def _decoded_lines(handle: Iterable[bytes], bad_lines: set[int], taken: list[str]) -> Iterator[str]:
    """Decode a binary file line by line; undecodable lines are noted and replaced.

    Each line is also appended to ``taken`` (which the caller clears between records).
    """
    for number, raw_line in enumerate(handle, start=1):
        data = raw_line.removeprefix(_BOM) if number == 1 else raw_line
        try:
            line = data.decode("utf-8")
        except UnicodeDecodeError:
            bad_lines.add(number)
            line = data.decode("utf-8", "replace")
        taken.append(line)
        yield line


# ------------------------------------------------------------------------------ both


def count_items(path: Path, fmt: Format, *, cancelled: threading.Event | None = None) -> int | None:
    """Count the items :class:`ImportReader` will yield, streaming (for a progress total).

    Args:
        path: The input file.
        fmt: Its format.
        cancelled: When set (from another thread), counting stops and returns ``None``.

    Returns:
        Non-blank lines (JSONL; a byte-order mark alone is blank) or non-empty rows after
        the header, parsable or not (CSV; ``0`` when the header itself cannot be parsed,
        as :func:`read_csv` then yields nothing); ``None`` when cancelled.

    Raises:
        OSError: The file cannot be read.
    """
    count = 0
    with path.open("rb") as handle:
        records: Iterator[object]
        if fmt == "jsonl":
            records = _jsonl_lines(handle)
        else:
            try:
                _, records = _csv_records(path.name, handle)
            except ImportUsageError:
                return 0  # read_csv refuses such a file before yielding anything
        for count, _ in enumerate(records, start=1):
            if cancelled is not None and count % 4096 == 0 and cancelled.is_set():
                return None
    if cancelled is not None and cancelled.is_set():
        return None
    return count


class ImportReader:
    """One input file: checks it, yields its operations, and maps results to lines.

    Iterating opens the file afresh each time and reads it lazily; the line number of
    every item yielded is remembered (4 bytes per item), so :meth:`source` can say where
    a failed item came from.

    Args:
        path: The input file.
        fmt: ``"csv"`` or ``"jsonl"``.
        custom_fields: CSV columns that are custom fields.
    """

    def __init__(self, path: Path, fmt: Format, *, custom_fields: Sequence[str] = ()) -> None:
        self.path = path
        self.format: Format = fmt
        self.custom_fields = tuple(custom_fields)
        self._line_numbers: array[int] = array("L")

    def check(self) -> None:
        """Fail early on what would make every item fail.

        Raises:
            ImportUsageError: The file is missing or not a regular file, or (CSV) its
                header is unusable (see :func:`check_csv_header`).
        """
        if not self.path.exists():
            raise ImportUsageError(f"no such file: {self.path}")
        if not self.path.is_file():
            raise ImportUsageError(f"not a regular file: {self.path}")
        try:
            if self.format == "csv":
                check_csv_header(self.path, custom_fields=self.custom_fields)
            else:
                with self.path.open("rb"):
                    pass
        except OSError as exc:
            raise ImportUsageError(f"cannot read {self.path}: {exc.strerror or exc}") from exc

    def __iter__(self) -> Generator[Operation, None, None]:
        self._line_numbers = array("L")
        if self.format == "csv":
            return read_csv(
                self.path, custom_fields=self.custom_fields, line_numbers=self._line_numbers
            )
        return read_jsonl(self.path, line_numbers=self._line_numbers)

    def count(self, *, cancelled: threading.Event | None = None) -> int | None:
        """The number of items, counted by streaming through the file.

        Args:
            cancelled: Stops the count when set (it runs in a worker thread).

        Returns:
            See :func:`count_items`.
        """
        return count_items(self.path, self.format, cancelled=cancelled)

    def source(self, index: int) -> str:
        """Where the item at ``index`` (0-based, in the order yielded) came from.

        Args:
            index: An ``ItemResult.index``.

        Returns:
            ``"contacts.csv:17"``, or the file name alone when not read yet.
        """
        if 0 <= index < len(self._line_numbers):
            return f"{self.path.name}:{self._line_numbers[index]}"
        return self.path.name
