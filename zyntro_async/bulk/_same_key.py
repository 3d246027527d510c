"""Rows that name the same contact never run at the same time.

Two upserts of one e-mail address sent together can both find "no such contact" and both
create one, on any service whose lookup is not backed by a unique constraint. So a run gives
every upsert a *lookup key* (the e-mail, phone or contact id it is looked up by, normalised
the way the API compares them) and lets one item per key run at a time, in input order: the
later row waits for the earlier, then updates what the earlier created.

The gate remembers keys only while their items run, plus the most recent ``remember`` keys
for the report ("row 57 shares its e-mail with row 12"), so memory stays flat however many
rows a run has. Sharing further apart than that is not reported; it could not have run
concurrently anyway.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import attrs

from zyntro_async.models._contact import Contact

__all__ = ["SameKeyGate", "SharedKey", "lookup_key"]

_NOT_DIGITS = re.compile(r"\D")
_EXAMPLES = 20  # shared keys listed in the report; the count covers them all


def lookup_key(lookup_by: str, contact: Contact, contact_id: str | None = None) -> str | None:
    """The value an upsert is looked up by, normalised as the API compares it.

    E-mail addresses compare without case and surrounding blanks, phone numbers by their
    digits (``+1 (555) 010-0199`` and ``15550100199`` are one number), contact ids as given.

    Returns:
        ``"email:jane@acme.com"``-style keys, or ``None`` when the row has no such value
        (it cannot collide with another on it).
    """
    if lookup_by == "email":
        email = contact.primary_email
        return f"email:{email.strip().casefold()}" if email and email.strip() else None
    if lookup_by == "phone":
        digits = _NOT_DIGITS.sub("", contact.primary_phone or "")
        return f"phone:{digits}" if digits else None
    if lookup_by == "contact_id":
        return f"contact_id:{contact_id}" if contact_id else None
    return None


@attrs.frozen
class SharedKey:
    """A row whose lookup key an earlier row of the run had.

    Attributes:
        index: the row's index in the input.
        earlier: the index of the last earlier row with the same key.
        key: the shared key (``"email:jane@acme.com"``).
    """

    index: int
    earlier: int
    key: str


class _Turn:
    """One item's place in its key's queue."""

    __slots__ = ("abandoned", "done", "previous")

    def __init__(self, previous: _Turn | None) -> None:
        self.previous = previous
        self.done = anyio.Event()
        self.abandoned = False


class SameKeyGate:
    """Lets one item per lookup key run at a time, in the order they asked.

    Args:
        remember: how many recent keys are kept for reporting rows that share one (8,192
            by default: about 2 MB; the benchmark of 200k items saw 18 MB at 65,536).
    """

    def __init__(self, *, remember: int = 8_192) -> None:
        self._remember = remember
        self._tails: dict[str, _Turn] = {}  # key -> the last turn queued for it
        self._recent: OrderedDict[str, int] = OrderedDict()  # key -> last row with it
        self.shared = 0
        self.examples: list[SharedKey] = []

    @property
    def busy_keys(self) -> int:
        """Keys with an item running or waiting (for tests: it returns to 0)."""
        return len(self._tails)

    def _note(self, key: str, index: int) -> None:
        earlier = self._recent.pop(key, None)
        self._recent[key] = index
        if len(self._recent) > self._remember:
            self._recent.popitem(last=False)
        if earlier is not None:
            self.shared += 1
            if len(self.examples) < _EXAMPLES:
                self.examples.append(SharedKey(index, earlier, key))

    @asynccontextmanager
    async def turn(self, key: str | None, index: int) -> AsyncIterator[None]:
        """Wait until no earlier item with ``key`` is running, and hold the key meanwhile.

        Registering happens at once (before the first ``await``), so items queue in the
        order they call this. An item cancelled while waiting gives its place to the one
        behind it, which then waits for the item ahead instead.

        Args:
            key: the item's lookup key (``None``: no waiting, nothing held).
            index: the item's index in the input, for the report.
        """
        if key is None:
            yield
            return
        self._note(key, index)
        turn = _Turn(self._tails.get(key))
        self._tails[key] = turn
        try:
            try:
                ahead = turn.previous
                while ahead is not None:
                    await ahead.done.wait()
                    ahead = ahead.previous if ahead.abandoned else None
            except BaseException:
                turn.abandoned = True
                raise
            turn.previous = None  # the chain behind us may be freed
            yield
        finally:
            turn.done.set()
            if self._tails.get(key) is turn:
                del self._tails[key]
