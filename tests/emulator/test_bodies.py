"""The streaming JSON scanner and the strict chunked base64 decoder, on their own."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest

from zyntro_async.testing._bodies import (
    Base64Error,
    BodyError,
    SpilledString,
    decode_base64_file,
    parse_json_stream,
)


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _parse(data: bytes, tmp_path: Path, *, size: int = 7, threshold: int = 16) -> Any:
    value, _ = await parse_json_stream(_chunks(data, size), spill_dir=tmp_path, threshold=threshold)
    return value


def _files(path: Path) -> list[Path]:
    return list(path.iterdir())


def _plain(value: Any) -> Any:
    if isinstance(value, SpilledString):
        return value.read_text()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


DOCUMENTS: Iterable[Any] = [
    {"a": 1, "b": [True, None, 2.5], "c": {"d": "short"}},
    {"long": "x" * 100, "escaped": 'quote " backslash \\ slash / tab \t' * 5},
    {"unicode": "héllo wörld ✓ 🚀" * 10, 'key with "quote"': "v"},
    {"nested": [{"deep": "y" * 40}, "z" * 17, ""]},
    {"k" * 40: "long key"},
    {"runs": '\\"' * 20 + "\\" * 11 + '"' + "\\" * 9, "after": "\\"},
]


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("ensure_ascii", [True, False])
async def test_round_trip_at_any_chunk_boundary(
    tmp_path: Path, document: Any, ensure_ascii: bool
) -> None:
    raw = json.dumps(document, ensure_ascii=ensure_ascii).encode()
    for chunk_size in (1, 2, 3, 5, 7, 1024):
        value = await _parse(raw, tmp_path, size=chunk_size)
        assert _plain(value) == document, f"chunk size {chunk_size}"


async def test_long_strings_are_spilled(tmp_path: Path) -> None:
    value = await _parse(json.dumps({"file_data": "A" * 100, "x": "short"}).encode(), tmp_path)
    assert isinstance(value["file_data"], SpilledString)
    assert value["file_data"].size == 100
    assert value["x"] == "short"


@pytest.mark.parametrize("raw", [b"", b"{", b'{"a": "unterminated', b"{'a': 1}", b"\xff"])
async def test_invalid_json(tmp_path: Path, raw: bytes) -> None:
    with pytest.raises(BodyError):
        await _parse(raw, tmp_path)
    assert _files(tmp_path) == []


async def test_invalid_json_after_a_spilled_string_cleans_up(tmp_path: Path) -> None:
    with pytest.raises(BodyError):
        await _parse(b'{"a": "' + b"x" * 100 + b'", }', tmp_path)
    assert _files(tmp_path) == []


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 1000, 3 * 2**20 + 1])
def test_base64_decodes_any_length(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    dest = tmp_path / "out"
    assert decode_base64_file(base64.b64encode(data).decode(), dest) == size
    assert dest.read_bytes() == data


async def test_base64_from_a_spilled_string_with_escaped_slashes(tmp_path: Path) -> None:
    data = os.urandom(5000)
    # PHP's json_encode writes "/" as "\/": still valid JSON, still valid base64.
    encoded = base64.b64encode(data).decode().replace("/", "\\/")
    value = await _parse(b'{"file_data": "' + encoded.encode() + b'"}', tmp_path, size=5)
    source = value["file_data"]
    assert isinstance(source, SpilledString)
    dest = tmp_path / "out"
    assert decode_base64_file(source, dest) == len(data)
    assert dest.read_bytes() == data


@pytest.mark.parametrize(
    "text", ["QQ", "QQ=", "Q===", "QQ==QQ==", "QUJD\n", "QUJD RA==", "QUJ-", "QUJD\u00e9A=="]
)
def test_base64_is_strict(tmp_path: Path, text: str) -> None:
    dest = tmp_path / "out"
    with pytest.raises(Base64Error):
        decode_base64_file(text, dest)
    assert not dest.exists()


async def test_strings_full_of_escapes_scan_in_linear_time(tmp_path: Path) -> None:
    note = "line\n" * 400_000  # 2.4 MB of JSON with 400k escapes in one string
    raw = json.dumps({"note": note}).encode()
    value = await _parse(raw, tmp_path, size=2**20, threshold=2**20)
    assert isinstance(value["note"], SpilledString)
    assert value["note"].read_text() == note
