"""What every resource shares: the client whose one send path its methods use."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zyntro_async._client import ZyntroClient

__all__ = ["ID", "Resource"]

# Identifiers are opaque: a string, or an int sent as its decimal string.
ID = str | int


class Resource:
    """Base of the resources: each method builds a request model and sends it."""

    __slots__ = ("_client",)

    def __init__(self, client: ZyntroClient) -> None:
        self._client = client
