"""``zyntro-async import`` journals by default, and stops cleanly on SIGINT / SIGTERM.

Over real sockets: the command runs as a process against an emulator served by the test
(with latency, so a signal lands mid-run); what reached the emulator is counted from its
state, so a duplicated note, attachment or comms entry fails the test.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from zyntro_async.cli import _import_cmd, _journal_files
from zyntro_async.cli import _interrupt as stopping
from zyntro_async.testing import Emulator, Latency, RequestRecord

from .conftest import (
    PROCESS_TIMEOUT,
    Outcome,
    bundle,
    clean_env,
    cli_command,
    emulator_env,
    run_cli,
    run_cli_async,
    write_jsonl,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and paths")

NOTE_ENDPOINT = "crm/addNotestoContact"


def assert_nothing_doubled(emulator: Emulator) -> None:
    notes = [(n.contact_id, n.content) for n in emulator.notes]
    assert len(notes) == len(set(notes))
    comms = [(c.contact_id, str(c.comms_data)) for c in emulator.comms]
    assert len(comms) == len(set(comms))
    attachments = [(a.contact_id, a.name) for a in emulator.attachments]
    assert len(attachments) == len(set(attachments))
    emails = [c.primary_email for c in emulator.contacts]
    assert len(emails) == len(set(emails))


def journal_statuses(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT key, status FROM outcomes").fetchall())
    finally:
        conn.close()


# ------------------------------------------------------------------ journal by default


async def test_rerunning_the_same_command_resumes_and_sends_nothing_twice(
    zyntro_emulator: Emulator, good_jsonl: Path
) -> None:
    env = emulator_env(zyntro_emulator)
    journal = good_jsonl.with_name("good.jsonl.zyntro-journal")

    first = await run_cli_async("import", good_jsonl, env=env)
    notes, attachments, comms = (
        len(zyntro_emulator.notes),
        len(zyntro_emulator.attachments),
        len(zyntro_emulator.comms),
    )
    second = await run_cli_async("import", good_jsonl, env=env)

    assert first.returncode == 0, first.output
    assert journal.is_file()
    assert f"journal {journal}" in first.stderr
    assert second.returncode == 0, second.output
    assert second.stderr.splitlines()[0] == f"resuming: 8 of 8 already done, journal {journal}"
    assert "nothing left to do" in second.stdout
    assert "items:    8 succeeded" in second.stdout  # the summary is still there
    assert (
        len(zyntro_emulator.notes),
        len(zyntro_emulator.attachments),
        len(zyntro_emulator.comms),
    ) == (notes, attachments, comms)
    assert_nothing_doubled(zyntro_emulator)


async def test_a_rerun_after_failures_sends_only_what_did_not_succeed(
    zyntro_emulator: Emulator, mixed_jsonl: Path
) -> None:
    env = emulator_env(zyntro_emulator)

    first = await run_cli_async("import", mixed_jsonl, env=env)
    second = await run_cli_async("import", mixed_jsonl, env=env)

    assert first.returncode == 1, first.output
    assert "exit status 1: some items need attention" in first.stdout
    assert second.returncode == 1, second.output
    assert second.stderr.startswith("resuming: 5 of 8 already done, journal ")
    assert len(zyntro_emulator.contacts) == 5
    assert_nothing_doubled(zyntro_emulator)


async def test_no_journal_says_what_it_risks_and_writes_none(
    zyntro_emulator: Emulator, good_jsonl: Path
) -> None:
    result = await run_cli_async(
        "import", good_jsonl, "--no-journal", env=emulator_env(zyntro_emulator)
    )

    assert result.returncode == 0, result.output
    assert "duplicates the notes, attachments and comms" in result.stderr
    assert not list(good_jsonl.parent.glob("*.zyntro-journal"))


async def test_an_explicit_journal_path_is_used(
    zyntro_emulator: Emulator, good_jsonl: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "elsewhere.db"

    result = await run_cli_async(
        "import", good_jsonl, "--journal", journal, env=emulator_env(zyntro_emulator)
    )

    assert result.returncode == 0, result.output
    assert journal.is_file()
    assert not list(good_jsonl.parent.glob("*.zyntro-journal"))


def test_the_emulator_keeps_no_journal_so_a_rerun_imports_everything_again(
    good_jsonl: Path,
) -> None:
    first = run_cli("import", good_jsonl, "--emulator")
    second = run_cli("import", good_jsonl, "--emulator")

    for result in (first, second):
        assert result.returncode == 0, result.output
        assert "holds 8 contacts" in result.stdout
        assert "resuming" not in result.output
    assert not list(good_jsonl.parent.glob("*.zyntro-journal"))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--journal", "j.db", "--no-journal"], "--journal and --no-journal"),
        (["--base-url", "http://127.0.0.1:1"], "--base-url and --emulator"),
        (["--max-failures", "-1"], "must be at least 0"),
        (["--grace", "0"], "must be a positive number"),
        (["--timeout", "soon"], "expected a number"),
        (["--lookup-by", "name"], "invalid choice"),
        (["--no-journal", "--retry-unknown"], "--retry-unknown only makes sense with --journal"),
    ],
)
def test_contradicting_or_bad_run_flags_are_usage_errors(
    good_jsonl: Path, flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from zyntro_async.cli import main

    try:
        status = main(["import", str(good_jsonl), "--emulator", *flags])
    except SystemExit as exc:  # argparse's own errors
        status = exc.code  # type: ignore[assignment]

    assert status == 2
    assert message in capsys.readouterr().err


def test_the_default_journal_sits_beside_the_input(tmp_path: Path) -> None:
    source = tmp_path / "contacts.jsonl"
    source.write_text("")

    assert _journal_files.default_journal_path(source) == tmp_path / "contacts.jsonl.zyntro-journal"


def test_a_read_only_folder_puts_the_journal_in_the_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "read-only" / "contacts.jsonl"
    source.parent.mkdir()
    source.write_text("")
    other = tmp_path / "other" / "contacts.jsonl"
    other.parent.mkdir()
    other.write_text("")
    # (root may write anywhere: simulate the read-only folder instead of chmod-ing it)
    monkeypatch.setattr(_journal_files.os, "access", lambda path, mode: False)
    state = tmp_path / "state"

    path = _journal_files.default_journal_path(source, environ={"XDG_STATE_HOME": str(state)})
    path_of_other = _journal_files.default_journal_path(
        other, environ={"XDG_STATE_HOME": str(state)}
    )

    assert path.parent == state / "zyntro-async" / "journals"
    assert path.parent.is_dir()
    assert path.name.startswith("contacts.jsonl-")
    assert path.name.endswith(".journal")
    assert path != path_of_other  # same name, different folders
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    fallback = _journal_files.default_journal_path(source, environ={})
    assert fallback.parent == tmp_path / "home" / ".local" / "state" / "zyntro-async" / "journals"


# ------------------------------------------------------------------------------ signals


async def _start(
    data: Path, journal: Path, export: Path, env: dict[str, str], *extra: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *cli_command(
            "import", data, "--journal", journal, "--export", export, "--concurrency", "4", *extra
        ),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(env),
    )


async def _read_until(stream: asyncio.StreamReader, text: str, seen: list[str]) -> None:
    while True:
        line = (await stream.readline()).decode()
        if not line:
            raise AssertionError(f"{text!r} never came: {''.join(seen)}")
        seen.append(line)
        if text in line:
            return


async def _finish(proc: asyncio.subprocess.Process, seen: list[str]) -> Outcome:
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=PROCESS_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return Outcome(proc.returncode, stdout.decode(), "".join(seen) + stderr.decode())


async def _interrupt(
    tmp_path: Path,
    *,
    latency_ms: int,
    signals: Callable[[asyncio.subprocess.Process, list[str]], Awaitable[None]],
) -> tuple[Outcome, Outcome, Emulator, Path, Path]:
    """Start an import of 60 bundles, call ``signals`` once some notes landed, then rerun."""
    data = write_jsonl(tmp_path / "many.jsonl", [bundle(i) for i in range(60)])
    journal = tmp_path / "import.journal"
    export = tmp_path / "attention.jsonl"
    some_notes_added = asyncio.Event()
    notes_seen: list[int] = []

    def watch(record: RequestRecord) -> None:
        if record.applied and record.endpoint == NOTE_ENDPOINT:
            notes_seen.append(record.seq)
            if len(notes_seen) >= 5:
                some_notes_added.set()

    emulator = Emulator.demo(on_request=watch)
    emulator.faults.add(Latency(ms=latency_ms))
    try:
        async with emulator.serve():
            env = emulator_env(emulator)
            proc = await _start(data, journal, export, env)
            seen: list[str] = []
            try:
                await asyncio.wait_for(some_notes_added.wait(), timeout=PROCESS_TIMEOUT)
                await signals(proc, seen)
            finally:
                stopped = await _finish(proc, seen)
            contacts_after_stop = len(emulator.contacts)
            assert contacts_after_stop < 60, stopped.output
            emulator.faults.clear()
            resumed = await run_cli_async("import", data, "--journal", journal, env=env)
        return stopped, resumed, emulator, journal, export
    finally:
        await emulator.close()


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["INT", "TERM"]
)
async def test_a_signal_lets_requests_in_flight_finish_then_reports_and_a_rerun_completes(
    tmp_path: Path, signum: signal.Signals, status: int
) -> None:
    async def once(proc: asyncio.subprocess.Process, seen: list[str]) -> None:
        proc.send_signal(signum)

    stopped, resumed, emulator, journal, export = await _interrupt(
        tmp_path, latency_ms=40, signals=once
    )

    assert stopped.returncode == status, stopped.output
    assert "stopping: finishing" in stopped.stderr
    assert "again to stop now" in stopped.stderr
    assert f"interrupted by {signum.name}" in stopped.stderr
    assert "Import of many.jsonl stopped early" in stopped.stdout
    assert "items:" in stopped.stdout  # the summary
    assert f"to {export}" in stopped.stdout
    assert export.exists()
    # Every request in flight was allowed to finish: nothing is left "maybe applied".
    statuses = journal_statuses(journal)
    assert statuses
    assert set(statuses.values()) <= {"succeeded", "failed"}, statuses
    # The rerun sends what was never read, once.
    assert resumed.returncode == 0, resumed.output
    assert resumed.stderr.startswith("resuming: ")
    assert len(emulator.contacts) == 60
    assert len(emulator.notes) == 60
    assert len(emulator.comms) == 60
    assert_nothing_doubled(emulator)


async def test_a_second_signal_stops_at_once_and_still_reports(tmp_path: Path) -> None:
    async def twice(proc: asyncio.subprocess.Process, seen: list[str]) -> None:
        assert proc.stderr is not None
        proc.send_signal(signal.SIGINT)
        await _read_until(proc.stderr, "stopping: finishing", seen)
        proc.send_signal(signal.SIGINT)

    # Slow answers: the second signal arrives while requests are still out.
    stopped, resumed, emulator, journal, export = await _interrupt(
        tmp_path, latency_ms=1500, signals=twice
    )

    assert stopped.returncode == 130, stopped.output
    assert "stopping now (second signal)" in stopped.stderr
    assert "items:" in stopped.stdout
    assert re.search(r"items: .* [1-9]\d* unknown", stopped.stdout) or re.search(
        r"children: .* [1-9]\d* unknown", stopped.stdout
    ), stopped.stdout
    assert export.exists()
    # The journal is consistent: what was cut off is recorded unknown, not left "sent".
    assert "unknown" in set(journal_statuses(journal).values())
    assert "sent" not in set(journal_statuses(journal).values())
    # Whatever was cut off is "unknown" (not sent again without --retry-unknown): the
    # rerun completes the rest and doubles nothing.
    assert resumed.returncode in (0, 1), resumed.output
    assert len(emulator.contacts) == 60
    assert_nothing_doubled(emulator)


# ---------------------------------------------------------------- the CLI around it


def test_every_missing_credential_is_listed_at_once(good_jsonl: Path) -> None:
    result = run_cli("import", good_jsonl)

    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for name in ("ZYNTRO_API_KEY", "ZYNTRO_DEVELOPER_SECRET", "ZYNTRO_ORG_ID", "ZYNTRO_MEMBER_ID"):
        assert name in lines[0]
    assert "--emulator" in lines[0]


def test_member_id_flag_removes_it_from_the_missing_list() -> None:
    env = {"ZYNTRO_API_KEY": "k", "ZYNTRO_ORG_ID": " "}

    missing = _import_cmd.missing_credentials("member-1", env)

    assert missing == ["ZYNTRO_DEVELOPER_SECRET", "ZYNTRO_ORG_ID"]


def test_version() -> None:
    from zyntro_async import __version__

    result = run_cli("--version")

    assert result.returncode == 0
    assert result.stdout.strip() == f"zyntro-async {__version__}"


async def test_base_url_flag_replaces_the_variable(
    zyntro_emulator: Emulator, good_jsonl: Path
) -> None:
    env = emulator_env(zyntro_emulator)
    url = env.pop("ZYNTRO_BASE_URL")

    result = await run_cli_async("import", good_jsonl, "--no-journal", "--base-url", url, env=env)

    assert result.returncode == 0, result.output
    assert f"into {url}" in result.stderr
    assert len(zyntro_emulator.contacts) == 8


async def test_max_failures_and_fail_fast_stop_the_run(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    lines = [bundle(i, contact={"firstName": "x", "primaryEmail": f"bad{i}"}) for i in range(40)]
    data = write_jsonl(tmp_path / "bad.jsonl", lines)
    env = emulator_env(zyntro_emulator)

    fail_fast = await run_cli_async(
        "import", data, "--no-journal", "--fail-fast", "--concurrency", "1", env=env
    )
    limited = await run_cli_async(
        "import", data, "--no-journal", "--max-failures", "2", "--concurrency", "1", env=env
    )

    assert fail_fast.returncode == 1, fail_fast.output
    assert "stopped early" in fail_fast.stdout
    assert "(1 total)" in fail_fast.stdout
    assert limited.returncode == 1, limited.output
    assert "stopped early" in limited.stdout
    assert "(3 total)" in limited.stdout


def test_timeout_flag_reaches_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ZYNTRO_API_KEY", "ZYNTRO_DEVELOPER_SECRET", "ZYNTRO_ORG_ID"):
        monkeypatch.setenv(name, "x")

    client = _import_cmd._client_from_environment(
        "member-1", base_url="https://crm.example", timeout=4.5
    )

    assert client.config.timeout == 4.5
    assert client.config.base_url == "https://crm.example"
    asyncio.run(client.aclose())


def test_lookup_by_applies_to_contacts_that_use_the_default() -> None:
    from zyntro_async import Contact
    from zyntro_async.bulk import AddNote, ContactBundle, InvalidItem, UpsertContact

    phone = Contact(first_name="A", primary_phone="+15550100", primary_email="a@b.example")
    bundled = ContactBundle(contact=phone, notes=[AddNote(contact_id=None, note="n")])
    chosen = UpsertContact(contact=phone, lookup_by="phone")
    no_phone = UpsertContact(contact=Contact(first_name="B", primary_email="b@b.example"))
    note = AddNote(contact_id="c1", note="n")

    assert stopping._with_lookup(bundled, "phone").lookup_by == "phone"
    assert stopping._with_lookup(bundled, "phone").parent.lookup_by == "phone"
    assert stopping._with_lookup(chosen, "contact_id") is chosen  # the line chose
    assert stopping._with_lookup(note, "phone") is note
    assert stopping._with_lookup(bundled, None) is bundled
    invalid = stopping._with_lookup(no_phone, "phone")
    assert isinstance(invalid, InvalidItem)
    assert "primaryPhone" in str(invalid.error) or "phone" in str(invalid.error)


async def test_verbose_logs_requests_on_stderr_without_credentials(
    zyntro_emulator: Emulator, good_jsonl: Path
) -> None:
    env = emulator_env(zyntro_emulator)

    result = await run_cli_async("import", good_jsonl, "--no-journal", "--verbose", env=env)

    assert result.returncode == 0, result.output
    assert "zyntro_async DEBUG" in result.stderr
    assert env["ZYNTRO_API_KEY"] not in result.output
    assert env["ZYNTRO_DEVELOPER_SECRET"] not in result.output


WITHOUT_RICH = (
    "import sys; sys.modules['rich'] = None; from zyntro_async.cli import main; sys.exit(main())"
)


@pytest.mark.parametrize("on_terminal", [False, True], ids=["pipe", "terminal"])
def test_without_rich_the_output_is_plain(good_jsonl: Path, on_terminal: bool) -> None:
    command = [sys.executable, "-W", "error", "-c", WITHOUT_RICH, "import", str(good_jsonl)]
    command.append("--emulator")
    if on_terminal:
        from ._terminal import run_on_terminal

        returncode, output = run_on_terminal(command, clean_env({"TERM": "xterm-256color"}))
    else:
        done = run_cli_subprocess(command)
        returncode, output = done.returncode, done.output

    assert returncode == 0, output
    assert "Traceback" not in output
    assert "progress: 8/8 done" in output
    assert "items:    8 succeeded" in output


def run_cli_subprocess(command: list[str]) -> Outcome:
    import subprocess

    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=PROCESS_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def test_journal_done_counts_items_whose_children_all_succeeded(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    conn = sqlite3.connect(journal)
    conn.execute("CREATE TABLE outcomes (key TEXT PRIMARY KEY, status TEXT)")
    conn.executemany(
        "INSERT INTO outcomes VALUES (?, ?)",
        [
            ("a", "succeeded"),
            ("a/notes/0", "succeeded"),
            ("b", "succeeded"),
            ("b/comms/0", "failed"),
            ("c", "failed"),
            ("d", "succeeded"),
            ("d/attachments/0", "sent"),
            ("e", "succeeded"),
        ],
    )
    conn.commit()
    conn.close()
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")

    assert _journal_files.journal_done(journal) == 2  # a and e
    assert _journal_files.journal_done(empty) is None
    assert _journal_files.journal_done(tmp_path / "missing.db") is None


def test_journal_path_rules(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    args = argparse.Namespace(no_journal=False, journal=None, emulator=False)

    assert _journal_files.journal_path(args, source) == tmp_path / "in.jsonl.zyntro-journal"
    args.emulator = True
    assert _journal_files.journal_path(args, source) is None
    args.journal = tmp_path / "x.db"
    assert _journal_files.journal_path(args, source) == tmp_path / "x.db"
    args.no_journal, args.journal = True, None
    assert _journal_files.journal_path(args, source) is None


class _StoppedClient:
    """A client whose run signals its own process twice, then ends as a cancelled run does:
    the cancellation propagates, carrying the report of what was pulled."""

    def __init__(self) -> None:
        self.config = argparse.Namespace(base_url="https://crm.example")
        self.bulk = self

    async def run(self, items: object, **options: object) -> object:
        import os

        from zyntro_async.bulk import BulkReport, ItemResult, Status

        report = BulkReport()
        report.add(ItemResult(index=0, key="k", op=None, status=Status.UNKNOWN))
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(0.05)
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(60)
        except asyncio.CancelledError as cancelled:
            vars(cancelled)["report"] = report
            raise
        raise AssertionError("the second signal did not cancel the run")


def test_a_report_carried_by_a_cancelled_run_is_summarised(
    good_jsonl: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zyntro_async.cli import build_parser
    from zyntro_async.cli._readers import ImportReader

    args = build_parser().parse_args(["import", str(good_jsonl), "--no-journal", "--quiet"])
    args.journal = None
    reader = ImportReader(good_jsonl, "jsonl")

    status = asyncio.run(_import_cmd._import(args, reader, _StoppedClient(), None))  # type: ignore[arg-type]

    out, err = capsys.readouterr()
    assert status == 143
    assert "stopping now (second signal)" in err
    assert "interrupted by SIGTERM" in err
    assert "Import of good.jsonl stopped early" in out
    # The run's own report (one item, cut off in flight), not one the CLI pieced together.
    assert "1 unknown" in out
