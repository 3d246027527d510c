"""``zyntro-async import`` end to end, as a process: exit codes, output, export, journal."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
from pathlib import Path

import pytest

from zyntro_async.testing import Emulator, Latency

from .conftest import (
    EXAMPLES,
    bundle,
    emulator_env,
    run_cli,
    run_cli_async,
    write_csv,
    write_jsonl,
)

ANSI = re.compile(r"\x1b\[")


# ------------------------------------------------------------------- with --emulator


def test_all_good_jsonl_exits_0_with_plain_output(good_jsonl: Path) -> None:
    result = run_cli("import", good_jsonl, "--emulator")

    assert result.returncode == 0, result.output
    assert "items:    8 succeeded, 0 failed, 0 unknown, 0 skipped (8 total)" in result.stdout
    assert "children: 32 succeeded" in result.stdout
    assert "needs attention" not in result.stdout
    # What the emulator holds afterwards, so a newcomer sees it worked.
    assert (
        "holds 8 contacts (3 companies), 8 notes, 16 attachments and 8 comms entries"
        in result.stdout
    )
    # No terminal: plain progress lines, no escape sequences anywhere.
    assert "progress: 8/8 done, 0 failed" in result.stderr
    assert not ANSI.search(result.output)
    assert "Traceback" not in result.output


def test_bad_lines_exit_1_and_are_named_with_their_line_and_reason(mixed_jsonl: Path) -> None:
    result = run_cli("import", mixed_jsonl, "--emulator")

    assert result.returncode == 1, result.output
    assert "items:    5 succeeded, 3 failed" in result.stdout
    attention = result.stdout.split("needs attention:", 1)[1]
    assert re.search(r"mixed\.jsonl:2 .*REQUEST_VALIDATION .*contact\.primaryEmail", attention)
    assert re.search(r"mixed\.jsonl:4 .*contact .*CUSTOM_FIELD_ERROR .*company_size", attention)
    assert re.search(r"mixed\.jsonl:7 .*REQUEST_VALIDATION .*not valid JSON", attention)


def test_csv_rows_become_contacts_with_notes_links_files_and_custom_fields(
    tmp_path: Path,
) -> None:
    csv_file = write_csv(
        tmp_path / "people.csv",
        [
            "Ada,Lovelace,ada@engines.example,+44 20 7946 0001,Engines Ltd,vip;math,"
            "Met at the fair,https://engines.example/deck.pdf,Computing",
            'Alan,Turing,alan@bletchley.example,,"Bletchley, Park",,,files/hello.txt,',
            "Grace,Hopper,grace@navy.example,,,,,,",
            "",  # empty row: skipped, not an item
            "Bad,Email,not-an-email,,,,,,",
            "Bad,Phone,phone@x.example,call me maybe,,,,,",
        ],
    )

    result = run_cli("import", csv_file, "--emulator", "--custom-field", "industry")

    assert result.returncode == 1, result.output
    assert "items:    3 succeeded, 2 failed, 0 unknown, 0 skipped (5 total)" in result.stdout
    assert "holds 3 contacts" in result.stdout
    assert "1 notes, 2 attachments" in result.stdout
    assert re.search(r"people\.csv:6 .*contact\.primaryEmail", result.stdout)
    assert re.search(r"people\.csv:7 .*contact\.primaryPhone", result.stdout)


def test_quiet_prints_no_progress(good_jsonl: Path) -> None:
    result = run_cli("import", good_jsonl, "--emulator", "--quiet")

    assert result.returncode == 0, result.output
    assert "progress:" not in result.stderr
    assert "8 succeeded" in result.stdout


def test_more_than_20_failures_are_summarised_and_exported(tmp_path: Path) -> None:
    lines = [bundle(i, contact={"firstName": "X", "primaryEmail": f"bad{i}"}) for i in range(25)]
    data = write_jsonl(tmp_path / "bad.jsonl", lines)
    export = tmp_path / "attention.jsonl"

    result = run_cli("import", data, "--emulator", "--export", export)

    assert result.returncode == 1
    assert result.stdout.count("REQUEST_VALIDATION") == 20
    assert f"... and 5 more (see {export})" in result.stdout
    assert len(export.read_text().splitlines()) == 25


# ------------------------------------------------------------------------ usage errors


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["import", "missing.jsonl", "--emulator"], "no such file: missing.jsonl"),
        (["import", "{good}", "--format", "xml", "--emulator"], "invalid choice: 'xml'"),
        (["import", "{odd}", "--emulator"], "pass --format csv or --format jsonl"),
        (["import", "{good}", "--concurrency", "0", "--emulator"], "must be at least 1"),
        (["import", "{good}", "--retry-unknown", "--emulator"], "only makes sense with --journal"),
        (["import", "{csv}", "--emulator"], "unknown column 'industry'"),
        (["import", "{csv}", "--custom-field", "industri", "--emulator"], "unknown column"),
        (["import"], "the following arguments are required: FILE"),
    ],
)
def test_usage_errors_exit_2_before_importing(
    tmp_path: Path, good_jsonl: Path, args: list[str], expected: str
) -> None:
    odd = tmp_path / "contacts.txt"
    odd.write_text("{}\n")
    csv_file = write_csv(tmp_path / "c.csv", ["A,B,a@b.example,,,,,,Software"])
    paths = {"{good}": str(good_jsonl), "{odd}": str(odd), "{csv}": str(csv_file)}
    os.chdir(tmp_path)

    result = run_cli(*(paths.get(arg, arg) for arg in args))

    assert result.returncode == 2, result.output
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert "Imported" not in result.stdout


@pytest.mark.parametrize(
    "missing",
    ["ZYNTRO_API_KEY", "ZYNTRO_DEVELOPER_SECRET", "ZYNTRO_ORG_ID", "ZYNTRO_MEMBER_ID"],
)
def test_missing_credentials_exit_2_naming_the_variable(good_jsonl: Path, missing: str) -> None:
    env = {
        "ZYNTRO_API_KEY": "UYUJH-XXXX",
        "ZYNTRO_DEVELOPER_SECRET": "zdk_secret",
        "ZYNTRO_ORG_ID": "org",
        "ZYNTRO_MEMBER_ID": "member",
        "ZYNTRO_BASE_URL": "http://127.0.0.1:9",  # never reached
    }
    del env[missing]

    result = run_cli("import", good_jsonl, env=env)

    assert result.returncode == 2, result.output
    assert missing in result.stderr
    assert "zdk_secret" not in result.output


# ----------------------------------------------------- against a separate emulator (env)


async def test_imports_into_the_service_named_by_zyntro_variables(
    zyntro_emulator: Emulator, good_jsonl: Path
) -> None:
    result = await run_cli_async("import", good_jsonl, env=emulator_env(zyntro_emulator))

    assert result.returncode == 0, result.output
    assert len(zyntro_emulator.contacts) == 8
    assert len(zyntro_emulator.notes) == 8
    assert len(zyntro_emulator.attachments) == 16
    assert len(zyntro_emulator.comms) == 8
    assert zyntro_emulator.find_contact(email="test3@cli.example") is not None
    assert zyntro_emulator.credentials.api_key not in result.output


async def test_exported_rows_can_be_fixed_and_imported_again(
    zyntro_emulator: Emulator, mixed_jsonl: Path, tmp_path: Path
) -> None:
    env = emulator_env(zyntro_emulator)
    export = tmp_path / "attention.jsonl"

    first = await run_cli_async("import", mixed_jsonl, "--export", export, env=env)

    assert first.returncode == 1
    assert "wrote 3 line(s) needing attention" in first.stdout
    exported = [json.loads(line) for line in export.read_text().splitlines()]
    assert [line["error"]["code"] for line in exported] == [
        "REQUEST_VALIDATION",
        "CUSTOM_FIELD_ERROR",
        "REQUEST_VALIDATION",
    ]
    # Fix each line as a person would, keeping the "status"/"error" keys export added.
    exported[0]["contact"]["primaryEmail"] = "fixed90@cli.example"
    exported[1]["contact"]["customFields"]["company_size"] = "200+"
    exported[2] = bundle(92)
    (tmp_path / "files").mkdir(exist_ok=True)
    export.write_text("".join(json.dumps(line) + "\n" for line in exported))

    second = await run_cli_async("import", export, env=env)

    assert second.returncode == 0, second.output
    assert "items:    3 succeeded, 0 failed" in second.stdout
    assert len(zyntro_emulator.contacts) == 8
    assert zyntro_emulator.find_contact(email="fixed90@cli.example") is not None


async def test_rerun_with_the_same_journal_sends_nothing_again(
    zyntro_emulator: Emulator, mixed_jsonl: Path, tmp_path: Path
) -> None:
    env = emulator_env(zyntro_emulator)
    journal = tmp_path / "import.journal"

    first = await run_cli_async("import", mixed_jsonl, "--journal", journal, env=env)
    applied = dict(zyntro_emulator.applied)
    second = await run_cli_async("import", mixed_jsonl, "--journal", journal, env=env)

    assert first.returncode == second.returncode == 1  # the 3 bad lines are still bad
    assert "items:    5 succeeded, 3 failed" in second.stdout
    assert dict(zyntro_emulator.applied) == applied
    assert len(zyntro_emulator.notes) == 5


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
async def test_an_interrupted_import_resumes_from_its_journal_without_duplicates(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    import asyncio

    from .conftest import cli_command, clean_env

    data = write_jsonl(tmp_path / "many.jsonl", [bundle(i) for i in range(60)])
    journal = tmp_path / "import.journal"
    zyntro_emulator.faults.add(Latency(ms=40))
    proc = await asyncio.create_subprocess_exec(
        *cli_command("import", data, "--journal", journal, "--concurrency", "4"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(emulator_env(zyntro_emulator)),
    )
    while len(zyntro_emulator.notes) < 5:
        await asyncio.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 130, stderr.decode()
    assert "re-run with --journal" in stderr.decode()
    assert len(zyntro_emulator.contacts) < 60
    zyntro_emulator.faults.clear()

    resumed = await run_cli_async(
        "import", data, "--journal", journal, env=emulator_env(zyntro_emulator)
    )

    # Everything is there exactly once; calls cut off mid-flight are reported unknown
    # (not re-sent) unless --retry-unknown says otherwise.
    assert resumed.returncode in (0, 1), resumed.output
    assert len(zyntro_emulator.contacts) == 60
    notes = [(n.contact_id, n.note) for n in zyntro_emulator.notes]
    assert len(notes) == len(set(notes))
    comms = [(c.contact_id, str(c.comms_data)) for c in zyntro_emulator.comms]
    assert len(comms) == len(set(comms))
    if resumed.returncode == 1:
        assert "unknown" in resumed.stdout
        assert re.search(r"items: .* 0 failed", resumed.stdout)


# ----------------------------------------------------------------------- the examples


def test_bundled_example_dataset_end_to_end(tmp_path: Path) -> None:
    export = tmp_path / "attention.jsonl"

    result = run_cli("import", EXAMPLES / "contacts.jsonl", "--emulator", "--export", export)

    assert result.returncode == 1, result.output
    assert "items:    294 succeeded, 6 failed, 0 unknown, 0 skipped (300 total)" in result.stdout
    assert "holds 294 contacts" in result.stdout
    failed_lines = re.findall(r"contacts\.jsonl:(\d+) ", result.stdout)
    assert failed_lines == ["17", "58", "103", "151", "204", "262"]
    for reason in (
        "not a valid e-mail address",
        "unsupported file type",
        "at most 55 characters",
        "contact.primaryEmail: is required",
        "not valid JSON",
        "CUSTOM_FIELD_ERROR",
    ):
        assert reason in result.stdout
    assert len(export.read_text().splitlines()) == 6

    csv_result = run_cli(
        "import",
        EXAMPLES / "contacts.csv",
        "--emulator",
        "--custom-field",
        "industry",
        "--custom-field",
        "company_size",
    )
    assert csv_result.returncode == 1, csv_result.output
    assert "items:    47 succeeded, 3 failed" in csv_result.stdout


def test_example_dataset_is_what_its_script_generates(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "make_dataset.py", tmp_path)
    import subprocess

    subprocess.run(
        [sys.executable, str(tmp_path / "make_dataset.py")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for relative in generated:
        if relative.name == "make_dataset.py":
            continue
        assert (tmp_path / relative).read_bytes() == (EXAMPLES / relative).read_bytes(), relative
    total = sum(p.stat().st_size for p in EXAMPLES.rglob("*") if p.is_file())
    assert total < 1_000_000
