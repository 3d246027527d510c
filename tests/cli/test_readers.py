"""The import readers: lazy, one item per line/row, bad ones as InvalidItem with their place."""

from __future__ import annotations

import csv
import json
import os
import sys
import threading
from array import array
from pathlib import Path

import pytest

from zyntro_async.bulk import AddFile, AddLink, AddNote, ContactBundle, InvalidItem
from zyntro_async.cli._readers import (
    ImportReader,
    ImportUsageError,
    count_items,
    detect_format,
    read_csv,
    read_jsonl,
)

GOOD = {"contact": {"firstName": "A", "primaryEmail": "a@b.example"}}


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


# ------------------------------------------------------------------------------ JSONL


def test_jsonl_yields_one_item_per_non_blank_line_and_remembers_line_numbers(
    tmp_path: Path,
) -> None:
    lines = [
        json.dumps(GOOD),
        "",
        "   ",
        "{not json",
        "[1, 2]",
        json.dumps({"contact": {"firstName": "B", "primaryEmail": "bad"}}),
        json.dumps(GOOD),
    ]
    path = write(tmp_path / "in.jsonl", "\n".join(lines) + "\n")
    numbers: array[int] = array("L")

    items = list(read_jsonl(path, line_numbers=numbers))

    assert list(numbers) == [1, 4, 5, 6, 7]
    assert [type(item).__name__ for item in items] == [
        "ContactBundle",
        "InvalidItem",
        "InvalidItem",
        "InvalidItem",
        "ContactBundle",
    ]
    not_json, not_object, bad_email = items[1:4]
    assert isinstance(not_json, InvalidItem)
    assert not_json.source == "in.jsonl:4"
    assert not_json.raw == "{not json"
    assert "not valid JSON" in not_json.error.message
    assert isinstance(not_object, InvalidItem)
    assert not_object.error.field == "line"
    assert isinstance(bad_email, InvalidItem)
    assert bad_email.source == "in.jsonl:6"
    assert bad_email.error.field == "contact.primaryEmail"
    assert bad_email.raw == {"contact": {"firstName": "B", "primaryEmail": "bad"}}
    assert count_items(path, "jsonl") == len(items)


def test_jsonl_tolerates_a_byte_order_mark_and_flags_invalid_utf8(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n" + b'{"contact": "\xff"}\n'
    path = write(tmp_path / "in.jsonl", data)

    first, second = read_jsonl(path)

    assert isinstance(first, ContactBundle)
    assert isinstance(second, InvalidItem)
    assert second.source == "in.jsonl:2"
    assert "UTF-8" in second.error.message


def test_jsonl_attachment_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "data" / "files").mkdir(parents=True)
    (tmp_path / "data" / "files" / "a.txt").write_text("hi")
    line = {**GOOD, "attachments": [{"path": "files/a.txt"}]}
    path = write(tmp_path / "data" / "in.jsonl", json.dumps(line) + "\n")

    (item,) = read_jsonl(path)

    assert isinstance(item, ContactBundle)
    (attachment,) = item.attachments
    assert isinstance(attachment, AddFile)
    assert Path(attachment.file) == (tmp_path / "data" / "files" / "a.txt").resolve()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_jsonl_is_read_lazily_not_materialised(tmp_path: Path) -> None:
    # Through a pipe, the second line is written only after the first item was yielded:
    # a reader that read the whole file first would never get there.
    pipe = tmp_path / "in.jsonl"
    os.mkfifo(pipe)
    first_seen = threading.Event()
    failures: list[str] = []

    def writer() -> None:
        with pipe.open("w") as out:
            out.write(json.dumps(GOOD) + "\n")
            out.flush()
            if not first_seen.wait(timeout=10):
                failures.append("the reader did not yield the first line on its own")
            out.write(json.dumps(GOOD) + "\n")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        items = read_jsonl(pipe)
        assert isinstance(next(items), ContactBundle)
        first_seen.set()
        assert isinstance(next(items), ContactBundle)
        assert next(items, None) is None
    finally:
        first_seen.set()
        thread.join(timeout=10)
    assert failures == []


