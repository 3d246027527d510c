"""orjson (the ``speed`` extra) and plain ``json`` send and read exactly the same things.

Each check runs on both implementations in :mod:`zyntro_async._json`; a subprocess with
orjson made unimportable checks the fallback is what an install without the extra gets.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from aioresponses import aioresponses
from hypothesis import given, settings
from hypothesis import strategies as st

import zyntro_async._json as zjson
from zyntro_async import CommsEntry, Contact, MalformedResponseError

from ._helpers import ADD_COMMS, ADD_CONTACTS, CONTACT_RESULT_DATA, raw_body, url
from .conftest import ClientFactory

pytest.importorskip("orjson")

Encoder = Callable[[Any], bytes]
Decoder = Callable[[bytes], Any]
ENCODERS = {"orjson": zjson._orjson_encode_body, "json": zjson._json_encode_body}
DECODERS = {"orjson": zjson._orjson_decode, "json": zjson._json_decode}


@pytest.fixture(params=["orjson", "json"])
def implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The transport and the parser use one implementation for the test."""
    name: str = request.param
    monkeypatch.setattr("zyntro_async._transport.encode_body", ENCODERS[name])
    monkeypatch.setattr("zyntro_async._parse.decode_json", DECODERS[name])
    return name


def test_orjson_is_used_when_installed() -> None:
    assert zjson.ORJSON
    assert zjson.encode_body is zjson._orjson_encode_body
    assert zjson.decode_json is zjson._orjson_decode


@pytest.mark.parametrize("encode", ENCODERS.values(), ids=ENCODERS.keys())
def test_bodies_are_compact_utf8(encode: Encoder) -> None:
    body = {"note": "Café ☕ 😀", "n": [1, 2.5, None, True], "nested": {"k": "v"}}
    assert encode(body) == '{"note":"Café ☕ 😀","n":[1,2.5,null,true],"nested":{"k":"v"}}'.encode()


@pytest.mark.parametrize("encode", ENCODERS.values(), ids=ENCODERS.keys())
def test_integers_beyond_64_bits_are_written_exactly(encode: Encoder) -> None:
    for number in (2**64, 2**70, -(2**63) - 1, 10**40):
        assert json.loads(encode({"big": number, "list": [number]})) == {
            "big": number,
            "list": [number],
        }


@pytest.mark.parametrize("encode", ENCODERS.values(), ids=ENCODERS.keys())
def test_what_json_refuses_is_refused_alike(encode: Encoder) -> None:
    with pytest.raises(TypeError):
        encode({"when": object()})


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1,"a":2,"b":3}',  # duplicate keys: the last one wins
        b'{"id":123456789012345678901234567890}',  # beyond 64 bits: an int, exactly
        b'{"id":-9223372036854775809,"u":18446744073709551616}',
        b'{"n":9223372036854775807,"m":-9223372036854775808}',
        b'"\\ud800"',  # a lone surrogate escape: read as it is (scrubbing replaces it later)
        b'{"x":"\\udfff tail","y":"\\ud83d\\ude00"}',
        b"[NaN, Infinity, -Infinity, 1e999]",  # json reads these; orjson refuses them
        '{"name":"Zoë","emoji":"😀"}'.encode(),
        b'{"f":0.1,"g":-0.0,"h":1E2,"i":5e-324}',
        b" {} ",
    ],
)
def test_answers_are_read_exactly_as_json_reads_them(raw: bytes) -> None:
    expected = json.loads(raw.decode("utf-8"))
    for decode in DECODERS.values():
        assert _same(decode(raw), expected)


@pytest.mark.parametrize(
    "raw", [b"\xef\xbb\xbf{}", b"[1,]", b"{", b"\xff\xfe", b'{"a":1} x', b"", b"nul"]
)
def test_what_json_refuses_is_refused_by_both(raw: bytes) -> None:
    for decode in DECODERS.values():
        with pytest.raises(ValueError):
            decode(raw)


def test_nesting_too_deep_for_json_fails_the_same_way() -> None:
    raw = b"[" * 100_000 + b"]" * 100_000
    for decode in DECODERS.values():
        with pytest.raises(RecursionError):
            decode(raw)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=JSON)
def test_any_json_value_round_trips_the_same_through_both(value: Any) -> None:
    for encode in ENCODERS.values():
        assert _same(json.loads(encode(value)), value)
    raw = json.dumps(value).encode()
    utf8 = json.dumps(value, ensure_ascii=False).encode("utf-8", errors="surrogatepass")
    for decode in DECODERS.values():
        assert _same(decode(raw), value)
        if utf8.decode("utf-8", errors="ignore").encode() == utf8:  # valid UTF-8 only
            assert _same(decode(utf8), value)


async def test_a_call_sends_the_same_body_and_reads_the_same_result_either_way(
    implementation: str, make_client: ClientFactory, mocked: aioresponses
) -> None:
    data = {**CONTACT_RESULT_DATA, "message": "Zoë ☕", "big": 2**70, "odd": "\ud800"}
    raw = '{"status":"success","data":' + json.dumps(data) + "}"
    mocked.post(url(ADD_CONTACTS), body=raw, content_type="application/json")
    async with make_client() as zy:
        result = await zy.contacts.upsert(Contact(first_name="Zoë", primary_email="zoe@acme.com"))
        sent = await raw_body(mocked, ADD_CONTACTS)
    assert '"firstName":"Zoë"'.encode() in sent  # UTF-8, not \u00eb
    assert result.message == "Zoë ☕"
    assert result.extra["big"] == 2**70
    assert result.extra["odd"] == "\ud800"


async def test_a_big_integer_result_field_stays_exact(
    implementation: str, make_client: ClientFactory, mocked: aioresponses
) -> None:
    mocked.post(
        url(ADD_COMMS),
        body=b'{"status":"success","data":{"ch_id":123456789012345678901234567890}}',
        content_type="application/json",
    )
    async with make_client() as zy:
        result = await zy.send(CommsEntry(contact_id="c-1", comms_type="call", data="hi"))
    assert result.ch_id == 123456789012345678901234567890


async def test_an_answer_that_is_not_json_is_malformed_either_way(
    implementation: str, make_client: ClientFactory, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_CONTACTS), body=b"[NaN", content_type="application/json")
    async with make_client() as zy:
        with pytest.raises(MalformedResponseError, match="not JSON"):
            await zy.contacts.upsert(Contact(primary_email="jane@acme.com"))


def test_without_orjson_json_is_used_and_gives_the_same_results() -> None:
    script = textwrap.dedent(
        """
        import json, sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "orjson" or name.startswith("orjson."):
                    raise ImportError("blocked for the test")

        sys.meta_path.insert(0, Block())
        import zyntro_async._json as zjson
        from zyntro_async._parse import decode_envelope

        assert not zjson.ORJSON
        assert zjson.encode_body is zjson._json_encode_body
        assert zjson.decode_json is zjson._json_decode
        body = zjson.encode_body({"note": "Zoë", "big": 2**70})
        assert body == '{"note":"Zoë","big":1180591620717411303424}'.encode(), body
        envelope = decode_envelope(b'{"status":"success","data":"\\\\ud800"}', "application/json")
        assert envelope == {"status": "success", "data": "\\ud800"}, envelope
        assert "orjson" not in sys.modules
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


def _same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN, and the same types (an int is not a float here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)
