"""``zy.comms``: ``crm/addCommsHistory``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zyntro_async.models._requests import CommsEntry
from zyntro_async.models._results import CommsResult
from zyntro_async.resources._base import ID, Resource

__all__ = ["Comms"]


class Comms(Resource):
    """Log communication events (email, SMS, call, message) on a contact's timeline."""

    __slots__ = ()

    async def log(
        self,
        contact_id: ID,
        comms_type: str,
        data: str | Mapping[str, Any],
        *,
        source: str | None = None,
        sentiment: str | None = None,
        next_step: str | None = None,
        status: str | None = None,
        member_id: ID | None = None,
    ) -> CommsResult:
        """Log one communication (insert-only; never retried once possibly applied).

        Args:
            contact_id: the contact it was with.
            comms_type: ``"email"``, ``"sms"``, ``"call"`` or ``"message"``.
            data: the content: text, or a mapping (subject, body, recipients, ...).
            source: where it came from (``comms_source``), at most 55 characters.
            sentiment: ``comms_sentiment``, e.g. ``"positive"``.
            next_step: ``comms_next``, the follow-up.
            status: ``"pending"`` or ``"processed"`` (the API's default).
            member_id: act as this member.

        Returns:
            The new entry's integer ``ch_id``.

        Raises:
            RequestValidationError: bad enum, over-long source, empty data.
            AmbiguousOutcomeError: the entry may or may not have been logged.
        """
        request = CommsEntry(
            contact_id=contact_id,
            comms_type=comms_type,
            data=data,
            source=source,
            sentiment=sentiment,
            next_step=next_step,
            status=status,
            member_id=member_id,
        )
        return await self._client.send(request)
