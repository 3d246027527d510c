"""Request bodies without holding them in memory: streaming JSON and chunked base64.

An attachment upload is one JSON object whose ``file_data`` string may be hundreds of
megabytes of base64. Reading it with ``await request.read()``, ``json.loads`` and
``b64decode`` would hold three copies of it at once. Instead:

1. :class:`StringSpiller` scans the body as it arrives. Every JSON string longer than a
   threshold is written, still JSON-escaped, to a spill file, and replaced in the small
   "skeleton" document by a placeholder.
2. The skeleton goes through ``json.loads``; placeholders become :class:`SpilledString`.
3. :func:`decode_base64_file` decodes a spilled (or small) base64 string chunk by chunk
   into a file, strictly: only the standard alphabet, padding only at the very end.

Memory therefore stays bounded by the chunk size, whatever the body size.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import AsyncIterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import attrs

__all__ = [
    "Base64Error",
    "BodyError",
    "SpilledString",
    "StringSpiller",
    "decode_base64_file",
    "parse_json_stream",
]

CHUNK_SIZE = 1 << 20
"""Bytes read, scanned and decoded at a time."""

_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BASE64_TAIL = re.compile(rb"[A-Za-z0-9+/]{2,4}={0,2}")


class BodyError(ValueError):
    """The request body is not a JSON object."""


class Base64Error(ValueError):
    """A ``file_data`` value is not strict base64."""


@attrs.frozen
class SpilledString:
    """A JSON string value kept on disk, still in its escaped JSON form.

    Attributes:
        path: The spill file holding the raw characters between the quotes.
        size: Size of that raw text in bytes.
        has_escapes: Whether the raw text contains backslash escapes.
    """

    path: Path
    size: int
    has_escapes: bool

    def iter_raw(self, *, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the escaped text in chunks.

        Args:
            chunk_size: Bytes per chunk.

        Returns:
            An iterator of byte chunks.
        """
        with self.path.open("rb") as fh:
            while chunk := fh.read(chunk_size):
                yield chunk

    def iter_unescaped(self, *, chunk_size: int = CHUNK_SIZE) -> Iterator[str]:
        """Yield the decoded string value in pieces, never splitting an escape sequence.

        Args:
            chunk_size: Approximate bytes per piece.

        Returns:
            An iterator of string pieces whose concatenation is the value.
        """
        carry = b""
        for chunk in self.iter_raw(chunk_size=chunk_size):
            buf = carry + chunk
            cut = _safe_escape_cut(buf)
            carry = buf[cut:]
            if cut:
                yield _unescape(buf[:cut], has_escapes=self.has_escapes)
        if carry:
            yield _unescape(carry, has_escapes=self.has_escapes)

    def read_text(self) -> str:
        """Return the whole decoded string (loads it into memory).

        Returns:
            The string value.
        """
        return "".join(self.iter_unescaped())

    def __repr__(self) -> str:
        return f"SpilledString(size={self.size})"


def _unescape(raw: bytes, *, has_escapes: bool) -> str:
    if not has_escapes:
        return raw.decode("utf-8")
    value = json.loads(b'"' + raw + b'"')
    assert isinstance(value, str)
    return value


def _safe_escape_cut(buf: bytes) -> int:
    """Return the largest prefix length of ``buf`` that does not end inside an escape."""
    # Only the last backslash can start an unfinished escape: the longest escape
    # (\\uXXXX) holds no backslash after its first byte.
    last = buf.rfind(b"\\", max(0, len(buf) - 6))
    if last < 0:
        return len(buf)
    run_start = last
    while run_start > 0 and buf[run_start - 1] == 0x5C:
        run_start -= 1
    if (last - run_start + 1) % 2 == 0:
        return len(buf)  # an even run is complete "\\\\" pairs
    needed = 6 if buf[last + 1 : last + 2] == b"u" else 2
    return len(buf) if len(buf) - last >= needed else last


