"""Property tests: whatever a caller or a server hands the models, only typed errors come out.

- Models, request models and bulk operations built from *anything* either work or raise
  :class:`RequestValidationError`, never ``TypeError``, ``KeyError``, ``AttributeError``,
  ``RecursionError`` or a bare ``ValueError``; what they accept can be sent as UTF-8 JSON,
  hashed, printed, keyed for the journal and written back in the import format.
- Valid contacts go on the wire in camelCase, ``custom_fields`` and ``extra`` untouched, and
  an operation's import line reads back as the same operation.
- ``structure_result`` turns any ``data`` into the result model or a
  :class:`MalformedResponseError`, tolerating unknown keys.
- ``code_for_message`` / ``api_error_for`` map any text, of any size, to a code and an
  :class:`APIError` that survives pickling.
"""

from __future__ import annotations

import io
import json
import pickle
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zyntro_async import (
    APIError,
    AttachmentResult,
    CommsResult,
    Contact,
    ContactRecord,
    ContactResult,
    Entity,
    MalformedResponseError,
    Note,
    RateLimitError,
    RequestValidationError,
    ServerError,
)
from zyntro_async._errors import (
    _CLASS_FOR_CODE,
    _EXACT_MESSAGES,
    api_error_for,
    code_for_message,
)
from zyntro_async._serde import converter, request_body, structure_result, unstructure_contact
from zyntro_async.bulk import (
    AddFile,
    AddLink,
    AddNote,
    ContactBundle,
    LogComms,
    UpsertContact,
    line_from_op,
    op_from_line,
)
from zyntro_async.models._contact import CONTACT_WIRE_NAMES, ENTITY_WIRE_NAMES
from zyntro_async.models._requests import (
    AttachmentDelete,
    AttachmentUpdate,
    CommsEntry,
    ContactWrite,
    FileInsert,
    LinkInsert,
    NoteWrite,
)
from zyntro_async.models._results import CREDENTIAL_KEYS

from ._strategies import (
    any_text,
    anything,
    clean_json,
    clean_text,
    json_values,
    valid_contacts,
    valid_contacts_with_email,
    valid_entities,
)

SOME = settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])


def sendable(value: Any) -> None:
    """What the SDK accepted can be written as JSON, and that JSON as UTF-8."""
    json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")


