"""JSON on the request path: orjson when it is installed (the ``speed`` extra), else ``json``.

Both give the same results wherever the two libraries differ, by falling back to ``json``:

- Encoding (:func:`encode_body`): compact, non-ASCII written as UTF-8 (as the upload body
  always was). orjson refuses what ``json`` handles differently or at all (an integer beyond
  64 bits, a lone surrogate, a key that is not a string, a ``Mapping`` that is not a
  ``dict``, nesting past its limit): any refusal is retried with ``json``, which writes it
  or raises its own error as before. Values that ``json`` cannot write but orjson can
  (``NaN``, datetimes, dataclasses) never get here: request models refuse them when built.
- Decoding (:func:`decode_json`): orjson reads an integer beyond 64 bits as a float, so a
  body holding a run of 19 digits or more (which may be such an integer) is read by
  ``json``, exactly; so is one orjson refuses and ``json`` accepts (a lone surrogate escape
  ``"\\ud800"``, ``NaN``, ``1e999``). Duplicate keys keep the last value in both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["ORJSON", "decode_json", "encode_body"]

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_encode_ascii = json.JSONEncoder(separators=(",", ":")).encode

# Bytes with every digit as "0" and everything else as " ": an integer orjson would turn
# into a float has at least 19 digits in a row (18 always fit in 64 bits, either sign).
_DIGITS_ONLY = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_NUMBER = b"0" * 19


def _json_encode_body(value: Any) -> bytes:
    try:
        return _encode(value).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (request models refuse them; an environment variable holding
        # bytes that are not UTF-8 can bring one): escaped, as json writes it in ASCII.
        return _encode_ascii(value).encode("ascii")


def _json_decode(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8"))


try:
    import orjson
except ImportError:  # the speed extra is not installed
    orjson = None  # type: ignore[assignment]

ORJSON = orjson is not None
"""Whether orjson is in use."""


def _orjson_encode_body(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return _json_encode_body(value)


def _orjson_decode(raw: bytes) -> Any:
    if _LONG_NUMBER in raw.translate(_DIGITS_ONLY):
        return _json_decode(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _json_decode(raw)


encode_body: Callable[[Any], bytes] = _orjson_encode_body if ORJSON else _json_encode_body
"""``value`` as compact JSON in UTF-8 (orjson, or ``json`` for what orjson refuses).

Raises ``TypeError``/``ValueError`` when ``json`` cannot write the value either.
"""

decode_json: Callable[[bytes], Any] = _orjson_decode if ORJSON else _json_decode
"""The JSON value in ``raw``, exactly as ``json.loads`` reads it.

Raises ``ValueError`` for what is not JSON (``UnicodeDecodeError`` for bytes that are not
UTF-8), ``RecursionError`` for nesting too deep for ``json``.
"""
