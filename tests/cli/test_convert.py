"""Import lines ⇄ operations (``zyntro_async.bulk._format``: ``op_from_line``, ``line_from_op``)."""

from __future__ import annotations

import atexit
import base64
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zyntro_async import Contact, Entity, RequestValidationError
from zyntro_async._errors import ImportLineError
from zyntro_async.bulk import (
    AddFile,
    AddLink,
    AddNote,
    ContactBundle,
    InvalidItem,
    LogComms,
    UpsertContact,
)
from zyntro_async.bulk._format import item_from_line, line_from_op, op_from_line
from zyntro_async.bulk._report import ItemResult, Status, export_line


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "deck.pdf").write_bytes(b"%PDF-1.4\n")
    (tmp_path / "files" / "setup.exe").write_bytes(b"MZ")
    return tmp_path


def full_line() -> dict[str, Any]:
    return {
        "key": "crm-1",
        "contact": {
            "firstName": "Jane",
            "lastName": "Smith",
            "primaryEmail": "jane@acme.example",
            "primaryPhone": "+1-555-0123",
            "source": "API Import",
            "status": "Active",
            "roleLabel": "Decision Maker",
            "tags": ["vip"],
            "customFields": {"industry": "Software", "lead_score": 7},
            "linkedinUrl": "https://linkedin.example/jane",
        },
        "entity": {"name": "Acme", "website": "https://acme.example", "vat": "X1"},
        "notes": [{"note": "Met at the fair", "visible": True}, {"note": "Second"}],
        "attachments": [
            {"name": "Deck", "url": "https://acme.example/deck", "context": "shared"},
            {"path": "files/deck.pdf", "name": "deck.pdf", "context": "signed"},
            {"data_base64": base64.b64encode(b"hi").decode(), "name": "hi.txt"},
        ],
        "comms": [
            {
                "comms_type": "email",
                "data": {"subject": "Hi"},
                "source": "Gmail",
                "sentiment": "positive",
                "next_step": "Call",
                "status": "pending",
            }
        ],
    }


def test_a_bundle_line_becomes_a_contact_bundle(files: Path) -> None:
    op = op_from_line(full_line(), base_dir=files)

    assert isinstance(op, ContactBundle)
    assert op.key == "crm-1"
    assert op.contact == Contact(
        first_name="Jane",
        last_name="Smith",
        primary_email="jane@acme.example",
        primary_phone="+1-555-0123",
        source="API Import",
        status="Active",
        role_label="Decision Maker",
        tags=["vip"],
        custom_fields={"industry": "Software", "lead_score": 7},
        extra={"linkedinUrl": "https://linkedin.example/jane"},  # unknown keys pass through
    )
    assert op.entity == Entity(name="Acme", website="https://acme.example", extra={"vat": "X1"})
    assert op.notes == (
        AddNote(contact_id=None, note="Met at the fair", visible=True),
        AddNote(contact_id=None, note="Second"),
    )
    link, file, inline = op.attachments
    assert link == AddLink(
        contact_id=None, name="Deck", url="https://acme.example/deck", context="shared"
    )
    assert isinstance(file, AddFile)
    assert file.file == files / "files" / "deck.pdf"  # relative to base_dir
    assert (file.name, file.context) == ("deck.pdf", "signed")
    assert isinstance(inline, AddFile)
    assert inline.file == b"hi"
    assert op.comms == (
        LogComms(
            contact_id=None,
            comms_type="email",
            data={"subject": "Hi"},
            source="Gmail",
            sentiment="positive",
            next_step="Call",
            status="pending",
        ),
    )


def test_what_line_from_op_writes_reads_back_as_the_same_operation(files: Path) -> None:
    bundle = op_from_line(full_line(), base_dir=files)

    again = op_from_line(line_from_op(bundle), base_dir=None)

    assert again == bundle
    assert line_from_op(again) == line_from_op(bundle)


