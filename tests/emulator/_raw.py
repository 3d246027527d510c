"""A raw HTTP client for the emulator tests (plain aiohttp, no SDK)."""

from __future__ import annotations

from typing import Any

import aiohttp

from zyntro_async.testing import Emulator, EmulatorCredentials

TIMEOUT = aiohttp.ClientTimeout(total=20)


class RawApi:
    """A thin raw client: POSTs JSON and returns (HTTP status, decoded body)."""

    def __init__(self, session: aiohttp.ClientSession, emulator: Emulator) -> None:
        self.session = session
        self.emulator = emulator
        self.creds: EmulatorCredentials = emulator.credentials

    def url(self, endpoint: str) -> str:
        return f"{self.emulator.base_url}/apis/v2/public/{endpoint}"

    def body(self, **fields: Any) -> dict[str, Any]:
        """The documented base request (all five identifiers) plus ``fields``.

        A field set to ``...`` is removed, to test a missing identifier.
        """
        body: dict[str, Any] = {**self.creds.as_dict(), **fields}
        return {k: v for k, v in body.items() if v is not ...}

    async def post(self, endpoint: str, body: Any) -> tuple[int, Any]:
        async with self.session.post(self.url(endpoint), json=body) as resp:
            return resp.status, await resp.json(content_type=None)

    async def ok(self, endpoint: str, body: Any) -> dict[str, Any]:
        """POST and return ``data`` of a success envelope (fails the test otherwise)."""
        status, payload = await self.post(endpoint, body)
        assert status == 200, payload
        assert payload["status"] == "success", payload
        assert set(payload) == {"status", "data"}
        data: dict[str, Any] = payload["data"]
        return data

    async def error(self, endpoint: str, body: Any) -> str:
        """POST and return the single message of an HTTP 200 error envelope."""
        status, payload = await self.post(endpoint, body)
        assert status == 200, payload
        assert payload["status"] == "error", payload
        assert isinstance(payload["data"], list)
        assert len(payload["data"]) == 1, payload
        message: str = payload["data"][0]
        return message

    async def new_contact(self, **contact: Any) -> str:
        """Create a contact in the demo org (owner: the demo member); return its id."""
        fields = {"firstName": "Jane", "lastName": "Smith", "primaryEmail": "jane@acme.com"}
        fields.update(contact)
        data = await self.ok(
            "crm/addContactsFull", self.body(mode="insert", contact=fields, skip_entity=True)
        )
        contact_id: str = data["contact_id"]
        return contact_id

    async def status(self, endpoint: str, body: Any) -> int:
        """POST and return only the HTTP status (the body may be anything)."""
        async with self.session.post(self.url(endpoint), json=body) as resp:
            await resp.read()
            return resp.status
