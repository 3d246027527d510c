"""Usage errors of ``zyntro-async import``: exit 2, a clear message, nothing sent.

These run in-process (``zyntro_async.cli.main``) because they stop before any I/O;
test_import_command.py checks the same through a real process.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from zyntro_async.cli import build_parser, main

from .conftest import write_csv


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "c.jsonl"
    path.write_text('{"contact": {"firstName": "A", "primaryEmail": "a@b.example"}}\n')
    return path


def exit_status(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    assert isinstance(code, int)
    return code


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["import", "missing.jsonl", "--emulator"], "no such file: missing.jsonl"),
        (["import", "{dir}", "--format", "jsonl", "--emulator"], "not a regular file"),
        (["import", "{jsonl}", "--format", "xml", "--emulator"], "invalid choice: 'xml'"),
        (["import", "{odd}", "--emulator"], "pass --format csv or --format jsonl"),
        (["import", "{jsonl}", "--concurrency", "0", "--emulator"], "must be at least 1"),
        (["import", "{jsonl}", "--concurrency", "many", "--emulator"], "expected a whole number"),
        (["import", "{jsonl}", "--max-per-second", "-1", "--emulator"], "must be a positive"),
        (["import", "{jsonl}", "--retry-unknown", "--emulator"], "only makes sense with --journal"),
        (["import", "{jsonl}", "--export", "{jsonl}", "--emulator"], "the file being imported"),
        (["import", "{jsonl}", "--journal", "{dir}", "--emulator"], "is a directory"),
        (["import", "{jsonl}", "--export", "no/such/dir/x.jsonl", "--emulator"], "does not exist"),
        (["import"], "the following arguments are required: FILE"),
        (["import", "{jsonl}", "--bogus"], "unrecognized arguments: --bogus"),
        (["import", "{csv}", "--map", "nonsense", "--emulator"], "expected SOURCE=TARGET"),
        (["import", "{csv}", "--map", "Email=nowhere", "--emulator"], "unknown target 'nowhere'"),
        (["import", "{csv}", "--map", "Emial=primaryEmail", "--dry-run"], "has no column 'Emial'"),
        (["import", "{csv}", "--mapping", "no-such.toml", "--dry-run"], "cannot read it"),
        (["import", "{csv}", "--encoding", "klingon", "--dry-run"], "unknown encoding"),
        (["import", "{csv}", "--delimiter", "ab", "--dry-run"], "give one character"),
        (["import", "{csv}", "--sheet", "One", "--dry-run"], "--sheet: not used"),
        (["import", "{jsonl}", "--ignore-unknown-columns", "--dry-run"], "not used when reading"),
    ],
)
def test_bad_arguments_exit_2(
    tmp_path: Path,
    jsonl: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    expected: str,
) -> None:
    odd = tmp_path / "contacts.txt"
    odd.write_text("{}\n")
    csv_file = write_csv(tmp_path / "c.csv", ["A,a@b.example"], header="First Name,Email\n")
    paths = {
        "{jsonl}": str(jsonl),
        "{odd}": str(odd),
        "{dir}": str(tmp_path),
        "{csv}": str(csv_file),
    }
    monkeypatch.chdir(tmp_path)

    status = exit_status([paths.get(arg, arg) for arg in args])

    assert status == 2
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize(
    ("header", "flags", "expected"),
    [
        (
            "firstName,primaryEmail,industry\n",
            [],
            "'industry': if it is a custom field, --map industry=custom:industry "
            "(or --custom-field industry)",
        ),
        (
            "firstName,primaryEmail,lastnme\n",
            [],
            "'lastnme': did you mean lastName? --map lastnme=lastName",
        ),
        ("firstName,primaryEmail\n", ["--custom-field", "region"], "has no column named 'region'"),
        ("firstName,primaryEmail\n", ["--custom-field", "tags"], "is a contact column"),
        ("firstName,lastName\n", [], "has no primaryEmail column"),
        ("firstName,primaryEmail,firstName\n", [], "'firstName' appears more than once"),
        ("firstName,,primaryEmail\n", [], "column 2 has no name"),
        ("", [], "has no header row"),
    ],
)
def test_unusable_csv_headers_exit_2_before_importing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    header: str,
    flags: list[str],
    expected: str,
) -> None:
    csv_file = write_csv(tmp_path / "c.csv", [], header=header)

    status = exit_status(["import", str(csv_file), "--emulator", *flags])

    assert status == 2
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize(
    "missing", ["ZYNTRO_API_KEY", "ZYNTRO_DEVELOPER_SECRET", "ZYNTRO_ORG_ID", "ZYNTRO_MEMBER_ID"]
)
def test_missing_credentials_exit_2_naming_the_variable(
    jsonl: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], missing: str
) -> None:
    values = {
        "ZYNTRO_API_KEY": "UYUJH-XXXX",
        "ZYNTRO_DEVELOPER_SECRET": "zdk_very_secret",
        "ZYNTRO_ORG_ID": "org",
        "ZYNTRO_MEMBER_ID": "member",
    }
    for name, value in values.items():
        if name != missing:
            monkeypatch.setenv(name, value)

    status = exit_status(["import", str(jsonl)])

    err = capsys.readouterr().err
    assert status == 2
    assert missing in err
    assert "zdk_very_secret" not in err


def test_member_id_flag_stands_in_for_the_variable(
    jsonl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zyntro_async.cli import _import_cmd

    for name in ("ZYNTRO_API_KEY", "ZYNTRO_DEVELOPER_SECRET", "ZYNTRO_ORG_ID"):
        monkeypatch.setenv(name, "x")

    client = _import_cmd._client_from_environment("member-1")

    assert not client.closed
    asyncio.run(client.aclose())


def test_help_lists_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["import", "--help"])

    help_text = capsys.readouterr().out
    for flag in (
        "--format",
        "--concurrency",
        "--max-per-second",
        "--journal",
        "--retry-unknown",
        "--retry-changed",
        "--export",
        "--emulator",
        "--custom-field",
        "--member-id",
        "--quiet",
        "--map",
        "--mapping",
        "--ignore-unknown-columns",
        "--delimiter",
        "--encoding",
        "--sheet",
        "--dry-run",
    ):
        assert flag in help_text


def test_a_journal_that_is_not_a_journal_is_a_usage_error(
    tmp_path: Path, jsonl: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_journal = tmp_path / "notes.txt"
    not_a_journal.write_text("this is not an SQLite file, but long enough to be read as one\n" * 4)

    status = exit_status(["import", str(jsonl), "--emulator", "--journal", str(not_a_journal)])

    assert status == 2
    err = capsys.readouterr().err
    assert f"journal {not_a_journal} is damaged or not a journal" in err


_HOLDER = (
    "import asyncio, sys\n"
    "from zyntro_async.bulk._journal import Journal\n"
    "async def main():\n"
    "    journal = Journal(sys.argv[1])\n"
    "    await journal.open()\n"
    "    print('locked', flush=True)\n"
    "    await asyncio.sleep(60)\n"
    "asyncio.run(main())\n"
)


def test_a_journal_in_use_by_another_run_is_refused_naming_it(
    tmp_path: Path, jsonl: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "import.journal"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(journal)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        status = exit_status(["import", str(jsonl), "--emulator", "--journal", str(journal)])
    finally:
        holder.kill()
        holder.wait(timeout=30)
        if holder.stdout is not None:
            holder.stdout.close()
    assert status == 2
    err = capsys.readouterr().err
    assert f"journal {journal} is in use by another run (pid {holder.pid} " in err
