"""``import --dry-run``: every problem of every row, what would be sent, nothing sent."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from zyntro_async._errors import ImportLineError, RequestValidationError
from zyntro_async.bulk._format import op_from_line
from zyntro_async.cli import main
from zyntro_async.cli._dry_run import line_problems

from .conftest import bundle, write_jsonl


@pytest.fixture(autouse=True)
def no_network_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dry run needs no credentials and must not open a connection."""
    for name in list(os.environ):
        if name.startswith("ZYNTRO_"):
            monkeypatch.delenv(name)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a dry run opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def files(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir(exist_ok=True)
    (tmp_path / "files" / "deck.pdf").write_bytes(b"%PDF-1.4\n")
    (tmp_path / "files" / "tool.exe").write_bytes(b"MZ")


def test_a_clean_file_exits_0_and_says_what_would_be_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files(tmp_path)
    path = tmp_path / "in.csv"
    path.write_text(
        "First Name,Email,Notes,attachment,Website\n"
        "Ann,ann@x.example,hello,files/deck.pdf,https://x.example\n"
        "Bob,bob@x.example,,https://x.example/site,\n"
    )

    status = main(["import", str(path), "--dry-run"])

    out = capsys.readouterr().out
    assert status == 0, out
    assert "dry run of in.csv: 2 rows read, 2 ready, no problems" in out
    assert "would send: 2 contacts, 1 note, 1 link, 1 file, 0 comms entries" in out
    assert "nothing was sent" in out


def test_every_problem_of_every_row_is_reported_with_its_row_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files(tmp_path)
    path = tmp_path / "in.csv"
    path.write_text(
        "First Name,Email,Phone,attachment\n"
        "Ann,ann@x.example,,files/deck.pdf\n"  # 2: fine
        "Bad,not-an-email,,\n"  # 3: bad e-mail
        "Gone,gone@x.example,,files/missing.pdf\n"  # 4: no such file
        "Exe,exe@x.example,,files/tool.exe\n"  # 5: type not allowed
        "Ann again,ANN@x.example,,\n"  # 6: same key as row 2
        'Quote,q@x.example,"never closed,\n'  # 7: runaway quote
    )

    status = main(["import", str(path), "--dry-run"])

    out = capsys.readouterr().out
    assert status == 1
    assert "in.csv:3  contact.primaryEmail: is not a valid e-mail address" in out
    assert "in.csv:4  attachments[0].path:" in out
    assert "missing.pdf" in out
    assert "in.csv:5  attachments[0]" in out
    assert "in.csv:6  contact.primaryEmail: 'ANN@x.example' is also the key of in.csv:2" in out
    assert "in.csv:7  row: is not valid CSV" in out
    assert "in.csv:2 " not in out.replace("key of in.csv:2", "")
    assert "6 rows read, 1 ready, 5 with problems" in out
    assert "would send: 1 contact, 0 notes, 0 links, 1 file, 0 comms entries" in out


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root reads all")
def test_an_attachment_that_cannot_be_read_is_a_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files(tmp_path)
    locked = tmp_path / "files" / "deck.pdf"
    locked.chmod(0)
    path = tmp_path / "in.csv"
    path.write_text("Email,attachment\na@x.example,files/deck.pdf\n")

    status = main(["import", str(path), "--dry-run"])

    assert status == 1
    assert "in.csv:2  attachments[0].path: " in capsys.readouterr().out


def test_rows_sharing_a_phone_key_compare_digits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"lookup_by": "phone", "contact": {"firstName": "A", "primaryPhone": "+1 555-0100"}},
            {"lookup_by": "phone", "contact": {"firstName": "B", "primaryPhone": "+1 (555) 0100"}},
        ],
    )

    status = main(["import", str(path), "--dry-run"])

    assert status == 1
    assert "in.jsonl:2  contact.primaryPhone: '+1 (555) 0100' is also the key of in.jsonl:1" in (
        capsys.readouterr().out
    )


def test_export_writes_the_bad_rows_in_the_import_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = bundle(1)
    bad = bundle(2, contact={"firstName": "X", "primaryEmail": "nope"})
    path = write_jsonl(tmp_path / "in.jsonl", [good, bad, '{"broken'])
    export = tmp_path / "attention.jsonl"

    status = main(["import", str(path), "--dry-run", "--export", str(export)])

    assert status == 1
    lines = [json.loads(text) for text in export.read_text().splitlines()]
    assert len(lines) == 2
    assert lines[0]["contact"] == {"firstName": "X", "primaryEmail": "nope"}
    assert "contact.primaryEmail" in lines[0]["error"]["message"]
    assert lines[1]["source"] == "in.jsonl:3"
    # Fixed, an exported line imports again as it is.
    lines[0]["contact"]["primaryEmail"] = "x@x.example"
    op_from_line(lines[0], base_dir=tmp_path)
    assert f"wrote 2 line(s) needing attention to {export}" in capsys.readouterr().out


def test_line_problems_takes_every_problem_of_an_import_line_error() -> None:
    error = ImportLineError([("contact.primaryEmail", "bad"), ("notes[0].note", "is required")])

    assert line_problems(error) == [
        ("contact.primaryEmail", "bad"),
        ("notes[0].note", "is required"),
    ]
    assert line_problems(RequestValidationError("row", "broken")) == [("row", "broken")]
