"""A killed import resumes from its journal: nothing missing, nothing twice.

An importer process (a small script using ``ZyntroClient`` and ``zy.bulk.run(...,
journal=...)``) imports bundles into an emulator served by this test's event loop. It is
killed with SIGKILL about halfway, then run again with the same journal to completion. The
emulator's data must then equal, as multisets of content, what one clean run of the same
input produces on a fresh emulator.

A creating call is marked ``sent`` in the journal just before the last byte of its body
leaves, so the rerun does not send again what the killed run may have had applied; those
few items end ``unknown`` on the rerun. The emulator shows they were applied, except when
the kill fell between the mark and the last byte: then the emulator saw that request cut
short (not applied), and the item, reported ``unknown``, is the only difference from a
clean run. No order of mark and byte closes that instant; this one never duplicates.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from zyntro_async.bulk._journal import Journal
from zyntro_async.testing import Emulator, Latency

from ._helpers import (
    ADD_COMMS,
    ADD_CONTACTS,
    ADD_NOTES,
    MANAGE_ATTACHMENTS,
    bundle,
    bundles,
    child_content,
    fast_retry,
    state_multiset,
    stored_children,
)

N_BUNDLES = 400
HELPERS = Path(__file__).with_name("_helpers.py")

IMPORTER = textwrap.dedent(
    """
    import asyncio, importlib.util, json, os, sys

    from zyntro_async import ZyntroClient

    config = json.loads(sys.argv[1])
    spec = importlib.util.spec_from_file_location("bulk_test_helpers", config["helpers"])
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)


    def on_progress(progress):
        partial = config["progress"] + ".partial"
        with open(partial, "w") as out:
            out.write(str(progress.done))
        os.replace(partial, config["progress"])


    async def main():
        restored = 0
        unknown = []

        def on_result(result):
            nonlocal restored
            for item in (result, *result.children):
                restored += item.from_journal
                if item.status.value == "unknown":
                    unknown.append([result.op.contact.primary_email, item.key])

        async with ZyntroClient(**config["client"]) as zy:
            report = await zy.bulk.run(
                helpers.bundles(config["n"]),
                concurrency=16,
                journal=config["journal"],
                on_progress=on_progress,
                on_result=on_result,
                progress_interval=0.02,
            )
        print(json.dumps({
            "counts": {status.value: n for status, n in report.counts.items()},
            "child_counts": {status.value: n for status, n in report.child_counts.items()},
            "restored": restored,
            "unknown": unknown,
        }))


    asyncio.run(main())
    """
)


def child_by_key(address: str, key: str) -> Any:
    """The bundle child a journal key names (``<bundle key>/notes/1``)."""
    item = bundle(int(address.removeprefix("person").split("@")[0]))
    prefix, label = key.split("/", 1)
    assert prefix == item.stable_key()
    (child,) = (c for i, c in enumerate(item.children) if item.child_label(i) == label)
    return child


ENDPOINT_OF = {"note": ADD_NOTES, "link": MANAGE_ATTACHMENTS, "comms": ADD_COMMS}


def as_child_content(kind: str, entry: tuple[Any, ...]) -> tuple[str, ...]:
    """A :func:`state_multiset` entry as ``(email, *child_content)`` (contacts are never
    unknown here: an upsert by email is retried until it is settled)."""
    if kind == "notes":
        return (entry[0], "note", entry[1])
    if kind == "attachments":
        return (entry[0], "link", entry[2], entry[3])
    if kind == "comms":
        return (entry[0], "comms", entry[1], entry[2])
    raise AssertionError(f"{kind} missing after resuming: {entry}")


def requests_about(emu: Emulator, address: str) -> list[str]:
    """What the emulator saw for one contact (to explain a failure)."""
    contact = emu.find_contact(email=address)
    return [
        f"#{r.seq} {r.endpoint} {r.http_status} {r.outcome} applied={r.applied} "
        f"{r.duration:.3f}s {r.body.get('note') or r.body.get('att_name') or ''}"
        for r in emu.requests
        if contact is not None and r.body.get("contact_id") == contact.contact_id
    ] + [f"#{r.seq} {r.endpoint} {r.outcome}" for r in emu.requests if r.outcome == "disconnected"]


def read_progress(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


async def start_importer(script: Path, config: dict[str, Any]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        json.dumps(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.slow
async def test_import_killed_halfway_resumes_to_the_state_of_a_clean_run(
    emulator: Emulator, tmp_path: Path
) -> None:
    # Slow every request a little, so the import takes a few seconds and can be caught.
    emulator.faults.add(Latency(40))
    script = tmp_path / "importer.py"
    script.write_text(IMPORTER)
    progress = tmp_path / "progress"
    journal = tmp_path / "import.journal"
    config = {
        "client": {**emulator.credentials.as_dict(), "base_url": emulator.base_url},
        "helpers": str(HELPERS),
        "n": N_BUNDLES,
        "journal": str(journal),
        "progress": str(progress),
    }

    first = await start_importer(script, config)
    done = 0
    for _ in range(1500):  # at most 30 s
        await asyncio.sleep(0.02)
        done = read_progress(progress)
        if done >= N_BUNDLES // 2 or first.returncode is not None:
            break
    if first.returncode is None:  # (it cannot have finished: then the check below says so)
        # A crash, not a shutdown: no cleanup runs and the kernel closes the importer's
        # sockets at once, some right after the last byte of a request. The emulator, like
        # a real server, applies a request whose body arrived whole even though its client
        # is gone (tests/emulator/test_disconnects.py); a body cut short is not applied.
        first.kill()
    _, first_err = await asyncio.wait_for(first.communicate(), 30)
    assert first.returncode == -signal.SIGKILL, first_err.decode()
    assert 0 < done < N_BUNDLES
    at_kill = len(emulator.contacts)
    assert 0 < at_kill < N_BUNDLES
    upserts_before = emulator.request_counts[ADD_CONTACTS]

    second = await start_importer(script, config)
    out, err = await asyncio.wait_for(second.communicate(), 60)
    assert second.returncode == 0, err.decode()
    summary = json.loads(out)
    counts, child_counts = summary["counts"], summary["child_counts"]
    assert counts["succeeded"] + counts["unknown"] == N_BUNDLES, summary
    assert counts["failed"] == counts["skipped"] == 0, summary
    assert child_counts["failed"] == child_counts["skipped"] == 0, summary
    assert summary["restored"] > 0  # resumed from the journal, not redone
    assert emulator.request_counts[ADD_CONTACTS] - upserts_before < N_BUNDLES

    # Nothing twice: every applied creating request stored one record, none repeated.
    stored = stored_children(emulator)
    assert set(stored.values()) == {1}
    assert emulator.applied[ADD_NOTES] == len(emulator.notes)
    assert emulator.applied[MANAGE_ATTACHMENTS] == len(emulator.attachments)
    assert emulator.applied[ADD_COMMS] == len(emulator.comms)
    # Items the rerun left unknown (marked "sent" by the killed run) were applied once, or
    # the kill fell between the mark and the body's last byte: a request cut short.
    unapplied: Counter[tuple[str, ...]] = Counter()
    for address, key in summary["unknown"]:
        content = (address, *child_content(child_by_key(address, key)))
        if stored[content] == 0:
            unapplied[content] += 1
    cut_short = Counter(
        r.endpoint for r in emulator.requests if r.outcome == "disconnected" and not r.applied
    )
    for kind, endpoint in ENDPOINT_OF.items():
        n = sum(count for content, count in unapplied.items() if content[1] == kind)
        assert n <= cut_short[endpoint], (
            kind,
            cut_short,
            {content: requests_about(emulator, content[0]) for content in unapplied},
        )

    # Nothing missing: the same data as one clean run of the same input.
    clean = Emulator.demo(seed="bulk-tests-clean")
    try:
        async with clean.serve(), clean.client(retry_policy=fast_retry()) as zy:
            report = await zy.bulk.run(bundles(N_BUNDLES), concurrency=16)
    finally:
        await clean.close()
    assert report.all_succeeded
    resumed, expected = state_multiset(emulator), state_multiset(clean)
    missing_unknown: Counter[tuple[str, ...]] = Counter()
    for kind in expected:
        missing, extra = expected[kind] - resumed[kind], resumed[kind] - expected[kind]
        assert not extra, f"{kind} extra after resuming: {sorted(extra)[:10]}"
        missing_unknown.update(Counter({as_child_content(kind, m): n for m, n in missing.items()}))
    # Nothing else missing: only the unknown items whose request the kill cut short.
    assert missing_unknown == unapplied
    print(
        f"\nkilled at {done}/{N_BUNDLES} done ({at_kill} contacts stored); rerun: "
        f"{summary['counts']}, children {summary['child_counts']}, "
        f"{summary['restored']} restored from the journal, {len(summary['unknown'])} unknown"
    )
    entries = Journal(journal).entries()
    assert len(entries) >= N_BUNDLES
