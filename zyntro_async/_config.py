"""Client configuration: arguments first, then ``ZYNTRO_*`` environment variables.

Secrets (``api_key``, ``developer_secret``) are held in :class:`Secret`, whose ``repr`` and
``str`` never show the value, so the configuration can be logged and printed safely.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs

from zyntro_async._errors import ConfigurationError

__all__ = ["DEFAULT_BASE_URL", "ClientConfig", "Secret"]

DEFAULT_BASE_URL = "https://app.zyntrohq.com"

ENV_API_KEY = "ZYNTRO_API_KEY"
ENV_DEVELOPER_SECRET = "ZYNTRO_DEVELOPER_SECRET"  # noqa: S105 - a variable name, not a secret
ENV_ORG_ID = "ZYNTRO_ORG_ID"
ENV_MEMBER_ID = "ZYNTRO_MEMBER_ID"
ENV_BRAND_ID = "ZYNTRO_BRAND_ID"
ENV_BASE_URL = "ZYNTRO_BASE_URL"


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
        brand_id: str | None,
        base_url: str | None,
        timeout: float,
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
        brand = _pick(brand_id, ENV_BRAND_ID, env, required=False)
        url = _pick(base_url, ENV_BASE_URL, env, required=False) or DEFAULT_BASE_URL
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise ConfigurationError("max_connections must be an int")
        if max_connections < 1:
            raise ConfigurationError(f"max_connections must be >= 1, got {max_connections}")
        if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int):
            raise ConfigurationError("max_response_bytes must be an int")
        if max_response_bytes < 1024:
            raise ConfigurationError("max_response_bytes must be at least 1024")
        timeout_value = _positive("timeout", timeout) or 0.0
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

    def secrets(self) -> tuple[str, str]:
        """The raw secret values, for scrubbing them out of anything we print."""
        return (self.api_key.reveal(), self.developer_secret.reveal())
