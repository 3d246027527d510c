"""``zyntro-async import`` end to end, as a process: exit codes, output, export, journal."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
import sys
from pathlib import Path

import pytest

from zyntro_async.testing import Emulator, Latency, RequestRecord

from ._terminal import run_on_terminal
from .conftest import (
    EXAMPLES,
    bundle,
    clean_env,
    cli_command,
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
    # The phone's format is the server's to judge (issue #16): sent, refused there, named.
    assert re.search(r"people\.csv:7 .*primaryPhone", result.stdout)


def test_more_than_20_failures_are_summarised_and_all_exported_quietly(tmp_path: Path) -> None:
    lines = [bundle(i, contact={"firstName": "X", "primaryEmail": f"bad{i}"}) for i in range(25)]
    data = write_jsonl(tmp_path / "bad.jsonl", lines)
    export = tmp_path / "attention.jsonl"

    result = run_cli("import", data, "--emulator", "--export", export, "--quiet")

    assert result.returncode == 1
    assert "progress:" not in result.stderr
    assert result.stdout.count("REQUEST_VALIDATION") == 20
    assert f"... and 5 more (see {export})" in result.stdout
    assert len(export.read_text().splitlines()) == 25


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_terminal_gets_a_live_progress_bar_and_summary_tables(good_jsonl: Path) -> None:
    env = clean_env({"TERM": "xterm-256color", "COLUMNS": "160"})
    returncode, screen = run_on_terminal(cli_command("import", good_jsonl, "--emulator"), env)

    assert returncode == 0, screen
    assert ANSI.search(screen)  # rich drew it
    assert "importing" in screen
    assert "8/8" in screen
    assert "┏" in screen  # the summary table
    assert "progress:" not in screen  # not the plain log lines


# ------------------------------------------------------------------------ usage errors
# (the full list runs in-process in test_import_usage.py; two here prove the process exits 2)


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = run_cli("import", "missing.jsonl", "--emulator", cwd=tmp_path)

    assert result.returncode == 2, result.output
    assert "no such file: missing.jsonl" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_credentials_exit_2_naming_the_variable(good_jsonl: Path) -> None:
    env = {"ZYNTRO_DEVELOPER_SECRET": "zdk_secret", "ZYNTRO_ORG_ID": "org"}

    result = run_cli("import", good_jsonl, env=env)

    assert result.returncode == 2, result.output
    assert "ZYNTRO_API_KEY" in result.stderr
    assert "--emulator" in result.stderr
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


async def test_rejected_credentials_stop_the_import_early_with_exit_2(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    data = write_jsonl(tmp_path / "many.jsonl", [bundle(i) for i in range(200)])
    env = {**emulator_env(zyntro_emulator), "ZYNTRO_API_KEY": "UYUJH-NOT-A-REAL-KEY"}

    result = await run_cli_async("import", data, "--concurrency", "4", env=env)

    assert result.returncode == 2, result.output
    assert "stopped early: Zyntro refused the credentials" in result.stdout
    assert "INVALID_API_KEY" in result.stdout
    attempted = int(re.search(r"items: .*\((\d+) total\)", result.stdout).group(1))  # type: ignore[union-attr]
    assert attempted < 50  # not 200 requests doomed to fail the same way
    assert "UYUJH-NOT-A-REAL-KEY" not in result.output


async def test_exported_rows_can_be_fixed_and_imported_again(
    zyntro_emulator: Emulator, mixed_jsonl: Path, tmp_path: Path
) -> None:
    env = emulator_env(zyntro_emulator)
    export = tmp_path / "attention.jsonl"

    first = await run_cli_async("import", mixed_jsonl, "--export", export, env=env)

    assert first.returncode == 1
    assert "wrote 3 line(s) needing attention" in first.stdout
    exported = [json.loads(line) for line in export.read_text().splitlines()]
    # In input order, each with why it needs attention.
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
    tmp_path: Path,
) -> None:
    data = write_jsonl(tmp_path / "many.jsonl", [bundle(i) for i in range(60)])
    journal = tmp_path / "import.journal"
    some_notes_added = asyncio.Event()

    def watch(record: RequestRecord) -> None:
        if record.applied and record.endpoint == "crm/addNotestoContact":
            notes_seen.append(record.seq)
            if len(notes_seen) >= 5:
                some_notes_added.set()

    notes_seen: list[int] = []
    emulator = Emulator.demo(on_request=watch)
    emulator.faults.add(Latency(ms=40))
    try:
        async with emulator.serve():
            env = emulator_env(emulator)
            proc = await asyncio.create_subprocess_exec(
                *cli_command("import", data, "--journal", journal, "--concurrency", "4"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=clean_env(env),
            )
            try:
                await asyncio.wait_for(some_notes_added.wait(), timeout=30)
                proc.send_signal(signal.SIGINT)
                _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            assert proc.returncode == 130, stderr.decode()
            assert f"re-run with --journal {journal} to resume" in stderr.decode()
            assert len(emulator.contacts) < 60
            emulator.faults.clear()

            resumed = await run_cli_async("import", data, "--journal", journal, env=env)

        # Everything is there exactly once; calls cut off mid-flight are reported unknown
        # (not re-sent) unless --retry-unknown says otherwise.
        assert resumed.returncode in (0, 1), resumed.output
        assert len(emulator.contacts) == 60
        notes = [(n.contact_id, n.content) for n in emulator.notes]
        assert len(notes) == len(set(notes))
        comms = [(c.contact_id, str(c.comms_data)) for c in emulator.comms]
        assert len(comms) == len(set(comms))
        if resumed.returncode == 1:
            assert "unknown" in resumed.stdout
            assert re.search(r"items: .* 0 failed", resumed.stdout)
    finally:
        await emulator.close()


# ----------------------------------------------------------------------- the examples


def test_bundled_example_dataset_end_to_end(tmp_path: Path) -> None:
    export = tmp_path / "attention.jsonl"

    result = run_cli("import", EXAMPLES / "contacts.jsonl", "--emulator", "--export", export)

    assert result.returncode == 1, result.output
    assert "items:    294 succeeded, 6 failed, 0 unknown, 0 skipped (300 total)" in result.stdout
    assert "holds 294 contacts" in result.stdout
    # Said before the summary: the failures are on purpose, and what exit status 1 means.
    note = result.stdout.index("contains six rows (lines 17, 58, 103, 151, 204, 262)")
    assert note < result.stdout.index("items:")
    assert "refuses on purpose" in result.stdout
    assert "exit status 1 means some items need attention" in result.stdout
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
    assert "contains three rows (lines 13, 30, 42)" in csv_result.stdout


def test_other_failed_runs_explain_exit_status_1(mixed_jsonl: Path) -> None:
    result = run_cli("import", mixed_jsonl, "--emulator")

    assert result.returncode == 1, result.output
    assert "on purpose" not in result.stdout
    assert "exit status 1: some items need attention; use --export PATH" in result.stdout


def make_dataset(rows: int, out: Path) -> None:
    import subprocess

    subprocess.run(
        [sys.executable, str(EXAMPLES / "make_dataset.py"), "--rows", str(rows), "--out", out],
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_make_dataset_writes_a_larger_dataset_of_the_same_shape(tmp_path: Path) -> None:
    out = tmp_path / "big"
    make_dataset(700, out)

    lines = (out / "contacts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 700
    parsed = []
    for number, line in enumerate(lines, start=1):
        try:
            parsed.append(json.loads(line))
        except ValueError:
            assert (number - 1) % 300 + 1 == 204  # the malformed line, every 300
    assert len(parsed) == 698
    emails = [p["contact"].get("primaryEmail") for p in parsed if "primaryEmail" in p["contact"]]
    assert len(emails) == len(set(emails))
    assert {key for p in parsed for key in p} == {
        "key", "contact", "entity", "notes", "attachments", "comms"
    }  # fmt: skip
    assert {p["key"] for p in parsed} >= {"crm-0001", "crm-0700"}
    rows = (out / "contacts.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 701
    assert rows[0] == (EXAMPLES / "contacts.csv").read_text().splitlines()[0]
    assert sorted(p.name for p in (out / "files").iterdir()) == sorted(
        p.name for p in (EXAMPLES / "files").iterdir()
    )
    marker = json.loads((out / ".zyntro-example.json").read_text())
    assert marker["contacts.jsonl"]["refused"] == 14  # 6 + 6 + lines 617 and 658
    assert marker["contacts.csv"]["refused"] == 42  # 3 in every 50 rows


def test_a_generated_dataset_says_its_bad_rows_are_on_purpose(tmp_path: Path) -> None:
    out = tmp_path / "small"
    make_dataset(60, out)

    result = run_cli("import", out / "contacts.jsonl", "--emulator")

    assert result.returncode == 1, result.output
    assert "items:    58 succeeded, 2 failed" in result.stdout
    assert "contains two rows (lines 17, 58) that the API refuses on purpose" in result.stdout


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
