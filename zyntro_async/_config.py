"""Client configuration: arguments first, then ``ZYNTRO_*`` environment variables.

Secrets (``api_key``, ``developer_secret``) are held in :class:`Secret`, whose ``repr`` and
``str`` never show the value, so the configuration can be logged and printed safely.
"""

from __future__ import annotations

import ipaddress
import math
import os
import platform
import re
from collections.abc import Mapping
from typing import cast
from urllib.parse import urlsplit

import attrs

from zyntro_async._errors import ConfigurationError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "ClientConfig",
    "Secret",
    "resolve_max_retries",
    "user_agent",
]

DEFAULT_BASE_URL = "https://app.zyntrohq.com"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3

ENV_API_KEY = "ZYNTRO_API_KEY"
ENV_DEVELOPER_SECRET = "ZYNTRO_DEVELOPER_SECRET"  # noqa: S105 - a variable name, not a secret
ENV_ORG_ID = "ZYNTRO_ORG_ID"
ENV_MEMBER_ID = "ZYNTRO_MEMBER_ID"
ENV_BRAND_ID = "ZYNTRO_BRAND_ID"
ENV_BASE_URL = "ZYNTRO_BASE_URL"
ENV_TIMEOUT = "ZYNTRO_TIMEOUT"
ENV_MAX_RETRIES = "ZYNTRO_MAX_RETRIES"
# A User-Agent product token or comment: printable ASCII, no spaces in a token.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$")


