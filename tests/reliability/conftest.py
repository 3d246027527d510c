"""Fixtures for the reliability and security suite.

Everything here talks to loopback servers only: the emulator (``Emulator.demo()``) or a
:class:`~._hostile.RawServer` that answers with whatever bytes a test chooses. The
credentials are fresh random values for each test session, so a leak scan cannot be fooled
by a value that also appears in documentation or fixtures.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from zyntro_async import RetryPolicy, ZyntroClient

# Shaped like the documented values, random per run: "UYUJH-XXXXXXXXXXXX-XXXXXXXXXXXX-XXXXX".
_KEY_PARTS = (secrets.token_hex(6), secrets.token_hex(6), secrets.token_hex(3)[:5])
API_KEY = "UYUJH-" + "-".join(part.upper() for part in _KEY_PARTS)
DEVELOPER_SECRET = "zdk_" + secrets.token_hex(16)
SECRETS = (API_KEY, DEVELOPER_SECRET)
ORG_ID = "42cc1aca-3aa5-4339-98d2-480b5b89937b"
MEMBER_ID = "f2470c7f-60b1-4491-b117-8ba0e3e2a53b"


def fast_policy(max_retries: int = 2) -> RetryPolicy:
    """Real (short) waits, no budget: retries happen, quickly and deterministically.

    429s are waited out beyond ``max_retries``, for ``rate_limit_patience``: none at all
    with ``max_retries=0`` (no retries of any kind), else a tenth of a second.
    """
    return RetryPolicy(
        max_retries=max_retries,
        rate_limit_patience=0.0 if max_retries == 0 else 0.1,
        base_delay=0.005,
        max_delay=0.02,
        retry_after_cap=0.02,
        budget=None,
        rng=random.Random(0),
    )


ClientFactory = Callable[..., ZyntroClient]


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """Build clients for a base URL with this run's random credentials; closed afterwards.

    Keyword arguments override ``ZyntroClient``'s; by default two quick retries and a
    2-second attempt timeout.
    """
    clients: list[ZyntroClient] = []

    def build(base_url: str, **overrides: Any) -> ZyntroClient:
        options: dict[str, Any] = {
            "api_key": API_KEY,
            "developer_secret": DEVELOPER_SECRET,
            "org_id": ORG_ID,
            "member_id": MEMBER_ID,
            "base_url": base_url,
            "timeout": 2.0,
        }
        if "retry_policy" not in overrides:
            options["retry_policy"] = fast_policy(overrides.pop("max_retries", 2))
        options.update(overrides)
        client = ZyntroClient(**options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()
