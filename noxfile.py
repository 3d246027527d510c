"""Developer sessions: ``nox -s tests``, ``lowest``, ``lint``, ``typecheck``, ``bench``, ``soak``,
``fuzz``.

Python versions for ``tests`` come from the classifiers in pyproject.toml, so adding a
version there is the one place to change. Interpreters that are not installed are skipped
(also on CI, where nox would otherwise fail on them): on this project's machines 3.10-3.13
live under pyenv; ``export PYENV_VERSION=3.11.7:3.10.13:3.12.1:3.13.0`` exposes them all.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nox

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = False
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
_PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
_CLASSIFIERS = _PROJECT["classifiers"]
PYTHONS = [
    m.group(1)
    for c in _CLASSIFIERS
    if (m := re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c))
]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite (what .ci/run runs), on every supported Python."""
    session.install("-e", ".[tests]")
    session.run("pytest", *session.posargs)


def lowest_constraints() -> list[str]:
    """``name==floor`` for every runtime dependency, from pyproject's ``name>=floor``.

    Raises:
        ValueError: a runtime dependency without a ``>=`` floor (the session would then test
            whatever pip picks, not the lowest allowed version).
    """
    pins = []
    for requirement in _PROJECT["dependencies"]:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][^,;\s]*)\s*", requirement)
        if match is None:
            raise ValueError(f"runtime dependency without a plain >= floor: {requirement!r}")
        pins.append(f"{match.group(1)}=={match.group(2)}")
    return pins


@nox.session(python=PYTHONS[0])
def lowest(session: nox.Session) -> None:
    """The suite on the lowest allowed version of every runtime dependency.

    A floor in pyproject.toml is a promise that the suite's guarantees hold there (bounded
    headers and decompression for aiohttp, ...); this session keeps the promise checked.
    """
    constraints = Path(session.create_tmp()) / "lowest-constraints.txt"
    constraints.write_text("\n".join(lowest_constraints()) + "\n")
    session.install("-c", str(constraints), "-e", ".[tests]")
    session.run("pip", "list")
    session.run("pytest", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[tests]", "mypy")
    session.run("mypy", "zyntro_async")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Benchmarks: ``nox -s bench`` (full) or ``nox -s bench -- --quick`` (under 2 minutes)."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(python="3.11")
def soak(session: nox.Session) -> None:
    """The 50k-operation soak test against the emulator (loopback, a few minutes)."""
    session.install("-e", ".[tests]")
    session.run("pytest", "tests/soak", "-m", "soak", *session.posargs, env={"ZYNTRO_SOAK": "1"})


@nox.session(python="3.11")
def fuzz(session: nox.Session) -> None:
    """Fuzz the envelope parser, the import readers and the governor for FUZZ_SECONDS (60)."""
    session.install("-e", ".[tests]")
    session.run("pytest", "tests/fuzz", "-p", "no:cacheprovider", *session.posargs)
