"""Run a demo emulator, with low-probability faults, in a process of its own.

The soak test measures the client's process (memory, tasks, connections); the emulator's
state grows with every note it stores, so it lives here, out of the measurement. Started by
:func:`soak._soak.emulator_process`:

- prints one JSON line: the demo credentials, ``base_url`` and ``contact_ids`` (contacts
  owned by the demo member, for notes and comms);
- serves on 127.0.0.1 until its standard input closes (so it ends with its parent, even if
  the parent is killed), then prints one JSON line of what it stored and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter

from zyntro_async.testing import (
    Emulator,
    RateLimited,
    ResetAfterApply,
    ResetBeforeApply,
    ServerFailure,
)


def _duplicates(values: list[str]) -> int:
    return sum(count - 1 for count in Counter(values).values() if count > 1)


async def serve(*, contacts: int, fault_probability: float, seed: str) -> None:
    emu = Emulator.demo(seed=seed)
    owner_ids = [
        emu.add_contact(
            fields={"firstName": f"Owner{i}", "primaryEmail": f"owner{i}@soak.io"}
        ).contact_id
        for i in range(contacts)
    ]
    if fault_probability > 0:
        share = fault_probability / 5
        emu.faults.add(ServerFailure(503), probability=share)
        emu.faults.add(ServerFailure(500, apply=True), probability=share)
        emu.faults.add(RateLimited(retry_after=0), probability=share)
        emu.faults.add(ResetBeforeApply(), probability=share)
        emu.faults.add(ResetAfterApply(), probability=share)
    base_url = await emu.start(host="127.0.0.1", port=0)
    line = {**emu.credentials.as_dict(), "base_url": base_url, "contact_ids": owner_ids}
    print(json.dumps(line), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # returns at EOF: the parent is done
    await emu.stop()
    notes = [note.note_content for note in emu.notes]
    comms = [str(entry.comms_data) for entry in emu.comms]
    emails = [str(contact.fields.get("primaryEmail")) for contact in emu.contacts]
    summary = {
        "notes": len(notes),
        "duplicate_notes": _duplicates(notes),
        "comms": len(comms),
        "duplicate_comms": _duplicates(comms),
        "contacts": len(emails),
        "duplicate_contacts": _duplicates(emails),
        "faults": dict(emu.faults.fired),
        "requests": sum(emu.request_counts.values()),
    }
    print(json.dumps(summary), flush=True)
    await emu.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--fault-probability", type=float, default=0.0)
    parser.add_argument("--seed", default="soak")
    args = parser.parse_args()
    asyncio.run(
        serve(contacts=args.contacts, fault_probability=args.fault_probability, seed=args.seed)
    )


if __name__ == "__main__":
    main()
