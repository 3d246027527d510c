"""Routing and framing: unknown endpoints, methods, bodies that are not JSON objects."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from zyntro_async.testing import Emulator

from ._docs import COMMS_CURL, doc_body
from ._raw import RawApi


async def test_unknown_action_is_404_envelope(api: RawApi) -> None:
    status, payload = await api.post("crm/foo", api.body())
    assert status == 404
    assert payload == {"status": "error", "data": ["Unknown endpoint: crm/foo"]}


async def test_unknown_module_and_path(api: RawApi) -> None:
    status, payload = await api.post("calendar/fetchCalendars", api.body())
    assert (status, payload["data"]) == (404, ["Unknown endpoint: calendar/fetchCalendars"])
    async with api.session.post(f"{api.emulator.base_url}/nope", json={}) as resp:
        assert resp.status == 404
        assert (await resp.json())["status"] == "error"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
async def test_non_post_is_405_envelope(api: RawApi, method: str) -> None:
    async with api.session.request(method, api.url("crm/fetchContact")) as resp:
        assert resp.status == 405
        assert resp.headers["Allow"] == "POST"
        payload = await resp.json()
    assert payload["status"] == "error"
    assert "POST" in payload["data"][0]


@pytest.mark.parametrize(
    "raw", [b"", b"not json", b"[1, 2]", b'"text"', b"null", b'{"api_key": "x"', b"\xff\xfe"]
)
async def test_body_must_be_a_json_object(
    api: RawApi, zyntro_emulator: Emulator, raw: bytes
) -> None:
    async with api.session.post(
        api.url("crm/addContactsFull"), data=raw, headers={"Content-Type": "application/json"}
    ) as resp:
        assert resp.status == 400
        payload = await resp.json()
    assert payload == {"status": "error", "data": ["Request body must be a JSON object"]}
    assert zyntro_emulator.requests[-1].outcome == "rejected"


async def test_content_type_is_json(api: RawApi, doc_contact: str) -> None:
    async with api.session.post(
        api.url("crm/addCommsHistory"), json=doc_body(COMMS_CURL, api.creds)
    ) as resp:
        assert resp.content_type == "application/json"


async def test_serve_binds_loopback_and_stops(zyntro_emulator: Emulator) -> None:
    emulator = Emulator.demo()
    async with emulator.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        assert emulator.base_url == base_url
        async with aiohttp.ClientSession() as session, session.post(base_url + "/x") as resp:
            assert resp.status == 404
    with pytest.raises(RuntimeError):
        _ = emulator.base_url
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session, session.post(base_url + "/x"):
            pass
    await emulator.close()


async def test_start_twice_is_an_error(zyntro_emulator: Emulator) -> None:
    with pytest.raises(RuntimeError, match="already serving"):
        await zyntro_emulator.start()


async def test_close_is_idempotent() -> None:
    emulator = Emulator.demo()
    await emulator.start()
    await emulator.close()
    await emulator.close()


async def test_credentials_only_on_demo() -> None:
    with pytest.raises(LookupError):
        _ = Emulator().credentials


async def test_demo_is_deterministic() -> None:
    first, second, other = Emulator.demo(), Emulator.demo(), Emulator.demo(seed="other")
    assert first.credentials == second.credentials
    assert first.credentials.api_key.startswith("UYUJH-DEMO-")
    assert first.credentials.developer_secret.startswith("zdk_demo_")
    assert other.credentials.api_key != first.credentials.api_key
    assert list(first.credentials.as_dict()) == [
        "api_key",
        "developer_secret",
        "org_id",
        "brand_id",
        "member_id",
    ]
    assert first.credentials.api_key not in repr(first.credentials)
    assert len(first.orgs[first.credentials.org_id].members) >= 3


async def test_client_leaving_mid_body_is_logged_quietly(
    zyntro_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = zyntro_emulator.base_url.removeprefix("http://").split(":")
    _reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /apis/v2/public/crm/addCommsHistory HTTP/1.1\r\n"
        b"Host: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        b'{"api_key": "'
    )
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.close()
    await writer.wait_closed()
    for _ in range(100):
        if zyntro_emulator.requests:
            break
        await asyncio.sleep(0.01)

    (record,) = zyntro_emulator.requests
    assert (record.outcome, record.http_status, record.applied) == ("disconnected", None, False)
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
