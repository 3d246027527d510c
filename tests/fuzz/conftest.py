"""Fuzzing, on demand: ``pytest tests/fuzz -p no:cacheprovider`` (what ``nox -s fuzz`` runs).

The fuzz targets live in ``fuzz_*.py`` files, which pytest's default ``test_*.py`` pattern
never collects, so the default run does not fuzz. This conftest collects them only when
``tests/fuzz`` (or something inside it) is named on the command line.

``FUZZ_SECONDS`` (default 60) is the time budget of the whole fuzz run, shared equally by
the targets; ``FUZZ_SEED`` fixes the seed of the first batch (default: a fresh one, printed)
so a run can be repeated.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

HERE = Path(__file__).parent.resolve()


def _asked_for(config: pytest.Config) -> bool:
    for arg in config.args:
        path = Path(arg.split("::", 1)[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if not (file_path.name.startswith("fuzz_") and file_path.suffix == ".py"):
        return None
    if parent.session.isinitpath(file_path):
        return None  # named explicitly: pytest's python plugin collects it already
    if not _asked_for(parent.config):
        return None
    return pytest.Module.from_parent(parent, path=file_path)


def pytest_collection_finish(session: pytest.Session) -> None:
    # After -k / -m deselection: the budget is shared by the targets that will run.
    targets = [i for i in session.items if "fuzz_budget" in getattr(i, "fixturenames", ())]
    session.config.stash[_TARGETS] = max(1, len(targets))


_TARGETS = pytest.StashKey[int]()


@pytest.fixture(scope="session")
def fuzz_seed() -> int:
    seed = int(os.environ.get("FUZZ_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\nfuzz seed: FUZZ_SEED={seed}")
    return seed


@pytest.fixture
def fuzz_budget(request: pytest.FixtureRequest) -> float:
    """Seconds for this target: ``FUZZ_SECONDS`` shared among the collected targets."""
    total = float(os.environ.get("FUZZ_SECONDS") or 60)
    return total / request.config.stash.get(_TARGETS, 1)
