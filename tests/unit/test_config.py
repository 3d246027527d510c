"""Configuration: arguments first, then ZYNTRO_* variables, then defaults; checked up front.

A missing credential names both the argument and its environment variable. Plain http://
is refused unless the host is loopback or the caller opts in, because the credentials
travel in the request body.
"""

from __future__ import annotations

from typing import Any

import pytest
from aioresponses import aioresponses

from zyntro_async import ConfigurationError, ZyntroClient

from ._helpers import ADD_NOTES, CONTACT_ID, NOTE_DATA, sent_json, success, url

REQUIRED = {
    "ZYNTRO_API_KEY": "api_key",
    "ZYNTRO_DEVELOPER_SECRET": "developer_secret",
    "ZYNTRO_ORG_ID": "org_id",
}
ENV = {
    "ZYNTRO_API_KEY": "env-key",
    "ZYNTRO_DEVELOPER_SECRET": "zdk_env",
    "ZYNTRO_ORG_ID": "env-org",
    "ZYNTRO_MEMBER_ID": "env-member",
    "ZYNTRO_BRAND_ID": "42",
    "ZYNTRO_BASE_URL": "https://eu.zyntrohq.example",
}
ARGS = {"api_key": "k", "developer_secret": "zdk_s", "org_id": "o"}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("environment")
def test_every_setting_falls_back_to_its_environment_variable() -> None:
    config = ZyntroClient().config
    assert config.api_key.reveal() == "env-key"
    assert config.developer_secret.reveal() == "zdk_env"
    assert config.org_id == "env-org"
    assert config.member_id == "env-member"
    assert config.brand_id == "42"
    assert config.base_url == "https://eu.zyntrohq.example"


@pytest.mark.usefixtures("environment")
@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("api_key", "arg-key"),
        ("developer_secret", "zdk_arg"),
        ("org_id", "arg-org"),
        ("member_id", "arg-member"),
        ("brand_id", "7"),
        ("base_url", "https://us.zyntrohq.example"),
    ],
)
def test_an_argument_beats_its_environment_variable(argument: str, value: str) -> None:
    config = ZyntroClient(**{argument: value}).config
    found = getattr(config, argument)
    assert (found.reveal() if hasattr(found, "reveal") else found) == value


@pytest.mark.usefixtures("environment")
async def test_environment_credentials_reach_the_request_body(mocked: aioresponses) -> None:
    mocked.post(url(ADD_NOTES, base_url=ENV["ZYNTRO_BASE_URL"]), payload=success(NOTE_DATA))
    async with ZyntroClient() as zy:
        await zy.notes.add(CONTACT_ID, "Hi")
    (key,) = mocked.requests
    body = mocked.requests[key][0].kwargs["data"]
    assert key[1].host == "eu.zyntrohq.example"
    assert b'"api_key":"env-key"' in body
    assert b'"member_id":"env-member"' in body


@pytest.mark.parametrize(("variable", "argument"), REQUIRED.items())
def test_a_missing_credential_names_its_argument_and_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, argument: str
) -> None:
    for name, value in ENV.items():
        if name != variable:
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as excinfo:
        ZyntroClient()
    assert variable in str(excinfo.value)
    assert f"{argument}=" in str(excinfo.value)


@pytest.mark.parametrize(("variable", "argument"), REQUIRED.items())
def test_an_empty_credential_counts_as_missing(
    monkeypatch: pytest.MonkeyPatch, variable: str, argument: str
) -> None:
    monkeypatch.setenv(variable, "")
    with pytest.raises(ConfigurationError, match=variable):
        ZyntroClient(**{**ARGS, argument: None})


@pytest.mark.parametrize("argument", list(ARGS))
def test_a_blank_credential_argument_counts_as_missing(argument: str) -> None:
    with pytest.raises(ConfigurationError, match=argument):
        ZyntroClient(**{**ARGS, argument: "   "})


@pytest.mark.parametrize("argument", list(ARGS))
def test_a_credential_that_is_not_a_string_is_refused(argument: str) -> None:
    with pytest.raises(ConfigurationError, match=argument):
        ZyntroClient(**{**ARGS, argument: 12345})


def test_member_and_brand_are_optional_at_construction() -> None:
    config = ZyntroClient(**ARGS).config
    assert (config.member_id, config.brand_id) == (None, None)


def test_the_default_base_url_is_the_documented_one() -> None:
    assert ZyntroClient(**ARGS).config.base_url == "https://app.zyntrohq.com"


