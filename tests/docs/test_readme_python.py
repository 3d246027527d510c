"""Every Python block of README.md and examples/README.md runs, as written, against the emulator.

A newcomer pastes these; when the code changes under them, this suite fails instead of the
reader. Each block runs in a fresh interpreter, in an empty folder that holds the one file
the quickstart attaches (``contract.pdf``), with the emulator's credentials in the
documented ``ZYNTRO_*`` variables. A block with top-level ``await`` runs as
``python -m asyncio`` (or a notebook) would run it. A block whose first line is
``# partial: <reason>`` is a fragment and is skipped with that reason.

Blocks of pytest tests (the plugin example) run as their own tiny project, with a plain
``pytest`` call, in both of pytest-asyncio's modes: "auto" with the configuration the README
shows beside the example, and the default "strict" mode with ``@pytest.mark.asyncio`` on each
test, as the README tells strict-mode users to write.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from zyntro_async.testing import Emulator

from ._markdown import ROOT, Block, all_blocks, section_of

PYTHON_BLOCKS = all_blocks("python")
SCRIPTS = [b for b in PYTHON_BLOCKS if not b.is_pytest_example]
PYTEST_EXAMPLES = [b for b in PYTHON_BLOCKS if b.is_pytest_example]
SNIPPET_TIMEOUT = 120.0

# Runs a snippet the way an asyncio REPL would: plain code as a script, top-level ``await``
# inside one event loop.
_RUNNER = """
import ast, asyncio, sys
path = sys.argv[1]
code = compile(open(path, encoding="utf-8").read(), path, "exec",
               flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
result = eval(code, {"__name__": "__main__", "__file__": path})
if asyncio.iscoroutine(result):
    asyncio.run(result)
"""


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZYNTRO_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    env.update(extra or {})
    return env


async def _run(argv: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), SNIPPET_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


def test_the_documents_have_python_blocks() -> None:
    """The collector finds the blocks (a renamed fence language would hide them all)."""
    assert len(SCRIPTS) >= 3
    assert PYTEST_EXAMPLES


@pytest.mark.parametrize("block", SCRIPTS, ids=[b.id for b in SCRIPTS])
async def test_python_block_runs_as_written(block: Block, tmp_path: Path) -> None:
    if block.partial_reason is not None:
        pytest.skip(f"marked partial in the Markdown: {block.partial_reason}")
    shutil.copy(ROOT / "examples" / "files" / "proposal.pdf", tmp_path / "contract.pdf")
    snippet = tmp_path / "snippet.py"
    snippet.write_text(block.code, encoding="utf-8")
    runner = tmp_path / "run_snippet.py"
    runner.write_text(_RUNNER, encoding="utf-8")

    emulator = Emulator.demo()
    async with emulator.serve(host="127.0.0.1", port=0) as base_url:
        creds = emulator.credentials
        env = _env(
            {
                "ZYNTRO_API_KEY": creds.api_key,
                "ZYNTRO_DEVELOPER_SECRET": creds.developer_secret,
                "ZYNTRO_ORG_ID": creds.org_id,
                "ZYNTRO_MEMBER_ID": creds.member_id,
                "ZYNTRO_BRAND_ID": creds.brand_id,
                "ZYNTRO_BASE_URL": base_url,
            }
        )
        code, output = await _run(
            [sys.executable, str(runner), str(snippet)], cwd=tmp_path, env=env
        )
    assert code == 0, f"{block.id} failed as written:\n{output}"


def _auto_mode_config(block: Block) -> str:
    """The pytest configuration the README shows beside the example (a TOML or INI block)."""
    section = section_of(block)
    match = re.search(r"```(toml|ini)\n(?P<config>.*?asyncio_mode.*?)```", section, re.DOTALL)
    assert match, (
        f"{block.id}: the README shows no pytest configuration (asyncio_mode) next to the "
        "plugin example; a fresh project needs one"
    )
    return match.group("config")


def _strict_mode(code: str) -> str:
    """The example as strict mode needs it: each async test marked, as the README says."""
    if re.search(r"^pytestmark = pytest\.mark\.asyncio", code, flags=re.M):
        return code  # marked already, for both modes
    marked = re.sub(r"^async def test_", "@pytest.mark.asyncio\nasync def test_", code, flags=re.M)
    if not re.search(r"^import pytest$", marked, flags=re.M):
        marked = "import pytest\n" + marked
    return marked


@pytest.mark.parametrize("mode", ["auto", "strict"])
@pytest.mark.parametrize("block", PYTEST_EXAMPLES, ids=[b.id for b in PYTEST_EXAMPLES])
async def test_pytest_example_passes_in_a_fresh_project(
    block: Block, mode: str, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    if mode == "auto":
        config = _auto_mode_config(block)
        name = "pyproject.toml" if "[tool.pytest" in config else "pytest.ini"
        (project / name).write_text(config, encoding="utf-8")
        (project / "test_example.py").write_text(block.code, encoding="utf-8")
    else:
        section = section_of(block)
        assert "@pytest.mark.asyncio" in section, (
            f"{block.id}: the README does not tell strict-mode users to mark their tests"
        )
        (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        (project / "test_example.py").write_text(_strict_mode(block.code), encoding="utf-8")
    code, output = await _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=_env(),
    )
    assert code == 0, f"{block.id} in {mode} mode:\n{output}"
    assert re.search(r"\b[1-9]\d* passed\b", output), output
