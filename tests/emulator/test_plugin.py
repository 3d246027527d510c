"""The pytest plugin: fixtures registered through the pytest11 entry point."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from zyntro_async.testing import Emulator, TokenBucket, WindowQuota

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


# ------------------------------------------------------------------ markers and factory


@pytest.mark.zyntro_emulator(limits=[TokenBucket(rate=7, burst=3)], seed="marked")
async def test_marker_configures_the_emulator(zyntro_emulator: Emulator) -> None:
    assert zyntro_emulator.limits.limits == (TokenBucket(rate=7, burst=3),)
    assert zyntro_emulator.credentials == Emulator.demo(seed="marked").credentials


async def test_factory_starts_independent_emulators(zyntro_emulator_factory: Any) -> None:
    one = await zyntro_emulator_factory()
    two = await zyntro_emulator_factory(limits=[WindowQuota(limit=1, window=60)])
    assert one.base_url != two.base_url
    assert (one.limits.limits, len(two.limits.limits)) == ((), 1)


# ------------------------------------------------------------------ a user's fresh project

TEST_FILE = """
import aiohttp
import pytest

from zyntro_async import Contact
from zyntro_async.testing import TokenBucket

MARK


async def fetch(emulator):
    body = {**emulator.credentials.as_dict(), "contact_id": "nope"}
    url = emulator.base_url + "/apis/v2/public/crm/fetchContact"
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as resp:
        return resp.status


async def test_client_upserts(zyntro_client, zyntro_emulator):
    result = await zyntro_client.contacts.upsert(
        Contact(first_name="Jane", primary_email="jane@acme.com")
    )
    assert zyntro_emulator.contact(result.contact_id).first_name == "Jane"


@pytest.mark.zyntro_emulator(limits=[TokenBucket(rate=0.001, burst=1)])
async def test_marker_limits(zyntro_emulator):
    assert [await fetch(zyntro_emulator), await fetch(zyntro_emulator)] == [200, 429]


async def test_factory(zyntro_emulator_factory):
    emulator = await zyntro_emulator_factory(seed="other")
    assert await fetch(emulator) == 200
"""


@pytest.mark.skipif(not HAVE_SDK, reason="the SDK client is not written yet")
@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_fresh_project_in_each_asyncio_mode(tmp_path: Path, mode: str) -> None:
    # Strict (pytest-asyncio's default) needs the mark on async tests; auto does not.
    mark = "pytestmark = pytest.mark.asyncio" if mode == "strict" else ""
    (tmp_path / "test_with_emulator.py").write_text(TEST_FILE.replace("MARK", mark))
    config = 'asyncio_mode = "auto"\n' if mode == "auto" else ""
    (tmp_path / "pyproject.toml").write_text(
        f"[tool.pytest.ini_options]\n{config}"
        'asyncio_default_fixture_loop_scope = "function"\naddopts = "--strict-markers"\n'
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout
