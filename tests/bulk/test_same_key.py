"""Rows with one lookup key run one at a time, in input order; others are not held back."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from zyntro_async import Contact
from zyntro_async.bulk._same_key import SameKeyGate, SharedKey, lookup_key


@pytest.mark.parametrize(
    ("lookup_by", "contact", "expected"),
    [
        ("email", Contact(primary_email="Jane@ACME.com"), "email:jane@acme.com"),
        ("email", Contact(first_name="No mail"), None),
        ("phone", Contact(primary_phone="+1 (555) 010-0199"), "phone:15550100199"),
        ("phone", Contact(primary_phone="1 555 010 0199"), "phone:15550100199"),
        ("contact_id", Contact(first_name="x"), None),
    ],
)
def test_lookup_keys_are_normalised_as_the_api_compares(
    lookup_by: str, contact: Contact, expected: str | None
) -> None:
    assert lookup_key(lookup_by, contact) == expected


def test_a_contact_id_lookup_keys_on_the_id() -> None:
    assert lookup_key("contact_id", Contact(), "c-1") == "contact_id:c-1"


async def test_same_key_items_run_one_at_a_time_in_input_order() -> None:
    gate = SameKeyGate()
    events: list[str] = []

    async def item(index: int, key: str) -> None:
        async with gate.turn(key, index):
            events.append(f"start {index}")
            await anyio.lowlevel.checkpoint()
            await anyio.lowlevel.checkpoint()
            events.append(f"end {index}")

    async with anyio.create_task_group() as tg:
        for index in range(3):
            tg.start_soon(item, index, "email:a@x")
    assert events == ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]
    assert gate.shared == 2
    assert gate.examples == [SharedKey(1, 0, "email:a@x"), SharedKey(2, 1, "email:a@x")]
    assert gate.busy_keys == 0


async def test_different_keys_run_together() -> None:
    gate = SameKeyGate()
    inside = 0
    most = 0

    async def item(index: int, key: str | None) -> None:
        nonlocal inside, most
        async with gate.turn(key, index):
            inside += 1
            most = max(most, inside)
            await anyio.lowlevel.checkpoint()
            inside -= 1

    async with anyio.create_task_group() as tg:
        for index, key in enumerate(["email:a@x", "email:b@x", None, None]):
            tg.start_soon(item, index, key)
    assert most == 4
    assert gate.shared == 0


async def test_a_waiter_cancelled_in_line_passes_its_place_on() -> None:
    gate = SameKeyGate()
    events: list[str] = []
    release_first = anyio.Event()

    async def first() -> None:
        async with gate.turn("k", 0):
            events.append("first runs")
            await release_first.wait()
            events.append("first ends")

    async def third() -> None:
        async with gate.turn("k", 2):
            events.append("third runs")

    second_scope = anyio.CancelScope()

    async def second() -> None:
        with second_scope:
            async with gate.turn("k", 1):
                events.append("second runs")  # never: cancelled while waiting

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        await anyio.lowlevel.checkpoint()
        tg.start_soon(second)
        await anyio.lowlevel.checkpoint()
        tg.start_soon(third)
        await anyio.lowlevel.checkpoint()
        second_scope.cancel()
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        # The second gave up, but the third must still wait for the first.
        assert events == ["first runs"]
        release_first.set()
    assert events == ["first runs", "first ends", "third runs"]
    assert gate.busy_keys == 0


async def test_only_recent_keys_are_remembered_for_the_report() -> None:
    gate = SameKeyGate(remember=2)
    for index, key in enumerate(["a", "b", "c", "a"]):
        async with gate.turn(key, index):
            pass
    assert gate.shared == 0  # "a" had been forgotten: memory stays bounded
    async with gate.turn("c", 4):
        pass
    assert gate.examples == [SharedKey(4, 2, "c")]
