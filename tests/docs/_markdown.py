"""Fenced code blocks of the project's Markdown files, as tests see them.

A block opens with a line of three backticks and a language (```` ```python ````) and closes
with a line of three backticks. A Python block whose first line is a comment starting with
``# partial:`` is deliberately incomplete (a fragment of a larger program); the reason after
the colon is shown to the reader in the README and used as the test's skip reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (ROOT / "README.md", ROOT / "examples" / "README.md")

_FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")
_PARTIAL = re.compile(r"^#\s*partial:\s*(?P<reason>.+)$")


@attrs.frozen
class Block:
    """One fenced block: where it is, its language and its text."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str

    @property
    def id(self) -> str:
        """``README.md:21``: a readable test id."""
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def partial_reason(self) -> str | None:
        """Why the block is a fragment, when its first line says so."""
        first = self.code.lstrip("\n").split("\n", 1)[0].strip()
        match = _PARTIAL.match(first)
        return match.group("reason").strip() if match else None

    @property
    def is_pytest_example(self) -> bool:
        """A block of test functions, to be run by pytest rather than as a script."""
        return re.search(r"^(async )?def test_", self.code, re.MULTILINE) is not None


def blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``, in order.

    Raises:
        ValueError: a fence is left open (the rest of the file would be swallowed).
    """
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    opened: tuple[int, str] | None = None
    body: list[str] = []
    for number, line in enumerate(lines, start=1):
        if opened is None:
            match = _FENCE.match(line)
            if match:
                opened, body = (number, match.group("lang")), []
        elif line.strip() == "```":
            found.append(Block(path, opened[0], opened[1], "\n".join(body) + "\n"))
            opened = None
        else:
            body.append(line)
    if opened is not None:
        raise ValueError(f"{path.name}:{opened[0]}: code fence never closed")
    return found


def all_blocks(lang: str) -> list[Block]:
    """The blocks of every document in :data:`DOCUMENTS` written in ``lang``."""
    return [b for doc in DOCUMENTS for b in blocks(doc) if b.lang == lang]


def section_of(block: Block) -> str:
    """The Markdown text of the section (from its heading to the next heading) holding it."""
    lines = block.path.read_text(encoding="utf-8").splitlines()
    headings: list[int] = []  # 0-based indexes of heading lines outside code fences
    fenced = False
    for index, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            headings.append(index)
    start = max((h for h in headings if h < block.line - 1), default=0)
    end = min((h for h in headings if h > block.line - 1), default=len(lines))
    return "\n".join(lines[start:end])
