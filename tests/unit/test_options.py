"""Per-call options (``with_options``), environment fallbacks, User-Agent, proxies, ZYNTRO_LOG."""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aioresponses import aioresponses

from zyntro_async import (
    APIConnectionError,
    ConfigurationError,
    Contact,
    RetryBudget,
    RetryPolicy,
    ServerError,
    ZyntroClient,
    __version__,
)
from zyntro_async._log import _EnvHandler, install_env_log_handler
from zyntro_async._proxy import ProxySetting

from ._helpers import (
    ADD_CONTACTS,
    CONTACT_RESULT_DATA,
    DOC_CREDENTIALS,
    FakeTime,
    attempts,
    sent_json,
    success,
    url,
)
from .conftest import ClientFactory

CONTACT = Contact(first_name="Jane", primary_email="jane@acme.com")


def retrying_policy(fake_time: FakeTime, budget: RetryBudget | None = None) -> RetryPolicy:
    return RetryPolicy(max_retries=3, sleep=fake_time.sleep, clock=fake_time.clock, budget=budget)


# ---- with_options ------------------------------------------------------------------------


async def test_with_max_retries_0_makes_exactly_one_attempt(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    mocked.post(url(ADD_CONTACTS), status=503, repeat=True)
    async with make_client(retry_policy=retrying_policy(fake_time)) as zy:
        with pytest.raises(ServerError):
            await zy.with_options(max_retries=0).contacts.upsert(CONTACT)
        assert attempts(mocked, ADD_CONTACTS) == 1
        # The parent keeps its own policy: four attempts.
        with pytest.raises(ServerError):
            await zy.contacts.upsert(CONTACT)
        assert attempts(mocked, ADD_CONTACTS) == 1 + 4


async def test_a_view_shares_pool_budget_and_lifetime(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    budget = RetryBudget()
    mocked.post(url(ADD_CONTACTS), payload=success(CONTACT_RESULT_DATA), repeat=True)
    zy = make_client(retry_policy=retrying_policy(fake_time, budget))
    async with zy:
        view = zy.with_options(timeout=5, max_retries=1, deadline=20, member_id="member-7")
        assert view.is_view
        assert not zy.is_view
        await view.contacts.upsert(CONTACT)
        assert view.session is zy.session is not None
        assert view.retry_policy.budget is zy.retry_policy.budget is budget
        assert view.retry_policy.max_retries == 1
        assert (view.config.timeout, view.config.deadline) == (5.0, 20.0)
        assert zy.config.deadline is None
        assert (await sent_json(mocked, ADD_CONTACTS))["member_id"] == "member-7"
        await view.aclose()  # a view cannot close the parent's pool
        assert not zy.closed
        assert not view.closed
        assert zy.session is not None
        assert not zy.session.closed
        await zy.with_options(max_retries=0).contacts.upsert(CONTACT)
    assert view.closed  # the view lives as long as its parent


async def test_with_options_deadline_none_removes_the_deadline(make_client: ClientFactory) -> None:
    zy = make_client(deadline=10)
    assert zy.with_options(deadline=None).config.deadline is None
    assert zy.with_options(timeout=3).config.deadline == 10.0


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"deadline": float("nan")}, "deadline"),
        ({"member_id": " "}, "member_id"),
    ],
)
def test_bad_options_are_refused_naming_them(options: dict[str, Any], name: str) -> None:
    zy = ZyntroClient(**DOC_CREDENTIALS)
    with pytest.raises(ConfigurationError, match=name):
        zy.with_options(**options)


# ---- environment fallbacks -----------------------------------------------------------


def test_timeout_and_max_retries_fall_back_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZYNTRO_TIMEOUT", "12.5")
    monkeypatch.setenv("ZYNTRO_MAX_RETRIES", "0")
    zy = ZyntroClient(**DOC_CREDENTIALS)
    assert zy.config.timeout == 12.5
    assert zy.retry_policy.max_retries == 0
    explicit = ZyntroClient(**DOC_CREDENTIALS, timeout=3, max_retries=5)
    assert (explicit.config.timeout, explicit.retry_policy.max_retries) == (3.0, 5)