def test_a_trailing_slash_on_the_base_url_is_dropped() -> None:
    assert (
        ZyntroClient(**ARGS, base_url="https://x.example/").config.base_url == "https://x.example"
    )


def test_configuration_error_is_a_value_error() -> None:
    assert issubclass(ConfigurationError, ValueError)


# ---- transport security ----------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url", ["http://app.zyntrohq.com", "http://10.0.0.5:8080", "http://zyntro.internal"]
)
def test_plain_http_to_a_remote_host_is_refused(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="http://"):
        ZyntroClient(**ARGS, base_url=base_url)


def test_plain_http_from_the_environment_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZYNTRO_BASE_URL", "http://app.zyntrohq.com")
    with pytest.raises(ConfigurationError):
        ZyntroClient(**ARGS)


def test_plain_http_to_a_remote_host_is_allowed_when_asked_for() -> None:
    zy = ZyntroClient(**ARGS, base_url="http://zyntro.internal", allow_insecure_http=True)
    assert zy.config.base_url == "http://zyntro.internal"


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8080", "http://localhost:9000", "http://[::1]:8000", "http://api.localhost"],
)
def test_plain_http_to_loopback_is_allowed(base_url: str) -> None:
    assert ZyntroClient(**ARGS, base_url=base_url).config.base_url == base_url


@pytest.mark.parametrize(
    "base_url",
    [
        "app.zyntrohq.com",
        "ftp://app.zyntrohq.com",
        "https://",
        "https://app.zyntrohq.com?x=1",
        "https://app.zyntrohq.com#frag",
    ],
)
def test_an_unusable_base_url_is_refused(base_url: str) -> None:
    with pytest.raises(ConfigurationError):
        ZyntroClient(**ARGS, base_url=base_url)


# ---- numbers ---------------------------------------------------------------------------


# None is not here: it means "ZYNTRO_TIMEOUT, else 30 seconds" (see test_options.py).
@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "30", True])
def test_a_bad_timeout_is_refused(timeout: Any) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        ZyntroClient(**ARGS, timeout=timeout)


@pytest.mark.parametrize("max_connections", [0, -1, 1.5, "10", True, None])
def test_a_bad_max_connections_is_refused(max_connections: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_connections"):
        ZyntroClient(**ARGS, max_connections=max_connections)


@pytest.mark.parametrize("deadline", [0, -5, float("nan"), "60"])
def test_a_bad_deadline_is_refused(deadline: Any) -> None:
    with pytest.raises(ConfigurationError, match="deadline"):
        ZyntroClient(**ARGS, deadline=deadline)


@pytest.mark.parametrize("max_retries", [-1, 1.5, "3", True])
def test_a_bad_max_retries_is_refused(max_retries: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_retries"):
        ZyntroClient(**ARGS, max_retries=max_retries)


@pytest.mark.parametrize("max_response_bytes", [0, 1023, 2.5, "1MB"])
def test_a_bad_max_response_bytes_is_refused(max_response_bytes: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_response_bytes"):
        ZyntroClient(**ARGS, max_response_bytes=max_response_bytes)


def test_numbers_are_kept_as_given() -> None:
    config = ZyntroClient(
        **ARGS, timeout=5, deadline=60.0, max_connections=3, max_response_bytes=2048
    ).config
    assert (config.timeout, config.deadline, config.max_connections) == (5.0, 60.0, 3)
    assert config.max_response_bytes == 2048


async def test_the_per_attempt_timeout_is_passed_to_aiohttp(
    mocked: aioresponses,
) -> None:
    mocked.post(url(ADD_NOTES), payload=success(NOTE_DATA))
    async with ZyntroClient(**ARGS, member_id="m", timeout=4.5) as zy:
        await zy.notes.add(CONTACT_ID, "Hi")
    (key,) = mocked.requests
    assert mocked.requests[key][0].kwargs["timeout"].total == pytest.approx(4.5, abs=0.01)
    assert (await sent_json(mocked, ADD_NOTES))["org_id"] == "o"


async def test_a_base_url_with_a_path_prefix_keeps_it(mocked: aioresponses) -> None:
    base_url = "https://gateway.example/zyntro"
    mocked.post(url(ADD_NOTES, base_url=base_url), payload=success(NOTE_DATA))
    async with ZyntroClient(**ARGS, member_id="m", base_url=base_url + "/") as zy:
        await zy.notes.add(CONTACT_ID, "Hi")
    (key,) = mocked.requests
    assert str(key[1]) == "https://gateway.example/zyntro/apis/v2/public/crm/addNotestoContact"
