"""What every resource shares: the transport and the member check."""

from __future__ import annotations

from typing import Any

from zyntro_async._errors import ConfigurationError
from zyntro_async._transport import Transport
from zyntro_async.models._validators import check_id

__all__ = ["Resource"]


class Resource:
    """Base of the resources: holds the client's one transport."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def _fields(self, member_id: str | None, *, brand: bool = False) -> dict[str, Any]:
        """Credentials and identifiers for a call that acts as a member."""
        if member_id is not None:
            check_id("member_id", member_id)
        fields = self._transport.base_fields(member_id=member_id, brand=brand)
        if "member_id" not in fields:
            raise ConfigurationError(
                "missing member_id: pass member_id=... to this call or to ZyntroClient, "
                "or set the ZYNTRO_MEMBER_ID environment variable"
            )
        return fields
