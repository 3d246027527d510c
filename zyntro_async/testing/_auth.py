"""Who is calling: the credential and scope checks every endpoint runs first.

In the order the API applies them:

1. ``api_key``: missing, unknown, user inactive.
2. ``developer_secret``: missing, unknown or revoked.
3. The developer key's IP whitelist against the peer address.
4. ``org_id``: missing, then access of the key's user to the org.
5. ``member_id`` (where the endpoint needs one): missing, then membership.

The five pages word the same rule differently; each endpoint answers with its own
page's text (``_messages.WORDING``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import zyntro_async.testing._messages as msg
from zyntro_async.testing._messages import WORDING, Rejected
from zyntro_async.testing._state import Org
from zyntro_async.testing._store import Store

__all__ = ["authenticate", "ident", "require_member"]


def ident(value: Any) -> str | None:
    """An identifier from the body, or ``None`` when missing or empty.

    Numbers are accepted as their decimal text (``brand_id`` is "numeric"); any other
    type becomes text that matches nothing, so it is reported as unknown, not missing.

    Args:
        value: The body's value.

    Returns:
        The identifier's text, or ``None``.
    """
    if value is None or value is False:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value)


def authenticate(store: Store, endpoint: str, body: Mapping[str, Any], peer: str | None) -> Org:
    """Run the credential, whitelist and organization checks.

    Args:
        store: The account's store.
        endpoint: One of :data:`ENDPOINTS`, for its wording.
        body: The decoded JSON body.
        peer: The peer address, for the IP whitelist.

    Returns:
        The organization the request acts in.

    Raises:
        Rejected: A check failed.
    """
    wording = WORDING[endpoint]
    api_key = ident(body.get("api_key"))
    if api_key is None:
        raise Rejected(wording.missing_api_key)
    user = store.users.get(api_key)
    if user is None:
        raise Rejected(wording.invalid_api_key)
    if not user.active:
        raise Rejected(msg.USER_NOT_ACTIVE)
    secret = ident(body.get("developer_secret"))
    if secret is None:
        raise Rejected(msg.MISSING_DEVELOPER_SECRET)
    key = store.developer_keys.get(secret)
    if key is None or key.revoked:
        raise Rejected(msg.INVALID_DEVELOPER_SECRET)
    if not key.allows(peer):
        raise Rejected(msg.IP_NOT_WHITELISTED)
    org_id = ident(body.get("org_id"))
    if org_id is None:
        raise Rejected(wording.missing_org)
    org = store.orgs.get(org_id)
    if org is None or org_id not in user.org_ids:
        raise Rejected(msg.NO_ORG_ACCESS)
    return org


def require_member(body: Mapping[str, Any], org: Org, endpoint: str) -> str:
    """The request's ``member_id``, which must be a member of ``org``.

    Args:
        body: The decoded JSON body.
        org: The organization.
        endpoint: For its wording of "missing".

    Returns:
        The member id.

    Raises:
        Rejected: Missing, or not a member.
    """
    member_id = ident(body.get("member_id"))
    if member_id is None:
        raise Rejected(WORDING[endpoint].missing_member)
    if member_id not in org.members:
        raise Rejected(msg.MEMBER_NOT_FOUND)
    return member_id
