"""CSV dialects (delimiters, encodings, line ends, runaway quotes) and XLSX workbooks."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from zyntro_async.bulk import ContactBundle, InvalidItem, Operation
from zyntro_async.cli._readers import (
    MAX_RECORD_LINES,
    ImportReader,
    ImportUsageError,
    TableOptions,
    count_items,
    delimiter_option,
    sniff_delimiter,
)
from zyntro_async.cli._xlsx import cell_text


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def read(path: Path, fmt: str = "csv", **flags: object) -> list[Operation]:
    reader = ImportReader(path, fmt, options=TableOptions.from_flags(**flags))  # type: ignore[arg-type]
    reader.check()
    items = list(reader)
    assert reader.count() == len(items)  # the progress total counts what the reader yields
    return items


def emails(items: list[Operation]) -> list[str | None]:
    return [
        item.contact.primary_email if isinstance(item, ContactBundle) else None for item in items
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("First Name,Email", ","),
        ("First Name;Email;Company", ";"),
        ("First Name\tEmail", "\t"),
        ("First Name|Email", "|"),
        ('"Name, full";Email', ";"),  # a quoted comma does not count
        ("Email", ","),
    ],
)
def test_the_delimiter_is_sniffed_from_the_header(header: str, expected: str) -> None:
    assert sniff_delimiter(header + "\n") == expected


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_files_with_each_delimiter_are_read(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["First Name", "Email", "Notes"]) + "\n"
    text += delimiter.join(["Ann", "ann@x.example", '"a, b; c| d\te"']) + "\n"
    (item,) = read(write(tmp_path / "in.csv", text))

    assert isinstance(item, ContactBundle)
    assert item.notes[0].note == "a, b; c| d\te"


def test_the_delimiter_flag_overrides_the_sniffer(tmp_path: Path) -> None:
    # The header alone has more commas than semicolons; the rows say otherwise.
    path = write(tmp_path / "in.csv", "Email;Notes\na@x.example;one, two, three\n")

    (item,) = read(path, delimiter="semicolon")

    assert isinstance(item, ContactBundle)
    assert item.notes[0].note == "one, two, three"
    assert delimiter_option("tab") == "\t"
    with pytest.raises(ImportUsageError, match="one character"):
        delimiter_option('"')


def test_an_excel_sep_line_names_the_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", "sep=;\r\nEmail;Notes\r\na@x.example;one, two, three\r\n")
    reader = ImportReader(path, "csv")
    reader.check()

    (item,) = reader

    assert isinstance(item, ContactBundle)
    assert item.notes[0].note == "one, two, three"
    assert reader.source(0) == "in.csv:3"


def test_cp1252_and_latin1_with_crlf_line_ends(tmp_path: Path) -> None:
    text = (
        "First Name;Last Name;Email\r\nZoë;Brontë;zoe@x.example\r\nJosé;Müller;jose@x.example\r\n"
    )
    for encoding in ("cp1252", "latin-1"):
        path = write(tmp_path / f"{encoding}.csv", text.encode(encoding))

        items = read(path, encoding=encoding)

        assert [(i.contact.first_name, i.contact.last_name) for i in items] == [  # type: ignore[union-attr]
            ("Zoë", "Brontë"),
            ("José", "Müller"),
        ]


def test_utf8_with_a_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", "\ufeffFirst Name,Email\r\nÅsa,asa@x.example\r\n".encode())

    (item,) = read(path)

    assert isinstance(item, ContactBundle)
    assert item.contact.first_name == "Åsa"


def test_a_file_that_is_not_utf8_is_refused_whole_suggesting_cp1252(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", "Email,First Name\na@x.example,Zoë\n".encode("cp1252"))

    with pytest.raises(
        ImportUsageError, match=r"not UTF-8 \(byte 0xeb on line 2\).*--encoding cp1252"
    ):
        read(path)
    # Asked for explicitly, UTF-8 fails the undecodable rows one by one instead.
    (item,) = read(path, encoding="utf-8")
    assert isinstance(item, InvalidItem)
    assert "is not valid UTF-8" in item.error.message
    assert "--encoding cp1252" in item.error.message


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("klingon", "unknown encoding"), ("utf-16", "save the file as UTF-8")],
)
def test_unusable_encodings_are_usage_errors(encoding: str, expected: str) -> None:
    with pytest.raises(ImportUsageError, match=expected):
        TableOptions.from_flags(encoding=encoding)


def test_a_runaway_quote_is_reported_where_it_opened_and_reading_resyncs(tmp_path: Path) -> None:
    path = write(
        tmp_path / "in.csv",
        "First Name,Email,Notes\n"
        "Ann,ann@x.example,fine\n"
        'Bob,bob@x.example,"never closed\n'
        "Cy,cy@x.example,fine\n"
        'Dee,dee@x.example,"a real\nmulti-line note"\n'
        "Eve,eve@x.example,fine\n",
    )

    items = read(path)

    assert emails(items) == [
        "ann@x.example",
        None,
        "cy@x.example",
        "dee@x.example",
        "eve@x.example",
    ]
    runaway = items[1]
    assert isinstance(runaway, InvalidItem)
    assert runaway.source == "in.csv:3"
    assert "unbalanced" in runaway.error.message
    assert runaway.raw == 'Bob,bob@x.example,"never closed'
    dee = items[3]
    assert isinstance(dee, ContactBundle)
    assert dee.notes[0].note == "a real\nmulti-line note"


def test_a_quote_open_for_more_lines_than_the_limit_is_a_runaway(tmp_path: Path) -> None:
    rows = "".join(f"P{i},p{i}@x.example\n" for i in range(MAX_RECORD_LINES + 5))
    path = write(
        tmp_path / "in.csv",
        'First Name,Email\n"Oops,x@x.example\n' + rows + 'Last,"last@x.example"\n',
    )

    items = read(path)

    assert isinstance(items[0], InvalidItem)
    assert items[0].source == "in.csv:2"
    assert len(items) == MAX_RECORD_LINES + 5 + 2
    assert all(isinstance(item, ContactBundle) for item in items[1:])


def test_a_runaway_quote_in_the_header_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", 'First Name,"Email\nA,a@x.example\n')

    with pytest.raises(ImportUsageError, match=r"header row \(line 1\).*unbalanced"):
        read(path)


def test_trailing_empty_cells_beyond_the_header_are_tolerated(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", "Email,First Name\na@x.example,A,,\nb@x.example,B,extra\n")

    good, bad = read(path)

    assert isinstance(good, ContactBundle)
    assert isinstance(bad, InvalidItem)
    assert "3 values but the header has 2 columns" in bad.error.message


def test_flags_that_do_not_apply_to_the_format_are_usage_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "in.jsonl", '{"contact": {"primaryEmail": "a@x.example"}}\n')

    with pytest.raises(ImportUsageError, match="--map/--mapping and --ignore-unknown-columns"):
        read(path, "jsonl", maps=["Email=primaryEmail"], ignore_unknown_columns=True)
    with pytest.raises(ImportUsageError, match="--sheet"):
        read(path, "jsonl", sheet="One")


# ------------------------------------------------------------------------------- XLSX


def test_xlsx_cells_read_as_a_csv_export_would_write_them() -> None:
    assert cell_text(None) == ""
    assert cell_text(15551234567.0) == "15551234567"
    assert cell_text(2.5) == "2.5"
    assert cell_text(True) == "true"
    assert cell_text(dt.datetime(2024, 5, 1)) == "2024-05-01"
    assert cell_text(dt.datetime(2024, 5, 1, 9, 30)) == "2024-05-01T09:30:00"


def _workbook(path: Path) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "People"
    sheet.append(["First Name", "Email", "Lifecycle Stage"])
    sheet.append(["Ann", "ann@x.example", "lead"])
    sheet.append([None, None, None])
    sheet.append(["Bob", "not-an-email", "lead"])
    workbook.save(path)
    return path


def test_xlsx_rows_are_read_from_the_first_sheet_with_their_row_numbers(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "in.xlsx")

    ann, bob = read(path, "xlsx", ignore_unknown_columns=True)

    assert isinstance(ann, ContactBundle)
    assert ann.contact.first_name == "Ann"
    assert isinstance(bob, InvalidItem)
    assert bob.source == "in.xlsx:4"
    assert bob.error.field == "contact.primaryEmail"


def test_xlsx_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "in.xlsx")

    with pytest.raises(ImportUsageError, match=r"--sheet 'Nope': in\.xlsx has the sheets 'People'"):
        read(path, "xlsx", sheet="Nope", ignore_unknown_columns=True)


def test_xlsx_that_is_not_a_workbook_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", "First Name,Email\n")

    with pytest.raises(ImportUsageError, match=r"not a readable \.xlsx workbook"):
        read(path, "xlsx")


def test_xlsx_without_openpyxl_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _workbook(tmp_path / "in.xlsx")
    monkeypatch.setitem(sys.modules, "openpyxl", None)

    with pytest.raises(ImportUsageError, match=r"needs openpyxl.*zyntro-async\[xlsx\]"):
        read(path, "xlsx")


def test_an_empty_csv_has_no_header_and_counts_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", b"")

    with pytest.raises(ImportUsageError, match="has no header row"):
        read(path)
    assert count_items(path, "csv") == 0
