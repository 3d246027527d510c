"""The contact and entity (company) models sent to ``crm/addContactsFull``.

Attributes are snake_case; :mod:`zyntro_async._serde` writes them in the API's camelCase
(``first_name`` -> ``firstName``). ``custom_fields`` keys and ``extra`` entries are sent as
given: ``extra`` carries contact fields this SDK does not name yet.

Checked locally: each field's type, and the e-mail address's shape (one ``@``, no spaces).
Not checked: phone format and field lengths, which the pages leave to the server
("phone format", "exceeds max length" in its VALIDATION_ERROR), so
``"+1 (555) 010-0199 ext. 89"`` and a 300-character last name are sent as given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from zyntro_async._errors import RequestValidationError
from zyntro_async.models._validators import (
    check_email,
    check_mapping,
    check_optional_str,
    check_tags,
)

__all__ = ["CONTACT_WIRE_NAMES", "ENTITY_WIRE_NAMES", "Contact", "Entity"]

# snake_case attribute -> camelCase wire key. The converter and the CSV reader use these.
CONTACT_WIRE_NAMES: dict[str, str] = {
    "first_name": "firstName",
    "last_name": "lastName",
    "primary_email": "primaryEmail",
    "primary_phone": "primaryPhone",
    "source": "source",
    "status": "status",
    "role_label": "roleLabel",
    "tags": "tags",
    "custom_fields": "customFields",
}
ENTITY_WIRE_NAMES: dict[str, str] = {
    "name": "name",
    "label": "label",
    "status": "status",
    "website": "website",
}


def _text(prefix: str) -> Any:
    def validate(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        # None and plain ASCII text, the usual values, need no more than this test (and no
        # call: a contact's fields are checked on every row of an import).
        if value is None or (type(value) is str and value.isascii()):
            return
        check_optional_str(f"{prefix}.{attribute.name}", value)

    return validate


def _check_extra(
    prefix: str, wire_names: Mapping[str, str], value: object
) -> dict[str, Any] | None:
    extra = check_mapping(f"{prefix}.extra", value)
    if extra:
        clash = sorted(set(extra) & {*wire_names.values(), *wire_names})
        if clash:
            raise RequestValidationError(
                f"{prefix}.extra",
                f"keys {clash} duplicate named fields; set those attributes instead",
            )
    return extra or None


def _contact_extra(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    return _check_extra("contact", CONTACT_WIRE_NAMES, value)


def _entity_extra(value: object) -> dict[str, Any] | None:
    return _check_extra("entity", ENTITY_WIRE_NAMES, value)


def _tags(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    return check_tags("contact.tags", value)


def _custom_fields(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    return check_mapping("contact.custom_fields", value)


def _email(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    check_email(f"contact.{attribute.name}", value)


@attrs.frozen
class Contact:
    """A contact as ``addContactsFull`` takes it.

    Every field is optional here because an update may send only some of them; creating a
    contact needs ``first_name`` and ``primary_email`` (checked by ``contacts.create``).

    Args:
        first_name: ``firstName`` on the wire; likewise for the other fields.
        tags: a list of strings.
        custom_fields: keys must match the org's custom-field tags; sent untouched.
        extra: other contact keys, sent as given (already in the API's spelling).
    """

    first_name: str | None = attrs.field(default=None, validator=_text("contact"))
    last_name: str | None = attrs.field(default=None, validator=_text("contact"))
    primary_email: str | None = attrs.field(default=None, validator=_email)
    # Any text: extensions, vanity numbers, national formats are the server's to judge.
    primary_phone: str | None = attrs.field(default=None, validator=_text("contact"))
    source: str | None = attrs.field(default=None, validator=_text("contact"))
    status: str | None = attrs.field(default=None, validator=_text("contact"))
    role_label: str | None = attrs.field(default=None, validator=_text("contact"))
    tags: Sequence[str] | None = attrs.field(default=None, converter=_tags)
    custom_fields: Mapping[str, Any] | None = attrs.field(
        default=None, converter=_custom_fields, hash=False
    )
    extra: Mapping[str, Any] | None = attrs.field(
        default=None, converter=_contact_extra, hash=False
    )


@attrs.frozen
class Entity:
    """A company (entity) linked to a contact in B2B mode.

    Args:
        name: the company name; in B2B mode the API derives one from the contact if omitted.
        extra: other entity keys, sent as given.
    """

    name: str | None = attrs.field(default=None, validator=_text("entity"))
    label: str | None = attrs.field(default=None, validator=_text("entity"))
    status: str | None = attrs.field(default=None, validator=_text("entity"))
    website: str | None = attrs.field(default=None, validator=_text("entity"))
    extra: Mapping[str, Any] | None = attrs.field(default=None, converter=_entity_extra, hash=False)
