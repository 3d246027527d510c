"""The demo account: deterministic credentials and a seed that exercises every rule.

Every value derives from a seed string, so ``Emulator.demo()`` always has the same
API key, developer secret and ids, and ``Emulator.demo(seed="other")`` different ones.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence

import attrs

from zyntro_async.testing._store import Store

__all__ = ["DEFAULT_CUSTOM_FIELDS", "EmulatorCredentials", "seed_demo"]

DEFAULT_CUSTOM_FIELDS: Mapping[str, tuple[str, ...] | None] = {
    "industry": None,
    "company_size": ("1-10", "11-50", "50-200", "200+"),
    "lead_score": None,
    "lead_source": ("Website", "Referral", "Event", "Partner", "Other"),
    "region": None,
}
"""Custom fields of the demo organizations: tag to allowed options (``None``: any value)."""

_NAMESPACE = uuid.UUID("8f6a3d3e-5b43-4c1e-9a51-7d2b0c9e4a10")


@attrs.frozen
class EmulatorCredentials:
    """Credentials and ids of a demo emulator, under the API's field names.

    The first five attributes are what every request carries; :meth:`as_dict` returns
    exactly those. The others point at seed records that make each documented error
    reachable.

    Attributes:
        api_key: Key of the active user.
        developer_secret: Developer key whitelisted for loopback addresses.
        org_id: The main organization (B2B, storage configured, custom fields).
        brand_id: Brand of the main organization (``"1"``).
        member_id: A member of the main organization.
        other_members: Further members of the main organization.
        other_org_id: A second organization (B2C, no storage) the user may access.
        other_org_brand_id: Brand of the second organization.
        other_org_member_id: A member of the second organization only.
        no_access_org_id: An organization the user may not access.
        inactive_api_key: Key of a deactivated user.
        revoked_developer_secret: A revoked developer secret.
        restricted_developer_secret: A valid developer secret whose whitelist excludes
            loopback (every request with it gets "IP address not whitelisted").
    """

    api_key: str
    developer_secret: str
    org_id: str
    brand_id: str
    member_id: str
    other_members: tuple[str, ...]
    other_org_id: str
    other_org_brand_id: str
    other_org_member_id: str
    no_access_org_id: str
    inactive_api_key: str
    revoked_developer_secret: str
    restricted_developer_secret: str

    def as_dict(self) -> dict[str, str]:
        """Return the five base request fields.

        Returns:
            ``{"api_key", "developer_secret", "org_id", "brand_id", "member_id"}``.
        """
        return {
            "api_key": self.api_key,
            "developer_secret": self.developer_secret,
            "org_id": self.org_id,
            "brand_id": self.brand_id,
            "member_id": self.member_id,
        }

    def as_json(self) -> str:
        """Return :meth:`as_dict` as one line of JSON.

        Returns:
            The JSON text.
        """
        return json.dumps(self.as_dict())

    def __repr__(self) -> str:
        # Test output and logs must not carry the demo secrets either: same rule as the SDK.
        return (
            f"EmulatorCredentials(org_id={self.org_id!r}, brand_id={self.brand_id!r}, "
            f"member_id={self.member_id!r}, api_key=<redacted>, developer_secret=<redacted>)"
        )


def _uuid(seed: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{seed}:{name}"))


def _api_key(seed: str, name: str) -> str:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).hexdigest().upper()
    # Shaped like the documented "UYUJH-XXXXXXXXXXXX-XXXXXXXXXXXX-XXXXX".
    return f"UYUJH-DEMO-{digest[:12]}-{digest[12:24]}-{digest[24:29]}"


def _developer_secret(seed: str, name: str) -> str:
    return "zdk_demo_" + hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()[:32]


def seed_demo(
    store: Store,
    *,
    seed: str,
    custom_fields: Mapping[str, Sequence[str] | None] | None,
) -> EmulatorCredentials:
    """Seed ``store`` with the demo account.

    Args:
        store: The emulator's store.
        seed: The seed string all values derive from.
        custom_fields: Extra or overriding custom field definitions.

    Returns:
        The credentials.
    """
    fields: dict[str, Sequence[str] | None] = {**DEFAULT_CUSTOM_FIELDS, **(custom_fields or {})}
    credentials = EmulatorCredentials(
        api_key=_api_key(seed, "user"),
        developer_secret=_developer_secret(seed, "developer-key"),
        org_id=_uuid(seed, "org"),
        brand_id="1",
        member_id=_uuid(seed, "member-0"),
        other_members=tuple(_uuid(seed, f"member-{i}") for i in (1, 2, 3)),
        other_org_id=_uuid(seed, "other-org"),
        other_org_brand_id="7",
        other_org_member_id=_uuid(seed, "other-org-member-0"),
        no_access_org_id=_uuid(seed, "no-access-org"),
        inactive_api_key=_api_key(seed, "inactive-user"),
        revoked_developer_secret=_developer_secret(seed, "revoked-developer-key"),
        restricted_developer_secret=_developer_secret(seed, "restricted-developer-key"),
    )
    store.add_org(
        org_id=credentials.org_id,
        mode="B2B",
        storage=True,
        custom_fields=fields,
        brands=("1", "2"),
        members=(credentials.member_id, *credentials.other_members),
    )
    store.add_org(
        org_id=credentials.other_org_id,
        mode="B2C",
        storage=False,
        custom_fields=fields,
        brands=(credentials.other_org_brand_id,),
        members=(credentials.other_org_member_id, _uuid(seed, "other-org-member-1")),
    )
    store.add_org(
        org_id=credentials.no_access_org_id,
        members=(_uuid(seed, "no-access-org-member-0"),),
    )
    store.add_user(
        api_key=credentials.api_key,
        org_ids=(credentials.org_id, credentials.other_org_id),
    )
    store.add_user(
        api_key=credentials.inactive_api_key, active=False, org_ids=(credentials.org_id,)
    )
    store.add_developer_key(secret=credentials.developer_secret, whitelist=("127.0.0.0/8", "::1"))
    store.add_developer_key(secret=credentials.revoked_developer_secret, revoked=True)
    store.add_developer_key(
        secret=credentials.restricted_developer_secret, whitelist=("203.0.113.0/24",)
    )
    return credentials
