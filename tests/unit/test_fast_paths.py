"""Shortcuts taken for speed give exactly what the general path gives.

Structuring a result skips the converter when every value already has its field's type,
and a contact with no custom fields or extras is written without it: these tests hold
each shortcut to the converter's answer (or its error) on any input.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zyntro_async import Contact, MalformedResponseError
from zyntro_async._serde import (
    RESULT_TYPES,
    _result_converter,
    converter,
    structure_result,
    unstructure_contact,
)

FIELD_NAMES = sorted(
    {field.name for cls in RESULT_TYPES for field in attrs.fields(cls)} | {"other"}
)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=2**70),
    st.text(max_size=8),
    st.sampled_from(["0", "1", " 7 ", "abc"]),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=2),
)
DATA = st.dictionaries(st.sampled_from(FIELD_NAMES), VALUES, max_size=8)


def through_converter(data: dict[str, Any], cls: type[Any]) -> Any:
    """The converter's answer on the keys the model names; the other keys go to ``extra``."""
    named = {field.name for field in attrs.fields(cls)} - {"extra"}
    try:
        result = _result_converter.structure({k: v for k, v in data.items() if k in named}, cls)
    except Exception as exc:  # the converter's verdict, whatever it is
        return type(exc)
    return attrs.evolve(result, extra={k: v for k, v in data.items() if k not in named})


@pytest.mark.parametrize("cls", RESULT_TYPES, ids=lambda cls: cls.__name__)
@given(data=DATA)
def test_structuring_a_result_matches_the_converter(cls: type[Any], data: dict[str, Any]) -> None:
    expected = through_converter(data, cls)
    try:
        got = structure_result(data, cls, endpoint="crm/test")
    except MalformedResponseError:
        assert isinstance(expected, type)
        assert issubclass(expected, Exception)
    else:
        assert got == expected
        assert type(got) is cls


def test_a_documented_answer_is_structured_as_given() -> None:
    data = {
        "action": "created",
        "contact_id": "c-1",
        "entity_id": None,
        "message": "Contact created",
        "unknown": {"nested": [1]},
    }
    result = structure_result(data, RESULT_TYPES[0], endpoint="crm/addContactsFull")
    assert result == through_converter(data, RESULT_TYPES[0])
    assert result.extra == {"unknown": {"nested": [1]}}


TEXT = st.one_of(st.none(), st.text(st.characters(exclude_categories=("Cs",)), max_size=12))
CONTACTS = st.builds(
    Contact,
    first_name=TEXT,
    last_name=TEXT,
    primary_email=st.one_of(st.none(), st.emails()),
    primary_phone=st.one_of(st.none(), st.from_regex(r"\A\+?[0-9]{5,15}\Z")),
    source=TEXT,
    status=TEXT,
    role_label=TEXT,
    tags=st.one_of(st.none(), st.lists(st.text(max_size=5), max_size=3)),
    custom_fields=st.one_of(st.none(), st.dictionaries(st.text(max_size=5), st.integers())),
    extra=st.one_of(st.none(), st.dictionaries(st.sampled_from(["owner", "x-y"]), TEXT)),
)


@given(contact=CONTACTS)
def test_writing_a_contact_matches_the_converter(contact: Contact) -> None:
    body = unstructure_contact(contact)
    expected = converter.unstructure(contact, Contact)
    assert body == expected
    assert list(body) == list(expected)  # the same key order, so the same bytes