class StringSpiller:
    """Incremental scanner that moves long JSON strings out of a document.

    Feed the raw body with :meth:`feed`, then call :meth:`finish`. Structural JSON
    validity is left to ``json.loads`` on the skeleton; this only has to find where
    strings start and end, which needs nothing but quotes and backslashes.

    Args:
        spill_dir: Directory for spill files (must exist).
        threshold: Strings longer than this many raw bytes are spilled.
    """

    def __init__(self, *, spill_dir: Path, threshold: int) -> None:
        self._spill_dir = spill_dir
        self._threshold = threshold
        self._token = secrets.token_hex(8)
        self._skeleton = bytearray()
        self._in_string = False
        self._escape_pending = False
        self._current = bytearray()
        self._current_escapes = False
        self._spill_file: BinaryIO | None = None
        self._spill_size = 0
        self.spilled: list[SpilledString] = []

    def _placeholder(self, index: int) -> str:
        return f"\x00zyntro-spill:{self._token}:{index}"

    def _take(self, data: bytes) -> None:
        if self._spill_file is not None:
            self._spill_file.write(data)
            self._spill_size += len(data)
            return
        self._current += data
        if len(self._current) > self._threshold:
            path = self._spill_dir / f"spill-{self._token}-{len(self.spilled)}"
            self._spill_file = path.open("wb")
            self._spill_file.write(self._current)
            self._spill_size = len(self._current)
            self._current = bytearray()

    def _close_string(self) -> None:
        if self._spill_file is not None:
            path = Path(self._spill_file.name)
            self._spill_file.close()
            self._spill_file = None
            index = len(self.spilled)
            self.spilled.append(
                SpilledString(path=path, size=self._spill_size, has_escapes=self._current_escapes)
            )
            self._skeleton += json.dumps(self._placeholder(index)).encode()
        else:
            self._skeleton += b'"' + self._current + b'"'
        self._current = bytearray()
        self._current_escapes = False
        self._in_string = False

    def feed(self, chunk: bytes) -> None:
        """Scan one chunk of the body.

        Args:
            chunk: The next bytes of the body.
        """
        pos = 0
        end = len(chunk)
        while pos < end:
            if not self._in_string:
                quote = chunk.find(b'"', pos)
                if quote < 0:
                    self._skeleton += chunk[pos:]
                    return
                self._skeleton += chunk[pos:quote]
                self._in_string = True
                pos = quote + 1
                continue
            if self._escape_pending:  # the previous chunk ended inside an escape
                self._take(chunk[pos : pos + 1])
                self._escape_pending = False
                pos += 1
                continue
            # A quote closes the string unless an odd run of backslashes precedes it.
            # bytes.find runs at memchr speed; only escaped quotes cost a Python loop.
            search = pos
            while True:
                quote = chunk.find(b'"', search)
                if quote < 0:
                    break
                run = 0
                while quote - run - 1 >= pos and chunk[quote - run - 1] == 0x5C:
                    run += 1
                if run % 2 == 0:
                    break
                search = quote + 1
            stop = end if quote < 0 else quote
            if chunk.find(b"\\", pos, stop) >= 0:
                self._current_escapes = True
            if quote < 0:
                tail = chunk[pos:]
                trailing = len(tail) - len(tail.rstrip(b"\\"))
                self._escape_pending = trailing % 2 == 1
                self._take(tail)
                return
            self._take(chunk[pos:quote])
            self._close_string()
            pos = quote + 1

    def finish(self) -> Any:
        """Parse the skeleton and put :class:`SpilledString` objects in place.

        Returns:
            The decoded JSON value.

        Raises:
            BodyError: The body is not valid JSON.
        """
        if self._spill_file is not None:
            self._spill_file.close()
            self._spill_file = None
        if self._in_string:
            raise BodyError("unterminated string")
        value = _loads(bytes(self._skeleton))
        self._skeleton = bytearray()
        if not self.spilled:
            return value
        placeholders = {self._placeholder(i): s for i, s in enumerate(self.spilled)}
        return _substitute(value, placeholders)


