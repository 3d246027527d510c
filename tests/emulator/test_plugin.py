"""The pytest plugin: fixtures registered through the pytest11 entry point."""

from __future__ import annotations

import importlib.util
from typing import Any

import aiohttp
import pytest

from zyntro_async.testing import Emulator

HAVE_SDK = importlib.util.find_spec("zyntro_async._client") is not None


def test_plugin_is_registered_by_entry_point(request: pytest.FixtureRequest) -> None:
    plugin = request.config.pluginmanager.get_plugin("zyntro_async")
    assert plugin is not None
    assert plugin.__name__ == "zyntro_async.testing.plugin"


async def test_emulator_fixture_is_served_on_loopback(zyntro_emulator: Emulator) -> None:
    assert zyntro_emulator.base_url.startswith("http://127.0.0.1:")
    body = {**zyntro_emulator.credentials.as_dict(), "contact_id": "nope"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{zyntro_emulator.base_url}/apis/v2/public/crm/fetchContact", json=body
        ) as resp,
    ):
        assert await resp.json() == {"status": "error", "data": ["Contact does not exist"]}


@pytest.mark.skipif(not HAVE_SDK, reason="the SDK client is not written yet")
async def test_client_fixture_talks_to_the_emulator(
    zyntro_client: Any, zyntro_emulator: Emulator
) -> None:
    from zyntro_async import Contact

    result = await zyntro_client.contacts.upsert(
        Contact(first_name="Jane", last_name="Smith", primary_email="jane@acme.com")
    )
    record = await zyntro_client.contacts.fetch(result.contact_id)

    assert record.email == "jane@acme.com"
    assert zyntro_emulator.contact(result.contact_id).owner_id == (
        zyntro_emulator.credentials.member_id
    )
    assert zyntro_emulator.applied == {"crm/addContactsFull": 1}


@pytest.mark.skipif(not HAVE_SDK, reason="the SDK client is not written yet")
async def test_client_helper_accepts_overrides(zyntro_emulator: Emulator) -> None:
    member = zyntro_emulator.credentials.other_members[0]
    async with zyntro_emulator.client(member_id=member, max_retries=0) as client:
        from zyntro_async import Contact

        result = await client.contacts.upsert(
            Contact(first_name="Bob", primary_email="bob@acme.com")
        )
    assert zyntro_emulator.contact(result.contact_id).owner_id == member
