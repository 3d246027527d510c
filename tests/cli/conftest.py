"""Helpers for the command-line tests: small datasets and running ``zyntro-async`` as a process.

Processes run with ``-W error`` (an unclosed session or stray warning fails them), no
terminal (plain output), and none of the caller's ``ZYNTRO_*`` variables unless a test
passes them. Against an in-process emulator (the ``zyntro_emulator`` fixture), the process
is awaited with asyncio so the emulator keeps serving meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from zyntro_async.testing import Emulator

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
PROCESS_TIMEOUT = 60


@attrs.frozen
class Outcome:
    """A finished ``zyntro-async`` process."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def cli_command(*args: str | os.PathLike[str]) -> list[str]:
    return [sys.executable, "-W", "error", "-m", "zyntro_async.cli", *map(str, args)]


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZYNTRO_")}
    env.pop("PYTHONWARNINGS", None)
    env["COLUMNS"] = "200"
    env.update(extra or {})
    return env


def run_cli(
    *args: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Outcome:
    """Run the command synchronously (for ``--emulator`` and usage errors)."""
    done = subprocess.run(
        cli_command(*args),
        cwd=cwd,
        capture_output=True,
        text=True,
        env=clean_env(env),
        timeout=PROCESS_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


async def run_cli_async(
    *args: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> Outcome:
    """Run the command while this event loop keeps serving (an in-process emulator)."""
    proc = await asyncio.create_subprocess_exec(
        *cli_command(*args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(env),
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=PROCESS_TIMEOUT)
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return Outcome(proc.returncode, stdout.decode(), stderr.decode())


def emulator_env(emulator: Emulator) -> dict[str, str]:
    """``ZYNTRO_*`` variables pointing at a serving emulator."""
    creds = emulator.credentials
    return {
        "ZYNTRO_API_KEY": creds.api_key,
        "ZYNTRO_DEVELOPER_SECRET": creds.developer_secret,
        "ZYNTRO_ORG_ID": creds.org_id,
        "ZYNTRO_BRAND_ID": creds.brand_id,
        "ZYNTRO_MEMBER_ID": creds.member_id,
        "ZYNTRO_BASE_URL": emulator.base_url,
    }


def bundle(i: int, **overrides: Any) -> dict[str, Any]:
    """A valid bundle line with one note, one link, one file and one comms entry."""
    line: dict[str, Any] = {
        "key": f"t-{i:03d}",
        "contact": {
            "firstName": f"Test{i}",
            "lastName": "Person",
            "primaryEmail": f"test{i}@cli.example",
            "tags": ["cli-test"],
            "customFields": {"industry": "Software", "company_size": "11-50"},
        },
        "entity": {"name": f"Company {i % 3}"},
        "notes": [{"note": f"note for {i}", "visible": True}],
        "attachments": [
            {"name": "Site", "url": f"https://c{i}.example/"},
            {"path": "files/hello.txt", "name": "hello.txt", "context": "greeting"},
        ],
        "comms": [{"comms_type": "call", "data": f"call {i}", "source": "Phone"}],
    }
    line.update(overrides)
    return line


def write_jsonl(path: Path, lines: Sequence[dict[str, Any] | str]) -> Path:
    (path.parent / "files").mkdir(exist_ok=True)
    (path.parent / "files" / "hello.txt").write_text("hello\n")
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    return path


CSV_HEADER = "firstName,lastName,primaryEmail,primaryPhone,company,tags,note,attachment,industry\n"


def write_csv(path: Path, rows: Sequence[str], header: str = CSV_HEADER) -> Path:
    (path.parent / "files").mkdir(exist_ok=True)
    (path.parent / "files" / "hello.txt").write_text("hello\n")
    path.write_text(header + "".join(row + "\n" for row in rows))
    return path


@pytest.fixture
def good_jsonl(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "good.jsonl", [bundle(i) for i in range(8)])


@pytest.fixture
def mixed_jsonl(tmp_path: Path) -> Path:
    """5 good lines and 3 bad ones (lines 2, 4 and 7)."""
    lines: list[dict[str, Any] | str] = [bundle(i) for i in range(5)]
    bad_email = bundle(90)
    bad_email["contact"]["primaryEmail"] = "nobody-at-example"
    lines.insert(1, bad_email)  # line 2
    bad_option = bundle(91)
    bad_option["contact"]["customFields"] = {"company_size": "5000+"}
    lines.insert(3, bad_option)  # line 4: rejected by the API
    lines.insert(6, '{"contact": {"firstName": "Broken"')  # line 7: not JSON
    return write_jsonl(tmp_path / "mixed.jsonl", lines)