def _substitute(value: Any, placeholders: dict[str, SpilledString]) -> Any:
    if isinstance(value, str):
        return placeholders.get(value, value)
    if isinstance(value, dict):
        # A key can be spilled too (absurd, but valid JSON): it becomes plain text.
        return {
            (placeholders[k].read_text() if k in placeholders else k): _substitute(v, placeholders)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_substitute(v, placeholders) for v in value]
    return value


async def parse_json_stream(
    chunks: AsyncIterable[bytes], *, spill_dir: Path, threshold: int
) -> tuple[Any, list[SpilledString]]:
    """Parse a streamed JSON body, spilling long strings to ``spill_dir``.

    Args:
        chunks: The body, chunk by chunk.
        spill_dir: Where spill files go; the caller deletes them.
        threshold: Strings longer than this many bytes are spilled.

    Returns:
        The parsed value and the list of spill files created (to delete afterwards).

    Raises:
        BodyError: The body is not valid JSON (its spill files are deleted first).
    """
    # Fast path: a body no longer than the threshold cannot hold a string to spill, so
    # it is parsed in one go; only a larger one goes through the scanner.
    head = bytearray()
    iterator = aiter(chunks)
    async for chunk in iterator:
        head += chunk
        if len(head) > threshold:
            break
    else:
        return _loads(bytes(head)), []
    spiller = StringSpiller(spill_dir=spill_dir, threshold=threshold)
    try:
        spiller.feed(bytes(head))
        del head
        async for chunk in iterator:
            spiller.feed(chunk)
        return spiller.finish(), spiller.spilled
    except BaseException:
        for spilled in spiller.spilled:
            spilled.path.unlink(missing_ok=True)
        raise


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(str(exc)) from exc


def _iter_base64_text(source: str | SpilledString) -> Iterator[bytes]:
    if isinstance(source, SpilledString):
        for piece in source.iter_unescaped():
            yield _ascii(piece)
        return
    for start in range(0, len(source), CHUNK_SIZE):
        yield _ascii(source[start : start + CHUNK_SIZE])


def _ascii(piece: str) -> bytes:
    try:
        return piece.encode("ascii")
    except UnicodeEncodeError as exc:
        raise Base64Error("non-ASCII character") from exc


def decode_base64_file(source: str | SpilledString, dest: Path) -> int:
    """Strictly decode base64 text into ``dest``, chunk by chunk.

    Strict means: the standard alphabet only (no whitespace, no URL-safe letters), a
    length that is a multiple of four, and ``=`` padding only at the end. It runs in a
    worker thread, so it must not touch the emulator's state.

    Args:
        source: The base64 text, in memory or spilled to disk.
        dest: File to write the decoded bytes to (created or truncated).

    Returns:
        The number of decoded bytes.

    Raises:
        Base64Error: The text is not strict base64 (``dest`` is removed).
    """
    written = 0
    carry = b""
    try:
        with dest.open("wb") as out:
            for piece in _iter_base64_text(source):
                buf = carry + piece
                # Hold back the last quantum: only the final one may carry padding.
                keep = len(buf) % 4 or 4
                body, carry = buf[:-keep], buf[-keep:]
                if body:
                    # translate() deletes the alphabet at C speed: anything left is bad.
                    if body.translate(None, _BASE64_ALPHABET):
                        raise Base64Error("character outside the base64 alphabet")
                    decoded = binascii.a2b_base64(body)
                    out.write(decoded)
                    written += len(decoded)
            if carry:
                if len(carry) != 4 or _BASE64_TAIL.fullmatch(carry) is None:
                    raise Base64Error("bad length or padding")
                try:
                    decoded = base64.b64decode(carry, validate=True)
                except binascii.Error as exc:
                    raise Base64Error(str(exc)) from exc
                out.write(decoded)
                written += len(decoded)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return written
