"""Fuzz the response side: the envelope parser, Retry-After, snippets, result structuring.

Everything a server sends goes through ``ResponseParser.parse`` (status, Content-Type, body
bytes): it must return the envelope's ``data`` or raise the internal ``AttemptFailure`` carrying
a typed :class:`ZyntroError` and a retry classification, and never let a credential through,
whole or cut. The bodies are random bytes, random JSON, and mutations of real envelopes
(truncated, spliced, bytes flipped, credentials planted at random places).
"""

from __future__ import annotations

import json
import math
import secrets
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zyntro_async import (
    AttachmentResult,
    CommsResult,
    ContactRecord,
    ContactResult,
    MalformedResponseError,
    Note,
    ZyntroError,
)
from zyntro_async._parse import ResponseParser, decode_envelope, parse_retry_after
from zyntro_async._redact import Redactor
from zyntro_async._retry import AttemptFailure, FailureKind
from zyntro_async._secrets import PARTIAL
from zyntro_async._serde import structure_result

from ._budget import fuzz_settings, run_for

# Random, not literals: hypothesis mines a module's constants for examples, and a server
# that invents pieces of our key is not the threat; one that echoes (and cuts) our body is.
API_KEY = "UYUJH-" + "-".join(secrets.token_hex(n).upper() for n in (6, 6, 3))
DEVELOPER_SECRET = "zdk_" + secrets.token_hex(16)
SECRETS = (API_KEY, DEVELOPER_SECRET)


REDACTOR = Redactor(SECRETS)
PARSER = ResponseParser(REDACTOR)


def leaked(text: str) -> bool:
    """A credential, or any 12 characters of one, in ``text``."""
    return any(secret[i : i + 12] in text for secret in SECRETS for i in range(len(secret) - 11))


def echoes_a_credential(value: Any) -> bool:
    """Whether a string in ``value`` (a key or a value, at any depth) holds the first
    :data:`PARTIAL` characters of a credential: what a success answer is scrubbed of."""
    if isinstance(value, str):
        return any(secret[:PARTIAL] in value for secret in SECRETS)
    if isinstance(value, dict):
        return any(map(echoes_a_credential, value)) or any(map(echoes_a_credential, value.values()))
    if isinstance(value, list):
        return any(map(echoes_a_credential, value))
    return False


# ---- bodies -------------------------------------------------------------------------------


def json_values(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | text,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4)
        ),
        max_leaves=12,
    )


def envelopes(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    values = json_values(text)
    return st.one_of(
        st.fixed_dictionaries(
            {"status": st.sampled_from(["success", "error", "", "ok", None]) | text},
            optional={"data": values, "message": text},
        ),
        st.fixed_dictionaries(
            {"status": st.just("error"), "data": st.lists(text, max_size=3) | text | values}
        ),
        st.fixed_dictionaries(
            {
                "status": st.just("success"),
                "data": st.fixed_dictionaries(
                    {},
                    optional=dict.fromkeys(
                        ("contact_id", "note_id", "att_id", "ch_id", "action", "message"), values
                    ),
                ),
            }
        ),
        values,
    )


plain_text = st.text(max_size=40)
# Echoes of our credentials inside the server's text: whole, or cut short at the end.
echoing_text = st.one_of(
    plain_text,
    st.builds(
        lambda before, secret, keep: before + secret[:keep],
        plain_text,
        st.sampled_from(SECRETS),
        st.integers(1, 64),
    ),
)
json_value = json_values(echoing_text)


@st.composite
def mutated(draw: st.DrawFn, source: st.SearchStrategy[bytes]) -> bytes:
    """``source`` damaged at random, then echoing our credentials, then maybe cut short.

    The credentials go in whole after the damage: a server that echoes our body, or a
    proxy that truncates it, is the threat; one that rewrites a key inside is not.
    """
    data = bytearray(draw(source))
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["cut", "flip", "insert", "pad"]))
        where = draw(st.integers(0, len(data)))
        if action == "cut":
            del data[where:]
        elif action == "flip" and where < len(data):
            data[where] = draw(st.integers(0, 255))
        elif action == "insert":
            data[where:where] = draw(st.binary(max_size=8))
        else:
            data[where:where] = draw(st.sampled_from([b" ", b"\n", b"\t", b"\xff"])) * draw(
                st.integers(1, 400)
            )
    if draw(st.booleans()):
        # One echo, in one place (a second one inside the first would be a rewritten key).
        echo = draw(
            st.sampled_from([API_KEY, DEVELOPER_SECRET, API_KEY + '","' + DEVELOPER_SECRET])
        )
        where = draw(st.integers(0, len(data)))
        data[where:where] = echo.encode()
    if draw(st.booleans()):
        del data[draw(st.integers(0, len(data))) :]
    return bytes(data)