@pytest.mark.parametrize(
    "op",
    [
        UpsertContact(Contact(first_name="A", primary_email="a@b.example"), lookup_by="email"),
        UpsertContact(
            Contact(primary_phone="+1 555 0100"),
            entity=Entity(name="Co"),
            lookup_by="phone",
            skip_entity=True,
            member_id="m-2",
        ),
        AddNote(contact_id="c-1", note="hello", visible=True, editable=True, key="n-1"),
        AddLink(contact_id="c-1", name="Site", url="https://x.example", context="home"),
        AddFile(contact_id="c-1", file=b"bytes", name="a.txt", file_type="text/plain"),
        LogComms(contact_id="c-1", comms_type="sms", data={"text": "hi"}, source="Twilio"),
        UpsertContact(Contact(first_name="A", primary_email="a@b.example"), key="c-1"),
        LogComms(contact_id="c-1", comms_type="sms", data="hi", status="processed"),
    ],
    ids=[
        "contact",
        "contact-phone",
        "note",
        "link",
        "file",
        "comms",
        "contact-key",
        "comms-status",
    ],
)
def test_single_operations_round_trip_through_export(op: Any) -> None:
    # What report.export writes for a failed item: the import line, plus its error.
    error = RequestValidationError("x", "y")
    line = export_line(ItemResult(index=0, key="k", op=op, status=Status.FAILED, error=error))
    assert line is not None
    assert line["error"]["status"] == "failed"

    assert op_from_line(line) == op


def test_a_lone_comms_line_keeps_its_own_status() -> None:
    line = {"op": "comms", "contact_id": "c", "comms_type": "call", "data": "x"}

    assert op_from_line({**line, "status": "pending"}).status == "pending"  # type: ignore[union-attr]
    assert op_from_line({**line, "status": "failed"}).status is None  # type: ignore[union-attr]


def test_bundle_children_act_as_the_bundle_member_unless_they_say_otherwise() -> None:
    line = {
        "contact": {"firstName": "A", "primaryEmail": "a@b.example"},
        "member_id": "m-1",
        "notes": [{"note": "x"}, {"note": "y", "member_id": "m-2"}],
    }

    op = op_from_line(line)

    assert isinstance(op, ContactBundle)
    assert [note.member_id for note in op.notes] == ["m-1", "m-2"]


def test_a_bundle_child_with_a_null_member_id_is_sent_as_the_key_owner() -> None:
    line = {
        "contact": {"firstName": "A", "primaryEmail": "a@b.example"},
        "member_id": "m-1",
        "notes": [{"note": "x", "member_id": None}],
    }

    op = op_from_line(line)

    assert isinstance(op, ContactBundle)
    assert op.notes[0].member_id is None
    assert line_from_op(op)["notes"] == [{"note": "x", "member_id": None}]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"contact": {"firstName": "A", "primaryEmail": "nope"}}, "contact.primaryEmail", "e-mail"),
        ({"contact": {"firstName": "A"}}, "contact.primaryEmail", "is required"),
        ({"contact": {"first_name": "A"}}, "contact.first_name", "firstName"),
        ({"contact": {"primaryEmail": "a@b.example", "tags": "vip"}}, "contact.tags", "list"),
        (
            {"contact": {"primaryEmail": "a@b.example", "customFields": [1]}},
            "contact.customFields",
            "mapping",
        ),
        ({"contact": "Jane"}, "contact", "JSON object"),
        ({"entity": "Acme"}, "entity", "JSON object"),
        ({"notes": "x"}, "notes", "list"),
        ({"notes": [5]}, "notes[0]", "JSON object"),
        ({"notes": [{}]}, "notes[0].note", "is required"),
        ({"notes": [{"note": "x", "visibel": True}]}, "notes[0].visibel", "not a known key"),
        ({"notes": [{"note": "x", "visible": "yes"}]}, "notes[0].visible", "bool"),
        ({"notes": [{"note": "x", "contact_id": "c"}]}, "notes[0].contact_id", "bundle"),
        ({"attachments": [{"name": "x"}]}, "attachments[0]", "url"),
        ({"attachments": [{"url": "https://x.example"}]}, "attachments[0].name", "required"),
        ({"attachments": [{"name": "x", "url": "ftp://x"}]}, "attachments[0].url", "http"),
        ({"attachments": [{"path": "files/missing.pdf"}]}, "attachments[0].path", "cannot read"),
        ({"attachments": [{"path": "files/setup.exe"}]}, "attachments[0].file_type", "unsupported"),
        ({"attachments": [{"path": 3}]}, "attachments[0].path", "string"),
        (
            {"attachments": [{"url": "https://x.example", "path": "files/deck.pdf"}]},
            "attachments[0].path",
            "only one",
        ),
        (
            {"attachments": [{"data_base64": "!!", "name": "a.txt"}]},
            "attachments[0].data_base64",
            "base64",
        ),
        ({"attachments": [{"data_base64": "aGk="}]}, "attachments[0].name", "name"),
        ({"comms": [{"comms_type": "fax", "data": "x"}]}, "comms[0].comms_type", "one of"),
        ({"comms": [{"comms_type": "call"}]}, "comms[0].data", "is required"),
        (
            {"comms": [{"comms_type": "call", "data": "x", "source": "s" * 56}]},
            "comms[0].source",
            "55",
        ),
        (
            {"comms": [{"comms_type": "call", "data": "x", "status": "done"}]},
            "comms[0].status",
            "pending",
        ),
        ({"lookup_by": "fax"}, "lookup_by", "one of"),
        ({"skip_entity": "no"}, "skip_entity", "bool"),
        ({"key": 12}, "key", "string"),
        ({"colour": "red"}, "colour", "not a known key"),
    ],
)
def test_problems_name_the_field_path_in_the_line(
    files: Path, change: dict[str, Any], field: str, words: str
) -> None:
    line: dict[str, Any] = {"contact": {"firstName": "A", "primaryEmail": "a@b.example"}}
    line.update(change)

    with pytest.raises(RequestValidationError) as caught:
        op_from_line(line, base_dir=files)

    assert caught.value.field == field
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ([1, 2], "line"),
        ({}, "contact"),
        ({"op": "nope"}, "op"),
        ({"op": "note", "note": "x"}, "contact_id"),
        ({"op": "link", "contact_id": "c", "url": "https://x.example"}, "name"),
        ({"raw": "{oops", "source": "a.jsonl:3", "status": "failed"}, "raw"),
    ],
)
def test_lines_that_are_not_operations_are_rejected(line: Any, field: str) -> None:
    with pytest.raises(RequestValidationError) as caught:
        op_from_line(line)

    assert caught.value.field == field


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
child_keys = st.sampled_from(
    ["note", "visible", "editable", "url", "path", "data_base64", "name", "file_type",
     "context", "comms_type", "data", "source", "status", "member_id", "key", "contact_id"]
)  # fmt: skip
children = st.lists(st.dictionaries(child_keys, json_values, max_size=4) | json_values, max_size=2)
top_keys = st.sampled_from(
    ["key", "contact", "entity", "op", "lookup_by", "skip_entity", "member_id", "note", "url",
     "path", "comms_type", "data", "contact_id", "status", "error", "raw", "source"]
)  # fmt: skip


