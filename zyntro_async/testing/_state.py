"""What the emulator knows: the seed (who may call, in which org) and the data written.

Seed records (:class:`User`, :class:`DeveloperKey`, :class:`Org`) survive
:meth:`Emulator.reset`; data records (contacts, entities, notes, attachments, comms) do
not. All of them are mutable ``attrs`` classes so a test can, say, deactivate a user
mid-test: ``emu.users[api_key].active = False``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

__all__ = [
    "CONTACT_FIELDS",
    "ENTITY_FIELDS",
    "DeveloperKey",
    "Org",
    "StoredAttachment",
    "StoredComms",
    "StoredContact",
    "StoredEntity",
    "StoredNote",
    "User",
]

CONTACT_FIELDS: Mapping[str, str] = {
    "firstName": "first_name",
    "lastName": "last_name",
    "primaryEmail": "primary_email",
    "primaryPhone": "primary_phone",
    "source": "source",
    "status": "status",
    "roleLabel": "role_label",
}
"""Documented string fields of a contact: wire (camelCase) name to attribute name."""

ENTITY_FIELDS: tuple[str, ...] = ("name", "label", "status", "website")
"""Documented string fields of an entity (company)."""


# --------------------------------------------------------------------------- seed


@attrs.define
class User:
    """A Zyntro user, identified by its API key.

    Attributes:
        api_key: The user's API key.
        active: An inactive user gets "User is not active".
        org_ids: Organizations the key may act in.
    """

    api_key: str
    active: bool = True
    org_ids: set[str] = attrs.Factory(set)


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse_whitelist(
    value: Sequence[str | IPNetwork] | None,
) -> tuple[IPNetwork, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        raise TypeError("whitelist must be a sequence of addresses, not one string")
    # strict=False accepts "10.0.0.1/8" as "10.0.0.0/8", as most admin UIs do.
    return tuple(
        ipaddress.ip_network(entry.strip() if isinstance(entry, str) else entry, strict=False)
        for entry in value
    )


@attrs.define
class DeveloperKey:
    """A developer key: the ``developer_secret`` and the addresses it may be used from.

    Attributes:
        secret: The developer secret (``zdk_...``).
        whitelist: Allowed peer addresses: exact IPs or CIDR networks. ``None`` allows
            any address; an empty sequence allows none.
        revoked: A revoked key gets "Invalid developer_secret".
    """

    secret: str
    whitelist: tuple[IPNetwork, ...] | None = attrs.field(default=None, converter=_parse_whitelist)
    revoked: bool = False

    def allows(self, peer: str | None) -> bool:
        """Whether a request from ``peer`` passes the whitelist.

        Args:
            peer: The peer address (``request.remote``), possibly ``None`` or IPv6.

        Returns:
            ``True`` when allowed.
        """
        if self.whitelist is None:
            return True
        if not peer:
            return False
        try:
            address = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return False
        # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.whitelist)


@attrs.define
class Org:
    """An organization and its CRM settings.

    Attributes:
        org_id: The organization UUID.
        mode: ``"B2B"`` links contacts to entities (companies); ``"B2C"`` does not.
        storage: Whether cloud storage is configured (file attachments need it).
        custom_fields: Custom field tag to allowed options (``None`` for free values).
        brands: Brand ids of the organization.
        members: Member ids of the organization.
    """

    org_id: str
    mode: Literal["B2B", "B2C"] = "B2B"
    storage: bool = True
    custom_fields: dict[str, tuple[str, ...] | None] = attrs.Factory(dict)
    brands: set[str] = attrs.Factory(set)
    members: set[str] = attrs.Factory(set)


# --------------------------------------------------------------------------- data


@attrs.define
class StoredContact:
    """A contact as the emulator stores it.

    Attributes:
        contact_id: Opaque id.
        org_id: Owning organization.
        owner_id: Member that owns the contact (the creating ``member_id``).
        fields: Contact fields by wire (camelCase) name, including unknown keys that
            were passed through; ``customFields`` and ``tags`` are kept apart.
        tags: Tags.
        custom_fields: Custom field values, merged across updates.
        entity_id: Linked entity, if any.
    """

    contact_id: str
    org_id: str
    owner_id: str
    fields: dict[str, Any] = attrs.Factory(dict)
    tags: list[str] = attrs.Factory(list)
    custom_fields: dict[str, Any] = attrs.Factory(dict)
    entity_id: str | None = None

    @property
    def first_name(self) -> str | None:
        """``firstName``."""
        return self._text("firstName")

    @property
    def last_name(self) -> str | None:
        """``lastName``."""
        return self._text("lastName")

    @property
    def primary_email(self) -> str | None:
        """``primaryEmail``."""
        return self._text("primaryEmail")

    @property
    def primary_phone(self) -> str | None:
        """``primaryPhone``."""
        return self._text("primaryPhone")

    @property
    def source(self) -> str | None:
        """``source``."""
        return self._text("source")

    @property
    def status(self) -> str:
        """``status``; contacts without one are ``"Active"``."""
        return self._text("status") or "Active"

    @property
    def role_label(self) -> str | None:
        """``roleLabel``."""
        return self._text("roleLabel")

    def _text(self, key: str) -> str | None:
        value = self.fields.get(key)
        return value if isinstance(value, str) else None


@attrs.define
class StoredEntity:
    """An entity (company) linked to contacts in a B2B organization.

    Attributes:
        entity_id: Opaque id.
        org_id: Owning organization.
        name: Entity name (looked up case-insensitively).
        fields: Other entity fields by wire name (``label``, ``status``, ``website``,
            and passed-through unknown keys).
    """

    entity_id: str
    org_id: str
    name: str
    fields: dict[str, Any] = attrs.Factory(dict)


@attrs.define
class StoredNote:
    """A note on a contact.

    Named like the API's answer (and the SDK's ``Note``).

    Attributes:
        note_id: Opaque id.
        org_id: Organization of the contact.
        contact_id: The contact.
        member_id: Member that wrote it (always the contact's owner).
        note_content: The note text.
        note_visibility: 0 private, 1 visible.
        note_editable: 0 read-only, 1 editable.
    """

    note_id: str
    org_id: str
    contact_id: str
    member_id: str
    note_content: str
    note_visibility: int = 0
    note_editable: int = 0

    @property
    def content(self) -> str:
        """The note text; same as :attr:`note_content`."""
        return self.note_content


@attrs.define
class StoredAttachment:
    """A link or file attachment on a contact.

    File contents live in a file of the emulator's temporary directory, so large
    uploads do not sit in memory; read them with :attr:`data` or :meth:`read_bytes`.

    Attributes:
        att_id: Opaque id.
        org_id: Organization of the contact.
        contact_id: The contact.
        member_id: Member that created it.
        att_type: ``"link"`` or ``"file"``.
        name: ``att_name``.
        link_url: For links, ``att_content.link_url``.
        file_type: For files, the MIME type.
        context: ``att_context``.
        path: For files, where the decoded bytes are stored.
        size: For files, the number of decoded bytes.
    """

    att_id: str
    org_id: str
    contact_id: str
    member_id: str
    att_type: Literal["link", "file"]
    name: str | None = None
    link_url: str | None = None
    file_type: str | None = None
    context: str | None = None
    path: Path | None = None
    size: int = 0

    def read_bytes(self) -> bytes:
        """Return the decoded file content (``b""`` for links).

        Returns:
            The bytes that were uploaded.
        """
        return self.path.read_bytes() if self.path is not None else b""

    @property
    def data(self) -> bytes:
        """The decoded file content; same as :meth:`read_bytes`."""
        return self.read_bytes()


@attrs.define
class StoredComms:
    """A communication history entry.

    Attributes:
        ch_id: Integer id, incrementing from 1.
        org_id: Organization.
        contact_id: The contact.
        member_id: The member.
        comms_type: ``email``, ``sms``, ``call`` or ``message``.
        comms_data: Text or a JSON object.
        source: ``comms_source``.
        sentiment: ``comms_sentiment``.
        next_step: ``comms_next``.
        status: ``pending`` or ``processed``.
    """

    ch_id: int
    org_id: str
    contact_id: str
    member_id: str
    comms_type: str
    comms_data: str | dict[str, Any]
    source: str | None = None
    sentiment: str | None = None
    next_step: str | None = None
    status: str = "processed"