def test_jsonl_a_number_too_long_for_python_is_a_failed_line_not_a_crash(
    tmp_path: Path,
) -> None:
    # Found by fuzzing: json.loads raises a bare ValueError past sys.get_int_max_str_digits().
    limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    if not limit:
        pytest.skip("this Python has no limit on int-to-text conversion")
    huge = '{"contact": {"firstName": ' + "9" * (limit + 1) + "}}"
    path = write(tmp_path / "in.jsonl", huge + "\n" + json.dumps(GOOD) + "\n")
    numbers: array[int] = array("L")

    bad, good = read_jsonl(path, line_numbers=numbers)

    assert isinstance(bad, InvalidItem)
    assert bad.source == "in.jsonl:1"
    assert bad.error.field == "line"
    assert "too many digits" in bad.error.message
    assert bad.raw == huge  # kept whole, as text: export writes it back to fix
    assert isinstance(good, ContactBundle)
    assert list(numbers) == [1, 2]


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf",
        b"\xef\xbb\xbf\n",
        b"\xef\xbb\xbf  \r\n" + json.dumps(GOOD).encode(),
        b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n\n",
    ],
)
def test_jsonl_count_treats_a_byte_order_mark_as_the_reader_does(
    tmp_path: Path, data: bytes
) -> None:
    # Found by fuzzing: a file holding only a BOM counted 1 item and yielded none.
    path = write(tmp_path / "in.jsonl", data)

    assert count_items(path, "jsonl") == len(list(read_jsonl(path)))


# -------------------------------------------------------------------------------- CSV


