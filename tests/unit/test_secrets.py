"""The scrubber: every spelling of a credential, cut short or whole, and nothing else."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus

import pytest

from zyntro_async._secrets import REDACTED, SecretScrubber

KEY = 'KEY"q\\u/é+&%0123456789'
SECRET = "zdk_plain_0123456789abcdef"
SCRUB = SecretScrubber([KEY, SECRET])


@pytest.mark.parametrize(
    "spelling",
    [
        KEY,
        json.dumps(KEY)[1:-1],
        json.dumps(KEY, ensure_ascii=False)[1:-1],
        json.dumps(KEY)[1:-1].replace("/", "\\/"),
        json.dumps(KEY)[1:-1].replace("\\u00e9", "\\u00E9"),
        quote(KEY, safe=""),
        quote(KEY),
        quote_plus(KEY),
        re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(KEY, safe="")),
        quote(json.dumps(KEY)[1:-1]),
    ],
)
def test_every_spelling_is_removed_whole(spelling: str) -> None:
    scrubbed = SCRUB.scrub_text(f"before {spelling} after")
    assert scrubbed == f"before {REDACTED} after"


def test_an_echo_cut_short_is_removed_too() -> None:
    escaped = json.dumps(KEY)[1:-1]
    assert SCRUB.scrub_text(f"...{escaped[:11]}") == f"...{REDACTED}"
    assert SCRUB.scrub_text(f"...{SECRET[:9]}") == f"...{REDACTED}"
    assert SCRUB.scrub_text(f"{SECRET[:7]} is too short to be a credential") == (
        f"{SECRET[:7]} is too short to be a credential"
    )


def test_a_clean_answer_is_returned_as_it_is() -> None:
    value = {"contact_id": "c-1", "message": "Contact created"}
    raw = json.dumps({"status": "success", "data": value}).encode()
    assert SCRUB.scrub_response(raw, value) is value


def test_an_echo_escaped_twice_in_the_raw_body_is_found_and_scrubbed() -> None:
    # The server quotes our JSON body inside a JSON string: in the raw bytes the key is
    # escaped twice; once parsed, the message holds it escaped once.
    message = json.dumps({"api_key": KEY})
    raw = json.dumps({"status": "success", "data": {"message": message}}).encode()
    assert KEY.encode() not in raw
    assert SCRUB.in_bytes(raw)
    value = SCRUB.scrub_response(raw, json.loads(raw)["data"])
    assert value == {"message": f'{{"api_key": "{REDACTED}"}}'}


def test_keys_lists_and_nested_values_are_scrubbed() -> None:
    value = {SECRET: [1, {"n": f"x{SECRET}"}, None, True]}
    assert SCRUB.scrub_value(value) == {REDACTED: [1, {"n": f"x{REDACTED}"}, None, True]}


def test_lone_surrogates_become_valid_unicode() -> None:
    assert SCRUB.scrub_text("a\ud800b").encode("utf-8")


def test_a_one_letter_test_credential_does_not_erase_answers() -> None:
    scrubber = SecretScrubber(["k", "s"])
    value = {"note_content": "fast notes"}
    raw = json.dumps({"status": "success", "data": value}).encode()
    assert scrubber.scrub_response(raw, value) == value
    # Error text is still scrubbed of it wherever it appears, as before.
    assert scrubber.scrub_text("bad key k") == f"bad {REDACTED}ey {REDACTED}"
