"""Fuzz the import side: JSONL and CSV files in, bulk operations out.

Whatever the file holds (bytes that are not UTF-8, a byte-order mark, NULs, CR and LF mixed,
quotes left open, cells of 200 kB, JSON nested 100k deep, numbers of 10k digits, lines in the
import format with every field wrong), the readers:

- raise only :class:`ImportUsageError` (an unusable CSV header) or nothing at all;
- yield one item per non-blank line or non-empty row, exactly as many as ``count_items``
  promised the progress bar;
- yield operations, or :class:`InvalidItem` carrying a :class:`RequestValidationError`;
- yield items whose import line can be written by ``report.export`` (JSON, UTF-8) and
  whose journal key is a string; a valid operation's line reads back as the same operation.
"""

from __future__ import annotations

import atexit
import csv
import io
import json
import shutil
import tempfile
from array import array
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from zyntro_async import RequestValidationError
from zyntro_async.bulk import (
    AddFile,
    BulkReport,
    ContactBundle,
    InvalidItem,
    ItemResult,
    Status,
    op_from_import_dict,
)
from zyntro_async.bulk._convert import op_from_line
from zyntro_async.bulk._ops import OPERATION_TYPES
from zyntro_async.cli._readers import (
    CSV_COLUMNS,
    ImportReader,
    ImportUsageError,
    check_csv_header,
    count_items,
    read_csv,
    read_jsonl,
)

from ._budget import fuzz_settings, run_for

WORKDIR = Path(tempfile.mkdtemp(prefix="zyntro-fuzz-"))
atexit.register(shutil.rmtree, WORKDIR, True)
(WORKDIR / "files").mkdir()
(WORKDIR / "files" / "deck.pdf").write_bytes(b"%PDF-1.4 fuzz")

# ---- values -------------------------------------------------------------------------------

text = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(exclude_categories=()), max_size=8),  # lone surrogates too
    st.sampled_from(["", " ", "jane@acme.com", "+1 555 0100", "https://acme.com/x", "vip"]),
)
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text)
json_value = st.recursive(
    json_leaf,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(text, c, max_size=3),
    max_leaves=10,
)
maybe = st.one_of(json_value, text, st.none())

contact = st.fixed_dictionaries(
    {},
    optional={
        "firstName": maybe,
        "lastName": maybe,
        "primaryEmail": st.sampled_from(["jane@acme.com", "bad@", ""]) | maybe,
        "primaryPhone": st.sampled_from(["+1 555 0100", "x"]) | maybe,
        "tags": st.lists(text, max_size=3) | maybe,
        "customFields": st.dictionaries(text, json_value, max_size=3) | maybe,
        "first_name": maybe,
        "extraKey": maybe,
    },
)
note = st.fixed_dictionaries(
    {"note": st.sampled_from(["Met at the fair"]) | maybe},
    optional={"visible": maybe, "editable": maybe, "key": maybe, "contact_id": maybe},
)
attachment = st.fixed_dictionaries(
    {},
    optional={
        "name": maybe,
        "url": st.sampled_from(["https://acme.com/deck", "ftp://x", "nope"]) | maybe,
        "path": st.sampled_from(["files/deck.pdf", "files/missing.pdf", "/", "a\x00b"]) | maybe,
        "data_base64": st.sampled_from(["aGVsbG8=", "***", ""]) | maybe,
        "file_type": maybe,
        "context": maybe,
    },
)
comms = st.fixed_dictionaries(
    {"comms_type": st.sampled_from(["call", "email", "fax"]) | maybe, "data": maybe},
    optional={"source": maybe, "status": maybe, "next_step": maybe},
)
bundle_line = st.fixed_dictionaries(
    {"contact": contact | maybe},
    optional={
        "key": maybe,
        "entity": st.fixed_dictionaries({}, optional={"name": maybe, "website": maybe}) | maybe,
        "notes": st.lists(note | maybe, max_size=2) | maybe,
        "attachments": st.lists(attachment | maybe, max_size=2) | maybe,
        "comms": st.lists(comms | maybe, max_size=2) | maybe,
        "lookup_by": st.sampled_from(["email", "phone", "contact_id"]) | maybe,
        "skip_entity": maybe,
        "member_id": maybe,
        "status": maybe,
        "error": maybe,
    },
)
single_line = st.one_of(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["contact", "note", "link", "file", "comms", "zap"]) | maybe},
        optional={"contact_id": st.just("c-1") | maybe, "contact": contact | maybe},
    ).flatmap(
        lambda head: st.one_of(note, attachment, comms, st.just({})).map(
            lambda rest: {**rest, **head}
        )
    ),
    note.map(lambda n: {**n, "contact_id": "c-1"}),
)
lines = st.one_of(bundle_line, single_line, json_value)

# ---- files --------------------------------------------------------------------------------


def encode_line(value: Any) -> bytes:
    return json.dumps(value).encode()


raw_lines = st.one_of(
    lines.map(encode_line),
    st.binary(max_size=40),
    st.sampled_from([b"", b"   ", b"\t", b"\xef\xbb\xbf", b"\x00", b"{", b"[" * 50_000, b"}"]),
    st.builds(lambda n: b'{"contact": {"firstName": 1' + b"0" * n + b"}}", st.integers(4000, 6000)),
    st.builds(
        lambda s: b'{"contact": {"firstName": "' + s + b'"}}',
        st.sampled_from([b"\\ud800", b"\\udfff", b"\xff"]),
    ),
)


