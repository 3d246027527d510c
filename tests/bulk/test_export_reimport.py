"""Export → fix → re-import: an export written to another folder imports from there.

The input's attachments are relative to the input's folder; the export lives elsewhere, so
its paths must resolve from the export file (issue #13, item 6). Over real sockets: the
emulator on loopback, the JSONL reader the CLI uses, ``report.export``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zyntro_async import ZyntroClient
from zyntro_async.bulk import InvalidItem
from zyntro_async.cli._readers import read_jsonl
from zyntro_async.testing import Emulator

DECK = b"%PDF-1.4 the deck\n"


def write_lines(path: Path, lines: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines()]


def contact(email: str, **fields: Any) -> dict[str, Any]:
    return {"firstName": email.partition("@")[0].title(), "primaryEmail": email, **fields}


def move(folder: Path, to: Path) -> None:
    folder.rename(to)


async def test_an_export_in_another_folder_is_fixed_and_imported_with_its_files(
    emulator: Emulator, zy: ZyntroClient, tmp_path: Path
) -> None:
    stranger = emulator.credentials.other_members[0]
    source = tmp_path / "input"
    (source / "files").mkdir(parents=True)
    (source / "files" / "deck.pdf").write_bytes(DECK)
    (source / "files" / "setup.exe").write_bytes(b"MZ")
    deck = {"path": "files/deck.pdf", "name": "deck.pdf"}
    input_file = source / "contacts.jsonl"
    write_lines(
        input_file,
        [
            # The contact is refused (an undefined custom field): its file is skipped.
            {
                "contact": contact("refused@x.example", customFields={"undefined": 1}),
                "attachments": [deck],
            },
            # The contact and its file succeed; the note, by a stranger, is NOT_OWNER.
            {
                "contact": contact("partial@x.example"),
                "notes": [{"note": "follow up", "member_id": stranger}],
                "attachments": [deck],
            },
            # Not even sent: an .exe is not an allowed attachment type.
            {
                "contact": contact("invalid@x.example"),
                "attachments": [{"path": "files/setup.exe", "context": "installer"}],
            },
        ],
    )

    first = await zy.bulk.run(read_jsonl(input_file))

    assert (first.succeeded, first.failed) == (1, 2)
    export = tmp_path / "elsewhere" / "attention.jsonl"
    export.parent.mkdir()
    assert first.export(export) == 3
    by_email = {line["contact"]["primaryEmail"]: line for line in read_lines(export)}
    refused, partial, invalid = (
        by_email[f"{name}@x.example"] for name in ("refused", "partial", "invalid")
    )
    assert [line["error"]["code"] for line in (refused, partial, invalid)] == [
        "CUSTOM_FIELD_ERROR",
        "NOT_OWNER",
        "REQUEST_VALIDATION",
    ]
    # The input's folder is not under the export's: the paths are written absolute.
    assert refused["attachments"][0]["path"] == str((source / "files" / "deck.pdf").resolve())
    assert invalid["attachments"][0]["path"] == str((source / "files" / "setup.exe").resolve())
    assert "attachments" not in partial  # the file went through the first time

    # Fixed as a person would, keeping the "error" keys export added.
    del refused["contact"]["customFields"]
    del partial["notes"][0]["member_id"]
    invalid["attachments"][0]["path"] = invalid["attachments"][0]["path"].replace(
        "setup.exe", "deck.pdf"
    )
    write_lines(export, [refused, partial, invalid])

    items = list(read_jsonl(export))
    assert not [item for item in items if isinstance(item, InvalidItem)]
    second = await zy.bulk.run(items)

    assert second.all_succeeded, [(r.op, r.error) for r in second.results]
    files = [a for a in emulator.attachments if a.att_type == "file"]
    assert len(files) == 3  # partial's (first run), refused's and invalid's
    assert all(a.data == DECK for a in files)
    assert [n.note_content for n in emulator.notes].count("follow up") == 1


async def test_files_under_the_export_folder_are_written_relative_to_it(
    emulator: Emulator, zy: ZyntroClient, tmp_path: Path
) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "deck.pdf").write_bytes(DECK)
    input_file = tmp_path / "contacts.jsonl"
    write_lines(
        input_file,
        [
            {
                "contact": contact("refused@x.example", customFields={"undefined": 1}),
                "attachments": [{"path": "files/deck.pdf"}],
            }
        ],
    )
    report = await zy.bulk.run(read_jsonl(input_file))
    export = tmp_path / "attention.jsonl"

    report.export(export)

    (line,) = read_lines(export)
    assert line["attachments"] == [{"path": str(Path("files", "deck.pdf"))}]
    # The folder moves as a whole (input, files and export): the export still imports.
    moved = tmp_path.parent / f"{tmp_path.name}-moved"
    move(tmp_path, moved)
    try:
        del line["contact"]["customFields"]
        write_lines(moved / "attention.jsonl", [line])
        again = await zy.bulk.run(read_jsonl(moved / "attention.jsonl"))
    finally:
        move(moved, tmp_path)
    assert again.all_succeeded
    assert [a.data for a in emulator.attachments if a.att_type == "file"] == [DECK]
