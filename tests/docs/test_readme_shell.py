"""The commands in README.md's shell blocks exist, with the flags they use.

Cheap checks, so that a renamed flag or command breaks the suite rather than the reader:
each ``zyntro-async SUBCOMMAND`` named is asked for ``--help``, and every ``--flag`` the
blocks give it must appear there; ``python examples/X.py --flag`` likewise; ``nox -s NAME``
names a session of noxfile.py; ``pip install -e ".[EXTRA]"`` names extras pyproject.toml
defines. The README's first command (the import against the emulator) runs for real in
tests/cli; here it is checked like the others.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from functools import cache

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ._markdown import ROOT, Block, all_blocks

SHELL_BLOCKS = [b for lang in ("bash", "sh", "shell", "console") for b in all_blocks(lang)]
_SEPARATORS = {"&&", "||", "|", ";"}


def commands(block: Block) -> list[list[str]]:
    """The simple commands of a block: continuations joined, comments dropped, split on
    ``&&``, ``||``, ``|`` and ``;``."""
    text = re.sub(r"\\\n", " ", block.code)
    found: list[list[str]] = []
    for line in text.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        current: list[str] = []
        for token in lexer:
            if token in _SEPARATORS:
                if current:
                    found.append(current)
                current = []
            else:
                current.append(token)
        if current:
            found.append(current)
    return found


def flags(argv: list[str]) -> list[str]:
    """The long options a command line uses (``--journal PATH`` → ``--journal``)."""
    return [arg.split("=", 1)[0] for arg in argv if arg.startswith("--") and len(arg) > 2]


@cache
def help_text(*argv: str) -> str:
    result = subprocess.run(
        [*argv, "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT, check=False
    )
    assert result.returncode == 0, f"{' '.join(argv)} --help failed:\n{result.stderr}"
    return result.stdout


@cache
def nox_sessions() -> frozenset[str]:
    source = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    return frozenset(re.findall(r"@nox\.session[^\n]*\ndef (\w+)\(", source))


@cache
def extras() -> frozenset[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return frozenset(project.get("optional-dependencies", {}))


def check(argv: list[str]) -> None:
    """Fail when ``argv`` names a command, flag, session or extra that does not exist."""
    if not argv:
        return
    program, *rest = argv
    if program == "zyntro-async" and rest and not rest[0].startswith("-"):
        text = help_text(sys.executable, "-m", "zyntro_async.cli", rest[0])
        for flag in flags(rest[1:]):
            assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text), (
                f"`zyntro-async {rest[0]}` has no {flag} (its --help does not list it)"
            )
    elif program in ("python", "python3") and rest and rest[0].endswith(".py"):
        script = ROOT / rest[0]
        assert script.is_file(), f"{rest[0]} does not exist"
        text = help_text(sys.executable, str(script))
        for flag in flags(rest[1:]):
            assert flag in text, f"{rest[0]} has no {flag}"
    elif program == "nox" and "-s" in rest:
        names = rest[rest.index("-s") + 1 :]
        session = next((n for n in names if not n.startswith("-")), None)
        assert session in nox_sessions(), f"noxfile.py has no session {session!r}"
    elif program == "pip" and "install" in rest:
        for arg in rest:
            match = re.fullmatch(r"\.\[(?P<extras>[\w,-]+)\]", arg)
            if match:
                for extra in match.group("extras").split(","):
                    assert extra in extras(), f"pyproject.toml has no extra {extra!r}"


def test_the_readme_has_shell_blocks() -> None:
    assert len(SHELL_BLOCKS) >= 2


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=[b.id for b in SHELL_BLOCKS])
def test_shell_block_names_existing_commands_and_flags(block: Block) -> None:
    for argv in commands(block):
        check(argv)


def test_the_first_two_commands_are_the_import_and_the_test_suite() -> None:
    """README starts with the newcomer's two commands; .ci/run runs the second exactly."""
    first, second = SHELL_BLOCKS[0], SHELL_BLOCKS[1]
    assert first.path.name == second.path.name == "README.md"
    assert "zyntro-async import examples/contacts.jsonl --emulator" in first.code
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci.strip() == second.code.strip()


def test_the_checker_catches_a_flag_that_does_not_exist() -> None:
    with pytest.raises(AssertionError, match="has no --no-such-flag"):
        check(["zyntro-async", "import", "x.jsonl", "--no-such-flag"])
