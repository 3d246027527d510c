"""How a run pulls and holds items, takes request slots, and keys what it reports.

A fixed pool of workers pulls the input: one per request slot (a few more with a journal,
whose lookups hold no slot). Keys, a hash of each item, are computed for the results that
keep them: all of them when someone receives every result or a journal records them, only
the report's (those not fully succeeded) otherwise. Either way a result's key is the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zyntro_async import Contact, ZyntroClient
from zyntro_async.bulk import AddNote, ContactBundle, ItemResult, Status
from zyntro_async.testing import Emulator, Latency

from ._helpers import ADD_CONTACTS, upsert


def counting(n: int, seen: dict[str, int]) -> Iterator[Any]:
    """``n`` upserts; ``seen["ahead"]`` is the most pulled before their results came."""
    for i in range(n):
        seen["pulled"] += 1
        seen["ahead"] = max(seen["ahead"], seen["pulled"] - seen["done"])
        yield upsert(i)


@pytest.mark.parametrize(("journal", "most"), [(False, 4), (True, 6)])
async def test_a_run_holds_one_item_per_request_slot_and_a_few_more_with_a_journal(
    emulator: Emulator, zy: ZyntroClient, tmp_path: Path, journal: bool, most: int
) -> None:
    emulator.faults.add(Latency(10), endpoint=ADD_CONTACTS)
    seen = {"pulled": 0, "done": 0, "ahead": 0}

    def on_result(result: ItemResult) -> None:
        seen["done"] += 1

    report = await zy.bulk.run(
        counting(40, seen),
        concurrency=4,
        journal=tmp_path / "run.journal" if journal else None,
        on_result=on_result,
    )
    assert report.succeeded == 40
    assert 1 <= seen["ahead"] <= most


def keyed_input(emulator: Emulator) -> list[Any]:
    stranger = emulator.credentials.other_members[0]
    return [
        upsert(0),
        AddNote("no-such-contact", "lost"),  # failed: the contact does not exist
        ContactBundle(  # a child fails: a stranger may not note someone else's contact
            Contact(first_name="B", primary_email="b@x.example"),
            notes=[AddNote(None, "fine"), AddNote(None, "by a stranger", member_id=stranger)],
        ),
        upsert(1, key="my-own-key"),
    ]


async def test_results_the_report_keeps_carry_their_keys_whoever_watches_the_run(
    emulator: Emulator, zy: ZyntroClient
) -> None:
    items = keyed_input(emulator)
    unwatched = await zy.bulk.run(items)
    watched: list[ItemResult] = []
    await zy.bulk.run(items, on_result=watched.append)

    kept = sorted(unwatched.results, key=lambda r: r.index)
    assert [r.index for r in kept] == [1, 2]
    for result in kept:
        assert result.key == items[result.index].stable_key()
        assert result.key == next(w.key for w in watched if w.index == result.index)
    bundle_result = kept[1]
    assert [child.key for child in bundle_result.children] == [
        f"{bundle_result.key}/notes/0",
        f"{bundle_result.key}/notes/1",
    ]
    assert [child.status for child in bundle_result.children] == [
        Status.SUCCEEDED,
        Status.FAILED,
    ]
    assert {w.index: w.key for w in watched}[3] == "my-own-key"
    assert all(w.key == items[w.index].stable_key() for w in watched)


@pytest.mark.parametrize("setting", [{"concurrency": 0}, {"max_failures": -1}])
async def test_a_bad_setting_is_refused_by_run_and_stream(
    zy: ZyntroClient, setting: dict[str, int]
) -> None:
    with pytest.raises(ValueError, match=next(iter(setting))):
        await zy.bulk.run([upsert(0)], **setting)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=next(iter(setting))):
        async for _ in zy.bulk.stream([upsert(0)], **setting):  # type: ignore[arg-type]
            pass