@attrs.frozen(repr=False, eq=False)
class Secret:
    """A credential whose value never appears in ``repr``, ``str`` or f-strings."""

    _value: str

    def reveal(self) -> str:
        """Return the value; only the request builder calls this."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling a secret would put it in a file or a pipe: refuse rather than leak.
        raise TypeError("Secret values cannot be pickled")


def _require(value: str | None, env_name: str, environ: Mapping[str, str]) -> str:
    found = _pick(value, env_name, environ, required=True)
    if found is None:  # pragma: no cover - _pick raises first
        raise ConfigurationError(f"missing {env_name}", variable=env_name)
    return found


def _pick(
    value: str | None, env_name: str, environ: Mapping[str, str], *, required: bool
) -> str | None:
    if value is None:
        value = environ.get(env_name) or None
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(
            f"{env_name.removeprefix('ZYNTRO_').lower()} must be a string", variable=env_name
        )
    if value is not None:
        value = value.strip() or None
    if value is None and required:
        arg = env_name.removeprefix("ZYNTRO_").lower()
        raise ConfigurationError(
            f"missing {arg}: pass {arg}=... to ZyntroClient or set the {env_name} "
            "environment variable",
            variable=env_name,
        )
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_base_url(base_url: str, *, allow_insecure_http: bool) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"base_url must be an http(s) URL with a host, got {base_url!r} "
            f"(argument base_url or {ENV_BASE_URL})"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError("base_url must not carry a query string or fragment")
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"refusing plain http:// to {parts.hostname}: credentials would travel "
            "unencrypted. Use https://, or pass allow_insecure_http=True if you really mean it"
        )
    return base_url.rstrip("/")


def _positive(name: str, value: float | None, *, allow_none: bool = False) -> float | None:
    if value is None:
        if allow_none:
            return None
        raise ConfigurationError(f"{name} must be a positive number")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _env_timeout(timeout: float | None, environ: Mapping[str, str]) -> float:
    """``timeout``, else ``ZYNTRO_TIMEOUT``, else the default; checked."""
    if timeout is not None:
        return _positive("timeout", timeout) or DEFAULT_TIMEOUT
    text = (environ.get(ENV_TIMEOUT) or "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(
            f"{ENV_TIMEOUT} must be a positive number of seconds, got {text[:40]!r}"
        )
    return value


def resolve_max_retries(max_retries: int | None, environ: Mapping[str, str] | None = None) -> int:
    """``max_retries``, else ``ZYNTRO_MAX_RETRIES``, else 3.

    Raises:
        ConfigurationError: the value (or the variable, named) is not an int >= 0.
    """
    if max_retries is not None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}")
        return max_retries
    env = os.environ if environ is None else environ
    text = (env.get(ENV_MAX_RETRIES) or "").strip()
    if not text:
        return DEFAULT_MAX_RETRIES
    if not text.isdecimal():
        raise ConfigurationError(
            f"{ENV_MAX_RETRIES} must be a whole number >= 0, got {text[:40]!r}"
        )
    return int(text)


def user_agent(app_info: str | Mapping[str, str] | None, *, sdk_version: str) -> str:
    """``zyntro-async/<v> python/<v> aiohttp/<v>``, then the integrating application's token.

    Args:
        app_info: ``"acme-sync/1.2"`` (one or more product tokens), or a mapping with
            ``name`` and optionally ``version`` and ``url`` (stripe's ``set_app_info``):
            ``{"name": "acme-sync", "version": "1.2"}`` gives ``acme-sync/1.2``, a ``url``
            is added as a comment ``(+https://...)``.
        sdk_version: this package's version.

    Raises:
        ConfigurationError: ``app_info`` is not one of those shapes, or a part holds a
            character a User-Agent cannot carry (spaces in a name, control characters).
    """
    import aiohttp

    python = platform.python_version()
    base = f"zyntro-async/{sdk_version} python/{python} aiohttp/{aiohttp.__version__}"
    if app_info is None:
        return base
    return f"{base} {_app_token(app_info)}"


def _app_token(app_info: str | Mapping[str, str]) -> str:
    if isinstance(app_info, str):
        tokens = app_info.split()
        for token in tokens:
            product, _, product_version = token.partition("/")
            if not _TOKEN.match(product) or (product_version and not _TOKEN.match(product_version)):
                raise ConfigurationError(
                    f"app_info must be product tokens like 'acme-sync/1.2', got {app_info[:80]!r}"
                )
        if not tokens:
            raise ConfigurationError("app_info must not be empty")
        return " ".join(tokens)
    if not isinstance(app_info, Mapping):
        raise ConfigurationError(
            f"app_info must be a string or a mapping, got {type(app_info).__name__}"
        )
    unknown = set(app_info) - {"name", "version", "url"}
    if unknown:
        raise ConfigurationError(
            f"app_info has unknown keys {sorted(map(str, unknown))}; use name, version, url"
        )
    parts: dict[str, str | None] = {}
    for field in ("name", "version", "url"):
        part = app_info.get(field)
        if part is not None and not isinstance(part, str):
            raise ConfigurationError(f"app_info[{field!r}] must be a string")
        parts[field] = part
    name, version, url = parts["name"], parts["version"], parts["url"]
    if not name or not _TOKEN.match(name):
        raise ConfigurationError(
            f"app_info['name'] must be a name without spaces, like 'acme-sync', got {name!r:.80}"
        )
    if version is not None and not _TOKEN.match(version):
        raise ConfigurationError(
            f"app_info['version'] must be a version without spaces, got {version!r:.80}"
        )
    token = f"{name}/{version}" if version else name
    if url is not None:
        if not url.isprintable() or not url.isascii() or any(c in url for c in " ()"):
            raise ConfigurationError(f"app_info['url'] is not a plain URL: {url!r:.80}")
        token += f" (+{url})"
    return token


@attrs.frozen(repr=False)
class ClientConfig:
    """Everything a :class:`~zyntro_async.ZyntroClient` needs, resolved and checked."""

    api_key: Secret
    developer_secret: Secret
    org_id: str
    member_id: str | None
    brand_id: str | None
    base_url: str
    timeout: float
    deadline: float | None
    max_connections: int
    max_response_bytes: int

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | None,
        developer_secret: str | None,
        org_id: str | None,
        member_id: str | None,
        brand_id: str | int | None,
        base_url: str | None,
        timeout: float | None,
        deadline: float | None,
        max_connections: int,
        max_response_bytes: int,
        allow_insecure_http: bool,
        environ: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """Resolve arguments against the environment and validate them.

        Raises:
            ConfigurationError: naming the argument and its environment variable when a
                required credential is missing, or when a setting is unusable.
        """
        env = os.environ if environ is None else environ
        key = _require(api_key, ENV_API_KEY, env)
        secret = _require(developer_secret, ENV_DEVELOPER_SECRET, env)
        org = _require(org_id, ENV_ORG_ID, env)
        member = _pick(member_id, ENV_MEMBER_ID, env, required=False)
        if isinstance(brand_id, int) and not isinstance(brand_id, bool):
            # The overview calls brand_id numeric; its examples send it as text ("1").
            brand_id = str(brand_id)
        # A bool, like any other non-string, is refused by _pick.
        brand = _pick(cast("str | None", brand_id), ENV_BRAND_ID, env, required=False)
        url = _pick(base_url, ENV_BASE_URL, env, required=False) or DEFAULT_BASE_URL
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise ConfigurationError("max_connections must be an int")
        if max_connections < 1:
            raise ConfigurationError(f"max_connections must be >= 1, got {max_connections}")
        if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int):
            raise ConfigurationError("max_response_bytes must be an int")
        if max_response_bytes < 1024:
            raise ConfigurationError("max_response_bytes must be at least 1024")
        timeout_value = _env_timeout(timeout, env)
        return cls(
            api_key=Secret(key),
            developer_secret=Secret(secret),
            org_id=org,
            member_id=member,
            brand_id=brand,
            base_url=_check_base_url(url, allow_insecure_http=allow_insecure_http),
            timeout=timeout_value,
            deadline=_positive("deadline", deadline, allow_none=True),
            max_connections=max_connections,
            max_response_bytes=max_response_bytes,
        )

    def __repr__(self) -> str:
        return (
            f"ClientConfig(base_url={self.base_url!r}, org_id={self.org_id!r}, "
            f"member_id={self.member_id!r}, brand_id={self.brand_id!r}, "
            "api_key=<redacted>, developer_secret=<redacted>)"
        )

    def with_options(
        self, *, timeout: float | None, deadline: float | None, member_id: str | None
    ) -> ClientConfig:
        """A copy with the per-call options of ``ZyntroClient.with_options`` (``None``: kept).

        Raises:
            ConfigurationError: a value is unusable (naming it).
        """
        changes: dict[str, object] = {}
        if timeout is not None:
            changes["timeout"] = _positive("timeout", timeout)
        if deadline is not None:
            changes["deadline"] = _positive("deadline", deadline)
        if member_id is not None:
            if not isinstance(member_id, str) or not member_id.strip():
                raise ConfigurationError("member_id must be a non-empty string")
            changes["member_id"] = member_id.strip()
        return attrs.evolve(self, **changes)  # type: ignore[arg-type]

    def secrets(self) -> tuple[str, str]:
        """The raw secret values, for scrubbing them out of anything we print."""
        return (self.api_key.reveal(), self.developer_secret.reveal())
