"""Import files -> bulk operations, lazily: a million-row file is never held in memory.

Three formats:

- **JSONL**: one operation a line, in the import format (:mod:`zyntro_async.bulk._format`);
  attachment paths are relative to the file's directory.
- **CSV**: one contact a row. Columns are matched to fields by
  :class:`~zyntro_async.cli._mapping.ColumnPlan`: the API's names and the headers other CRMs
  export (:mod:`zyntro_async.cli._headers`), compared ignoring case and separators, plus
  ``--map``/``--mapping``/``--custom-field``; an unknown column stops the import before
  anything is sent (:class:`ImportUsageError`) unless ``--ignore-unknown-columns``. The
  delimiter is sniffed from the header (``,`` ``;`` tab ``|``) unless ``--delimiter``; the
  encoding is UTF-8 (with or without a byte-order mark) unless ``--encoding``.
- **XLSX** (with the ``xlsx`` extra): like CSV, from the first sheet or ``--sheet``.

Blank lines and empty rows are skipped. A line or row that cannot be used, down to one that
cannot even be parsed (a quote that never closes is reported at the line where it opened,
and reading resumes on the next line), is yielded as an :class:`~zyntro_async.bulk.InvalidItem`
naming its place (``contacts.csv:17``), so the run reports it as ``failed`` and goes on.
Only a header that cannot be used (or parsed) stops the import, before anything is sent.
Each row is turned into the JSONL form first, so its errors name the same fields
(``contact.primaryEmail``, ``attachments[0].path``), and ``report.export`` writes it back
as a JSONL line ready to fix and import.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import csv
import itertools
import json
import re
import threading
from array import array
from collections.abc import Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

import attrs

from zyntro_async._errors import RequestValidationError
from zyntro_async.bulk._format import CONTACT_KEYS, item_from_line
from zyntro_async.bulk._ops import InvalidItem, Operation
from zyntro_async.cli._errors import ImportUsageError
from zyntro_async.cli._mapping import (
    ColumnMap,
    ColumnPlan,
    load_mapping_file,
    parse_map_option,
)
from zyntro_async.cli._xlsx import open_sheet

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "ImportReader",
    "ImportUsageError",
    "TableOptions",
    "check_table_header",
    "count_items",
    "delimiter_option",
    "detect_format",
    "read_csv",
    "read_jsonl",
    "read_table",
    "sniff_delimiter",
]

Format = Literal["csv", "jsonl", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl", "xlsx")

_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonlines": "jsonl",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}

_CONTACT_COLUMNS = tuple(name for name in CONTACT_KEYS if name not in ("tags", "customFields"))
CSV_COLUMNS: tuple[str, ...] = (*_CONTACT_COLUMNS, "tags", "company", "note", "attachment")
"""The import format's own column names (the header table knows many more spellings)."""

_BOM = b"\xef\xbb\xbf"


