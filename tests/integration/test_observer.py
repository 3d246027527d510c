"""The attempt observer over real sockets: the "last byte" moment happens on the wire."""

from __future__ import annotations

from zyntro_async import Attempt, AttemptResult, NoteWrite, ZyntroClient
from zyntro_async.testing import Emulator


class Recorder:
    """An observer that writes down every moment it is told about, in one shared log."""

    wants_last_byte = True  # it records that moment too

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def before_attempt(self, attempt: Attempt) -> None:
        self.log.append(f"{self.name}before #{attempt.number}")

    async def before_last_byte(self, attempt: Attempt) -> None:
        self.log.append(f"{self.name}last byte #{attempt.number}")

    def after_attempt(self, result: AttemptResult) -> None:
        self.log.append(f"{self.name}after #{result.attempt.number} {result.status}")


async def test_only_creating_requests_wait_for_the_last_byte(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    contact_id = zyntro_emulator.add_contact(fields={"firstName": "Jane"}).contact_id
    log: list[str] = []
    added = await zyntro_client.send(
        NoteWrite(contact_id=contact_id, note="new"), observer=Recorder("", log)
    )
    assert log == ["before #1", "last byte #1", "after #1 200"]
    log.clear()
    await zyntro_client.send(
        NoteWrite(contact_id=contact_id, note="edit", note_id=added.note_id),
        observer=Recorder("", log),
    )
    assert log == ["before #1", "after #1 200"]  # an update is idempotent: no mark needed
    assert [n.note_content for n in zyntro_emulator.notes] == ["edit"]


async def test_the_clients_observer_comes_before_the_one_given_to_send(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    contact_id = zyntro_emulator.add_contact(fields={"firstName": "Jane"}).contact_id
    log: list[str] = []
    zyntro_client._observer = Recorder("client ", log)
    await zyntro_client.send(
        NoteWrite(contact_id=contact_id, note="x"), observer=Recorder("run ", log)
    )
    assert log == [
        "client before #1",
        "run before #1",
        "client last byte #1",
        "run last byte #1",
        "run after #1 200",  # innermost first
        "client after #1 200",
    ]
    log.clear()
    await zyntro_client.notes.add(contact_id, "y")  # the endpoint methods go through it too
    assert log == ["client before #1", "client last byte #1", "client after #1 200"]