def kwargs_for(names: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries({}, optional=dict.fromkeys(names, values))


def build_or_refuse(cls: Any, kwargs: dict[str, Any]) -> Any:
    """``cls(**kwargs)``, or ``None`` when it refused with a RequestValidationError."""
    try:
        return cls(**kwargs)
    except RequestValidationError as exc:
        refused = exc
    assert isinstance(refused, ValueError)
    assert refused.field
    str(refused)
    return None


# ---- Contact and Entity ------------------------------------------------------------------

CONTACT_FIELDS = [field.name for field in attrs.fields(Contact)]
ENTITY_FIELDS = [field.name for field in attrs.fields(Entity)]


@SOME
@given(kwargs=kwargs_for(CONTACT_FIELDS, anything))
def test_a_contact_from_anything_is_built_or_refused_with_a_validation_error(
    kwargs: dict[str, Any],
) -> None:
    contact = build_or_refuse(Contact, kwargs)
    if contact is None:
        return
    hash(contact)
    repr(contact)
    wire = unstructure_contact(contact)
    sendable(wire)


@SOME
@given(kwargs=kwargs_for(ENTITY_FIELDS, anything))
def test_an_entity_from_anything_is_built_or_refused_with_a_validation_error(
    kwargs: dict[str, Any],
) -> None:
    entity = build_or_refuse(Entity, kwargs)
    if entity is None:
        return
    hash(entity)
    sendable(converter.unstructure(entity, Entity))


@SOME
@given(field=st.sampled_from(["custom_fields", "extra"]), value=json_values)
def test_nested_custom_values_are_accepted_or_refused_with_a_validation_error(
    field: str, value: Any
) -> None:
    contact = build_or_refuse(Contact, {field: {"nested": value}})
    if contact is not None:
        sendable(unstructure_contact(contact))


@pytest.mark.parametrize("field", ["custom_fields", "extra"])
def test_self_referencing_custom_values_are_refused(field: str) -> None:
    loop: dict[str, Any] = {}
    loop["again"] = [loop]
    with pytest.raises(RequestValidationError, match="nested deeper"):
        Contact(**{field: {"x": loop}})


@SOME
@given(contact=valid_contacts)
def test_a_valid_contact_goes_on_the_wire_in_camel_case(contact: Contact) -> None:
    wire = unstructure_contact(contact)
    extra = dict(contact.extra or {})
    for attribute, key in CONTACT_WIRE_NAMES.items():
        value = getattr(contact, attribute)
        if value is None:
            assert key not in wire
        elif attribute == "tags":
            assert wire[key] == list(value)
        else:
            assert wire[key] == value
    # custom_fields keys are the org's own tags: never renamed, nested values untouched.
    if contact.custom_fields is not None:
        assert list(wire["customFields"]) == list(contact.custom_fields)
    for key, value in extra.items():
        assert wire[key] == value
    expected = {k for k, a in CONTACT_WIRE_NAMES.items() if getattr(contact, k) is not None}
    assert set(wire) == {CONTACT_WIRE_NAMES[k] for k in expected} | set(extra)
    sendable(wire)


@SOME
@given(entity=valid_entities)
def test_a_valid_entity_goes_on_the_wire_untouched(entity: Entity) -> None:
    wire = converter.unstructure(entity, Entity)
    for attribute, key in ENTITY_WIRE_NAMES.items():
        value = getattr(entity, attribute)
        assert wire.get(key) == value
    for key, value in (entity.extra or {}).items():
        assert wire[key] == value


# ---- request models ------------------------------------------------------------------------

contacts_or_anything = st.one_of(valid_contacts, anything)
entities_or_anything = st.one_of(st.none(), valid_entities, anything)
REQUEST_MODELS: dict[type[Any], dict[str, st.SearchStrategy[Any]]] = {
    ContactWrite: {
        "contact": contacts_or_anything,
        "mode": st.sampled_from(["insert", "update", "upsert"]) | anything,
        "lookup_by": st.sampled_from(["email", "phone", "contact_id"]) | anything,
        "entity": entities_or_anything,
        "skip_entity": anything,
        "contact_id": anything,
        "debug": anything,
    },
    NoteWrite: {
        "contact_id": anything,
        "note": anything,
        "visible": anything,
        "editable": anything,
        "note_id": anything,
    },
    LinkInsert: {"contact_id": anything, "name": anything, "url": anything, "context": anything},
    FileInsert: {
        "contact_id": anything,
        "file": st.binary(max_size=32) | st.builds(io.BytesIO, st.binary(max_size=32)) | anything,
        "name": anything,
        "file_type": st.sampled_from(["application/pdf", "text/plain"]) | anything,
        "context": anything,
    },
    AttachmentUpdate: {"att_id": anything, "name": anything, "url": anything, "context": anything},
    AttachmentDelete: {"att_id": anything},
    CommsEntry: {
        "contact_id": anything,
        "comms_type": st.sampled_from(["email", "sms", "call", "message"]) | anything,
        "data": anything,
        "source": anything,
        "sentiment": anything,
        "next_step": anything,
        "status": st.sampled_from(["pending", "processed"]) | anything,
    },
}


@pytest.mark.parametrize("model", REQUEST_MODELS, ids=lambda m: m.__name__)
@FEW
@given(data=st.data())
def test_a_request_model_from_anything_is_built_or_refused(model: type[Any], data: Any) -> None:
    strategies = REQUEST_MODELS[model]
    required = {f.name for f in attrs.fields(model) if f.default is attrs.NOTHING}
    kwargs = data.draw(
        st.fixed_dictionaries(
            {name: s for name, s in strategies.items() if name in required},
            optional={name: s for name, s in strategies.items() if name not in required},
        )
    )
    request = build_or_refuse(model, kwargs)
    if request is not None:
        sendable(request_body(request))


@SOME
@given(
    contact_id=clean_text.filter(str.strip),
    note=clean_text.filter(str.strip),
    visible=st.booleans() | st.sampled_from([0, 1]),
    editable=st.booleans() | st.sampled_from([0, 1]),
)
def test_note_flags_go_on_the_wire_as_0_or_1(
    contact_id: str, note: str, visible: Any, editable: Any
) -> None:
    request = NoteWrite(contact_id=contact_id, note=note, visible=visible, editable=editable)
    body = request_body(request)
    assert body["note_visibility"] == int(bool(visible))
    assert body["note_editable"] == int(bool(editable))
    assert body["contact_id"] == contact_id
    assert body["note"] == note


# ---- bulk operations -----------------------------------------------------------------------

files = st.one_of(
    anything,
    st.binary(max_size=64),
    st.builds(io.BytesIO, st.binary(max_size=64)),
    st.sampled_from(["/nonexistent/deck.pdf", "", ".", "/"]),
)
children = st.lists(
    st.one_of(
        st.builds(AddNote, contact_id=st.none(), note=st.just("hello")),
        st.builds(LogComms, contact_id=st.none(), comms_type=st.just("sms"), data=st.just("hi")),
        st.builds(AddNote, contact_id=st.just("c-1"), note=st.just("hello")),
        anything,
    ),
    max_size=3,
)
BULK_OPS: dict[type[Any], dict[str, st.SearchStrategy[Any]]] = {
    UpsertContact: {
        "contact": contacts_or_anything,
        "entity": entities_or_anything,
        "lookup_by": st.sampled_from(["email", "phone"]) | anything,
        "skip_entity": anything,
        "member_id": anything,
        "key": anything,
    },
    AddNote: {
        "contact_id": st.none() | anything,
        "note": anything,
        "visible": anything,
        "editable": anything,
        "member_id": anything,
        "key": anything,
    },
    AddLink: {
        "contact_id": st.none() | anything,
        "name": anything,
        "url": st.sampled_from(["https://acme.com/deck", "http://[::1]:80/x"]) | anything,
        "context": anything,
        "member_id": anything,
        "key": anything,
    },
    AddFile: {
        "contact_id": st.none() | anything,
        "file": files,
        "name": st.sampled_from(["deck.pdf", "notes.txt", "x.exe"]) | anything,
        "file_type": st.none() | st.sampled_from(["application/pdf"]) | anything,
        "context": anything,
        "member_id": anything,
        "key": anything,
    },
    LogComms: {
        "contact_id": st.none() | anything,
        "comms_type": st.sampled_from(["email", "call"]) | anything,
        "data": anything,
        "source": anything,
        "sentiment": anything,
        "next_step": anything,
        "status": anything,
        "member_id": anything,
        "key": anything,
    },
    ContactBundle: {
        "contact": contacts_or_anything,
        "entity": entities_or_anything,
        "notes": children,
        "attachments": children,
        "comms": children,
        "key": anything,
        "lookup_by": anything,
        "skip_entity": anything,
        "member_id": anything,
    },
}
REQUIRED = {
    UpsertContact: ["contact"],
    AddNote: ["contact_id", "note"],
    AddLink: ["contact_id", "name", "url"],
    AddFile: ["contact_id", "file"],
    LogComms: ["contact_id", "comms_type", "data"],
    ContactBundle: ["contact"],
}


@pytest.mark.parametrize("op_class", BULK_OPS, ids=lambda c: c.__name__)
@FEW
@given(data=st.data())
def test_a_bulk_operation_from_anything_is_built_or_refused(op_class: type[Any], data: Any) -> None:
    strategies = BULK_OPS[op_class]
    required = {name: strategies[name] for name in REQUIRED[op_class]}
    optional = {name: s for name, s in strategies.items() if name not in required}
    kwargs = data.draw(st.fixed_dictionaries(required, optional=optional))
    op = build_or_refuse(op_class, kwargs)
    if op is None:
        return
    key = op.stable_key()
    assert isinstance(key, str)
    assert key
    line = line_from_op(op)
    sendable(line)


@SOME
@given(
    contact=valid_contacts_with_email,
    entity=st.none() | valid_entities,
    note=clean_text.filter(str.strip),
    comms=st.one_of(
        clean_text.filter(str.strip), st.dictionaries(clean_text, clean_json, min_size=1)
    ),
    key=st.none() | clean_text.filter(str.strip),
    raw=st.binary(max_size=32),
)
def test_an_import_line_reads_back_as_the_same_operation(
    contact: Contact, entity: Entity | None, note: str, comms: Any, key: str | None, raw: bytes
) -> None:
    ops: list[Any] = [
        UpsertContact(contact, entity=entity, key=key),
        AddNote(contact_id="c-1", note=note, visible=True, key=key),
        AddLink(contact_id="c-1", name=note, url="https://acme.com/x", context=note),
        LogComms(contact_id="c-1", comms_type="email", data=comms, source="Gmail", key=key),
        ContactBundle(
            contact,
            entity=entity,
            notes=[AddNote(contact_id=None, note=note)],
            comms=[LogComms(contact_id=None, comms_type="call", data=comms)],
            key=key,
        ),
    ]
    if raw:
        ops.append(AddFile(contact_id="c-1", file=raw, name="blob.txt"))
    for op in ops:
        line = json.loads(json.dumps(line_from_op(op)))
        again = op_from_line(line)
        assert again == op, (op, line)
        assert again.stable_key() == op.stable_key()


def test_a_file_path_with_a_nul_byte_is_a_validation_error() -> None:
    with pytest.raises(RequestValidationError):
        AddFile(contact_id=None, file="deck\x00.pdf")


def test_a_closed_file_object_is_a_validation_error() -> None:
    handle = io.BytesIO(b"data")
    handle.close()
    with pytest.raises(RequestValidationError):
        AddFile(contact_id=None, file=handle, name="deck.pdf")


# ---- responses: structure_result -----------------------------------------------------------

RESULTS = [ContactResult, ContactRecord, Note, AttachmentResult, CommsResult]


@pytest.mark.parametrize("cls", RESULTS, ids=lambda c: c.__name__)
@SOME
@given(data=st.one_of(json_values, st.dictionaries(any_text, json_values, max_size=6)))
def test_any_data_becomes_the_result_or_a_malformed_response_error(
    cls: type[Any], data: Any
) -> None:
    try:
        result = structure_result(data, cls, endpoint="crm/x")
    except MalformedResponseError as exc:
        refused: MalformedResponseError | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.endpoint == "crm/x"
        str(refused)
        return
    assert isinstance(result, cls)


def _field_values(field: attrs.Attribute[Any]) -> st.SearchStrategy[Any]:
    if field.type in ("bool", bool):
        return st.sampled_from([0, 1, "0", "1", True, False])
    if field.type in ("int", int):
        return st.integers(0, 2**40) | st.integers(0, 2**40).map(str)
    strings = clean_text | st.integers(0, 2**40)
    return strings if field.default is attrs.NOTHING else st.none() | strings


@pytest.mark.parametrize("cls", RESULTS, ids=lambda c: c.__name__)
@SOME
@given(data=st.data())
def test_well_typed_data_with_unknown_keys_is_structured(cls: type[Any], data: Any) -> None:
    # ``extra`` is where the unknown keys go; ``debug`` takes any value, tested below.
    fields = [f for f in attrs.fields(cls) if f.name not in ("extra", "debug")]
    known = data.draw(
        st.fixed_dictionaries(
            {f.name: _field_values(f) for f in fields if f.default is attrs.NOTHING},
            optional={f.name: _field_values(f) for f in fields if f.default is not attrs.NOTHING},
        )
    )
    named = {f.name for f in attrs.fields(cls)}
    unknown = data.draw(
        st.dictionaries(
            clean_text.filter(lambda k: k not in named and k not in CREDENTIAL_KEYS),
            json_values,
            max_size=4,
        )
    )
    result = structure_result({**unknown, **known}, cls, endpoint="crm/x")
    assert result.extra.keys() == unknown.keys()  # kept, as sent
    assert all(result.extra[k] is v for k, v in unknown.items())
    for field in fields:
        if field.name not in known:
            continue
        sent, got = known[field.name], getattr(result, field.name)
        if sent is None:
            assert got is None
        elif field.type in ("bool", bool):
            assert got is (sent in (1, "1", True))
        elif field.type in ("int", int):
            assert got == int(sent)
        else:
            assert got == str(sent)


@SOME
@given(debug=json_values, unknown=st.dictionaries(any_text, json_values, max_size=4))
def test_a_contact_result_keeps_any_debug_value_and_every_unknown_key(
    debug: Any, unknown: dict[str, Any]
) -> None:
    unknown = {k: v for k, v in unknown.items() if k not in attrs.fields_dict(ContactResult)}
    data = {**unknown, "contact_id": "c-1", "debug": debug}
    result = structure_result(data, ContactResult, endpoint="crm/addContactsFull")
    # The very objects the server sent (``is``: a NaN is not equal to itself).
    assert result.debug is debug
    kept = {k: v for k, v in unknown.items() if k not in CREDENTIAL_KEYS}
    assert result.extra.keys() == kept.keys()
    assert all(result.extra[k] is v for k, v in kept.items())
    repr(result)


# ---- error mapping -------------------------------------------------------------------------

# Every code a message can map to: the classes' codes (429 is the only one taken from a status).
KNOWN_CODES = (set(_CLASS_FOR_CODE) - {"RATE_LIMITED"}) | {"UNKNOWN"}
long_texts = st.builds(
    lambda head, piece, count: head + piece * count,
    st.sampled_from(["missing ", "", "Contact validation errors: ", "x is required"]),
    st.sampled_from(["a", "a ", " ", "é", "\x00", "."]),
    st.integers(1000, 500_000),
)


@SOME
@given(message=st.one_of(any_text, long_texts))
def test_any_message_maps_to_a_documented_code(message: str) -> None:
    # Messages up to 500k characters of repeated pieces: a matcher that backtracks on them
    # would not finish (speed is the benchmarks' business; this holds the outcome).
    code = code_for_message(message)
    assert code in KNOWN_CODES


@SOME
@given(
    message=st.sampled_from(sorted(_EXACT_MESSAGES)),
    upper=st.lists(st.booleans(), min_size=200, max_size=200),
    padding=st.sampled_from(["", " ", "  ", "\t", "\n"]),
    final=st.sampled_from(["", ".", "!", "!!", "?", ".  ", "\u2026"]),
)
def test_documented_messages_map_whatever_their_case_spacing_and_final_punctuation(
    message: str, upper: list[bool], padding: str, final: str
) -> None:
    varied = "".join(c.upper() if flip else c for c, flip in zip(message, upper, strict=False))
    varied = padding + varied.replace(" ", " " + padding) + final + padding
    assert code_for_message(varied) == _EXACT_MESSAGES[message]


@SOME
@given(
    messages=st.lists(st.one_of(any_text, st.sampled_from(sorted(_EXACT_MESSAGES))), max_size=4),
    status=st.integers(100, 599) | st.integers(),
    retry_after=st.none() | st.floats(),
)
def test_api_error_for_builds_a_typed_picklable_error(
    messages: list[str], status: int, retry_after: float | None
) -> None:
    error = api_error_for(messages, "crm/x", status=status, retry_after=retry_after)
    assert isinstance(error, APIError)
    assert error.messages == tuple(messages)
    if status == 429:
        assert isinstance(error, RateLimitError)
    elif status >= 500:
        assert isinstance(error, ServerError)
        assert error.code == f"HTTP_{status}"
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.code, copy.messages, copy.endpoint, copy.status) == (
        error.code,
        error.messages,
        error.endpoint,
        error.status,
    )
    assert str(copy) == str(error)


@FEW
@given(value=anything)
def test_a_request_validation_error_survives_pickling(value: Any) -> None:
    error = RequestValidationError("contact.first_name", f"got {type(value).__name__}")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.field, copy.message, str(copy)) == (error.field, error.message, str(error))
