"""Fuzz the import side: JSONL and CSV files in, bulk operations out.

Whatever the file holds (bytes that are not UTF-8, a byte-order mark, NULs, CR and LF mixed,
quotes left open, cells of 200 kB, JSON nested 100k deep, numbers of 10k digits, lines in the
import format that are right, right but for one key at any depth, or wrong everywhere; CSV
headers that are usable, with and without declared custom fields, or random), the readers:

- raise only :class:`ImportUsageError` (an unusable CSV header) or nothing at all;
- yield one item per non-blank line or non-empty row, exactly as many as ``count_items``
  promised the progress bar;
- yield operations, or :class:`InvalidItem` carrying a :class:`RequestValidationError`;
- yield items whose import line can be written by ``report.export`` (JSON, UTF-8) and
  whose journal key is a string; a valid operation's line reads back as the same operation.

The converter from import lines to operations is fuzzed on its own too: it returns an
operation or raises :class:`RequestValidationError` naming a field, nothing else.
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
    AddLink,
    AddNote,
    BulkReport,
    ContactBundle,
    InvalidItem,
    ItemResult,
    LogComms,
    Status,
    UpsertContact,
    line_from_op,
)
from zyntro_async.bulk._format import op_from_line
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
# Attachment paths: relative, missing, a directory, a NUL, a lone surrogate, and home
# directories (~user) that do not exist or cannot (a NUL in the user name).
PATHS = [
    "files/deck.pdf",
    "files/missing.pdf",
    "/",
    "a\x00b",
    "\udc80.pdf",
    "~/deck.pdf",
    "~zyntro-no-such-user/deck.pdf",
    "~a\x00b/deck.pdf",
]

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
        "path": st.sampled_from(PATHS) | maybe,
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

# Lines that are right, or right but for one thing: most random lines fail on their first
# key, and the conversion of a valid line (and its way back through export) needs testing too.
names = st.one_of(
    st.sampled_from(["Jane", "O'Brien", "Zo\u00eb", "\u674e", "Acme Corp"]),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
)
good_contact = st.fixed_dictionaries(
    {"primaryEmail": st.sampled_from(["jane@acme.com", "a.b@x.example"])},
    optional={
        "firstName": names,
        "lastName": names,
        "primaryPhone": st.sampled_from(["+1 555 0100", "(555) 010-0100"]),
        "source": names,
        "status": names,
        "roleLabel": names,
        "tags": st.lists(names, max_size=3),
        "customFields": st.dictionaries(
            names, st.none() | st.booleans() | st.integers() | names, max_size=2
        ),
        "extraKey": names,
    },
)
good_entity = st.fixed_dictionaries(
    {"name": names},
    optional={"label": names, "status": names, "website": st.just("https://acme.com")},
)
good_note = st.fixed_dictionaries(
    {"note": names}, optional={"visible": st.booleans(), "editable": st.booleans(), "key": names}
)
good_link = st.fixed_dictionaries(
    {"name": names, "url": st.sampled_from(["https://acme.com/deck", "http://x.example/a?b=c"])},
    optional={"context": names, "key": names},
)
good_file = st.fixed_dictionaries(
    {"path": st.just("files/deck.pdf")},
    optional={
        "name": st.sampled_from(["deck.pdf", "notes.txt"]),
        "file_type": st.sampled_from(["application/pdf", "text/plain"]),
        "context": names,
        "key": names,
    },
) | st.fixed_dictionaries(
    {"data_base64": st.just("aGVsbG8="), "name": st.sampled_from(["a.txt", "b.pdf"])},
    optional={"file_type": st.just("text/plain")},
)
good_comms = st.fixed_dictionaries(
    {
        "comms_type": st.sampled_from(["email", "sms", "call", "message"]),
        "data": names | st.dictionaries(names, names, min_size=1, max_size=2),
    },
    optional={
        "source": names,
        "sentiment": names,
        "next_step": names,
        "status": st.sampled_from(["pending", "processed"]),
        "key": names,
    },
)
good_bundle = st.fixed_dictionaries(
    {"contact": good_contact},
    optional={
        "key": names,
        "entity": good_entity,
        "notes": st.lists(good_note, max_size=2),
        "attachments": st.lists(good_link | good_file, max_size=2),
        "comms": st.lists(good_comms, max_size=2),
        "lookup_by": st.just("email"),
        "skip_entity": st.booleans(),
        "member_id": names,
    },
)

OPERATION_TYPES = (UpsertContact, AddNote, AddLink, AddFile, LogComms, ContactBundle, InvalidItem)


def with_op(op: str, contact_id: bool = True) -> Any:
    return lambda fields: {**fields, "op": op, **({"contact_id": "c-1"} if contact_id else {})}


good_single = st.one_of(
    st.fixed_dictionaries(
        {"op": st.just("contact"), "contact": good_contact},
        optional={"entity": good_entity, "key": names, "skip_entity": st.booleans()},
    ),
    good_note.map(with_op("note")),
    good_link.map(with_op("link")),
    good_file.map(with_op("file")),
    good_comms.map(with_op("comms")),
    # A lone child as export writes it: its fields and contact_id, no "op".
    (good_note | good_link | good_comms).map(lambda fields: {**fields, "contact_id": "c-1"}),
)
good_line = good_bundle | good_single


@st.composite
def spoiled(draw: st.DrawFn, source: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A line from ``source`` with one key, at any depth, dropped or given a random value."""
    line = draw(source)
    target = line
    while target:
        if not draw(st.booleans()):  # stop here, or go one level down
            break
        child = target[draw(st.sampled_from(sorted(target)))]
        if isinstance(child, list) and child:
            child = child[draw(st.integers(0, len(child) - 1))]
        if not isinstance(child, dict):
            break
        target = child
    drop = draw(st.booleans())
    if target and drop:
        del target[draw(st.sampled_from(sorted(target)))]
    else:
        key = draw(st.sampled_from(sorted(target)) | text) if target else draw(text)
        target[key] = draw(maybe)
    return line


