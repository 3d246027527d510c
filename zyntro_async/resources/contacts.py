"""``zy.contacts``: ``crm/addContactsFull`` and ``crm/fetchContact``."""

from __future__ import annotations

from zyntro_async.models._contact import Contact, Entity
from zyntro_async.models._requests import ContactFetch, ContactWrite
from zyntro_async.models._results import ContactRecord, ContactResult
from zyntro_async.resources._base import ID, Resource

__all__ = ["Contacts"]


class Contacts(Resource):
    """Create, update, upsert and fetch contacts."""

    __slots__ = ()

    async def upsert(
        self,
        contact: Contact,
        *,
        entity: Entity | None = None,
        lookup_by: str = "email",
        skip_entity: bool = False,
        member_id: ID | None = None,
        contact_id: ID | None = None,
        debug: bool = False,
    ) -> ContactResult:
        """Create the contact, or update the one found by ``lookup_by`` (``mode=upsert``).

        Custom fields are merged on update: new keys are added, existing ones overwritten.
        Retried on transient failures (repeating an upsert converges on the same contact).

        Args:
            contact: the contact's fields.
            entity: the company, in B2B mode (derived from the contact when omitted).
            lookup_by: ``"email"``, ``"phone"`` or ``"contact_id"``.
            skip_entity: do not create an entity even in B2B mode.
            member_id: act as this member instead of the client's.
            contact_id: the contact to update when ``lookup_by="contact_id"``.
            debug: ask the API for debug information.

        Returns:
            What happened: ``action`` is ``"created"`` or ``"updated"``.

        Raises:
            RequestValidationError: before any I/O, for a bad argument.
            APIError: the API refused (see its ``code``).
            APIConnectionError: the API could not be reached after retries.
        """
        request = ContactWrite(
            contact=contact,
            mode="upsert",
            lookup_by=lookup_by,
            entity=entity,
            skip_entity=skip_entity,
            contact_id=contact_id,
            debug=debug,
            member_id=member_id,
        )
        return await self._client.send(request)

    async def create(
        self,
        contact: Contact,
        *,
        entity: Entity | None = None,
        skip_entity: bool = False,
        member_id: ID | None = None,
        debug: bool = False,
    ) -> ContactResult:
        """Create a new contact (``mode=insert``); fails if it already exists.

        Needs ``first_name`` and ``primary_email``. Not retried once the request may have
        reached the server: an unanswered attempt raises
        :class:`~zyntro_async.AmbiguousOutcomeError` (use :meth:`upsert` to be safe).

        Raises:
            RequestValidationError: missing ``first_name``/``primary_email`` or bad input.
            AmbiguousOutcomeError: the contact may or may not have been created.
            APIError: the API refused.
        """
        request = ContactWrite(
            contact=contact,
            mode="insert",
            lookup_by=None,
            entity=entity,
            skip_entity=skip_entity,
            debug=debug,
            member_id=member_id,
        )
        return await self._client.send(request)

    async def update(
        self,
        contact: Contact,
        *,
        entity: Entity | None = None,
        lookup_by: str = "email",
        skip_entity: bool = False,
        member_id: ID | None = None,
        contact_id: ID | None = None,
        debug: bool = False,
    ) -> ContactResult:
        """Update an existing contact found by ``lookup_by`` (``mode=update``).

        Raises:
            NotFoundError: ``NOT_FOUND_UPDATE`` when no contact matches.
            RequestValidationError: before any I/O, for a bad argument.
        """
        request = ContactWrite(
            contact=contact,
            mode="update",
            lookup_by=lookup_by,
            entity=entity,
            skip_entity=skip_entity,
            contact_id=contact_id,
            debug=debug,
            member_id=member_id,
        )
        return await self._client.send(request)

    async def fetch(self, contact_id: ID, *, member_id: ID | None = None) -> ContactRecord:
        """Fetch one contact (``crm/fetchContact``, which also sends ``brand_id``).

        Raises:
            ConfigurationError: no ``brand_id`` configured.
            RequestValidationError: ``contact_id`` or a ``member_id`` override is not a
                non-empty string.
            NotFoundError: the contact does not exist.
        """
        return await self._client.send(ContactFetch(contact_id=contact_id, member_id=member_id))
