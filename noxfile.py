"""Developer sessions: ``nox -s tests``, ``lint``, ``typecheck``, ``bench``, ``soak``, ``fuzz``.

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
_CLASSIFIERS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["classifiers"]
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
    """Fuzz the envelope parser and the import readers for FUZZ_SECONDS (default 60)."""
    session.install("-e", ".[tests]")
    session.run("pytest", "tests/fuzz", "-p", "no:cacheprovider", *session.posargs)