def test_csv_rows_become_bundles_with_tags_company_note_link_and_file(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.pdf").write_bytes(b"%PDF-1.4\n")
    path = write(
        tmp_path / "in.csv",
        "firstName,primaryEmail,tags,company,note,attachment,industry,region\n"
        "Ann,ann@x.example, vip ; ;beta ,Acme,Hello,https://acme.example/files/deck.pdf,Tech,\n"
        "Bob,bob@x.example,,,,files/a.pdf,,\n"
        "Cy,cy@x.example,,,,https://acme.example,,\n",
    )

    ann, bob, cy = read_csv(path, custom_fields=["industry", "region"])

    assert isinstance(ann, ContactBundle)
    assert ann.contact.first_name == "Ann"
    assert ann.contact.tags == ("vip", "beta")
    assert ann.contact.custom_fields == {"industry": "Tech"}  # empty cells are left out
    assert ann.entity is not None
    assert ann.entity.name == "Acme"
    assert ann.notes == (AddNote(contact_id=None, note="Hello"),)
    assert ann.attachments == (
        AddLink(contact_id=None, name="deck.pdf", url="https://acme.example/files/deck.pdf"),
    )
    assert isinstance(bob, ContactBundle)
    (file,) = bob.attachments
    assert isinstance(file, AddFile)
    assert Path(file.file) == (tmp_path / "files" / "a.pdf").resolve()
    assert bob.contact.custom_fields is None
    assert isinstance(cy, ContactBundle)
    assert cy.attachments[0].name == "acme.example"


def test_csv_bad_rows_are_invalid_items_with_their_line_and_an_importable_raw(
    tmp_path: Path,
) -> None:
    text = (
        "firstName,primaryEmail,note\n"
        "Ann,ann@x.example,hi\n"
        "\n"
        ",,\n"
        'Bob,"bob-at-x",\n'
        "Cy,cy@x.example,one,two\n"
        '"Multi\nLine",multi@x.example,\n'
    )
    path = write(tmp_path / "in.csv", text.encode() + b"Dee,dee@x.example,\xff\n")
    numbers: array[int] = array("L")

    items = list(read_csv(path, line_numbers=numbers))

    assert list(numbers) == [2, 5, 6, 7, 9]
    ann, bob, cy, multi, dee = items
    assert isinstance(ann, ContactBundle)
    assert isinstance(bob, InvalidItem)
    assert bob.source == "in.csv:5"
    assert bob.error.field == "contact.primaryEmail"
    # raw is the row in the JSONL import format: export writes it ready to fix.
    assert bob.raw == {"contact": {"firstName": "Bob", "primaryEmail": "bob-at-x"}}
    assert isinstance(cy, InvalidItem)
    assert "3 columns" in cy.error.message
    assert isinstance(multi, ContactBundle)
    assert multi.contact.first_name == "Multi\nLine"
    assert isinstance(dee, InvalidItem)
    assert dee.source == "in.csv:9"
    assert "UTF-8" in dee.error.message
    assert count_items(path, "csv") == len(items)


def test_csv_header_problems_are_usage_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", "firstName,primaryEmail,industry\nA,a@b.example,Tech\n")

    with pytest.raises(ImportUsageError, match="--custom-field industry"):
        ImportReader(path, "csv").check()
    ImportReader(path, "csv", custom_fields=["industry"]).check()


def test_csv_with_a_byte_order_mark_and_crlf_line_ends(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", b"\xef\xbb\xbffirstName,primaryEmail\r\nA,a@b.example\r\n")

    reader = ImportReader(path, "csv")
    reader.check()
    (item,) = reader

    assert isinstance(item, ContactBundle)
    assert item.contact.primary_email == "a@b.example"
    assert reader.source(0) == "in.csv:2"


def test_csv_rows_that_cannot_be_parsed_are_failed_items_and_reading_goes_on(
    tmp_path: Path,
) -> None:
    # Found by fuzzing: csv.Error escaped the reader and stopped the import.
    too_long = "z" * (csv.field_size_limit() + 1)
    text = (
        "firstName,primaryEmail\n"
        "Ann,ann@x.example\n"
        f"{too_long},big@x.example\n"
        "Bo\rb,bob@x.example\n"  # a bare CR inside an unquoted cell
        "Cy,cy@x.example\n"
    )
    path = write(tmp_path / "in.csv", text)
    reader = ImportReader(path, "csv")
    reader.check()

    items = list(reader)

    assert [type(item).__name__ for item in items] == [
        "ContactBundle",
        "InvalidItem",
        "InvalidItem",
        "ContactBundle",
    ]
    for item, line, text in zip(
        items[1:3], (3, 4), (f"{too_long},big@x.example", "Bo\rb,bob@x.example"), strict=True
    ):
        assert isinstance(item, InvalidItem)
        assert item.source == f"in.csv:{line}"
        assert item.error.field == "row"
        assert "not valid CSV" in item.error.message
        assert item.raw == text  # as read: export writes it back, nothing is lost
    assert [reader.source(i) for i in range(4)] == [f"in.csv:{n}" for n in (2, 3, 4, 5)]
    assert count_items(path, "csv") == len(items)


def test_csv_a_header_that_cannot_be_parsed_is_a_usage_error(tmp_path: Path) -> None:
    # A broken header leaves no columns to read rows by: the import cannot start (exit 2).
    too_long = "z" * (csv.field_size_limit() + 1)
    path = write(tmp_path / "in.csv", f"firstName,primaryEmail,{too_long}\nA,a@b.example,x\n")

    with pytest.raises(ImportUsageError, match=r"header row \(line 1\) is not valid CSV"):
        ImportReader(path, "csv").check()
    with pytest.raises(ImportUsageError, match="header row"):
        next(read_csv(path))
    assert count_items(path, "csv") == 0


def test_csv_an_attachment_in_an_unknown_home_directory_is_a_failed_row(tmp_path: Path) -> None:
    # Path.expanduser() raised RuntimeError for "~nosuchuser/...", out of the reader.
    path = write(
        tmp_path / "in.csv",
        "primaryEmail,attachment\na@b.example,~zyntro-no-such-user/deck.pdf\nb@b.example,\n",
    )

    bad, good = read_csv(path)

    assert isinstance(bad, InvalidItem)
    assert bad.source == "in.csv:2"
    assert bad.error.field == "attachments[0].path"
    assert bad.raw == {
        "contact": {"primaryEmail": "a@b.example"},
        "attachments": [{"path": "~zyntro-no-such-user/deck.pdf"}],
    }
    assert isinstance(good, ContactBundle)


# ---------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("name", "explicit", "expected"),
    [
        ("a.csv", None, "csv"),
        ("a.CSV", None, "csv"),
        ("a.jsonl", None, "jsonl"),
        ("a.ndjson", None, "jsonl"),
        ("a.txt", "csv", "csv"),
        ("a.csv", "jsonl", "jsonl"),
    ],
)
def test_format_comes_from_the_flag_or_the_extension(
    name: str, explicit: str | None, expected: str
) -> None:
    assert detect_format(Path(name), explicit) == expected


def test_an_unknown_extension_needs_the_flag() -> None:
    with pytest.raises(ImportUsageError, match="--format"):
        detect_format(Path("contacts.txt"))


def test_reader_checks_the_file_exists(tmp_path: Path) -> None:
    with pytest.raises(ImportUsageError, match="no such file"):
        ImportReader(tmp_path / "nope.jsonl", "jsonl").check()
    with pytest.raises(ImportUsageError, match="not a regular file"):
        ImportReader(tmp_path, "jsonl").check()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_an_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path / "in.jsonl", "{}\n")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read anything")
        with pytest.raises(ImportUsageError, match="cannot read"):
            ImportReader(path, "jsonl").check()
    finally:
        path.chmod(0o644)


def test_counting_stops_when_cancelled(tmp_path: Path) -> None:
    path = write(tmp_path / "in.jsonl", (json.dumps(GOOD) + "\n") * 10)
    cancelled = threading.Event()

    assert count_items(path, "jsonl", cancelled=cancelled) == 10
    cancelled.set()
    assert count_items(path, "jsonl", cancelled=cancelled) is None
