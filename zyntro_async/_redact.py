"""Redaction: making text that came from elsewhere safe to keep.

Server bodies, headers and aiohttp's exception messages may quote our request, credentials
included (a hostile or buggy server can echo anything). Everything of theirs that ends up in
an exception, a log line, the journal or an export goes through a :class:`Redactor` first.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["SNIPPET", "Redactor", "redact_cut_echoes"]

SNIPPET = 200  # characters of a server's body quoted in an error message
_PARTIAL_SECRET = 8  # this many first characters of a credential are redacted, too


def redact_cut_echoes(text: str, secret: str) -> str:
    """Redact each run of ``text`` that is the start of ``secret`` (an echo cut short)."""
    head = secret[:_PARTIAL_SECRET]
    if len(head) < _PARTIAL_SECRET or head not in text:
        return text
    pieces: list[str] = []
    position = 0
    while (start := text.find(head, position)) != -1:
        end = start + len(head)
        while end < len(text) and end - start < len(secret) and text[end] == secret[end - start]:
            end += 1
        pieces += (text[position:start], "[redacted]")
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


class Redactor:
    """Removes one client's credentials from text.

    Args:
        secrets: the values to remove (empty ones are ignored).
    """

    __slots__ = ("_longest", "_secrets")

    def __init__(self, secrets: Iterable[str | None]) -> None:
        self._secrets = tuple(s for s in secrets if s)
        self._longest = max((len(s.encode()) for s in self._secrets), default=0)

    def scrub(self, text: str) -> str:
        """Make text that came from elsewhere (server bodies, headers) safe to keep.

        The credentials are removed, also their first characters wherever they appear (an
        echo of our body cut short, by the server or by our own snippet window), and lone
        surrogates (a JSON ``"\\ud800"`` escape, a header that was not UTF-8) are replaced:
        the text may be written to the journal or an export file, which need valid Unicode.
        """
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "[redacted]")
            text = redact_cut_echoes(text, secret)
        if not text.isascii():
            text = text.encode("utf-8", errors="replace").decode("utf-8")
        return text

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
