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


def _forms(secret: str) -> list[str]:
    """Every spelling of ``secret`` worth searching for, longest first, without repeats."""
    escaped_ascii = json.dumps(secret)[1:-1]
    escaped_utf8 = json.dumps(secret, ensure_ascii=False)[1:-1]
    candidates = [
        secret,
        escaped_ascii,
        escaped_utf8,
        # Some encoders (PHP's json_encode by default) also escape the slash.
        escaped_ascii.replace("/", "\\/"),
        escaped_utf8.replace("/", "\\/"),
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    ]
    # Percent-encoding with lower-case hex digits is as valid as upper-case.
    candidates += [_lower_hex(form) for form in candidates[-2:]]
    # Lower-case ``\\u00e9`` escapes are the norm; some encoders write ``\\u00E9``.
    candidates.append(_upper_unicode_escapes(escaped_ascii))
    unique = list(dict.fromkeys(form for form in candidates if form))
    return sorted(unique, key=len, reverse=True)


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


def _redact_runs(text: str, form: str) -> str:
    """Redact ``form`` and each run of ``text`` that is a start of it (an echo cut short)."""
    head = form[:PARTIAL]
    if head not in text:
        return text
    if len(head) < PARTIAL:
        # A credential shorter than the partial window is only removed when whole.
        return text.replace(form, REDACTED)
    pieces: list[str] = []
    position = 0
    while (start := text.find(head, position)) != -1:
        end = start + len(head)
        while end < len(text) and end - start < len(form) and text[end] == form[end - start]:
            end += 1
        pieces += (text[position:start], REDACTED)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


class SecretScrubber:
    """Removes a client's credentials, in every spelling, from text and parsed JSON.

    Args:
        secrets: the credential values (empty ones are ignored).
    """

    __slots__ = ("_forms", "_heads")

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: list[str] = []
        for secret in secrets:
            if secret:
                forms += _forms(secret)
        self._forms = tuple(dict.fromkeys(sorted(forms, key=len, reverse=True)))
        # What a raw body must contain for any form (or a cut echo of one) to be in it.
        self._heads = tuple(dict.fromkeys(form[:PARTIAL].encode() for form in self._forms))

    def in_bytes(self, raw: bytes) -> bool:
        """Whether ``raw`` holds the start of any spelling of a credential."""
        return any(head in raw for head in self._heads)

    def scrub_text(self, text: str) -> str:
        """``text`` without any spelling of a credential, and with valid Unicode.

        Lone surrogates (a JSON ``"\\ud800"`` escape, a header that was not UTF-8) are
        replaced too: the text may be written to the journal or an export file.
        """
        for form in self._forms:
            text = _redact_runs(text, form)
        if not text.isascii():
            text = text.encode("utf-8", errors="replace").decode("utf-8")
        return text

    def scrub_value(self, value: Any) -> Any:
        """A copy of parsed JSON with every string (keys included) scrubbed."""
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, dict):
            return {self.scrub_text(k): self.scrub_value(v) for k, v in value.items()}
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
        if not self._heads or not self.in_bytes(raw):
            return value
        return self.scrub_value(value)
