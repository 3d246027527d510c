"""The emulator's store: who may call (the seed) and what was written (the data).

:class:`Store` holds every record of one emulated Zyntro account and the indexes the
API rules look contacts up by. Seeding methods live here too, so seeding the demo
account (:mod:`._demo`) needs only the store, not the emulator around it. The store
checks nothing: the API's rules are in :mod:`._rules`.
"""

from __future__ import annotations

import random
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from zyntro_async.testing._state import (
    DeveloperKey,
    Org,
    StoredAttachment,
    StoredComms,
    StoredContact,
    StoredEntity,
    StoredNote,
    User,
)

__all__ = ["Store", "phone_key"]


def phone_key(phone: str) -> str:
    """The digits of a phone number: how upserts by phone match numbers.

    Args:
        phone: The number as given (``"+1 (555) 010-0199"``).

    Returns:
        Its digits only (``"15550100199"``).
    """
    return re.sub(r"\D", "", phone)


class Store:
    """The state of one emulated account.

    Args:
        id_seed: Seed of the generator of ids (the same seed, the same ids).
    """

    def __init__(self, *, id_seed: int | str = 0) -> None:
        self._id_seed = id_seed
        # seed: survives reset_data()
        self.users: dict[str, User] = {}
        self.developer_keys: dict[str, DeveloperKey] = {}
        self.orgs: dict[str, Org] = {}
        # data
        self.contacts: dict[str, StoredContact] = {}
        self.entities: dict[str, StoredEntity] = {}
        self.notes: dict[str, StoredNote] = {}
        self.attachments: dict[str, StoredAttachment] = {}
        self.comms: dict[int, StoredComms] = {}
        self.applied: Counter[str] = Counter()
        self.applied_detail: Counter[tuple[str, str]] = Counter()
        self._by_email: dict[tuple[str, str], str] = {}
        self._by_phone: dict[tuple[str, str], str] = {}
        # Only entities named explicitly: an auto-named company is its contact's alone.
        self.entity_by_name: dict[tuple[str, str], str] = {}
        self._ids = random.Random(id_seed)
        self.next_ch_id = 1

    # ------------------------------------------------------------------ seed

    def add_user(self, *, api_key: str, active: bool = True, org_ids: Iterable[str] = ()) -> User:
        """Seed a user (see ``Emulator.add_user``)."""
        user = User(api_key=api_key, active=active, org_ids=set(org_ids))
        self.users[api_key] = user
        return user

    def add_developer_key(
        self, *, secret: str, whitelist: Sequence[str] | None = None, revoked: bool = False
    ) -> DeveloperKey:
        """Seed a developer key (see ``Emulator.add_developer_key``)."""
        key = DeveloperKey(secret=secret, whitelist=whitelist, revoked=revoked)
        self.developer_keys[secret] = key
        return key

    def add_org(
        self,
        *,
        org_id: str,
        mode: Literal["B2B", "B2C"] = "B2B",
        storage: bool = True,
        custom_fields: Mapping[str, Sequence[str] | None] | None = None,
        brands: Iterable[str] = ("1",),
        members: Iterable[str] = (),
    ) -> Org:
        """Seed an organization (see ``Emulator.add_org``)."""
        org = Org(
            org_id=org_id,
            mode=mode,
            storage=storage,
            custom_fields={
                tag: None if options is None else tuple(options)
                for tag, options in (custom_fields or {}).items()
            },
            brands=set(brands),
            members=set(members),
        )
        self.orgs[org_id] = org
        return org

    # ------------------------------------------------------------------ data

    def reset_data(self) -> None:
        """Forget every contact, entity, note, attachment and comms entry; keep the seed."""
        for attachment in self.attachments.values():
            if attachment.path is not None:
                attachment.path.unlink(missing_ok=True)
        self.contacts.clear()
        self.entities.clear()
        self.notes.clear()
        self.attachments.clear()
        self.comms.clear()
        self.applied.clear()
        self.applied_detail.clear()
        self._by_email.clear()
        self._by_phone.clear()
        self.entity_by_name.clear()
        self._ids = random.Random(self._id_seed)
        self.next_ch_id = 1

    def new_id(self) -> str:
        """Return a fresh opaque id (a uuid4 string, reproducible under the seed)."""
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def count_applied(self, endpoint: str, action: str) -> None:
        """Count one request that changed state.

        Args:
            endpoint: ``"crm/addContactsFull"`` style name.
            action: What it did (``"created"``, ``"deleted"``...).
        """
        self.applied[endpoint] += 1
        self.applied_detail[endpoint, action] += 1

    def store_contact(
        self,
        *,
        org_id: str,
        owner_id: str,
        fields: Mapping[str, Any],
        entity_id: str | None = None,
        contact_id: str | None = None,
    ) -> StoredContact:
        """Create a contact (seeding for tests, or an applied request).

        Args:
            org_id: Organization.
            owner_id: Owning member.
            fields: Wire (camelCase) contact fields; ``tags`` and ``customFields`` too.
            entity_id: Entity to link.
            contact_id: The id to give it; a generated one when ``None``.

        Returns:
            The stored contact.

        Raises:
            ValueError: A contact with ``contact_id`` exists already.
        """
        if contact_id is not None and contact_id in self.contacts:
            raise ValueError(f"contact {contact_id!r} already exists")
        contact = StoredContact(
            contact_id=contact_id or self.new_id(), org_id=org_id, owner_id=owner_id
        )
        contact.entity_id = entity_id
        self.merge_contact(contact, fields)
        self.contacts[contact.contact_id] = contact
        return contact

    def merge_contact(self, contact: StoredContact, given: Mapping[str, Any]) -> None:
        """Write contact fields (custom fields merge, tags replace) and reindex it.

        Args:
            contact: The stored contact.
            given: Wire (camelCase) contact fields.
        """
        self._unindex(contact)
        for key, value in given.items():
            if key == "customFields":
                contact.custom_fields.update(value or {})
            elif key == "tags":
                contact.tags = list(value or [])
            elif key != "contactId":
                contact.fields[key] = value
        self._index(contact)

    def store_note(
        self,
        *,
        contact_id: str,
        content: str,
        visibility: int = 0,
        editable: int = 0,
        note_id: str | None = None,
    ) -> StoredNote:
        """Create a note on a contact, written by the contact's owner.

        Args:
            contact_id: The contact.
            content: The note text.
            visibility: 0 private, 1 visible.
            editable: 0 read-only, 1 editable.
            note_id: The id to give it (any string); generated when ``None``.

        Returns:
            The stored note.

        Raises:
            KeyError: No such contact.
            ValueError: A note with ``note_id`` exists already.
        """
        contact = self.contacts[contact_id]
        if note_id is not None and note_id in self.notes:
            raise ValueError(f"note {note_id!r} already exists")
        note = StoredNote(
            note_id=note_id or self.new_id(),
            org_id=contact.org_id,
            contact_id=contact_id,
            member_id=contact.owner_id,
            note_content=content,
            note_visibility=visibility,
            note_editable=editable,
        )
        self.notes[note.note_id] = note
        return note

    def store_attachment(self, attachment: StoredAttachment) -> StoredAttachment:
        """Keep an attachment under its id.

        Args:
            attachment: The record (its ``att_id`` may be any string).

        Returns:
            The same record.

        Raises:
            ValueError: An attachment with that id exists already.
        """
        if attachment.att_id in self.attachments:
            raise ValueError(f"attachment {attachment.att_id!r} already exists")
        self.attachments[attachment.att_id] = attachment
        return attachment

    def blob_path(self, blob_dir: Path, att_id: str) -> Path:
        """Where a file attachment's bytes are kept (its id may be any text).

        Args:
            blob_dir: The emulator's storage directory.
            att_id: The attachment id.

        Returns:
            A path inside ``blob_dir`` whose name is safe whatever the id.
        """
        return blob_dir / f"att-{uuid.uuid5(uuid.NAMESPACE_URL, att_id)}"

    def find_by_email(self, org_id: str, email: str) -> StoredContact | None:
        """The contact of ``org_id`` with this ``primaryEmail`` (case-insensitive)."""
        return self._found(self._by_email.get((org_id, email.lower())), org_id)

    def find_by_phone(self, org_id: str, phone: str) -> StoredContact | None:
        """The contact of ``org_id`` whose ``primaryPhone`` has the same digits."""
        return self._found(self._by_phone.get((org_id, phone_key(phone))), org_id)

    def find_by_id(self, org_id: str, contact_id: str | None) -> StoredContact | None:
        """The contact with this id, if it belongs to ``org_id``."""
        return self._found(contact_id, org_id)

    def _found(self, contact_id: str | None, org_id: str) -> StoredContact | None:
        found = self.contacts.get(contact_id) if contact_id else None
        return found if found is not None and found.org_id == org_id else None

    def _index(self, contact: StoredContact) -> None:
        if contact.primary_email:
            self._by_email[contact.org_id, contact.primary_email.lower()] = contact.contact_id
        if contact.primary_phone and phone_key(contact.primary_phone):
            self._by_phone[contact.org_id, phone_key(contact.primary_phone)] = contact.contact_id

    def _unindex(self, contact: StoredContact) -> None:
        for index, key in (
            (self._by_email, (contact.primary_email or "").lower()),
            (self._by_phone, phone_key(contact.primary_phone or "")),
        ):
            if key and index.get((contact.org_id, key)) == contact.contact_id:
                del index[contact.org_id, key]
