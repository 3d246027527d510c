"""Credentials only travel over verified TLS, or over plain HTTP to this very machine.

- TLS verification is on by default: a self-signed certificate (made with ``trustme``, or the
  ``openssl`` command when trustme is not installed) is refused with an
  :class:`APIConnectionError` naming the TLS failure, on the first attempt, with no retry
  and no request ever written to the socket;
- an injected session cannot switch verification off: its connection is checked before the
  body (which holds the credentials) is written (``ConfigurationError``);
- ``http://`` to anything but loopback is refused unless ``allow_insecure_http=True``;
- the emulator listens on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import ipaddress
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import attrs
import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zyntro_async import APIConnectionError, ConfigurationError, Contact, ZyntroClient
from zyntro_async.testing import Emulator

from ._hostile import RawServer, reply
from .conftest import API_KEY, DEVELOPER_SECRET, ORG_ID, ClientFactory

CONTACT = Contact(first_name="Jane", primary_email="jane@acme.com")
CONTACT_OK = {"status": "success", "data": {"contact_id": "c-1", "action": "created"}}


@attrs.frozen
class Certificates:
    """A server context for 127.0.0.1, and a client context that trusts its issuer."""

    server: ssl.SSLContext
    trusting_client: ssl.SSLContext | None  # None when the fallback made a bare self-signed


def _trustme_certificates(hostname: str) -> Certificates:
    import trustme

    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(hostname).configure_cert(server)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    return Certificates(server, client)


def _openssl_certificates(hostname: str, directory: Path) -> Certificates:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs trustme (pip install trustme) or the openssl command")
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", f"/CN={hostname}"),
            *("-addext", f"subjectAltName=IP:{hostname}"),
        ],
        check=True,
        capture_output=True,
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    return Certificates(server, None)


def certificates(hostname: str, directory: Path) -> Certificates:
    try:
        return _trustme_certificates(hostname)
    except ImportError:
        return _openssl_certificates(hostname, directory)


@pytest.fixture
def self_signed(tmp_path: Path) -> Certificates:
    return certificates("127.0.0.1", tmp_path)


async def test_an_untrusted_certificate_is_refused_once_without_sending_anything(
    self_signed: Certificates, make_client: ClientFactory
) -> None:
    async with RawServer(reply(200, CONTACT_OK), tls=self_signed.server) as server:
        # Idempotent and allowed three retries: a TLS failure still gets exactly one try.
        zy = make_client(server.base_url, max_retries=3)
        with pytest.raises(APIConnectionError) as excinfo:
            await zy.contacts.upsert(CONTACT)
    assert type(excinfo.value) is APIConnectionError
    assert "TLS" in str(excinfo.value)
    assert "certificate" in str(excinfo.value).lower()
    assert server.connections == 1
    assert server.requests == []
    assert bytes(server.received) == b""


async def test_a_trusted_certificate_is_accepted(
    self_signed: Certificates, make_client: ClientFactory
) -> None:
    """The control for the test above: the same server, trusted, answers normally."""
    if self_signed.trusting_client is None:
        pytest.skip("needs trustme to build a certificate authority")
    async with RawServer(reply(200, CONTACT_OK), tls=self_signed.server) as server:
        connector = aiohttp.TCPConnector(ssl=self_signed.trusting_client)
        async with aiohttp.ClientSession(connector=connector) as session:
            zy = make_client(server.base_url, session=session)
            result = await zy.contacts.upsert(CONTACT)
    assert result.contact_id == "c-1"
    assert len(server.requests) == 1


async def test_a_trusted_certificate_for_another_name_is_refused(
    tmp_path: Path, make_client: ClientFactory
) -> None:
    try:
        other = _trustme_certificates("api.example.org")
    except ImportError:
        pytest.skip("needs trustme to build a certificate authority")
    assert other.trusting_client is not None
    async with RawServer(reply(200, CONTACT_OK), tls=other.server) as server:
        connector = aiohttp.TCPConnector(ssl=other.trusting_client)
        async with aiohttp.ClientSession(connector=connector) as session:
            zy = make_client(server.base_url, session=session, max_retries=3)
            with pytest.raises(APIConnectionError, match="TLS"):
                await zy.contacts.upsert(CONTACT)
    assert server.connections == 1
    assert server.requests == []


def _non_verifying(certs: Certificates, skipped: str) -> ssl.SSLContext:
    """A context that completes the handshake with ``certs`` but skips one check."""
    if skipped == "ssl=False":
        return ssl.create_default_context()  # unused: the connector gets ssl=False
    if certs.trusting_client is None:
        pytest.skip("needs trustme to build a certificate authority")
    context = ssl.create_default_context()
    context.load_verify_locations(cadata=_ca_pem(certs))
    context.check_hostname = False
    if skipped == "no verification":
        context.verify_mode = ssl.CERT_NONE
    return context


def _ca_pem(certs: Certificates) -> str:
    assert certs.trusting_client is not None
    return "".join(
        ssl.DER_cert_to_PEM_cert(der) for der in certs.trusting_client.get_ca_certs(True)
    )


@pytest.mark.parametrize("skipped", ["ssl=False", "no verification", "no hostname check"])
async def test_an_injected_session_that_skips_tls_verification_sends_no_credentials(
    self_signed: Certificates, make_client: ClientFactory, skipped: str
) -> None:
    """aiohttp keeps a connector's TLS setting to itself, so the connection is checked.

    The handshake succeeds (the session accepts the server), and the body, which holds the
    credentials, is refused before its first byte: a ConfigurationError, never retried.
    """
    tls: bool | ssl.SSLContext = (
        False if skipped == "ssl=False" else _non_verifying(self_signed, skipped)
    )
    async with RawServer(reply(200, CONTACT_OK), tls=self_signed.server) as server:
        connector = aiohttp.TCPConnector(ssl=tls)
        async with aiohttp.ClientSession(connector=connector) as session:
            zy = make_client(server.base_url, session=session, max_retries=3)
            with pytest.raises(ConfigurationError, match="refuses to send credentials"):
                await zy.contacts.upsert(CONTACT)
            with pytest.raises(ConfigurationError):  # and with a file body too
                await zy.attachments.add_file("c-1", b"%PDF-1.4", name="a.pdf")
    assert server.requests == []
    assert API_KEY.encode() not in bytes(server.received)
    assert DEVELOPER_SECRET.encode() not in bytes(server.received)


def client_for(base_url: str, **options: object) -> ZyntroClient:
    return ZyntroClient(
        api_key=API_KEY,
        developer_secret=DEVELOPER_SECRET,
        org_id=ORG_ID,
        base_url=base_url,
        **options,  # type: ignore[arg-type]
    )


REMOTE_HTTP = [
    "http://app.zyntrohq.com",
    "http://example.com:80/",
    "HTTP://Example.COM",
    "http://10.0.0.1:8080",
    "http://192.168.1.10",
    "http://0.0.0.0:8080",
    "http://[2001:db8::1]:8080",
    "http://127.0.0.1.nip.io",
    "http://localhost.example.com",
    "http://2130706433",  # 127.0.0.1 as one integer: resolvers disagree, so not trusted
    "http://0x7f.1",
]


@pytest.mark.parametrize("base_url", REMOTE_HTTP)
def test_plain_http_to_a_remote_host_is_refused(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="allow_insecure_http"):
        client_for(base_url)


@pytest.mark.parametrize("base_url", REMOTE_HTTP)
def test_plain_http_to_a_remote_host_is_allowed_when_asked_for(base_url: str) -> None:
    client_for(base_url, allow_insecure_http=True)


def test_plain_http_from_the_environment_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZYNTRO_BASE_URL", "http://app.zyntrohq.com")
    with pytest.raises(ConfigurationError, match="allow_insecure_http"):
        ZyntroClient(api_key=API_KEY, developer_secret=DEVELOPER_SECRET, org_id=ORG_ID)


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8080", "http://127.9.8.7", "http://[::1]:8080", "http://localhost:1"],
)
def test_plain_http_to_loopback_is_allowed(base_url: str) -> None:
    client_for(base_url)


@given(address=st.ip_addresses())
def test_plain_http_is_allowed_exactly_for_loopback_addresses(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    host = f"[{address}]" if address.version == 6 else str(address)
    url = f"http://{host}:8080"
    if address.is_loopback:
        client_for(url)
    else:
        with pytest.raises(ConfigurationError):
            client_for(url)


@given(host=st.from_regex(r"\A[a-z][a-z0-9\-]{0,20}(\.[a-z][a-z0-9\-]{0,20}){0,3}\Z"))
def test_plain_http_to_any_host_name_but_localhost_is_refused(host: str) -> None:
    url = f"http://{host}"
    if host == "localhost" or host.endswith(".localhost"):
        client_for(url)
    else:
        with pytest.raises(ConfigurationError):
            client_for(url)


def _listening_addresses(port: int) -> Iterator[str]:
    for conn in psutil.Process().net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port:
            yield conn.laddr.ip


async def test_the_emulator_listens_on_loopback_only_by_default() -> None:
    emu = Emulator.demo()
    async with emu.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        port = int(base_url.rsplit(":", 1)[1])
        assert set(_listening_addresses(port)) == {"127.0.0.1"}
    await emu.close()


def test_the_emulator_command_listens_on_loopback_by_default() -> None:
    from zyntro_async.cli import build_parser

    args = build_parser().parse_args(["emulator"])
    assert args.host == "127.0.0.1"