def rejection(line: object) -> RequestValidationError | None:
    try:
        op_from_line(line, base_dir=Path("/nonexistent"))  # type: ignore[arg-type]
    except RequestValidationError as exc:
        return exc
    return None


@settings(max_examples=100, deadline=None, database=None)
@given(line=st.dictionaries(top_keys, json_values, max_size=6))
def test_any_json_object_gives_an_operation_or_a_validation_error(line: dict[str, Any]) -> None:
    error = rejection(line)

    assert error is None or error.field


@settings(max_examples=100, deadline=None, database=None)
@given(notes=children, attachments=children, comms=children)
def test_any_children_give_a_bundle_or_a_validation_error_naming_them(
    notes: Any, attachments: Any, comms: Any
) -> None:
    line = {
        "contact": {"firstName": "A", "primaryEmail": "a@b.example"},
        "notes": notes,
        "attachments": attachments,
        "comms": comms,
    }

    error = rejection(line)

    assert error is None or error.field.startswith(("notes", "attachments", "comms"))


@pytest.mark.parametrize("key", ["", "  ", "a\nb", "\x1b[31mred", "\ud800"])
def test_an_unknown_key_that_cannot_name_the_field_is_shown_quoted_in_the_message(
    key: str,
) -> None:
    # Found by fuzzing: an empty key made the error's field empty (": is not a known key").
    line = {"contact": {"primaryEmail": "a@b.example"}, key: 1}
    nested = {"contact": {"primaryEmail": "a@b.example"}, "notes": [{"note": "x", key: 1}]}

    top, child = rejection(line), rejection(nested)

    assert top is not None
    assert top.field == "line"
    assert top.message.startswith(f"has an unknown key {key!r}")
    assert child is not None
    assert child.field == "notes[0]"
    str(top).encode("utf-8")  # printable and writable: the key is shown as its repr


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("~zyntro-no-such-user/deck.pdf", "home directory that cannot be found"),
        ("~a\x00b/deck.pdf", "home directory that cannot be found"),
        ("\udc80.pdf", "lone surrogate"),
    ],
)
def test_a_path_that_cannot_be_resolved_is_a_validation_error(path: str, words: str) -> None:
    # "~user" for an unknown user made Path.expanduser() raise RuntimeError out of the reader.
    line = {"contact": {"primaryEmail": "a@b.example"}, "attachments": [{"path": path}]}

    error = rejection(line)

    assert error is not None
    assert error.field == "attachments[0].path"
    assert words in error.message


