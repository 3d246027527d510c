"""The CLI runs on uvloop when it is installed (the ``speed`` extra), unless told not to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from zyntro_async.cli._loop import ENV_NO_UVLOOP, choose_loop, describe_running_loop, run

from .conftest import clean_env, run_cli

uvloop = pytest.importorskip("uvloop")

BLOCK_UVLOOP = (
    "import sys; sys.modules['uvloop'] = None; from zyntro_async.cli import main; sys.exit(main())"
)


def test_an_import_runs_on_uvloop_when_installed(good_jsonl: Path) -> None:
    result = run_cli("import", good_jsonl, "--emulator", "--no-journal", "--verbose")

    assert result.returncode == 0, result.output
    assert f"event loop: uvloop {uvloop.__version__}" in result.stderr


@pytest.mark.parametrize("value", ["1", "yes", "true"])
def test_zyntro_no_uvloop_keeps_asyncio(good_jsonl: Path, value: str) -> None:
    result = run_cli(
        "import", good_jsonl, "--emulator", "--no-journal", "--verbose", env={ENV_NO_UVLOOP: value}
    )

    assert result.returncode == 0, result.output
    assert f"event loop: asyncio ({ENV_NO_UVLOOP} is set)" in result.stderr
    assert "event loop: uvloop" not in result.stderr


def test_without_uvloop_the_import_runs_on_asyncio(good_jsonl: Path) -> None:
    command = [sys.executable, "-W", "error", "-c", BLOCK_UVLOOP, "import", str(good_jsonl)]
    command += ["--emulator", "--no-journal", "--verbose"]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "event loop: asyncio (uvloop is not installed)" in done.stderr


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "uvloop"),
        ({ENV_NO_UVLOOP: "0"}, "uvloop"),
        ({ENV_NO_UVLOOP: " False "}, "uvloop"),
        ({ENV_NO_UVLOOP: "1"}, "asyncio"),
        ({ENV_NO_UVLOOP: "on"}, "asyncio"),
    ],
)
def test_the_choice_follows_the_variable(environ: dict[str, str], expected: str) -> None:
    choice = choose_loop(environ)

    async def kind() -> str:
        return describe_running_loop(choice)

    assert (choice.uvloop is not None) == (expected == "uvloop")
    assert run(kind(), choice).startswith(expected)
