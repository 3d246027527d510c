"""``BulkReport.export``: what needs attention, written back as UTF-8 JSONL in the import format."""

from __future__ import annotations

import json
from pathlib import Path

from zyntro_async import RequestValidationError
from zyntro_async.bulk import BulkReport, InvalidItem, ItemResult, Status


def failed(item: InvalidItem) -> ItemResult:
    return ItemResult(
        index=0, key=item.stable_key(), op=item, status=Status.FAILED, error=item.error
    )


def test_lone_surrogates_are_written_as_escapes_and_read_back_the_same(tmp_path: Path) -> None:
    # Found by fuzzing: JSON's "\ud800" reads as a lone surrogate, which UTF-8 cannot
    # encode; export raised UnicodeEncodeError and the whole file was lost.
    raw = {"contact": {"firstName": "\ud800", "lastName": "Zo\u00eb"}, "\udfff": "x"}
    error = RequestValidationError("line", "has an unknown key '\udfff'")
    report = BulkReport()
    report.add(failed(InvalidItem(error, source="in.jsonl:1", raw=raw)))
    plain = RequestValidationError("contact", "must be a JSON object")
    report.add(failed(InvalidItem(plain, source="in.jsonl:2", raw={"contact": "Zo\u00eb"})))
    target = tmp_path / "attention.jsonl"

    assert report.export(target) == 2

    first, second = target.read_bytes().decode("utf-8").splitlines()
    assert "\\ud800" in first
    line = json.loads(first)
    assert line["contact"] == raw["contact"]
    assert line["\udfff"] == "x"
    assert line["error"]["message"] == str(error)
    # Lines that UTF-8 can encode keep their text as it is.
    assert "Zo\u00eb" in second