def test_defaults_without_the_environment() -> None:
    zy = ZyntroClient(**DOC_CREDENTIALS)
    assert (zy.config.timeout, zy.retry_policy.max_retries) == (30.0, 3)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ZYNTRO_TIMEOUT", "soon"),
        ("ZYNTRO_TIMEOUT", "0"),
        ("ZYNTRO_TIMEOUT", "inf"),
        ("ZYNTRO_MAX_RETRIES", "-1"),
        ("ZYNTRO_MAX_RETRIES", "2.5"),
        ("ZYNTRO_MAX_RETRIES", "many"),
    ],
)
def test_a_bad_environment_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        ZyntroClient(**DOC_CREDENTIALS)


# ---- User-Agent ------------------------------------------------------------------------


def expected_user_agent() -> str:
    return (
        f"zyntro-async/{__version__} python/{platform.python_version()} "
        f"aiohttp/{aiohttp.__version__}"
    )


async def test_the_user_agent_names_sdk_python_and_aiohttp(
    make_client: ClientFactory, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_CONTACTS), payload=success(CONTACT_RESULT_DATA), repeat=True)
    async with make_client() as zy:
        await zy.contacts.upsert(CONTACT)
        assert zy.session is not None
        assert zy.session.headers["User-Agent"] == expected_user_agent()


@pytest.mark.parametrize(
    ("app_info", "suffix"),
    [
        ("acme-sync/1.2", "acme-sync/1.2"),
        ({"name": "acme-sync", "version": "1.2"}, "acme-sync/1.2"),
        ({"name": "acme-sync"}, "acme-sync"),
        (
            {"name": "acme-sync", "version": "1.2", "url": "https://acme.example"},
            "acme-sync/1.2 (+https://acme.example)",
        ),
    ],
)
async def test_app_info_extends_the_user_agent(app_info: Any, suffix: str) -> None:
    async with ZyntroClient(**DOC_CREDENTIALS, app_info=app_info) as zy:
        assert zy.session is not None
        assert zy.session.headers["User-Agent"] == f"{expected_user_agent()} {suffix}"


@pytest.mark.parametrize(
    "app_info",
    [
        "acme/1.2\r\nX-Evil: 1",
        "acme/1.2\x07",
        "",
        {"version": "1.2"},
        {"name": "acme sync"},
        {"name": "acme", "build": "7"},
        {"name": "acme", "version": 12},
        {"name": "acme", "url": "https://x (y)"},
        ["acme"],
    ],
)
def test_bad_app_info_is_refused(app_info: Any) -> None:
    with pytest.raises(ConfigurationError, match="app_info"):
        ZyntroClient(**DOC_CREDENTIALS, app_info=app_info)


# ---- proxies ---------------------------------------------------------------------------


