"""The one place that knows the wire format.

- Contacts and entities -> their wire objects: camelCase, ``None`` omitted,
  ``custom_fields`` and ``extra`` passed through untouched (each request model in
  :mod:`zyntro_async.models._requests` lays out its own keys around them).
- ``data`` -> result models: unknown keys kept in the result's ``extra``, wrong types of
  named fields rejected as :class:`~zyntro_async.MalformedResponseError` (never
  ``KeyError`` or ``TypeError``).
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from zyntro_async._errors import MalformedResponseError
from zyntro_async.models._contact import (
    CONTACT_WIRE_NAMES,
    ENTITY_WIRE_NAMES,
    Contact,
    Entity,
)
from zyntro_async.models._results import (
    CREDENTIAL_KEYS,
    AttachmentResult,
    CommsResult,
    ContactRecord,
    ContactResult,
    Note,
)

if TYPE_CHECKING:
    from zyntro_async.models._requests import ApiRequest

__all__ = ["converter", "request_body", "structure_result", "unstructure_contact"]

T = TypeVar("T")

converter = cattrs.Converter()


def _without_none(fn: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    # cattrs' omit_if_default drops values equal to the default, which is not "drop None"
    # for fields whose default is something else, so None is dropped here explicitly.
    def unstructure(obj: Any) -> dict[str, Any]:
        body = {key: value for key, value in fn(obj).items() if value is not None}
        extra = body.pop("extra", None)
        if extra:
            body.update(extra)
        return body

    return unstructure


def _register_camel_case(cls: type[Any], names: Mapping[str, str]) -> None:
    renames = {attr: override(rename=wire) for attr, wire in names.items() if attr != wire}
    fn = make_dict_unstructure_fn(cls, converter, **renames)  # type: ignore[arg-type]
    converter.register_unstructure_hook(cls, _without_none(fn))


_register_camel_case(Contact, CONTACT_WIRE_NAMES)
_register_camel_case(Entity, ENTITY_WIRE_NAMES)
converter.register_unstructure_hook(tuple, list)


# The contact's text fields (every field before ``tags``), in order, with their wire names.
_CONTACT_TEXT = tuple(
    (field.name, CONTACT_WIRE_NAMES[field.name])
    for field in attrs.fields(Contact)[: [f.name for f in attrs.fields(Contact)].index("tags")]
)


def unstructure_contact(contact: Contact) -> dict[str, Any]:
    """The contact object as ``addContactsFull`` takes it (camelCase, no ``None``)."""
    if contact.custom_fields is None and contact.extra is None:
        # The usual contact holds text and tags only: the converter's answer, built
        # without its dispatch per field (custom fields and extras need the converter).
        body: dict[str, Any] = {}
        for name, wire in _CONTACT_TEXT:
            value = getattr(contact, name)
            if value is not None:
                body[wire] = value
        if contact.tags is not None:
            body["tags"] = list(contact.tags)
        return body
    result: dict[str, Any] = converter.unstructure(contact, Contact)
    return result


def request_body(request: ApiRequest[Any]) -> dict[str, Any]:
    """The endpoint-specific part of a request body (credentials are added by the transport).

    Args:
        request: one of the request models in :mod:`zyntro_async.models._requests`; each
            knows its own keys and uses this module's converter for contacts and entities.
    """
    return request.body()


# ---- responses -------------------------------------------------------------------------


def _structure_str(value: object, _: type[Any]) -> str:
    # IDs and labels: strings, or integers some servers send for IDs. Never bools or objects.
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_int(value: object, _: type[Any]) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _structure_flag(value: object, _: type[Any]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value in ("0", "1"):
        return value == "1"
    # Name the type, never echo a string: a misbehaving server may send anything back,
    # the request's credentials included, and this text ends up in exception messages.
    shown = str(value) if isinstance(value, int) else type(value).__name__
    raise TypeError(f"expected 0 or 1, got {shown}")


_result_converter = cattrs.Converter(detailed_validation=False)
_result_converter.register_structure_hook(str, _structure_str)
_result_converter.register_structure_hook(int, _structure_int)
_result_converter.register_structure_hook(bool, _structure_flag)

RESULT_TYPES = (ContactResult, ContactRecord, Note, AttachmentResult, CommsResult)

# The exact types each named result field takes as they are, with no conversion (None for
# the optional ones); ``()`` means any value (``debug``). Anything else (a numeric ID, a 0/1
# flag, a missing key, a wrong type) goes through the converter above, which converts or
# explains.
_PLAIN_TYPES: dict[Any, tuple[type[Any], ...]] = {
    str: (str,),
    str | None: (str, type(None)),
    int: (int,),
    bool: (bool,),
    Any: (),
}


@attrs.frozen
class _PlainSpec:
    """What a result model's named fields take as they are (see :func:`structure_result`).

    Attributes:
        types: field name -> the exact types taken without conversion (``()``: any value).
        names: the named fields (every key of ``types``).
        required: the fields without a default.
    """

    types: dict[str, tuple[type[Any], ...]]
    names: frozenset[str]
    required: frozenset[str]


def _plain_spec(cls: type[Any]) -> _PlainSpec:
    hints = typing.get_type_hints(cls)
    fields = [field for field in attrs.fields(cls) if field.name != "extra"]
    return _PlainSpec(
        types={field.name: _PLAIN_TYPES[hints[field.name]] for field in fields},
        names=frozenset(field.name for field in fields),
        required=frozenset(field.name for field in fields if field.default is attrs.NOTHING),
    )


_PLAIN_SPECS: dict[type[Any], _PlainSpec] = {cls: _plain_spec(cls) for cls in RESULT_TYPES}
_NAMED_KEYS: dict[type[Any], frozenset[str]] = {
    cls: spec.names for cls, spec in _PLAIN_SPECS.items()
}


def _structure_plain(values: Mapping[str, Any], cls: type[T], extra: dict[str, Any]) -> T | None:
    """``cls`` from ``values`` (named keys only) when each is already of its field's type.

    The common answer needs no conversion: this builds it without the converter's
    dispatch per field, and gives up (``None``, for the converter to do it) on anything
    else: a missing required key, a numeric ID, a 0/1 flag, a wrong type.
    """
    spec = _PLAIN_SPECS[cls]
    types = spec.types
    for name, value in values.items():
        allowed = types[name]
        if allowed and type(value) not in allowed:
            return None
    if not spec.required <= values.keys():
        return None
    build: Callable[..., T] = cls
    return build(**values, extra=extra)


def _unnamed(data: Mapping[str, Any], cls: type[Any]) -> dict[str, Any]:
    named = _NAMED_KEYS[cls]
    return {
        key: value for key, value in data.items() if key not in named and key not in CREDENTIAL_KEYS
    }


def structure_result(data: object, cls: type[T], *, endpoint: str, status: int = 200) -> T:
    """Build a result model from an envelope's ``data``.

    Keys the model names become its attributes; every other key is kept, as sent, in the
    result's ``extra`` mapping (except ``api_key``/``developer_secret``, which a server
    echoing the request could put there): new response fields are never an error, never
    lost. ``ContactResult.debug`` is the response's ``debug`` value.

    Args:
        data: the success envelope's ``data``.
        cls: one of the result models.
        endpoint: ``"module/action"``, for the error.
        status: the HTTP status, for the error.

    Returns:
        The result model.

    Raises:
        MalformedResponseError: ``data`` is not an object, lacks a required key, or a named
            value has the wrong type.
    """
    spec = _PLAIN_SPECS[cls]
    if type(data) is dict and spec.names.issuperset(data) and spec.required <= data.keys():
        # The usual answer, on every request: only named keys, each already of its
        # field's type, so the model is built as it is (what _structure_plain does, inline).
        types = spec.types
        for name, value in data.items():
            allowed = types[name]
            if allowed and type(value) not in allowed:
                break
        else:
            build: Callable[..., T] = cls
            return build(**data, extra={})
    if type(data) is not dict and not isinstance(data, Mapping):
        raise MalformedResponseError(
            f"expected an object in 'data', got {type(data).__name__}",
            endpoint=endpoint,
            status=status,
        )
    named_keys = spec.names
    if named_keys.issuperset(data):
        # The usual answer: every key is a named field, nothing for ``extra``.
        extra: dict[str, Any] = {}
        named: Mapping[str, Any] = data
    else:
        extra = _unnamed(data, cls)
        named = {key: value for key, value in data.items() if key in named_keys}
    result = _structure_plain(named, cls, extra)
    if result is not None:
        return result
    try:
        structured = _result_converter.structure(named, cls)
    except (cattrs.BaseValidationError, KeyError, TypeError, ValueError) as exc:
        raise MalformedResponseError(
            f"'data' does not match {cls.__name__}: {_describe_structure_error(exc)}",
            endpoint=endpoint,
            status=status,
        ) from exc
    return attrs.evolve(structured, extra=extra)  # type: ignore[misc]


def _describe_structure_error(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc.args[0]!r}" if exc.args else "missing key"
    return str(exc)[:200] or type(exc).__name__
