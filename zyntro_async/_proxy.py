"""Which proxy the client's session uses: ``proxy=``, else the environment, else none.

The proxy is decided once, when the client creates its connection pool: every request goes to
the one API host, so the answer cannot change from one request to the next (aiohttp's own
``trust_env`` looks it up again, in a worker thread, on every request).
"""

from __future__ import annotations

import os
import urllib.request
import warnings
from collections.abc import Mapping
from urllib.parse import urlsplit
from urllib.request import getproxies_environment

import aiohttp
import attrs
from yarl import URL

from zyntro_async._errors import ConfigurationError

__all__ = ["ProxySetting", "resolve_proxy"]


@attrs.frozen(repr=False)
class ProxySetting:
    """A proxy URL without credentials, and the credentials apart (never in a repr).

    Attributes:
        url: ``http://host:port`` of the proxy.
        login: the ``Proxy-Authorization`` credentials (login, password), when the URL
            carried some.
    """

    url: URL
    login: tuple[str, str] | None

    def __repr__(self) -> str:
        return f"ProxySetting({str(self.url)!r}, login={'<redacted>' if self.login else None})"

    def session_options(self) -> dict[str, object]:
        """``proxy=`` and ``proxy_auth=`` for the ``aiohttp.ClientSession`` we create."""
        auth = None
        if self.login is not None:
            # aiohttp 3.14 deprecates BasicAuth and proxy_auth for a per-request
            # proxy_headers argument; the session-level setting still works through 3.x
            # and keeps the proxy out of the transport, so its warning is silenced here.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                auth = aiohttp.BasicAuth(*self.login)
        return {"proxy": self.url, "proxy_auth": auth}

    @classmethod
    def parse(cls, text: str, *, source: str) -> ProxySetting:
        """Split ``http://user:pass@host:port`` into a URL and its credentials.

        Raises:
            ConfigurationError: not an ``http://`` URL with a host, naming ``source``.
        """
        try:
            url = URL(text.strip())
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"{source} is not a URL") from exc
        # aiohttp speaks to proxies in plain HTTP (CONNECT for https targets); an https://
        # proxy URL would silently mean something else.
        if url.scheme != "http" or not url.host:
            raise ConfigurationError(
                f"{source} must be an http:// proxy URL with a host, got scheme {url.scheme!r}"
            )
        login = None if url.user is None else (url.user, url.password or "")
        return cls(url.with_user(None).with_password(None), login)

    @classmethod
    def from_environment(
        cls, base_url: str, environ: Mapping[str, str] | None = None
    ) -> ProxySetting | None:
        """The proxy the environment names for ``base_url``, as requests and httpx read it.

        ``HTTPS_PROXY`` (for an https API) or ``HTTP_PROXY`` (for http), else ``ALL_PROXY``,
        in either case; ``NO_PROXY`` hosts and domains are reached directly.

        Raises:
            ConfigurationError: the variable holds something that is not a usable proxy URL.
        """
        env = os.environ if environ is None else environ
        if environ is None:
            proxies = getproxies_environment()
        else:
            proxies = {
                key.lower().removesuffix("_proxy"): value
                for key, value in env.items()
                if key.lower().endswith("_proxy") and value
            }
        target = urlsplit(base_url)
        host = target.hostname or ""
        # The standard library's NO_PROXY matcher (the one requests uses); typeshed omits it.
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if bypass(host, proxies):
            return None
        scheme = target.scheme
        value = proxies.get(scheme) or proxies.get("all")
        if not value:
            return None
        name = f"{scheme.upper()}_PROXY" if proxies.get(scheme) else "ALL_PROXY"
        return cls.parse(value, source=name)


def resolve_proxy(proxy: str | None) -> ProxySetting | None:
    """The ``proxy=`` argument, checked (``None`` leaves it to the environment).

    Raises:
        ConfigurationError: not a string, or not an ``http://`` URL with a host.
    """
    if proxy is None:
        return None
    if not isinstance(proxy, str):
        raise ConfigurationError(f"proxy must be a URL string, got {type(proxy).__name__}")
    return ProxySetting.parse(proxy, source="proxy")
