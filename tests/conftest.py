"""Suite-wide settings.

Every test runs without the developer's own ``ZYNTRO_*`` variables, so a credential in the
shell can neither leak into a test nor make one pass by accident.

Hypothesis' per-example deadline measures wall time, which a loaded 2-core CI machine
cannot promise; correctness, not speed, is what the property tests check (speed lives in
benchmarks/), so the deadline is off everywhere.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

ZYNTRO_VARIABLES = (
    "ZYNTRO_API_KEY",
    "ZYNTRO_DEVELOPER_SECRET",
    "ZYNTRO_ORG_ID",
    "ZYNTRO_MEMBER_ID",
    "ZYNTRO_BRAND_ID",
    "ZYNTRO_BASE_URL",
)

settings.register_profile("zyntro", deadline=None)
settings.load_profile("zyntro")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own ZYNTRO_* variables must not leak into any test."""
    for name in ZYNTRO_VARIABLES:
        monkeypatch.delenv(name, raising=False)
