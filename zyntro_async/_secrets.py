"""Keeping the credentials out of whatever the server sends back.

The credentials travel in every request body, and a server (a proxy, a debugging endpoint, a
hostile one) may echo that body back: in an error message, or in a *success* answer (a note's
content, a ``message``). Anything the server sends may then reach a ``repr``, the journal, an
export file, a span, a hook's event or a log line, so it is scrubbed once, where it is parsed.

A credential can come back in several spellings, and each is searched for:

- as sent, and cut short (an echo truncated by the server or by a snippet window): every run
  that starts with the first :data:`PARTIAL` characters of a form is removed;
- JSON-escaped, as a JSON encoder writes it inside a string (``\\"``, ``\\\\``, ``\\/``,
  ``\\u00e9`` with ``ensure_ascii``), which is how it appears in a raw body or a snippet of one,
  or in a string that itself holds JSON;
- percent-encoded (``%2B``, ``+`` for a space, upper- or lower-case hex), as in a URL or a form
  body the server quotes.

Cheap on the common path: :meth:`SecretScrubber.scrub_response` first searches the raw
response bytes for the start of any form (a few ``bytes.find``); only a response that holds
one is walked and rebuilt.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["PARTIAL", "REDACTED", "SecretScrubber"]

REDACTED = "[redacted]"
PARTIAL = 8  # a run starting with this many characters of a credential's form is redacted


def _json_escapes(text: str) -> list[str]:
    """``text`` as JSON encoders write it inside a string (ASCII-only or not; ``\\/``)."""
    ascii_only = json.dumps(text)[1:-1]
    utf8 = json.dumps(text, ensure_ascii=False)[1:-1]
    # Some encoders (PHP's json_encode by default) also escape the slash; some write
    # ``\\u00E9`` in upper case.
    return [
        ascii_only,
        utf8,
        ascii_only.replace("/", "\\/"),
        utf8.replace("/", "\\/"),
        _upper_unicode_escapes(ascii_only),
    ]


def _percent_encodings(text: str) -> list[str]:
    """``text`` percent-encoded the usual ways, with upper- and lower-case hex digits."""
    encoded = [quote(text, safe=""), quote(text, safe="/"), quote_plus(text, safe="")]
    encoded += [quote_plus(text, safe="/")]
    return encoded + [_lower_hex(form) for form in encoded]


def _forms(secret: str) -> list[str]:
    """Every spelling of ``secret`` worth searching for, without repeats.

    As is, JSON-escaped, and each of those percent-encoded (a URL or form body that quotes
    our JSON body).
    """
    bases = [secret, *_json_escapes(secret)]
    candidates = list(bases)
    for base in bases:
        candidates += _percent_encodings(base)
    return list(dict.fromkeys(form for form in candidates if form))


def _lower_hex(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "%" and i + 3 <= len(text):
            out.append(text[i : i + 3].lower())
            i += 3
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _upper_unicode_escapes(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("\\u", i) and i + 6 <= len(text):
            out.append("\\u" + text[i + 2 : i + 6].upper())
            i += 6
        elif text[i] == "\\" and i + 1 < len(text):
            out.append(text[i : i + 2])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _runs(text: str, form: str) -> list[tuple[int, int]]:
    """Where ``form``, or a start of it (an echo cut short), appears in ``text``."""
    head = form[:PARTIAL]
    found: list[tuple[int, int]] = []
    if len(head) < PARTIAL:
        # A credential shorter than the partial window is only removed when whole.
        start = text.find(form)
        while start != -1:
            found.append((start, start + len(form)))
            start = text.find(form, start + 1)
        return found
    start = text.find(head)
    while start != -1:
        end = start + len(head)
        while end < len(text) and end - start < len(form) and text[end] == form[end - start]:
            end += 1
        found.append((start, end))
        start = text.find(head, start + 1)
    return found


class SecretScrubber:
    """Removes a client's credentials, in every spelling, from text and parsed JSON.

    Args:
        secrets: the credential values (empty ones are ignored).
    """

    __slots__ = ("_data_forms", "_forms", "_heads")

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: list[str] = []
        data_forms: list[str] = []
        for secret in secrets:
            if secret:
                forms += _forms(secret)
                # A "credential" shorter than the partial window (a test's "k") is in every
                # other word of a success answer: removing it would destroy the data, so it
                # is removed from error text only, as a whole.
                if len(secret) >= PARTIAL:
                    data_forms += _forms(secret)
        self._forms = tuple(dict.fromkeys(forms))
        self._data_forms = tuple(dict.fromkeys(data_forms))
        # What a raw body must hold for any form (or a cut echo of one) to be in what is
        # parsed from it: the form's start, or that start escaped once more (the body is
        # JSON, so a string in it that quotes our JSON body escapes it a second time).
        heads: list[bytes] = []
        for form in self._data_forms:
            head = form[:PARTIAL]
            heads += [variant[:PARTIAL].encode() for variant in (head, *_json_escapes(head))]
        self._heads = tuple(dict.fromkeys(heads))

    def in_bytes(self, raw: bytes) -> bool:
        """Whether ``raw`` holds the start of any spelling of a credential."""
        for head in self._heads:  # noqa: SIM110 - a loop, not any(): runs on every response
            if head in raw:
                return True
        return False

    def scrub_text(self, text: str) -> str:
        """``text`` without any spelling of a credential, and with valid Unicode.

        Lone surrogates (a JSON ``"\\ud800"`` escape, a header that was not UTF-8) are
        replaced too: the text may be written to the journal or an export file.
        """
        return self._scrub(text, self._forms)

    def _scrub(self, text: str, forms: tuple[str, ...]) -> str:
        runs: list[tuple[int, int]] = []
        for form in forms:
            runs += _runs(text, form)
        if runs:
            # Runs of different spellings overlap (one diverges where another goes on):
            # their union is redacted, so no spelling leaves a tail of another behind.
            runs.sort()
            pieces: list[str] = []
            position = 0
            for start, end in runs:
                if start > position:
                    pieces += (text[position:start], REDACTED)
                elif not pieces:
                    pieces.append(REDACTED)
                position = max(position, end)
            pieces.append(text[position:])
            text = "".join(pieces)
        if not text.isascii():
            text = text.encode("utf-8", errors="replace").decode("utf-8")
        return text

    def scrub_value(self, value: Any) -> Any:
        """A copy of parsed JSON with every string (keys included) scrubbed.

        Credentials shorter than :data:`PARTIAL` characters are left alone here (see
        ``__init__``); lone surrogates are replaced.
        """
        if isinstance(value, str):
            return self._scrub(value, self._data_forms)
        if isinstance(value, dict):
            return {self._scrub(k, self._data_forms): self.scrub_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub_value(item) for item in value]
        return value

    def scrub_response(self, raw: bytes, value: Any) -> Any:
        """``value`` parsed from ``raw``, scrubbed only when ``raw`` holds a credential's start.

        Args:
            raw: the response body as received.
            value: what was parsed from it (the envelope's ``data``).

        Returns:
            ``value`` itself when the body holds no credential (the common, free case), else
            a scrubbed copy.
        """
        for head in self._heads:  # in_bytes(), inline: this runs on every answer
            if head in raw:
                return self.scrub_value(value)
        return value
