"""``zyntro-async import`` over real sockets: changed content, aborts, rows sharing a contact.

The command runs as a process against an emulator served by the test; what reached the
emulator is read from its state.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import json
import sys
from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from zyntro_async.cli import _import_cmd, build_parser
from zyntro_async.cli._readers import ImportReader
from zyntro_async.testing import Emulator, Latency, ResetAfterApply

from .conftest import bundle, emulator_env, run_cli_async, write_jsonl

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")

NOTE_ENDPOINT = "crm/addNotestoContact"


def note_counts(emulator: Emulator) -> Counter[str]:
    return Counter(note.content for note in emulator.notes)


async def test_an_edited_note_under_the_same_key_is_a_conflict_until_retry_changed(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    env = emulator_env(zyntro_emulator)
    data = write_jsonl(tmp_path / "in.jsonl", [bundle(i) for i in range(3)])
    export = tmp_path / "attention.jsonl"
    assert (await run_cli_async("import", data, env=env)).returncode == 0

    # The same keys (t-000 ...), the first line's note edited, its contact renamed.
    edited = bundle(0, notes=[{"note": "note for 0, edited", "visible": True}])
    edited["contact"]["firstName"] = "Renamed"
    write_jsonl(data, [edited, bundle(1), bundle(2)])
    conflict = await run_cli_async("import", data, "--export", export, env=env)

    assert conflict.returncode == 1, conflict.output
    assert "JOURNAL_CONFLICT" in conflict.stdout
    assert "--retry-changed" in conflict.stdout
    assert "retry_changed=True" not in conflict.output  # the command's flag, not Python's
    (line,) = [json.loads(text) for text in export.read_text().splitlines()]
    assert line["error"]["code"] == "JOURNAL_CONFLICT"
    assert "--retry-changed" in line["error"]["message"]
    assert note_counts(zyntro_emulator)["note for 0, edited"] == 0
    contact = zyntro_emulator.find_contact(email="test0@cli.example")
    assert contact is not None
    assert contact.first_name == "Renamed"  # the upsert is idempotent: it was sent again

    resolved = await run_cli_async("import", data, "--retry-changed", env=env)

    assert resolved.returncode == 0, resolved.output
    assert note_counts(zyntro_emulator) == Counter(
        ["note for 0", "note for 0, edited", "note for 1", "note for 2"]
    )


async def test_reruns_after_max_failures_get_further_until_all_that_can_succeed_has(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    env = emulator_env(zyntro_emulator)
    # Lines 1-3 cannot be imported (no valid e-mail); the 20 others can.
    lines = [bundle(i, contact={"firstName": "x", "primaryEmail": f"bad{i}"}) for i in range(3)]
    lines += [bundle(i) for i in range(3, 23)]
    data = write_jsonl(tmp_path / "in.jsonl", lines)
    # Two notes are applied but their answers lost: unknown, never sent twice.
    zyntro_emulator.faults.add(ResetAfterApply(), endpoint=NOTE_ENDPOINT, times=2)

    outcomes = []
    for _ in range(4):
        outcome = await run_cli_async(
            "import", data, "--max-failures", "1", "--concurrency", "2", env=env
        )
        outcomes.append(outcome)
        if "stopped early" not in outcome.stdout:
            break

    assert "stopped early" in outcomes[0].stdout
    assert len(outcomes) <= 3  # each rerun gets further
    final = outcomes[-1]
    assert final.returncode == 1, final.output  # the three bad lines still need attention
    assert "stopped early" not in final.stdout
    assert len(zyntro_emulator.contacts) == 20
    assert set(note_counts(zyntro_emulator).values()) == {1}
    assert len(zyntro_emulator.notes) == 20
    assert "--retry-unknown" in final.stdout  # what the reader can do about the unknowns
    assert "unknown: they may have been applied, so rerunning does not send them" in final.stdout
    assert "retry_unknown=True" not in final.output


async def test_rows_sharing_an_email_are_counted_in_the_summary(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    lines = [bundle(i) for i in range(6)]
    for i in (2, 4, 5):
        lines[i]["contact"]["primaryEmail"] = "Test0@CLI.example"
    data = write_jsonl(tmp_path / "shared.jsonl", lines)

    result = await run_cli_async(
        "import", data, "--concurrency", "8", env=emulator_env(zyntro_emulator)
    )

    assert result.returncode == 0, result.output
    assert "3 rows shared a contact's e-mail, phone or id with an earlier row" in result.stdout
    assert "shared.jsonl:3 after shared.jsonl:1 (email:test0@cli.example)" in result.stdout
    assert len(zyntro_emulator.contacts) == 3
    assert len(zyntro_emulator.notes) == 6  # each row's note, on the one contact


async def test_two_processes_on_one_journal_never_both_send(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    # Slow answers: the first process still holds the journal when the second starts.
    zyntro_emulator.faults.add(Latency(ms=30))
    env = emulator_env(zyntro_emulator)
    data = write_jsonl(tmp_path / "in.jsonl", [bundle(i) for i in range(20)])

    first, second = await asyncio.gather(
        run_cli_async("import", data, env=env), run_cli_async("import", data, env=env)
    )

    statuses = sorted([first.returncode, second.returncode])
    assert statuses in ([0, 0], [0, 2]), first.output + second.output
    if statuses == [0, 2]:  # overlapping: the later one refused, naming the holder
        refused = first if first.returncode == 2 else second
        assert "is in use by another run (pid " in refused.stderr
    else:  # one after the other: the later one resumed and sent nothing
        assert any("nothing left to do" in o.stdout for o in (first, second))
    assert len(zyntro_emulator.contacts) == 20
    assert set(note_counts(zyntro_emulator).values()) == {1}
    assert len(zyntro_emulator.notes) == 20
    assert len(zyntro_emulator.comms) == 20


class _FailingReader(ImportReader):
    """The file's first lines, then a disk error (as a failing drive gives mid-read)."""

    def __iter__(self) -> Generator[Any, None, None]:
        lines = super().__iter__()
        yield from itertools.islice(lines, 3)
        raise OSError(errno.EIO, "Input/output error")


async def test_an_input_that_fails_mid_run_is_summarised_and_exported_then_exits_2(
    zyntro_emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_jsonl(tmp_path / "in.jsonl", [bundle(i) for i in range(6)])
    export = tmp_path / "attention.jsonl"
    args = build_parser().parse_args(
        ["import", str(data), "--quiet", "--export", str(export), "--journal", str(tmp_path / "j")]
    )
    args.journal = tmp_path / "j"

    async with zyntro_emulator.client() as client:
        status = await _import_cmd._import(args, _FailingReader(data, "jsonl"), client, None)

    out, err = capsys.readouterr()
    assert status == 2
    assert "stopped early: [Errno 5] Input/output error" in out
    assert "3 succeeded" in out  # the summary of what was read
    assert export.exists()
    assert f"error: cannot read {data}: [Errno 5] Input/output error" in err
    assert len(zyntro_emulator.contacts) == 3