def detect_format(path: Path, explicit: str | None = None) -> Format:
    """The file's format: ``explicit`` when given, else from the extension.

    Args:
        path: The input file.
        explicit: ``"csv"``, ``"jsonl"`` or ``"xlsx"`` (``--format``), or ``None``.

    Returns:
        ``"csv"``, ``"jsonl"`` or ``"xlsx"``.

    Raises:
        ImportUsageError: No format given and the extension is not a known one.
    """
    if explicit is not None:
        if explicit not in FORMATS:
            raise ImportUsageError(f"unknown format {explicit!r}; use csv, jsonl or xlsx")
        return next(fmt for fmt in FORMATS if fmt == explicit)
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise ImportUsageError(
            f"cannot tell the format of {path.name} from its extension; "
            "pass --format csv or --format jsonl (or --format xlsx)"
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


# ------------------------------------------------------------------------ CSV and XLSX


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _column_maps(values: Iterable[ColumnMap]) -> tuple[ColumnMap, ...]:
    return tuple(values)


@attrs.frozen
class TableOptions:
    """How to read a CSV or XLSX file (the command line's flags).

    Attributes:
        custom_fields: Columns that are custom fields under their own name (``--custom-field``).
        maps: Column mappings (``--map``, then ``--mapping``'s).
        ignore_unknown_columns: Leave out columns that feed nothing known.
        delimiter: The CSV delimiter; sniffed from the header (``,`` ``;`` tab ``|``) if ``None``.
        encoding: The CSV's encoding; ``None`` is UTF-8 with or without a byte-order mark,
            and a file that is not UTF-8 is then refused whole (with a hint) before anything
            is sent; given explicitly, undecodable rows fail one by one instead.
        sheet: The XLSX sheet; ``None`` for the first.
        lookup_by: ``email`` or ``phone``: what contacts are matched by (that column is
            required, and each line carries it when it is not ``email``).
    """

    custom_fields: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    maps: tuple[ColumnMap, ...] = attrs.field(default=(), converter=_column_maps)
    ignore_unknown_columns: bool = False
    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    lookup_by: str = "email"

    @classmethod
    def from_flags(
        cls,
        *,
        maps: Sequence[str] = (),
        mapping: Path | None = None,
        custom_fields: Sequence[str] = (),
        ignore_unknown_columns: bool = False,
        delimiter: str | None = None,
        encoding: str | None = None,
        sheet: str | None = None,
        lookup_by: str = "email",
    ) -> TableOptions:
        """Options from the command line's flags, checked.

        Args:
            maps: ``--map`` values (``SOURCE=TARGET``); they win over ``mapping``'s.
            mapping: ``--mapping FILE`` (TOML or JSON).
            custom_fields: ``--custom-field`` names.
            ignore_unknown_columns: ``--ignore-unknown-columns``.
            delimiter: ``--delimiter`` (``tab`` and friends allowed).
            encoding: ``--encoding``.
            sheet: ``--sheet``.
            lookup_by: What contacts are matched by.

        Returns:
            The options.

        Raises:
            ImportUsageError: A malformed ``--map``, an unreadable mapping file, a bad
                delimiter or an unknown encoding.
        """
        pairs = [parse_map_option(text) for text in maps]
        if mapping is not None:
            pairs += load_mapping_file(mapping)
        return cls(
            custom_fields=custom_fields,
            maps=pairs,
            ignore_unknown_columns=ignore_unknown_columns,
            delimiter=None if delimiter is None else delimiter_option(delimiter),
            encoding=None if encoding is None else _checked_encoding(encoding),
            sheet=sheet,
            lookup_by=lookup_by,
        )

    def plan(self, header: Sequence[str], *, file_name: str) -> ColumnPlan:
        """What each column of ``header`` feeds under these options.

        Args:
            header: The header row's cells.
            file_name: For messages.

        Returns:
            The plan.

        Raises:
            ImportUsageError: See :meth:`ColumnPlan.from_header`.
        """
        return ColumnPlan.from_header(
            header,
            file_name=file_name,
            maps=self.maps,
            custom_fields=self.custom_fields,
            ignore_unknown_columns=self.ignore_unknown_columns,
            lookup_by=self.lookup_by,
        )

    def unused_by(self, fmt: Format) -> list[str]:
        """The flags that mean nothing for a file of format ``fmt``."""
        unused: list[str] = []
        if fmt == "jsonl":
            if self.maps:
                unused.append("--map/--mapping")
            if self.ignore_unknown_columns:
                unused.append("--ignore-unknown-columns")
        if fmt != "csv":
            unused += [
                flag
                for flag, value in (("--delimiter", self.delimiter), ("--encoding", self.encoding))
                if value is not None
            ]
        if fmt != "xlsx" and self.sheet is not None:
            unused.append("--sheet")
        return unused


_DEFAULT_OPTIONS = TableOptions()
_DELIMITERS = (",", ";", "\t", "|")
_EXCEL_SEPARATOR = re.compile(r"sep=([^\r\n\"])\r?\n?")
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
MAX_RECORD_LINES = 200
"""A quoted cell may span this many lines; beyond, its quote is taken as unbalanced."""
_FIELD_LIMIT = csv.field_size_limit()  # a line shorter than this has no cell too long
_SCAN_BYTES = 16 * 1024 * 1024  # how much of a file the UTF-8 check reads before the import


def delimiter_option(text: str) -> str:
    """Read ``--delimiter``: one character, or ``tab``/``\\t``, ``comma``, ``semicolon``, ``pipe``.

    Args:
        text: The flag's value.

    Returns:
        The delimiter character.

    Raises:
        ImportUsageError: Anything else (a quote, a line break, several characters).
    """
    value = _DELIMITER_NAMES.get(text.lower(), text)
    if len(value) != 1 or value in '"\r\n' or value.isalnum():
        raise ImportUsageError(
            f"--delimiter {text!r}: give one character such as ',' ';' '|' or 'tab'"
        )
    return value


def _checked_encoding(name: str) -> str:
    """The codec's canonical name; only encodings that keep ASCII bytes as they are."""
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise ImportUsageError(
            f"--encoding {name!r}: unknown encoding (try utf-8, cp1252, latin-1)"
        ) from None
    sample = '\n\r,;|\t"azAZ09'
    try:
        compatible = sample.encode(codec.name) == sample.encode("ascii")
    except UnicodeError:  # pragma: no cover - every codec encodes ASCII
        compatible = False
    if not compatible:
        raise ImportUsageError(
            f"--encoding {name!r}: files in {codec.name} are not supported (a line is not "
            "one line of bytes); save the file as UTF-8"
        )
    return codec.name


def sniff_delimiter(header_line: str) -> str:
    """The delimiter a header line uses: the most frequent of ``,`` ``;`` tab ``|``.

    Quoted text does not count (``"Smith, Jane";Email`` is ``;``-separated). Ties go to the
    earlier one in that list; a line with none is a one-column file (``,``).

    Args:
        header_line: The file's first line.

    Returns:
        The delimiter.
    """
    unquoted = re.sub(r'"(?:[^"]|"")*"?', "", header_line)
    counts = [(unquoted.count(candidate), -i) for i, candidate in enumerate(_DELIMITERS)]
    best_count, best = max(counts)
    return _DELIMITERS[-best] if best_count else ","


class _QuoteState(NamedTuple):
    """Where a line leaves the quoting of the record it belongs to."""

    open: bool  # a quoted cell is still open at the end of the line
    stray: bool  # a quote closed a cell in mid-text (``"abc"def``): not what exporters write


def _quote_state(line: str, delimiter: str, in_quotes: bool) -> _QuoteState:
    """Follow the ``csv`` module's quoting rules through ``line``.

    A quote opens a cell only at its start, ``""`` inside is a quote, and after the
    closing quote the rest of the cell is taken as written (which is noted as ``stray``).
    """
    if '"' not in line:
        return _QuoteState(in_quotes, stray=False)
    stray = False
    i = 0
    while True:
        quote = line.find('"', i)
        if quote < 0:
            return _QuoteState(in_quotes, stray)
        if in_quotes:
            if line.startswith('"', quote + 1):  # "" inside a quoted cell
                i = quote + 2
                continue
            following = line[quote + 1 : quote + 2]
            stray = stray or following not in (delimiter, "\r", "\n", "")
            in_quotes = False
        elif quote == 0 or line[quote - 1] == delimiter:
            # Only at a cell's start does a quote open one (the line starts a cell when it
            # starts outside quotes); elsewhere it is text.
            in_quotes = True
        i = quote + 1


class _Unparsable(NamedTuple):
    """A CSV record that could not be read as a row."""

    reason: str  # why (the csv.Error's message, or the unbalanced quote)
    text: str  # the lines it was read from, as read


_Record = tuple[int, int, "list[str] | _Unparsable"]


class _Table(NamedTuple):
    """A CSV or XLSX file's header and, lazily, its non-empty rows."""

    header: list[str] | None
    records: Iterator[_Record]
    bad_lines: set[int]  # CSV lines that did not decode
    encoding: str


@contextlib.contextmanager
def _open_table(path: Path, fmt: Format, options: TableOptions) -> Iterator[_Table]:
    """Open a CSV or XLSX file as a header and records.

    The one definition of "a row is an item", shared by the reader and the counter.

    Raises:
        ImportUsageError: The header cannot be read; a bad ``--encoding``/``--delimiter``;
            (XLSX) no openpyxl, not a workbook, no such sheet.
        OSError: The file cannot be read.
    """
    if fmt == "xlsx":
        with open_sheet(path, options.sheet) as rows:
            header = next(rows, (1, None))[1]
            records: Iterator[_Record] = ((n, n, cells) for n, cells in rows)
            yield _Table(header, _non_empty(records), set(), "xlsx")
        return
    encoding = _checked_encoding(options.encoding or "utf-8")
    bad_lines: set[int] = set()
    with path.open("rb") as handle:
        lines = _decoded_lines(handle, encoding, bad_lines)
        first = next(lines, None)
        declared = _EXCEL_SEPARATOR.fullmatch(first[1]) if first is not None else None
        if declared is not None:
            # Excel's "sep=;" first line names the delimiter; the header follows it.
            first = next(lines, None)
        if first is None:
            yield _Table(None, iter(()), bad_lines, encoding)
            return
        delimiter = options.delimiter or (declared.group(1) if declared else None)
        splitter = _RecordSplitter(
            itertools.chain([first], lines), delimiter or sniff_delimiter(first[1])
        )
        records = iter(splitter)
        start, end, first_row = next(records)
        if isinstance(first_row, _Unparsable):
            where = f"line {start}" if start == end else f"lines {start}-{end}"
            raise ImportUsageError(
                f"{path.name}: the header row ({where}) is not valid CSV: {first_row.reason}"
            )
        splitter.width = len(first_row)
        yield _Table(first_row, _non_empty(records), bad_lines, encoding)


def _non_empty(records: Iterator[_Record]) -> Iterator[_Record]:
    for record in records:
        row = record[2]
        if isinstance(row, _Unparsable) or any(cell.strip() for cell in row):
            yield record


class _RecordSplitter:
    """CSV records from numbered lines, re-syncing after a runaway quoted cell.

    A quoted cell that is not closed within :data:`MAX_RECORD_LINES` lines, nor by the end
    of the file, or that spans lines and then closes in mid-text (``"abc"def``) or leaves
    its row with another number of cells than the header (it took in the line breaks and
    delimiters of the rows after it), is an unbalanced quote: the line where it opened is
    reported (an :class:`_Unparsable`) and reading starts again on the next line, so one
    stray quote costs one row.
    """

    def __init__(self, lines: Iterator[tuple[int, str]], delimiter: str) -> None:
        self._lines = lines
        self._pending: collections.deque[tuple[int, str]] = collections.deque()
        self.delimiter = delimiter
        self.width: int | None = None

    def _pull(self) -> tuple[int, str] | None:
        if self._pending:
            return self._pending.popleft()
        return next(self._lines, None)

    def __iter__(self) -> Iterator[_Record]:
        while (first := self._pull()) is not None:
            taken = [first]
            state = _quote_state(first[1], self.delimiter, False)
            stray = False
            while state.open and len(taken) <= MAX_RECORD_LINES:
                following = self._pull()
                if following is None:
                    break
                taken.append(following)
                state = _quote_state(following[1], self.delimiter, True)
                stray = stray or state.stray
            start, end = taken[0][0], taken[-1][0]
            texts = [text for _, text in taken]
            if state.open:
                yield self._runaway(taken, "never closed")
                continue
            try:
                row = self._parse(texts)
            except csv.Error as exc:
                yield start, end, _Unparsable(str(exc), "".join(texts).rstrip("\r\n"))
                continue
            if len(taken) > 1 and (stray or (self.width is not None and len(row) != self.width)):
                # Exporters write every column of every row, and close a quoted cell at
                # its end: a cell spanning lines that closes in mid-text, or leaves its row
                # with another number of cells, took in the lines after its own.
                yield self._runaway(
                    taken, f"closed only on line {end}, taking in the lines between"
                )
                continue
            yield start, end, row

    def _parse(self, texts: list[str]) -> list[str]:
        if len(texts) == 1:
            line = texts[0].rstrip("\r\n")
            # Most rows: no quote, nothing the csv module would refuse; split them directly
            # (the csv module costs a reader per record here).
            if not any(char in line for char in '"\r\0') and len(line) < _FIELD_LIMIT:
                return line.split(self.delimiter)
        return next(csv.reader(texts, delimiter=self.delimiter), [])

    def _runaway(self, taken: list[tuple[int, str]], how: str) -> _Record:
        number, text = taken[0]
        self._pending.extendleft(reversed(taken[1:]))
        return (
            number,
            number,
            _Unparsable(
                f'a quoted cell opens on this line and is {how} (an unbalanced "); the '
                "line is left out and the next line is read as a new row",
                text.rstrip("\r\n"),
            ),
        )


def _decoded_lines(
    handle: Iterable[bytes], encoding: str, bad_lines: set[int]
) -> Iterator[tuple[int, str]]:
    """Decode a binary file line by line; undecodable lines are noted and replaced."""
    for number, raw_line in enumerate(handle, start=1):
        data = raw_line.removeprefix(_BOM) if number == 1 else raw_line
        try:
            line = data.decode(encoding)
        except UnicodeDecodeError:
            bad_lines.add(number)
            line = data.decode(encoding, "replace")
        yield number, line.removeprefix("\ufeff") if number == 1 else line


def _check_utf8(path: Path) -> None:
    """Refuse a file that is not UTF-8 when no ``--encoding`` was given, saying what to pass."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    read = 0
    with path.open("rb") as handle:
        while read < _SCAN_BYTES and (chunk := handle.read(1 << 16)):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad = chunk[exc.start : exc.start + 1].hex()
                line += chunk.count(b"\n", 0, exc.start)
                raise ImportUsageError(
                    f"{path.name} is not UTF-8 (byte 0x{bad} on line {line}): a file saved by "
                    "Excel on Windows is usually cp1252, so pass --encoding cp1252 "
                    "(or --encoding latin-1, or the encoding it was saved in)"
                ) from None
            line += chunk.count(b"\n")
            read += len(chunk)


def check_table_header(
    path: Path, fmt: Format = "csv", options: TableOptions = _DEFAULT_OPTIONS
) -> ColumnPlan:
    """Read and check a CSV or XLSX file's header row, and plan its columns.

    Args:
        path: The file.
        fmt: ``"csv"`` or ``"xlsx"``.
        options: The flags.

    Returns:
        What each column feeds.

    Raises:
        ImportUsageError: No header, a header that is not valid CSV, a file that is not
            UTF-8 (no ``--encoding`` given), a header that cannot be planned (see
            :meth:`ColumnPlan.from_header`: unknown columns, no ``primaryEmail`` column...).
        OSError: The file cannot be read.
    """
    if fmt == "csv" and options.encoding is None:
        _check_utf8(path)
    with _open_table(path, fmt, options) as table:
        header = table.header
    if not header:
        raise ImportUsageError(f"{path.name} has no header row (the first row names the columns)")
    return options.plan(header, file_name=path.name)


def check_csv_header(path: Path, *, custom_fields: Sequence[str] = ()) -> list[str]:
    """Read and check a CSV file's header row (with default options but ``custom_fields``).

    Args:
        path: The CSV file.
        custom_fields: Columns declared as custom fields (``--custom-field``).

    Returns:
        The column names, in order.

    Raises:
        ImportUsageError: See :func:`check_table_header`.
        OSError: The file cannot be read.
    """
    options = TableOptions(custom_fields=custom_fields)
    check_table_header(path, "csv", options)
    with _open_table(path, "csv", options) as table:
        return [name.strip() for name in table.header or ()]


def read_table(
    path: Path,
    fmt: Format = "csv",
    options: TableOptions = _DEFAULT_OPTIONS,
    *,
    line_numbers: array[int] | None = None,
) -> Generator[Operation, None, None]:
    """Yield one :class:`~zyntro_async.bulk.ContactBundle` per non-empty CSV or XLSX row.

    A row that cannot be read (a cell longer than ``csv.field_size_limit()``, a bare
    carriage return inside an unquoted cell, a quote that is never closed, bytes that do
    not decode) is an :class:`~zyntro_async.bulk.InvalidItem` like any other bad row, at
    the line where it starts; reading goes on at the next line.

    Args:
        path: The file.
        fmt: ``"csv"`` or ``"xlsx"``.
        options: The flags (encoding, delimiter, mapping...).
        line_numbers: When given, the line (row) number each yielded row starts on is
            appended.

    Yields:
        Bundles; :class:`~zyntro_async.bulk.InvalidItem` for a row that cannot be used,
        whose ``raw`` is the row in the JSONL import format (the row's text, when it could
        not be parsed).

    Raises:
        ImportUsageError: The header is unusable (see :func:`check_table_header`), raised
            before anything is yielded.
        OSError: The file cannot be opened or read.
    """
    base_dir = path.parent.resolve()
    with _open_table(path, fmt, options) as table:
        if not table.header:
            return
        plan = options.plan(table.header, file_name=path.name)
        for start, end, row in table.records:
            if line_numbers is not None:
                line_numbers.append(start)
            source = f"{path.name}:{start}"
            if isinstance(row, _Unparsable):
                error = RequestValidationError("row", f"is not valid CSV: {row.reason}")
                yield InvalidItem(error, source=source, raw=row.text)
            elif any(number in table.bad_lines for number in range(start, end + 1)):
                yield InvalidItem(_not_decodable(table.encoding), source=source, raw=row)
            else:
                yield _table_item(row, plan, base_dir, source)


def read_csv(
    path: Path,
    *,
    custom_fields: Sequence[str] = (),
    line_numbers: array[int] | None = None,
) -> Generator[Operation, None, None]:
    """:func:`read_table` of a CSV file with default options but ``custom_fields``.

    Args:
        path: The CSV file (UTF-8, with or without a byte-order mark).
        custom_fields: Columns that are custom fields.
        line_numbers: See :func:`read_table`.

    Returns:
        The generator :func:`read_table` returns.
    """
    options = TableOptions(custom_fields=custom_fields)
    return read_table(path, "csv", options, line_numbers=line_numbers)


def _not_decodable(encoding: str) -> RequestValidationError:
    shown_name = "UTF-8" if encoding == "utf-8" else encoding
    hint = " (saved by Excel on Windows? try --encoding cp1252)" if encoding == "utf-8" else ""
    return RequestValidationError("row", f"is not valid {shown_name}{hint}")


def _table_item(row: Sequence[str], plan: ColumnPlan, base_dir: Path, source: str) -> Operation:
    if len(row) > plan.width and any(cell.strip() for cell in row[plan.width :]):
        error = RequestValidationError(
            "row", f"has {len(row)} values but the header has {plan.width} columns"
        )
        return InvalidItem(error, source=source, raw=list(row))
    line = plan.line(row, base_dir=base_dir)
    return item_from_line(line, base_dir=base_dir, source=source)


# ------------------------------------------------------------------------------ all


def count_items(
    path: Path,
    fmt: Format,
    *,
    cancelled: threading.Event | None = None,
    options: TableOptions = _DEFAULT_OPTIONS,
) -> int | None:
    """Count the items :class:`ImportReader` will yield, streaming (for a progress total).

    Args:
        path: The input file.
        fmt: Its format.
        cancelled: When set (from another thread), counting stops and returns ``None``.
        options: How to read a CSV or XLSX file (as for :func:`read_table`).

    Returns:
        Non-blank lines (JSONL; a byte-order mark alone is blank) or non-empty rows after
        the header, readable or not (CSV, XLSX; ``0`` when the header itself cannot be
        read, as :func:`read_table` then yields nothing); ``None`` when cancelled.

    Raises:
        OSError: The file cannot be read.
    """
    count = 0
    with contextlib.ExitStack() as stack:
        records: Iterator[object]
        if fmt == "jsonl":
            records = _jsonl_lines(stack.enter_context(path.open("rb")))
        else:
            try:
                records = stack.enter_context(_open_table(path, fmt, options)).records
            except ImportUsageError:
                return 0  # read_table refuses such a file before yielding anything
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
        fmt: ``"csv"``, ``"jsonl"`` or ``"xlsx"``.
        custom_fields: CSV/XLSX columns that are custom fields.
        options: How to read a CSV or XLSX file; its ``custom_fields`` are added to
            ``custom_fields``.
    """

    def __init__(
        self,
        path: Path,
        fmt: Format,
        *,
        custom_fields: Sequence[str] = (),
        options: TableOptions = _DEFAULT_OPTIONS,
    ) -> None:
        self.path = path
        self.format: Format = fmt
        self.options = attrs.evolve(options, custom_fields=(*options.custom_fields, *custom_fields))
        self.plan: ColumnPlan | None = None
        self._line_numbers: array[int] = array("L")

    @property
    def custom_fields(self) -> tuple[str, ...]:
        """Custom fields the file fills: declared ones, and (after :meth:`check`) mapped ones."""
        mapped = self.plan.custom_fields if self.plan is not None else ()
        return tuple(dict.fromkeys((*self.options.custom_fields, *mapped)))

    @property
    def notices(self) -> tuple[str, ...]:
        """After :meth:`check`: columns found but not used, one sentence each."""
        return self.plan.notices if self.plan is not None else ()

    def check(self) -> None:
        """Fail early on what would make every item fail.

        Raises:
            ImportUsageError: The file is missing or not a regular file, or (CSV, XLSX)
                its header is unusable (see :func:`check_table_header`).
        """
        if not self.path.exists():
            raise ImportUsageError(f"no such file: {self.path}")
        if not self.path.is_file():
            raise ImportUsageError(f"not a regular file: {self.path}")
        unused = self.options.unused_by(self.format)
        if unused:
            raise ImportUsageError(
                f"{' and '.join(unused)}: not used when reading a {self.format} file"
            )
        try:
            if self.format == "jsonl":
                with self.path.open("rb"):
                    pass
            else:
                self.plan = check_table_header(self.path, self.format, self.options)
        except OSError as exc:
            raise ImportUsageError(f"cannot read {self.path}: {exc.strerror or exc}") from exc

    def __iter__(self) -> Generator[Operation, None, None]:
        self._line_numbers = array("L")
        if self.format == "jsonl":
            return read_jsonl(self.path, line_numbers=self._line_numbers)
        return read_table(self.path, self.format, self.options, line_numbers=self._line_numbers)

    def count(self, *, cancelled: threading.Event | None = None) -> int | None:
        """The number of items, counted by streaming through the file.

        Args:
            cancelled: Stops the count when set (it runs in a worker thread).

        Returns:
            See :func:`count_items`.
        """
        return count_items(self.path, self.format, cancelled=cancelled, options=self.options)

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
