"""Operations hold the request they built; the runner sends it through one typed protocol."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from zyntro_async import NoteWrite, RequestValidationError, ZyntroClient
from zyntro_async.bulk import AddNote, ContactBundle, RequestOperation, Status, UpsertContact
from zyntro_async.models import Contact
from zyntro_async.models._requests import ApiRequest
from zyntro_async.testing import Emulator


@attrs.frozen
class ScoreNote:
    """An operation of the caller's own: anything with the protocol's members runs."""

    contact_id: str
    text: str
    key: str | None = None
    kind: str = "score-note"
    endpoint: str = NoteWrite.endpoint
    idempotent: bool = False
    size: int = 0

    def stable_key(self) -> str:
        return self.key or f"score:{self.contact_id}:{self.text}"

    def request_for(self, contact_id: str | None) -> ApiRequest[Any]:
        return NoteWrite(contact_id=self.contact_id, note=f"score: {self.text}")


def test_an_operation_keeps_the_request_it_validated() -> None:
    op = AddNote(contact_id=42, note="hello", visible=True)
    assert op.contact_id == "42"  # an int id is kept, and sent, as a string
    assert op.request == NoteWrite(contact_id="42", note="hello", visible=True)
    assert op.request_for(None) is op.request
    assert isinstance(op, RequestOperation)
    assert isinstance(UpsertContact(Contact(primary_email="a@b.example")), RequestOperation)


def test_a_bundle_child_gets_the_contact_id_on_a_copy_of_its_request() -> None:
    child = AddNote(contact_id=None, note="hello")
    request = child.request_for("c-9")
    assert request == attrs.evolve(child.request, contact_id="c-9")
    assert child.request.contact_id != "c-9"  # the operation's own request is unchanged


def test_a_child_outside_a_bundle_has_no_contact_to_send_to() -> None:
    with pytest.raises(RequestValidationError) as excinfo:
        AddNote(contact_id=None, note="hello").request_for(None)
    assert excinfo.value.field == "contact_id"


async def test_an_operation_of_the_callers_own_runs_through_the_protocol(
    zy: ZyntroClient, emulator: Emulator
) -> None:
    contact_id = emulator.add_contact(fields={"firstName": "Jane"}).contact_id
    bundle = ContactBundle(Contact(first_name="Ann", primary_email="ann@acme.example"))
    report = await zy.bulk.run([ScoreNote(contact_id, "9/10"), bundle])
    assert report.all_succeeded
    assert [n.note_content for n in emulator.notes] == ["score: 9/10"]
    assert report.counts[Status.SUCCEEDED] == 2