# ---- every problem at once (ImportLineError) ----------------------------------------------


def test_every_problem_of_a_line_is_reported_with_its_path(files: Path) -> None:
    line = {
        "contact": {"firstName": "A", "primaryEmail": "not-an-email"},
        "entity": {"name": 5},
        "colour": "red",
        "notes": [{"note": "fine"}, {"visible": True}],
        "attachments": [{"path": "files/missing.pdf"}, {"name": "x", "url": "ftp://x"}],
        "comms": [{"comms_type": "fax", "data": "x"}],
    }

    with pytest.raises(ImportLineError) as caught:
        op_from_line(line, base_dir=files)

    paths = [path for path, _ in caught.value.problems]
    assert paths == [
        "colour",
        "contact.primaryEmail",
        "entity.name",
        "notes[1].note",
        "attachments[0].path",
        "attachments[1].url",
        "comms[0].comms_type",
    ]
    assert caught.value.field == "colour"  # a RequestValidationError naming the first
    assert isinstance(caught.value, RequestValidationError)
    assert "e-mail" in dict(caught.value.problems)["contact.primaryEmail"]
    assert str(caught.value).startswith("colour: is not a known key")
    assert all(f"; {path}: " in str(caught.value) for path in paths[1:])


def test_a_single_operation_line_reports_all_its_problems() -> None:
    line = {"op": "note", "visible": "yes", "pinned": True}

    with pytest.raises(ImportLineError) as caught:
        op_from_line(line)

    assert [path for path, _ in caught.value.problems] == ["contact_id", "note", "pinned"]


def test_missing_keys_and_unknown_keys_of_one_object_are_all_reported() -> None:
    line = {
        "contact": {"primaryEmail": "a@b.example"},
        "comms": [{"source": "x", "mood": "ok", "tone": "calm"}],
    }

    with pytest.raises(ImportLineError) as caught:
        op_from_line(line)

    assert [path for path, _ in caught.value.problems] == [
        "comms[0].comms_type",
        "comms[0].data",
        "comms[0].mood",
        "comms[0].tone",
    ]


@pytest.mark.parametrize(
    ("contact", "path"),
    [
        ({"customFields": {"score": float("inf")}}, "contact.customFields.score"),
        ({"nickName": "\ud800"}, "contact.nickName"),
        ({"roleLabel": 5}, "contact.roleLabel"),
        ({"tags": ["a", 3]}, "contact.tags[1]"),
    ],
)
def test_model_errors_are_named_by_the_import_format_path(
    contact: dict[str, Any], path: str
) -> None:
    line = {"contact": {"primaryEmail": "a@b.example", **contact}}

    with pytest.raises(ImportLineError) as caught:
        op_from_line(line)

    assert [where for where, _ in caught.value.problems] == [path]


# ---- writing lines back (line_from_op) ----------------------------------------------------


def test_a_lone_operation_is_written_with_its_op() -> None:
    assert line_from_op(AddNote(contact_id="c-1", note="hi")) == {
        "op": "note",
        "contact_id": "c-1",
        "note": "hi",
    }
    assert line_from_op(AddFile(contact_id="c-1", file=b"hi", name="a.txt")) == {
        "op": "file",
        "contact_id": "c-1",
        "data_base64": "aGk=",
        "name": "a.txt",
    }


