"""The emulator's facade: one :class:`Emulator` is one Zyntro account seen from outside.

It puts together the store (:mod:`._store`: seed and data), the endpoints' rules
(:mod:`._rules`, after the checks of :mod:`._auth`), the HTTP server (:mod:`._server`),
the request log (:mod:`._log`), the fault injector (:mod:`._faults`) and the rate
limiter (:mod:`._limits`), and offers the seeding and inspection methods tests use:

.. code-block:: python

    emu = Emulator.demo(limits=[TokenBucket(rate=300, burst=50)])
    async with emu.serve() as base_url:
        ...  # talk to base_url with the demo credentials in emu.credentials
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web

from zyntro_async.testing._demo import EmulatorCredentials, seed_demo
from zyntro_async.testing._faults import FaultInjector, FaultRule
from zyntro_async.testing._limits import Limit, RateLimiter
from zyntro_async.testing._log import RequestLog, RequestRecord
from zyntro_async.testing._rules import CrmRules
from zyntro_async.testing._server import ApiServer
from zyntro_async.testing._state import (
    DeveloperKey,
    Org,
    StoredAttachment,
    StoredComms,
    StoredContact,
    StoredEntity,
    StoredNote,
    User,
)
from zyntro_async.testing._store import Store

if TYPE_CHECKING:
    from zyntro_async import ZyntroClient

__all__ = ["Emulator"]


class Emulator:
    """A stateful fake of the documented Zyntro API.

    Args:
        faults: Fault rules active from the start (more can be added with
            ``emulator.faults.add(...)``).
        limits: Rate limits active from the start (:class:`TokenBucket`,
            :class:`ConcurrencyCap`, :class:`WindowQuota`); change them while serving
            with :meth:`set_limits` or ``emulator.limits``.
        seed: Seed of the fault injector's random generator and of generated ids.
        clock: Monotonic seconds the rate limits read (default ``time.monotonic``);
            inject one for exact, reproducible limits.
        wall_clock: The server's clock, epoch seconds (default ``time.time``): the
            ``Retry-After`` dates, and once injected the ``Date`` header of every answer
            (``lambda: time.time() + 3600``: a server whose clock is an hour ahead).
        spill_threshold: JSON strings longer than this many bytes are kept on disk
            while a request is handled.
        log_limit: Most recent requests kept in :attr:`requests` (``None``: all; each
            record takes about 1 KB). :attr:`request_counts` counts them all regardless.
        on_request: Called with each :class:`RequestRecord` as it is logged.
    """

    def __init__(
        self,
        *,
        faults: Iterable[FaultRule] = (),
        limits: Iterable[Limit] = (),
        seed: int | str = 0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        spill_threshold: int = 256 * 1024,
        log_limit: int | None = 10_000,
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        self.faults = FaultInjector(faults, seed=seed)
        """The fault injector: ``add()``, ``remove()``, ``clear()``, ``fired``."""
        self.limits = RateLimiter(limits, clock=clock, wall_clock=wall_clock)
        """The rate limiter: ``set()``, ``add()``, ``remove()``, ``clear()``, ``refused``."""
        self._store = Store(id_seed=seed)
        self._rules = CrmRules(self._store, blob_dir=self._storage_dir)
        self._log = RequestLog(limit=log_limit, on_request=on_request)
        self._server = ApiServer(
            rules=self._rules,
            faults=self.faults,
            limits=self.limits,
            log=self._log,
            storage_dir=self._storage_dir,
            spill_threshold=spill_threshold,
        )
        self._credentials: EmulatorCredentials | None = None
        self._tempdir: Path | None = None
        self._tempdir_finalizer: weakref.finalize[Any, Any] | None = None

    # ------------------------------------------------------------------ seed

    @classmethod
    def demo(
        cls,
        *,
        seed: str = "demo",
        custom_fields: Mapping[str, Sequence[str] | None] | None = None,
        faults: Iterable[FaultRule] = (),
        limits: Iterable[Limit] = (),
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> Emulator:
        """Return an emulator seeded with a ready-to-use demo account.

        The account has an active user and developer key (whitelisted for loopback),
        an inactive user, a revoked key, a key whose whitelist excludes loopback, a B2B
        organization with storage, brand ``"1"``, four members and custom fields
        (``industry``, ``company_size`` with options, ``lead_score``, ...), a second
        organization (B2C, no storage) the user may access with its own members, and a
        third organization the user may not access. :attr:`credentials` names them all.

        Args:
            seed: Credentials and ids derive from it: the same seed, the same values.
            custom_fields: Extra custom field definitions for both accessible orgs: tag
                to allowed options (``None`` for free values). Overrides defaults.
            faults: Initial fault rules.
            limits: Initial rate limits.
            clock: Monotonic seconds for the rate limits.
            wall_clock: The server's clock, for ``Retry-After`` dates and ``Date``.
            on_request: Called with each :class:`RequestRecord`.

        Returns:
            The seeded emulator (not serving yet).
        """
        emulator = cls(
            faults=faults,
            limits=limits,
            seed=seed,
            clock=clock,
            wall_clock=wall_clock,
            on_request=on_request,
        )
        emulator._credentials = seed_demo(emulator._store, seed=seed, custom_fields=custom_fields)
        return emulator

    @property
    def credentials(self) -> EmulatorCredentials:
        """The demo account's credentials and ids (only for :meth:`demo` emulators).

        Raises:
            LookupError: The emulator was not built with :meth:`demo`.
        """
        if self._credentials is None:
            raise LookupError("credentials exist only on emulators built with Emulator.demo()")
        return self._credentials

    def add_user(self, *, api_key: str, active: bool = True, org_ids: Iterable[str] = ()) -> User:
        """Seed a user.

        Args:
            api_key: The user's API key.
            active: ``False`` for a deactivated user.
            org_ids: Organizations the user may act in.

        Returns:
            The user record (mutable).
        """
        return self._store.add_user(api_key=api_key, active=active, org_ids=org_ids)

    def add_developer_key(
        self, *, secret: str, whitelist: Sequence[str] | None = None, revoked: bool = False
    ) -> DeveloperKey:
        """Seed a developer key.

        Args:
            secret: The ``developer_secret``.
            whitelist: Allowed peer addresses, exact (``"127.0.0.1"``) or CIDR
                (``"10.0.0.0/8"``); ``None`` allows any address.
            revoked: ``True`` for a revoked key.

        Returns:
            The key record (mutable).
        """
        return self._store.add_developer_key(secret=secret, whitelist=whitelist, revoked=revoked)

    def add_org(
        self,
        *,
        org_id: str,
        mode: Literal["B2B", "B2C"] = "B2B",
        storage: bool = True,
        custom_fields: Mapping[str, Sequence[str] | None] | None = None,
        brands: Iterable[str] = ("1",),
        members: Iterable[str] = (),
    ) -> Org:
        """Seed an organization.

        Args:
            org_id: The organization id.
            mode: ``"B2B"`` (contacts get entities) or ``"B2C"``.
            storage: Whether file storage is configured.
            custom_fields: Tag to allowed options (``None`` for free values).
            brands: Brand ids.
            members: Member ids.

        Returns:
            The organization record (mutable).
        """
        return self._store.add_org(
            org_id=org_id,
            mode=mode,
            storage=storage,
            custom_fields=custom_fields,
            brands=brands,
            members=members,
        )

    def add_member(self, *, org_id: str, member_id: str) -> None:
        """Add a member to an organization.

        Args:
            org_id: The organization.
            member_id: The new member.
        """
        self._store.orgs[org_id].members.add(member_id)

    def grant_access(self, *, api_key: str, org_id: str) -> None:
        """Let a user's API key act in an organization.

        Args:
            api_key: The user's key.
            org_id: The organization.
        """
        self._store.users[api_key].org_ids.add(org_id)

    def add_custom_field(
        self, *, org_id: str, tag: str, options: Sequence[str] | None = None
    ) -> None:
        """Define a custom field in an organization.

        Args:
            org_id: The organization.
            tag: The field's key in ``customFields``.
            options: Allowed values, or ``None`` for any value.
        """
        self._store.orgs[org_id].custom_fields[tag] = None if options is None else tuple(options)

    def add_contact(
        self,
        *,
        org_id: str | None = None,
        owner_id: str | None = None,
        fields: Mapping[str, Any],
        entity_id: str | None = None,
        contact_id: str | None = None,
    ) -> StoredContact:
        """Create a contact directly, without a request (and without counting it applied).

        Args:
            org_id: Organization; defaults to the demo org.
            owner_id: Owning member; defaults to the demo member.
            fields: Wire (camelCase) contact fields, e.g. ``{"firstName": "Jane"}``.
            entity_id: Entity to link.
            contact_id: The id to give it (e.g. one from the API docs); generated when
                ``None``.

        Returns:
            The stored contact.

        Raises:
            ValueError: A contact with ``contact_id`` exists already.
        """
        return self._store.store_contact(
            org_id=org_id or self.credentials.org_id,
            owner_id=owner_id or self.credentials.member_id,
            fields=fields,
            entity_id=entity_id,
            contact_id=contact_id,
        )

    def add_note(
        self,
        *,
        contact_id: str,
        content: str,
        visible: bool = False,
        editable: bool = False,
        note_id: str | None = None,
    ) -> StoredNote:
        """Create a note directly (written by the contact's owner; not counted applied).

        Args:
            contact_id: The contact.
            content: The note text.
            visible: ``note_visibility`` 1 when ``True``.
            editable: ``note_editable`` 1 when ``True``.
            note_id: The id to give it, any text (e.g. one from the API docs);
                generated when ``None``.

        Returns:
            The stored note.

        Raises:
            KeyError: No such contact.
            ValueError: A note with ``note_id`` exists already.
        """
        return self._store.store_note(
            contact_id=contact_id,
            content=content,
            visibility=int(visible),
            editable=int(editable),
            note_id=note_id,
        )

    def add_attachment(
        self,
        *,
        contact_id: str,
        att_type: Literal["link", "file"] = "link",
        name: str | None = None,
        link_url: str | None = None,
        data: bytes | None = None,
        file_type: str | None = None,
        context: str | None = None,
        att_id: str | None = None,
        member_id: str | None = None,
    ) -> StoredAttachment:
        """Create an attachment directly (not counted applied).

        The docs' own ``att_id`` (``d4e5f6a7-b8c9-0123-defg-456789012345``) is not
        hex; seeding it here lets a test update or delete it as the docs do.

        Args:
            contact_id: The contact.
            att_type: ``"link"`` or ``"file"``.
            name: ``att_name``.
            link_url: For links, the URL.
            data: For files, the content.
            file_type: For files, the MIME type.
            context: ``att_context``.
            att_id: The id to give it, any text; generated when ``None``.
            member_id: The creating member; defaults to the contact's owner.

        Returns:
            The stored attachment.

        Raises:
            KeyError: No such contact.
            ValueError: An attachment with ``att_id`` exists already.
        """
        contact = self._store.contacts[contact_id]
        att_id = att_id or self._store.new_id()
        if att_id in self._store.attachments:
            raise ValueError(f"attachment {att_id!r} already exists")
        path: Path | None = None
        if att_type == "file":
            path = self._store.blob_path(self._storage_dir(), att_id)
            path.write_bytes(data or b"")
        return self._store.store_attachment(
            StoredAttachment(
                att_id=att_id,
                org_id=contact.org_id,
                contact_id=contact_id,
                member_id=member_id or contact.owner_id,
                att_type=att_type,
                name=name,
                link_url=link_url,
                file_type=file_type,
                context=context,
                path=path,
                size=len(data or b""),
            )
        )

    # ---------------------------------------------------------------- limits

    def set_limits(self, *limits: Limit) -> None:
        """Replace the rate limits, also while serving (none given: no limit).

        New limits start with fresh state (a full bucket, an empty window); requests
        already in flight still count against a new :class:`ConcurrencyCap`.

        Args:
            limits: E.g. ``TokenBucket(rate=150, burst=25)`` to halve a 300/s limit.
        """
        self.limits.set(*limits)

    # ------------------------------------------------------------ inspection

    @property
    def users(self) -> dict[str, User]:
        """Seeded users by API key."""
        return self._store.users

    @property
    def developer_keys(self) -> dict[str, DeveloperKey]:
        """Seeded developer keys by secret."""
        return self._store.developer_keys

    @property
    def orgs(self) -> dict[str, Org]:
        """Seeded organizations by id."""
        return self._store.orgs

    @property
    def contacts(self) -> list[StoredContact]:
        """Contacts, oldest first."""
        return list(self._store.contacts.values())

    @property
    def entities(self) -> list[StoredEntity]:
        """Entities, oldest first."""
        return list(self._store.entities.values())

    @property
    def notes(self) -> list[StoredNote]:
        """Notes, oldest first."""
        return list(self._store.notes.values())

    @property
    def attachments(self) -> list[StoredAttachment]:
        """Attachments not deleted, oldest first."""
        return list(self._store.attachments.values())

    @property
    def comms(self) -> list[StoredComms]:
        """Communication history entries, oldest first."""
        return list(self._store.comms.values())

    def contact(self, contact_id: str) -> StoredContact:
        """Return a contact by id.

        Args:
            contact_id: The id.

        Returns:
            The contact.

        Raises:
            KeyError: No such contact.
        """
        return self._store.contacts[contact_id]

    def find_contact(self, *, email: str, org_id: str | None = None) -> StoredContact | None:
        """Return the contact with this ``primaryEmail`` (case-insensitive), if any.

        Args:
            email: The e-mail address.
            org_id: Organization; any organization when ``None``.

        Returns:
            The contact or ``None``.
        """
        for contact in self._store.contacts.values():
            if (contact.primary_email or "").lower() == email.lower() and (
                org_id is None or contact.org_id == org_id
            ):
                return contact
        return None

    def attachment(self, att_id: str) -> StoredAttachment:
        """Return a live attachment by id.

        Args:
            att_id: The id.

        Returns:
            The attachment.

        Raises:
            KeyError: No such attachment (or it was deleted).
        """
        return self._store.attachments[att_id]

    @property
    def requests(self) -> list[RequestRecord]:
        """The request log, oldest first."""
        return list(self._log.records)

    @property
    def request_counts(self) -> Counter[str]:
        """How many requests arrived, by endpoint, whatever their outcome (never trimmed).

        With :attr:`applied`, it tells retries apart from writes: a request retried after
        a reset shows up twice here and once in :attr:`applied`.
        """
        return self._log.by_endpoint

    @property
    def status_counts(self) -> Counter[int | None]:
        """Responses by HTTP status, ``None`` for reset connections (never trimmed).

        ``status_counts[429]`` counts every 429: rate limits and the ``RateLimited``
        fault alike; :attr:`rate_limited` counts the limits' alone.
        """
        return self._log.by_status

    @property
    def rate_limited(self) -> Counter[str]:
        """Requests refused by a rate limit, by endpoint (never trimmed; never applied)."""
        return self._log.rate_limited

    @property
    def applied(self) -> Counter[str]:
        """How many requests changed state, by endpoint (``"crm/addNotestoContact"``).

        A request that was rejected, faulted before applying, or only read data is not
        counted; one applied and then reset *is*. Tests use it to prove exactly-once.
        """
        return self._store.applied

    @property
    def applied_detail(self) -> Counter[tuple[str, str]]:
        """Applied requests by ``(endpoint, action)``: ``("crm/addContactsFull", "created")``,
        ``"updated"``; notes ``"created"``/``"updated"``; attachments ``"inserted"``,
        ``"updated"``, ``"deleted"``; comms ``"logged"``."""
        return self._store.applied_detail

    def stats(self) -> dict[str, Any]:
        """Counts for benchmarks, JSON-ready; also served at ``GET /_emulator/stats``.

        Returns:
            ``requests``, ``applied`` (goodput), ``rate_limited``, ``status_counts`` (by
            HTTP status as text, ``"reset"`` for reset connections), ``in_flight``,
            ``requests_by_endpoint`` and ``applied_by_endpoint``.
        """
        return self._server.stats()

    def reset(self) -> None:
        """Clear data, the request log and counts, faults and rate limits; keep the seed."""
        self._store.reset_data()
        self._log.clear()
        self.faults.clear()
        self.limits.clear()

    # --------------------------------------------------------------- serving

    @property
    def base_url(self) -> str:
        """The URL the emulator serves, e.g. ``http://127.0.0.1:43121``.

        Raises:
            RuntimeError: The emulator is not serving.
        """
        if self._server.base_url is None:
            raise RuntimeError("the emulator is not serving; use start() or serve()")
        return self._server.base_url

    def make_app(self) -> web.Application:
        """Return an ``aiohttp.web.Application`` serving this emulator.

        Useful with aiohttp's own test utilities; :meth:`serve` uses it too.

        Returns:
            The application.
        """
        return self._server.make_app()

    async def start(self, *, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving.

        Args:
            host: Address to bind; loopback by default.
            port: Port to bind; ``0`` picks a free one.

        Returns:
            The base URL to give clients.

        Raises:
            RuntimeError: Already serving.
        """
        return await self._server.start(host=host, port=port)

    async def stop(self) -> None:
        """Stop serving (idempotent). In-flight stalls end at once; data is kept."""
        await self._server.stop()

    async def close(self) -> None:
        """Stop serving and delete the emulator's temporary files (idempotent).

        Records stay inspectable, but the contents of file attachments are gone.
        """
        await self.stop()
        if self._tempdir_finalizer is not None:
            self._tempdir_finalizer()
            self._tempdir_finalizer = None
            self._tempdir = None

    @contextlib.asynccontextmanager
    async def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve for the duration of an ``async with`` block.

        Args:
            host: Address to bind; loopback by default.
            port: Port to bind; ``0`` picks a free one.

        Returns:
            An async context manager yielding the base URL.
        """
        base_url = await self.start(host=host, port=port)
        try:
            yield base_url
        finally:
            await self.stop()

    def client(self, **overrides: Any) -> ZyntroClient:
        """Return a ``zyntro_async.ZyntroClient`` connected to this emulator.

        Uses :attr:`credentials` and :attr:`base_url`; the caller closes the client
        (``async with emulator.client() as zy: ...``).

        Args:
            overrides: Keyword arguments for ``ZyntroClient`` replacing the defaults,
                e.g. ``timeout=1.0`` or ``member_id=...``.

        Returns:
            The client.
        """
        # Imported here: the testing package must not need the SDK core to import.
        from zyntro_async import ZyntroClient

        params: dict[str, Any] = {**self.credentials.as_dict(), "base_url": self.base_url}
        # The emulator is on this machine: a proxy from the environment (HTTPS_PROXY on a
        # corporate laptop) must not be asked to reach it.
        params["trust_env"] = False
        params.update(overrides)
        return ZyntroClient(**params)

    def _storage_dir(self) -> Path:
        if self._tempdir is None:
            path = Path(tempfile.mkdtemp(prefix="zyntro-emulator-"))
            self._tempdir = path
            # Also removed at garbage collection or exit if close() is never called.
            self._tempdir_finalizer = weakref.finalize(self, shutil.rmtree, path, True)
        return self._tempdir