class RecordingProxy:
    """A loopback HTTP proxy that answers as the API and records what it was asked."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str | None]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        # For an http:// target the client sends the absolute URI; for https:// a CONNECT.
        self.requests.append(
            (request.method, request.raw_path, request.headers.get("Proxy-Authorization"))
        )
        if request.method == "CONNECT":
            return web.Response(status=403, text="no tunnels here")
        return web.json_response(success(CONTACT_RESULT_DATA))


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[RecordingProxy, str]]:
    recorder = RecordingProxy()
    server = web.Server(recorder.handle)
    runner = web.ServerRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield recorder, f"http://127.0.0.1:{port}"
    await runner.cleanup()


# A name that resolves nowhere: only a proxy can reach it, so a success proves the proxy.
API_HOST = "api.zyntro.test"


async def test_http_proxy_from_the_environment_is_used(
    proxy: tuple[RecordingProxy, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder, proxy_url = proxy
    monkeypatch.setenv("HTTP_PROXY", proxy_url.replace("//", "//user:pw@"))
    async with ZyntroClient(
        **DOC_CREDENTIALS, base_url=f"http://{API_HOST}", allow_insecure_http=True
    ) as zy:
        result = await zy.contacts.upsert(CONTACT)
    assert result.contact_id == CONTACT_RESULT_DATA["contact_id"]
    [(method, target, auth)] = recorder.requests
    assert (method, target) == ("POST", f"http://{API_HOST}/apis/v2/public/{ADD_CONTACTS}")
    assert auth is not None
    assert auth.startswith("Basic ")


async def test_https_proxy_from_the_environment_gets_the_connect(
    proxy: tuple[RecordingProxy, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder, proxy_url = proxy
    monkeypatch.setenv("HTTPS_PROXY", proxy_url)
    async with ZyntroClient(**DOC_CREDENTIALS, base_url=f"https://{API_HOST}", max_retries=0) as zy:
        with pytest.raises(APIConnectionError):
            await zy.contacts.upsert(CONTACT)
    assert [r[:2] for r in recorder.requests] == [("CONNECT", f"{API_HOST}:443")]


async def test_no_proxy_and_trust_env_false_bypass_the_proxy(
    proxy: tuple[RecordingProxy, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder, proxy_url = proxy
    monkeypatch.setenv("HTTPS_PROXY", proxy_url)
    monkeypatch.setenv("NO_PROXY", "zyntro.test")
    assert ProxySetting.from_environment(f"https://{API_HOST}") is None
    assert ProxySetting.from_environment("https://other.example") is not None
    monkeypatch.delenv("NO_PROXY")
    async with ZyntroClient(
        **DOC_CREDENTIALS,
        base_url=f"https://{API_HOST}",
        max_retries=0,
        timeout=2,
        trust_env=False,
    ) as zy:
        with pytest.raises(APIConnectionError):  # direct: the name does not resolve
            await zy.contacts.upsert(CONTACT)
    assert recorder.requests == []


async def test_an_explicit_proxy_overrides_the_environment(
    proxy: tuple[RecordingProxy, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder, proxy_url = proxy
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # would refuse: not used
    async with ZyntroClient(
        **DOC_CREDENTIALS,
        base_url=f"http://{API_HOST}",
        allow_insecure_http=True,
        proxy=proxy_url,
    ) as zy:
        await zy.contacts.upsert(CONTACT)
    assert len(recorder.requests) == 1


def test_a_loopback_target_is_proxied_unless_no_proxy_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As with requests and aiohttp itself: loopback is not exempt by default on Linux.
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    assert ProxySetting.from_environment("http://127.0.0.1:8000") is not None
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert ProxySetting.from_environment("http://127.0.0.1:8000") is None


@pytest.mark.parametrize("value", ["socks5://127.0.0.1:1080", "https://proxy:3128", "nohost"])
def test_an_unusable_proxy_is_refused(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="proxy"):
        ZyntroClient(**DOC_CREDENTIALS, proxy=value)


def test_proxy_credentials_stay_out_of_reprs() -> None:
    setting = ProxySetting.parse("http://alice:hunter2-pw@proxy:3128", source="proxy")
    assert "hunter2" not in repr(setting)
    assert "hunter2" not in str(setting.url)
    assert setting.login == ("alice", "hunter2-pw")


def test_proxy_and_app_info_need_our_own_session() -> None:
    session = aiohttp.ClientSession.__new__(aiohttp.ClientSession)  # never opened
    with pytest.raises(ConfigurationError, match="own session"):
        ZyntroClient(**DOC_CREDENTIALS, session=session, proxy="http://proxy:3128")


# ---- ZYNTRO_LOG ------------------------------------------------------------------------


def test_zyntro_log_prints_the_log_to_stderr() -> None:
    script = textwrap.dedent(
        """
        import asyncio
        from aiohttp import web
        from zyntro_async import Contact, ZyntroClient

        async def handle(request):
            return web.json_response({"status": "success", "data": {"contact_id": "c-1"}})

        async def main():
            runner = web.ServerRunner(web.Server(handle))
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            async with ZyntroClient(
                api_key="KEY-zyntro-log-test-1", developer_secret="SECRET-zyntro-log-test",
                org_id="org", member_id="m", base_url=f"http://127.0.0.1:{port}",
            ) as zy:
                await zy.contacts.upsert(Contact(first_name="J", primary_email="j@a.co"))
            await runner.cleanup()

        asyncio.run(main())
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    for level, expected in (("info", "INFO"), ("debug", "DEBUG")):
        env["ZYNTRO_LOG"] = level
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert f"{expected} zyntro_async: " in done.stderr
        assert "crm/addContactsFull attempt 1: HTTP 200" in done.stderr
        assert "KEY-zyntro-log-test-1" not in done.stderr
        assert "SECRET-zyntro-log-test" not in done.stderr
        assert done.stdout == ""


def test_zyntro_log_is_installed_once_and_checked() -> None:
    logger = logging.getLogger("zyntro_async")
    before, level = list(logger.handlers), logger.level
    try:
        install_env_log_handler({"ZYNTRO_LOG": "info"})
        install_env_log_handler({"ZYNTRO_LOG": "debug"})
        assert sum(isinstance(h, _EnvHandler) for h in logger.handlers) == 1
        with pytest.raises(ConfigurationError, match="ZYNTRO_LOG"):
            install_env_log_handler({"ZYNTRO_LOG": "verbose"})
    finally:
        logger.handlers[:] = before
        logger.setLevel(level)
