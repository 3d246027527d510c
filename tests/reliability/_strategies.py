"""Hypothesis strategies for hostile input: any value where a string is expected, and worse.

``anything`` is what a careless or hostile caller can pass: every JSON type, unicode
including lone surrogates, strings of hundreds of thousands of characters, bytes, sets,
plain objects, ``NaN``, an integer too large to print, nested containers. The ``valid_*``
strategies build well-typed values that the models must accept.
"""

from __future__ import annotations

import enum
import math
from typing import Any

from hypothesis import strategies as st

from zyntro_async import Contact, Entity
from zyntro_async.models._contact import CONTACT_WIRE_NAMES, ENTITY_WIRE_NAMES

__all__ = [
    "any_text",
    "anything",
    "clean_json",
    "clean_text",
    "json_values",
    "valid_contacts",
    "valid_entities",
]


class Colour(enum.Enum):
    RED = "red"


class Text(str):
    """A str subclass: still a string."""


# Any code point, lone surrogates included.
any_text = st.text(st.characters(exclude_categories=()), max_size=30)
# Strings that are real Unicode text (what valid values are made of).
clean_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
huge_text = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["a", "é", "😀", " ", "<", "\x00"]),
    st.integers(256, 400_000),
)
texts = st.one_of(
    any_text,
    huge_text,
    st.sampled_from(["", " ", "\n\t", "jane@acme.com", "+1 (555) 010-0100", "https://a.io/x"]),
    st.builds(Text, clean_text),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)

clean_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | clean_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(clean_text, children, max_size=3)
    ),
    max_leaves=8,
)


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"x": [value]}
    return value


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.just(math.nan),
    st.just(10**5000),
    texts,
    st.binary(max_size=16),
    st.builds(bytearray, st.binary(max_size=8)),
    json_values,
    st.builds(object),
    st.sets(st.integers(), max_size=3),
    st.tuples(any_text, st.integers()),
    st.dictionaries(st.integers(), st.integers(), max_size=2),
    st.just(Colour.RED),
    st.just(_deep(200)),
    st.builds(range, st.integers(0, 5)),
    st.just(len),
)

_emails = st.from_regex(r"\A[a-z0-9._%+\-]{1,20}@[a-z0-9\-]{1,20}\.[a-z]{2,6}\Z")
_phones = st.from_regex(r"\A\+?[0-9]{5,15}\Z")
_short = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
_reserved = {*CONTACT_WIRE_NAMES, *CONTACT_WIRE_NAMES.values()}
_extra_keys = clean_text.filter(lambda key: key not in _reserved)

valid_contacts = st.builds(
    Contact,
    first_name=st.none() | _short,
    last_name=st.none() | _short,
    primary_email=st.none() | _emails,
    primary_phone=st.none() | _phones,
    source=st.none() | _short,
    status=st.none() | _short,
    role_label=st.none() | _short,
    tags=st.none() | st.lists(_short, max_size=4),
    custom_fields=st.none() | st.dictionaries(clean_text, clean_json, max_size=4),
    extra=st.none() | st.dictionaries(_extra_keys, clean_json, max_size=3),
)
valid_contacts_with_email = valid_contacts.filter(lambda c: bool(c.primary_email))

_entity_reserved = {*ENTITY_WIRE_NAMES, *ENTITY_WIRE_NAMES.values()}
valid_entities = st.builds(
    Entity,
    name=st.none() | _short,
    label=st.none() | _short,
    status=st.none() | _short,
    website=st.none() | _short,
    extra=st.none()
    | st.dictionaries(
        clean_text.filter(lambda key: key not in _entity_reserved), clean_json, max_size=3
    ),
)