lines = st.one_of(good_line, spoiled(good_line), bundle_line, single_line, json_value)

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
# Values that fit their column, so rows also get past the model's checks.
fitting_cells = {
    "primaryEmail": st.sampled_from(["jane@acme.com", " bob@x.example ", "bad@"]),
    "primaryPhone": st.sampled_from(["+1 555 0100", "x"]),
    "tags": st.sampled_from(["vip", "vip; new ;", ";", "a;b;c"]),
    "attachment": st.sampled_from(["https://acme.com/a.pdf", "https://acme.com", *PATHS]),
}
custom_names = ["industry", "region", "Plan Tier", "r\u00e9gion"]
header_names = st.lists(
    st.sampled_from(
        [*CSV_COLUMNS, *custom_names, "Industry", "", " primaryEmail ", "firstname", "a\x00b"]
    ),
    min_size=1,
    max_size=7,
)


@st.composite
def usable_header(draw: st.DrawFn, declared: tuple[str, ...]) -> list[str]:
    """Known columns, ``primaryEmail`` and the declared custom fields, in any order."""
    known = draw(st.lists(st.sampled_from(CSV_COLUMNS), unique=True, max_size=6))
    header = draw(st.permutations(list(dict.fromkeys([*known, "primaryEmail", *declared]))))
    return [draw(st.sampled_from(["", " "])) + name for name in header]


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, tuple[str, ...]]:
    """A CSV file, and the custom fields declared for it (none, half of the time).

    Half of the headers are usable, so rows are read; the others are random (mostly
    refused, which is a usage error). Rows have cells that fit their column, random
    cells, and too few or too many cells; then the bytes are damaged at random.
    """
    declared = tuple(draw(st.lists(st.sampled_from(custom_names), max_size=2, unique=True)))
    if draw(st.booleans()):
        header = draw(usable_header(declared))
    else:
        header = draw(header_names)
        if draw(st.booleans()) and "primaryEmail" not in header:
            header.append("primaryEmail")
    fitting = [fitting_cells.get(name.strip(), st.text(max_size=12)) for name in header]
    row = st.one_of(
        st.tuples(*fitting).map(list),
        st.tuples(*(st.one_of(fits, cell) for fits in fitting)).map(list),
        st.lists(cell, max_size=len(header) + 2),
    )
    rows = draw(st.lists(row, max_size=6))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    for cells in [header, *rows]:
        try:
            writer.writerow(cells)
        except csv.Error:  # Python 3.10 refuses some rows ("need to escape"): write them raw
            buffer.write(",".join(cells) + "\n")
    data = buffer.getvalue().encode("utf-8", errors="surrogatepass")
    for _ in range(draw(st.integers(0, 2))):
        where = draw(st.integers(0, len(data)))
        data = data[:where] + draw(st.binary(min_size=1, max_size=4)) + data[where:]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
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
            line = json.loads(json.dumps(line_from_op(item)))
            again = op_from_line(line, base_dir=base_dir)
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
        count_items(path, "csv")  # never run for such a file, but must not fail either
        return
    check_csv_header(path, custom_fields=declared)
    numbers: array[int] = array("L")
    items = list(read_csv(path, custom_fields=declared, line_numbers=numbers))
    assert len(numbers) == len(items)
    assert list(numbers) == sorted(set(numbers)), "line numbers go forward"
    assert count_items(path, "csv") == len(items), "the progress total is off"
    assert len(list(reader)) == len(items)
    check_items(items, WORKDIR)
    for item in items:
        if isinstance(item, ContactBundle):
            assert set(item.contact.custom_fields or {}) <= set(declared)


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