def test_file_paths_are_written_relative_to_the_target_folder_or_absolute(
    files: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    op = AddFile(contact_id="c-1", file=files / "files" / "deck.pdf")

    assert line_from_op(op, relative_to=files)["path"] == str(Path("files", "deck.pdf"))
    assert line_from_op(op, relative_to=elsewhere)["path"] == str(
        (files / "files" / "deck.pdf").resolve()
    )
    assert line_from_op(op)["path"] == str((files / "files" / "deck.pdf").resolve())


def test_a_line_that_could_not_be_read_keeps_its_files_findable(
    files: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    line = {
        "contact": {"primaryEmail": "bad"},
        "attachments": [{"path": "files/deck.pdf"}, {"path": "~zyntro-no-such-user/x.pdf"}],
    }

    item = item_from_line(line, base_dir=files, source="in.jsonl:1")

    assert isinstance(item, InvalidItem)
    assert isinstance(item.error, ImportLineError)
    assert item.source == "in.jsonl:1"
    absolute = str(files / "files" / "deck.pdf")
    assert item.raw["attachments"] == [
        {"path": absolute},
        {"path": "~zyntro-no-such-user/x.pdf"},  # cannot be resolved: left as written
    ]
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    written = line_from_op(item, relative_to=elsewhere)
    assert written["attachments"][0]["path"] == str(Path(absolute).resolve())
    assert line_from_op(item, relative_to=files)["attachments"][0]["path"] == str(
        Path("files", "deck.pdf")
    )


@st.composite
def operations(draw: st.DrawFn, folder: Path) -> Any:
    text = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1)
    name = text.filter(str.strip)
    member = st.none() | st.sampled_from(["m-1", "m-2"])
    key = st.none() | st.sampled_from(["k-1", "row 7"])
    file = st.sampled_from(
        [folder / "files" / "deck.pdf", folder / "outside.pdf", b"bytes", b"\x00\xff"]
    )
    note = st.builds(
        AddNote,
        contact_id=st.none(),
        note=name,
        visible=st.booleans(),
        editable=st.booleans(),
        member_id=member,
        key=key,
    )
    link = st.builds(
        AddLink,
        contact_id=st.none(),
        name=name,
        url=st.sampled_from(["https://acme.example/x", "http://a.example:8080/p?q=1"]),
        context=st.none() | name,
        member_id=member,
    )
    attachment = link | st.builds(
        AddFile,
        contact_id=st.none(),
        file=file,
        name=st.just("blob.pdf"),
        context=st.none() | name,
        key=key,
    )
    comms = st.builds(
        LogComms,
        contact_id=st.none(),
        comms_type=st.sampled_from(["email", "sms", "call", "message"]),
        data=name | st.dictionaries(st.sampled_from(["subject", "body"]), name, min_size=1),
        source=st.none() | st.sampled_from(["Gmail", "Phone"]),
        status=st.none() | st.sampled_from(["pending", "processed"]),
    )
    contact = st.builds(
        Contact,
        first_name=st.none() | name,
        primary_email=st.sampled_from(["a@b.example", "jane@acme.example"]),
        tags=st.none() | st.lists(name, min_size=1, max_size=2),
        custom_fields=st.none() | st.dictionaries(st.sampled_from(["industry"]), name),
        extra=st.none() | st.dictionaries(st.sampled_from(["linkedinUrl"]), name, min_size=1),
    )
    entity = st.none() | st.builds(Entity, name=name)
    bundle = st.builds(
        ContactBundle,
        contact=contact,
        entity=entity,
        notes=st.lists(note, max_size=2),
        attachments=st.lists(attachment, max_size=2),
        comms=st.lists(comms, max_size=2),
        key=key,
        skip_entity=st.booleans(),
        member_id=member,
    )
    kind = draw(st.sampled_from(["bundle", "contact", "child"]))
    if kind == "bundle":
        return draw(bundle)
    if kind == "contact":
        return draw(st.builds(UpsertContact, contact=contact, entity=entity, key=key))
    child = draw(note | attachment | comms)
    return attrs.evolve(child, contact_id="c-1")


ROUND_TRIP = Path(tempfile.mkdtemp(prefix="zyntro-format-"))
atexit.register(shutil.rmtree, ROUND_TRIP, True)
(ROUND_TRIP / "export" / "files").mkdir(parents=True)
(ROUND_TRIP / "export" / "files" / "deck.pdf").write_bytes(b"%PDF-1.4\n")
(ROUND_TRIP / "export" / "outside.pdf").write_bytes(b"%PDF-1.4\n")


@settings(max_examples=150, deadline=None, database=None)
@given(op=operations(ROUND_TRIP / "export"), target=st.sampled_from(["export", "other"]))
def test_written_then_read_back_is_the_same_operation(op: Any, target: str) -> None:
    folder = ROUND_TRIP / target
    line = json.loads(json.dumps(line_from_op(op, relative_to=folder)))

    again = op_from_line(line, base_dir=folder)

    assert again == op, line
    assert again.stable_key() == op.stable_key()
    assert line_from_op(again, relative_to=folder) == line
