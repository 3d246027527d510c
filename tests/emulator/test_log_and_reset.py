"""The request log, applied counts and reset()."""

from __future__ import annotations

from zyntro_async.testing import Emulator, RateLimited, RequestRecord

from ._docs import CONTACTS_EXAMPLE, NOTES_CURL, doc_body
from ._raw import RawApi


async def test_log_records_outcomes_without_secrets(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    await api.ok("crm/addNotestoContact", doc_body(NOTES_CURL, api.creds))
    await api.error("crm/addNotestoContact", api.body(api_key="UYUJH-WRONG"))
    await api.post("crm/nope", api.body())

    ok, error, unknown = zyntro_emulator.requests
    assert isinstance(ok, RequestRecord)
    assert (ok.seq, ok.endpoint, ok.http_status, ok.outcome, ok.applied) == (
        1,
        "crm/addNotestoContact",
        200,
        "success",
        True,
    )
    assert ok.peer == "127.0.0.1"
    assert ok.body["api_key"] == "<redacted>"
    assert ok.body["developer_secret"] == "<redacted>"
    assert ok.body["contact_id"] == doc_contact
    assert (error.outcome, error.messages, error.applied) == ("error", ("Invalid API Key",), False)
    assert (unknown.http_status, unknown.outcome) == (404, "rejected")
    logged = repr(zyntro_emulator.requests)
    assert api.creds.api_key not in logged
    assert api.creds.developer_secret not in logged
    assert "UYUJH-WRONG" not in logged


async def test_long_strings_are_cut_in_the_log(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    body = doc_body(NOTES_CURL, api.creds)
    body["note"] = "n" * 10_000
    await api.ok("crm/addNotestoContact", body)
    logged = zyntro_emulator.requests[-1].body["note"]
    assert len(logged) < 200
    assert "10000 chars" in logged
    assert zyntro_emulator.notes[0].note_content == "n" * 10_000


async def test_on_request_callback_sees_each_record(api: RawApi, doc_contact: str) -> None:
    seen: list[RequestRecord] = []
    emulator = Emulator.demo(on_request=seen.append)
    async with (
        emulator.serve() as base_url,
        api.session.post(f"{base_url}/apis/v2/public/crm/fetchContact", json={}) as resp,
    ):
        await resp.read()
    await emulator.close()
    assert [r.messages for r in seen] == [("Missing service instance",)]


async def test_reads_are_never_counted_as_applied(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    await api.ok("crm/fetchContact", api.body(contact_id=doc_contact))
    assert zyntro_emulator.applied == {}
    assert zyntro_emulator.requests[-1].applied is False


async def test_reset_clears_data_faults_and_log_but_keeps_seed(
    api: RawApi, zyntro_emulator: Emulator
) -> None:
    await api.ok("crm/addContactsFull", doc_body(CONTACTS_EXAMPLE, api.creds))
    zyntro_emulator.add_custom_field(org_id=api.creds.org_id, tag="tier", options=["gold"])
    zyntro_emulator.faults.add(RateLimited(), endpoint="crm/fetchContact")

    zyntro_emulator.reset()

    assert zyntro_emulator.contacts == []
    assert zyntro_emulator.entities == []
    assert zyntro_emulator.requests == []
    assert zyntro_emulator.applied == {}
    assert zyntro_emulator.faults.rules == ()
    assert "tier" in zyntro_emulator.orgs[api.creds.org_id].custom_fields
    data = await api.ok("crm/addContactsFull", doc_body(CONTACTS_EXAMPLE, api.creds))
    assert data["action"] == "created"
    assert zyntro_emulator.applied == {"crm/addContactsFull": 1}


async def test_ids_are_reproducible_under_a_seed(api: RawApi) -> None:
    async def first_contact_id() -> str:
        emulator = Emulator.demo()
        async with (
            emulator.serve() as base_url,
            api.session.post(
                f"{base_url}/apis/v2/public/crm/addContactsFull",
                json=doc_body(CONTACTS_EXAMPLE, emulator.credentials),
            ) as resp,
        ):
            payload = await resp.json()
        await emulator.close()
        contact_id: str = payload["data"]["contact_id"]
        return contact_id

    assert await first_contact_id() == await first_contact_id()
