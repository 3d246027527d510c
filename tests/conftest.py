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
    "ZYNTRO_TIMEOUT",
    "ZYNTRO_MAX_RETRIES",
    "ZYNTRO_LOG",
)
# The client reads proxies from the environment (trust_env): a developer's or CI machine's
# proxy must not stand between the tests and their loopback servers.
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")

settings.register_profile("zyntro", deadline=None)
settings.load_profile("zyntro")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own ZYNTRO_* variables must not leak into any test."""
    for name in ZYNTRO_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
