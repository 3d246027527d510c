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
from contextlib import AbstractAsyncContextManager

import anyio
import attrs

from zyntro_async.models._contact import Contact

__all__ = ["SameKeyGate", "SharedKey", "Turn", "lookup_key"]

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


class Turn:
    """One item's place in its key's queue (see :meth:`SameKeyGate.join`).

    Its event is made only when a later item has to wait for it: most keys are never
    shared, and an event per item (with anyio's backend lookup) was a real cost per row.
    Also an async context manager (``async with gate.turn(key, index):``).
    """

    __slots__ = ("_gate", "_key", "abandoned", "done", "finished", "previous")

    def __init__(self, gate: SameKeyGate, key: str, index: int) -> None:
        self._gate = gate
        self._key = key
        self.done: anyio.Event | None = None
        self.finished = False
        self.abandoned = False
        gate._note(key, index)
        self.previous: Turn | None = gate._tails.get(key)
        gate._tails[key] = self

    async def wait(self) -> None:
        """Wait until the items ahead with this key are done (at once when there are none).

        Raises:
            BaseException: whatever interrupts the wait (cancellation): the place is then
                given up, to the item behind, which waits for the one ahead instead.
        """
        try:
            ahead = self.previous
            while ahead is not None:
                if not ahead.finished:
                    if ahead.done is None:
                        ahead.done = anyio.Event()
                    await ahead.done.wait()
                ahead = ahead.previous if ahead.abandoned else None
        except BaseException:
            self.leave(abandoned=True)
            raise
        self.previous = None  # the chain behind us may be freed

    def leave(self, *, abandoned: bool = False) -> None:
        """Let the next item with this key go (a second call does nothing)."""
        if self.finished:
            return
        self.abandoned = abandoned
        self.finished = True
        if self.done is not None:
            self.done.set()
        tails = self._gate._tails
        if tails.get(self._key) is self:
            del tails[self._key]

    async def __aenter__(self) -> None:
        if self.previous is not None:
            await self.wait()

    async def __aexit__(self, *exc_info: object) -> None:
        self.leave()


class _NoTurn:
    """The turn of an item with no lookup key: nothing to wait for, nothing held."""

    __slots__ = ()

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


_NO_TURN = _NoTurn()


class SameKeyGate:
    """Lets one item per lookup key run at a time, in the order they asked.

    Args:
        remember: how many recent keys are kept for reporting rows that share one (8,192
            by default: about 2 MB; the benchmark of 200k items saw 18 MB at 65,536).
    """

    def __init__(self, *, remember: int = 8_192) -> None:
        self._remember = remember
        self._tails: dict[str, Turn] = {}  # key -> the last turn queued for it
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

    def join(self, key: str, index: int) -> Turn:
        """Take a place in ``key``'s line, at once: items queue in the order they join.

        Then ``await turn.wait()`` (needed only when ``turn.previous`` is set), run, and
        ``turn.leave()`` in a ``finally``. An item cancelled while waiting gives its place
        to the one behind it, which then waits for the item ahead instead.

        Args:
            key: the item's lookup key.
            index: the item's index in the input, for the report.
        """
        return Turn(self, key, index)

    def turn(self, key: str | None, index: int) -> AbstractAsyncContextManager[None]:
        """:meth:`join` as an async context manager: ``async with gate.turn(key, index):``.

        Args:
            key: the item's lookup key (``None``: no waiting, nothing held).
            index: the item's index in the input, for the report.
        """
        if key is None:
            return _NO_TURN
        return Turn(self, key, index)
