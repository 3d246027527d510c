"""Redaction: making text that came from elsewhere safe to keep.

Server bodies, headers and aiohttp's exception messages may quote our request, credentials
included (a hostile or buggy server can echo anything). Everything of theirs that ends up in
an exception, a log line, the journal or an export goes through a :class:`Redactor` first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from zyntro_async._secrets import SecretScrubber

__all__ = ["SNIPPET", "Redactor"]

SNIPPET = 200  # characters of a server's body quoted in an error message


class Redactor:
    """Removes one client's credentials from text.

    Args:
        secrets: the values to remove (empty ones are ignored).

    Attributes:
        scrub_response: ``scrub_response(raw, value)``: a success answer's parsed ``data``,
            scrubbed when ``raw`` echoes a credential. Free in the common case: the raw
            bytes are searched first, and only an answer that holds the start of a
            credential (in any spelling) is walked and rebuilt.
    """

    __slots__ = ("_longest", "_scrubber", "scrub_response")

    def __init__(self, secrets: Iterable[str | None]) -> None:
        present = tuple(s for s in secrets if s)
        self._scrubber = SecretScrubber(present)
        # The scrubber's own method: one call less on every answer.
        self.scrub_response: Callable[[bytes, Any], Any] = self._scrubber.scrub_response
        # Room for a JSON-escaped credential (each character up to 6) at a snippet's end.
        self._longest = max((6 * len(s) for s in present), default=0)

    def scrub(self, text: str) -> str:
        """Make text that came from elsewhere (server bodies, headers) safe to keep.

        The credentials are removed in every spelling (as sent, JSON-escaped,
        percent-encoded), also their first characters wherever they appear (an echo of our
        body cut short, by the server or by our own snippet window), and lone surrogates (a
        JSON ``"\\ud800"`` escape, a header that was not UTF-8) are replaced: the text may
        be written to the journal or an export file, which need valid Unicode.
        """
        return self._scrubber.scrub_text(text)

    def snippet(self, raw: bytes) -> str:
        """The start of a body, scrubbed, on one line, at most :data:`SNIPPET` characters."""
        # Scrub before cutting: the window's end may cut a credential, whose start scrub()
        # removes; the cut to SNIPPET comes after, on text that holds none.
        window = raw[: 2 * SNIPPET + self._longest]
        text = self.scrub(window.decode("utf-8", errors="replace"))
        return " ".join(text.split())[:SNIPPET]

    def safe_cause(self, exc: BaseException) -> BaseException | None:
        """``exc``, unless it (or an exception behind it) quotes a credential.

        aiohttp quotes what it could not parse (a status line, a header, a certificate's
        name), and a hostile server can put our credentials there: such an exception is not
        chained (its scrubbed text is in our message), so no traceback prints it.
        """
        pending: list[BaseException | None] = [exc]
        seen: set[int] = set()
        while pending:
            current = pending.pop()
            if current is None or id(current) in seen:
                continue
            seen.add(id(current))
            if any(self.scrub(part) != part for part in (str(current), repr(current))):
                return None
            pending += (current.__cause__, current.__context__)
        return exc