bodies = st.one_of(
    st.binary(max_size=300),
    envelopes(echoing_text).map(lambda value: json.dumps(value).encode()),
    mutated(envelopes(plain_text).map(lambda value: json.dumps(value).encode())),
    mutated(st.sampled_from([b'{"status": "success", "data": {"contact_id": "c-1"}}'])),
    st.builds(lambda n: b"[" * n + b"]" * n, st.integers(0, 200_000)),
    st.builds(
        lambda n: b'{"status": "success", "data": {"ch_id": 1' + b"0" * n + b"}}",
        st.integers(0, 9000),
    ),
)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/problem+json",
            "text/html",
            "text/plain",
            "",
            f"text/{API_KEY}",
            "application/json\udcff",
        ]
    ),
    st.text(max_size=30),
)
statuses = st.one_of(
    st.sampled_from([200, 200, 200, 201, 204, 301, 400, 404, 429, 500, 503]), st.integers(100, 599)
)


def check_parse(status: int, content_type: str, raw: bytes, retry_after: float | None) -> None:
    failure: AttemptFailure | None = None
    try:
        data = PARSER.parse("crm/fuzz", status, content_type, raw, retry_after)
    except AttemptFailure as caught:
        failure = caught
    if failure is None:
        # Only a 200 with a success envelope returns: exactly its data, unless that echoes
        # the start of a credential, which is redacted there as in an error's message.
        assert status == 200
        envelope = json.loads(raw.decode("utf-8"))
        assert envelope["status"] == "success"
        assert not leaked(json.dumps(data, ensure_ascii=False))
        if not echoes_a_credential(envelope["data"]):
            assert data == envelope["data"] or data != data
        return
    error = failure.error
    assert isinstance(error, ZyntroError)
    message = f"{error!s} {error!r} {getattr(error, 'messages', '')}"
    assert not leaked(message), message
    message.encode("utf-8")  # valid Unicode: it may go to a journal or an export
    expected = {429: {FailureKind.RATE_LIMITED}}.get(
        status,
        {FailureKind.SERVER_ERROR, FailureKind.UNAVAILABLE}
        if status >= 500
        else {FailureKind.FATAL},
    )
    assert failure.kind in expected


@fuzz_settings
@given(
    status=statuses,
    content_type=content_types,
    raw=bodies,
    retry_after=st.none() | st.floats(),
)
def parse_anything(status: int, content_type: str, raw: bytes, retry_after: float | None) -> None:
    check_parse(status, content_type, raw, retry_after)


def test_fuzz_the_envelope_parser(fuzz_budget: float, fuzz_seed: int) -> None:
    run_for(parse_anything, budget=fuzz_budget, seed=fuzz_seed)


@fuzz_settings
@given(raw=bodies | st.binary(max_size=2000), content_type=content_types)
def decode_anything(raw: bytes, content_type: str) -> None:
    envelope = decode_envelope(raw, content_type)
    assert envelope is None or isinstance(envelope, dict)


@fuzz_settings
@given(raw=mutated(st.binary(max_size=600)))
def snippet_anything(raw: bytes) -> None:
    snippet = REDACTOR.snippet(raw)
    assert len(snippet) <= 200
    assert not leaked(snippet), snippet
    snippet.encode("utf-8")


def test_fuzz_envelope_decoding_and_snippets(fuzz_budget: float, fuzz_seed: int) -> None:
    run_for(decode_anything, budget=fuzz_budget / 2, seed=fuzz_seed)
    run_for(snippet_anything, budget=fuzz_budget / 2, seed=fuzz_seed)


@fuzz_settings
@given(
    value=st.one_of(
        st.none(),
        st.text(max_size=40),
        st.floats().map(repr),
        st.integers().map(str),
        st.datetimes().map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT")),
        st.sampled_from(["inf", "-inf", "nan", "1e309", "  7 ", "Wed, 99 Foo 2026", "\x00"]),
    )
)
def retry_after_anything(value: str | None) -> None:
    seconds = parse_retry_after(value)
    assert seconds is None or (isinstance(seconds, float) and seconds >= 0)
    assert seconds is None or not math.isnan(seconds)


RESULTS = [ContactResult, ContactRecord, Note, AttachmentResult, CommsResult]


@fuzz_settings
@given(cls=st.sampled_from(RESULTS), data=json_value | envelopes(echoing_text))
def structure_anything(cls: type[Any], data: Any) -> None:
    try:
        result = structure_result(data, cls, endpoint="crm/fuzz")
    except MalformedResponseError as exc:
        str(exc).encode("utf-8", errors="surrogatepass")
        return
    assert isinstance(result, cls)


def test_fuzz_retry_after_and_result_structuring(fuzz_budget: float, fuzz_seed: int) -> None:
    run_for(retry_after_anything, budget=fuzz_budget / 2, seed=fuzz_seed)
    run_for(structure_anything, budget=fuzz_budget / 2, seed=fuzz_seed)


@pytest.mark.parametrize(
    "raw",
    [
        b" " * 150 + b"x" * 60 + API_KEY.encode() + b" " * 300,
        b"y" * 199 + API_KEY.encode(),
        b"\xff" * 100 + DEVELOPER_SECRET.encode() * 3,
    ],
)
def test_a_credential_at_the_snippet_cut_is_not_kept(raw: bytes) -> None:
    """Known cases, always checked when fuzzing (the fuzzer found the first one)."""
    snippet = REDACTOR.snippet(raw)
    assert not leaked(snippet), snippet
