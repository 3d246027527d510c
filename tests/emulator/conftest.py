"""Fixtures for the emulator's own tests.

The emulator is driven with raw aiohttp requests whose bodies are the documented curl
examples, never through the SDK, so the SDK and the emulator cannot share a mistake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from zyntro_async.testing import Emulator

from ._docs import DOC_CONTACT_ID, DOC_EMAIL
from ._raw import TIMEOUT, RawApi


@pytest.fixture
async def api(zyntro_emulator: Emulator) -> AsyncIterator[RawApi]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        yield RawApi(session, zyntro_emulator)


@pytest.fixture
def doc_contact(zyntro_emulator: Emulator) -> str:
    """The contact the documentation's examples refer to, owned by the demo member."""
    zyntro_emulator.add_contact(
        contact_id=DOC_CONTACT_ID,
        fields={"firstName": "Jane", "lastName": "Smith", "primaryEmail": DOC_EMAIL},
    )
    return DOC_CONTACT_ID