@st.composite
def jsonl_files(draw: st.DrawFn) -> bytes:
    body = b"".join(
        line + draw(st.sampled_from([b"\n", b"\r\n", b"\n\n", b"\r"]))
        for line in draw(st.lists(raw_lines, max_size=8))
    )
    if draw(st.booleans()):
        body = b"\xef\xbb\xbf" + body
    return body


cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["jane@acme.com", "vip;new", "https://acme.com/a.pdf", "files/deck.pdf", ""]),
    st.sampled_from(['a,"b"', '"', "line\nbreak", "x\r", "\x00", " "]),
    st.builds(lambda n: "z" * n, st.integers(100_000, 140_000)),
)
header_names = st.lists(
    st.sampled_from([*CSV_COLUMNS, "industry", "Industry", "", " primaryEmail ", "firstname"]),
    min_size=1,
    max_size=7,
)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, tuple[str, ...]]:
    header = draw(header_names)
    if draw(st.booleans()) and "primaryEmail" not in header:
        header.append("primaryEmail")
    rows = draw(st.lists(st.lists(cell, max_size=len(header) + 2), max_size=6))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    for row in [header, *rows]:
        try:
            writer.writerow(row)
        except csv.Error:  # Python 3.10 refuses some rows ("need to escape"): write them raw
            buffer.write(",".join(row) + "\n")
    data = buffer.getvalue().encode("utf-8", errors="surrogatepass")
    for _ in range(draw(st.integers(0, 2))):
        where = draw(st.integers(0, len(data)))
        data = data[:where] + draw(st.binary(min_size=1, max_size=4)) + data[where:]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    declared = tuple(
        draw(st.lists(st.sampled_from(["industry", "Industry", "region"]), max_size=2))
    )
    return data, declared


# ---- properties ---------------------------------------------------------------------------


def exportable(item: Any) -> None:
    """What ``report.export`` writes for a failed item can be written."""
    report = BulkReport()
    error = item.error if isinstance(item, InvalidItem) else RequestValidationError("x", "y")
    report.add(
        ItemResult(index=0, key=item.stable_key(), op=item, status=Status.FAILED, error=error)
    )
    target = WORKDIR / "export.jsonl"
    assert report.export(target) == 1
    json.loads(target.read_text(encoding="utf-8"))


def check_items(items: list[Any], base_dir: Path) -> None:
    for item in items:
        assert isinstance(item, OPERATION_TYPES), item
        assert isinstance(item.stable_key(), str)
        if isinstance(item, InvalidItem):
            assert isinstance(item.error, RequestValidationError)
            assert item.error.field
        else:
            line = json.loads(json.dumps(item.import_dict()))
            again = op_from_import_dict(line, base_dir=base_dir)
            has_file = isinstance(item, AddFile) or (
                isinstance(item, ContactBundle)
                and any(isinstance(a, AddFile) for a in item.attachments)
            )
            if not has_file:  # paths come back resolved: equal files, unequal objects
                assert again == item, (item, line)
        exportable(item)


@fuzz_settings
@given(data=jsonl_files())
def read_any_jsonl(data: bytes) -> None:
    path = WORKDIR / "import.jsonl"
    path.write_bytes(data)
    numbers: array[int] = array("L")
    items = list(read_jsonl(path, line_numbers=numbers))
    assert len(numbers) == len(items)
    assert count_items(path, "jsonl") == len(items), "the progress total is off"
    check_items(items, WORKDIR)
    reader = ImportReader(path, "jsonl")
    reader.check()
    assert len(list(reader)) == len(items)
    for index in range(len(items)):
        assert reader.source(index).startswith("import.jsonl:")


def test_fuzz_the_jsonl_reader(fuzz_budget: float, fuzz_seed: int) -> None:
    run_for(read_any_jsonl, budget=fuzz_budget, seed=fuzz_seed)


@fuzz_settings
@given(file=csv_files())
def read_any_csv(file: tuple[bytes, tuple[str, ...]]) -> None:
    data, declared = file
    path = WORKDIR / "import.csv"
    path.write_bytes(data)
    reader = ImportReader(path, "csv", custom_fields=declared)
    try:
        reader.check()
    except ImportUsageError:
        return
    check_csv_header(path, custom_fields=declared)
    items = list(read_csv(path, custom_fields=declared))
    assert count_items(path, "csv") == len(items), "the progress total is off"
    assert len(list(reader)) == len(items)
    check_items(items, WORKDIR)


def test_fuzz_the_csv_reader(fuzz_budget: float, fuzz_seed: int) -> None:
    run_for(read_any_csv, budget=fuzz_budget, seed=fuzz_seed)


@fuzz_settings
@given(line=lines)
def convert_any_line(line: Any) -> None:
    try:
        op = op_from_line(line, base_dir=WORKDIR)
    except RequestValidationError as exc:
        refused: RequestValidationError | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.field
        return
    check_items([op], WORKDIR)


def test_fuzz_the_import_line_converter(fuzz_budget: float, fuzz_seed: int) -> None:
    run_for(convert_any_line, budget=fuzz_budget, seed=fuzz_seed)
