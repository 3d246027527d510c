"""The 50k-operation soak test runs only when asked for.

``nox -s soak`` runs ``pytest tests/soak -m soak`` with ``ZYNTRO_SOAK=1``. Without that
variable, tests marked ``soak`` are skipped (cleanly, with the reason shown by ``-ra``), so
the default ``pytest`` run stays fast; the quick 5k variant in ``test_soak.py`` is not
marked and always runs.
"""

from __future__ import annotations

import os

import pytest

SOAK_VARIABLE = "ZYNTRO_SOAK"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(SOAK_VARIABLE) == "1":
        return
    skip = pytest.mark.skip(reason=f"soak test: run it with `nox -s soak` ({SOAK_VARIABLE}=1)")
    for item in items:
        if item.get_closest_marker("soak") is not None:
            item.add_marker(skip)
