"""The emulator: the documented Zyntro API served by aiohttp.web from in-memory state.

One :class:`Emulator` is one Zyntro account as seen from outside: seed data (users,
developer keys, organizations), the data written through the API, a request log and a
fault injector. It serves ``POST /apis/v2/public/{module}/{action}`` on a loopback port:

.. code-block:: python

    emu = Emulator.demo()
    async with emu.serve() as base_url:
        ...  # talk to base_url with the demo credentials in emu.credentials
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import shutil
import socket
import struct
import tempfile
import time
import weakref
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.streams import StreamReader

from zyntro_async.testing._bodies import (
    CHUNK_SIZE,
    BodyError,
    SpilledString,
    parse_json_stream,
)
from zyntro_async.testing._demo import EmulatorCredentials, seed_demo
from zyntro_async.testing._faults import (
    FaultDecision,
    FaultInjector,
    FaultRule,
    Malformed,
    RateLimited,
    ResetAfterApply,
    ResetBeforeApply,
    ServerFailure,
    Stall,
)
from zyntro_async.testing._rules import ENDPOINTS, CrmRules, Rejected
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

if TYPE_CHECKING:
    from zyntro_async import ZyntroClient

__all__ = ["Emulator", "RequestRecord"]

logger = logging.getLogger("zyntro_async.testing")

API_PREFIX = "/apis/v2/public"
_SECRET_KEYS = frozenset({"api_key", "developer_secret"})
_SUMMARY_TEXT_LIMIT = 120

_HTML_STATUS_TEXT = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                     504: "Gateway Timeout"}  # fmt: skip


@attrs.frozen
class RequestRecord:
    """One request as the emulator saw it.

    Attributes:
        seq: 1-based arrival number.
        method: HTTP method.
        endpoint: ``"crm/addContactsFull"`` style name, or the raw path when unknown.
        peer: Peer address.
        http_status: Status sent, or ``None`` when the connection was reset instead.
        outcome: ``"success"``, ``"error"`` (an error envelope), ``"rejected"`` (400,
            404 or 405), ``"fault"`` (an injected fault answered), ``"disconnected"``
            (the client left before its whole body arrived) or ``"internal_error"``.
        messages: The error envelope's messages, if any.
        applied: Whether the request changed the emulator's state.
        faults: Names of the injected faults involved (``"latency"``, ``"stall"``, ...).
        body: A redacted summary of the body: credentials masked, long strings cut.
        duration: Seconds spent handling the request.
    """

    seq: int
    method: str
    endpoint: str
    peer: str | None
    http_status: int | None
    outcome: str
    messages: tuple[str, ...] = ()
    applied: bool = False
    faults: tuple[str, ...] = ()
    body: Mapping[str, Any] = attrs.field(factory=dict)
    duration: float = 0.0


@attrs.define
class _Answer:
    """How a request ends: a response, or a reset connection."""

    status: int | None
    outcome: str
    payload: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = attrs.Factory(dict)
    messages: tuple[str, ...] = ()
    applied: bool = False


def _envelope(status: int, outcome: str, messages: Sequence[str], **headers: str) -> _Answer:
    payload = json.dumps({"status": "error", "data": list(messages)}).encode()
    return _Answer(status, outcome, payload, headers=dict(headers), messages=tuple(messages))


def summarize_body(body: Any, *, key: str | None = None) -> Any:
    """Return a log-safe summary of a request body.

    Credentials are masked, base64 payloads and long strings are replaced by their
    length, so the log never holds a secret or a large upload.

    Args:
        body: A decoded body or a value inside it.
        key: The key ``body`` was found under.

    Returns:
        The summary.
    """
    if key in _SECRET_KEYS:
        return "<redacted>" if isinstance(body, str) and body else body
    if isinstance(body, SpilledString):
        return f"<{body.size} chars>"
    if isinstance(body, str):
        if key == "file_data":
            return f"<{len(body)} chars>"
        if len(body) > _SUMMARY_TEXT_LIMIT:
            return body[:_SUMMARY_TEXT_LIMIT] + f"... <{len(body)} chars>"
        return body
    if isinstance(body, dict):
        return {k: summarize_body(v, key=k) for k, v in body.items()}
    if isinstance(body, list):
        head = [summarize_body(v) for v in body[:20]]
        return [*head, f"... <{len(body)} items>"] if len(body) > 20 else head
    return body


class Emulator:
    """A stateful fake of the documented Zyntro API.

    Args:
        faults: Fault rules active from the start (more can be added with
            ``emulator.faults.add(...)``).
        seed: Seed of the fault injector's random generator and of generated ids.
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
        seed: int | str = 0,
        spill_threshold: int = 256 * 1024,
        log_limit: int | None = 10_000,
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        self.faults = FaultInjector(faults, seed=seed)
        """The fault injector: ``add()``, ``remove()``, ``clear()``, ``fired``."""
        self._rules = CrmRules(blob_dir=self._storage_dir, id_seed=seed)
        self._spill_threshold = spill_threshold
        self._log: deque[RequestRecord] = deque(maxlen=log_limit)
        self._seq = 0
        self._request_counts: Counter[str] = Counter()
        self._on_request = on_request
        self._credentials: EmulatorCredentials | None = None
        self._tempdir: Path | None = None
        self._tempdir_finalizer: weakref.finalize[Any, Any] | None = None
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._closing: asyncio.Event | None = None

    # ------------------------------------------------------------------ seed

    @classmethod
    def demo(
        cls,
        *,
        seed: str = "demo",
        custom_fields: Mapping[str, Sequence[str] | None] | None = None,
        faults: Iterable[FaultRule] = (),
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
            on_request: Called with each :class:`RequestRecord`.

        Returns:
            The seeded emulator (not serving yet).
        """
        emulator = cls(faults=faults, seed=seed, on_request=on_request)
        emulator._credentials = seed_demo(emulator, seed=seed, custom_fields=custom_fields)
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
        user = User(api_key=api_key, active=active, org_ids=set(org_ids))
        self._rules.users[api_key] = user
        return user

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
        key = DeveloperKey(secret=secret, whitelist=whitelist, revoked=revoked)
        self._rules.developer_keys[secret] = key
        return key

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
        org = Org(
            org_id=org_id,
            mode=mode,
            storage=storage,
            custom_fields={
                tag: None if options is None else tuple(options)
                for tag, options in (custom_fields or {}).items()
            },
            brands=set(brands),
            members=set(members),
        )
        self._rules.orgs[org_id] = org
        return org

    def add_member(self, *, org_id: str, member_id: str) -> None:
        """Add a member to an organization.

        Args:
            org_id: The organization.
            member_id: The new member.
        """
        self._rules.orgs[org_id].members.add(member_id)

    def grant_access(self, *, api_key: str, org_id: str) -> None:
        """Let a user's API key act in an organization.

        Args:
            api_key: The user's key.
            org_id: The organization.
        """
        self._rules.users[api_key].org_ids.add(org_id)

    def add_custom_field(
        self, *, org_id: str, tag: str, options: Sequence[str] | None = None
    ) -> None:
        """Define a custom field in an organization.

        Args:
            org_id: The organization.
            tag: The field's key in ``customFields``.
            options: Allowed values, or ``None`` for any value.
        """
        self._rules.orgs[org_id].custom_fields[tag] = None if options is None else tuple(options)

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
        return self._rules.store_contact(
            org_id=org_id or self.credentials.org_id,
            owner_id=owner_id or self.credentials.member_id,
            fields=fields,
            entity_id=entity_id,
            contact_id=contact_id,
        )

    # ------------------------------------------------------------ inspection

    @property
    def users(self) -> dict[str, User]:
        """Seeded users by API key."""
        return self._rules.users

    @property
    def developer_keys(self) -> dict[str, DeveloperKey]:
        """Seeded developer keys by secret."""
        return self._rules.developer_keys

    @property
    def orgs(self) -> dict[str, Org]:
        """Seeded organizations by id."""
        return self._rules.orgs

    @property
    def contacts(self) -> list[StoredContact]:
        """Contacts, oldest first."""
        return list(self._rules.contacts.values())

    @property
    def entities(self) -> list[StoredEntity]:
        """Entities, oldest first."""
        return list(self._rules.entities.values())

    @property
    def notes(self) -> list[StoredNote]:
        """Notes, oldest first."""
        return list(self._rules.notes.values())

    @property
    def attachments(self) -> list[StoredAttachment]:
        """Attachments not deleted, oldest first."""
        return list(self._rules.attachments.values())

    @property
    def comms(self) -> list[StoredComms]:
        """Communication history entries, oldest first."""
        return list(self._rules.comms.values())

    def contact(self, contact_id: str) -> StoredContact:
        """Return a contact by id.

        Args:
            contact_id: The id.

        Returns:
            The contact.

        Raises:
            KeyError: No such contact.
        """
        return self._rules.contacts[contact_id]

    def find_contact(self, *, email: str, org_id: str | None = None) -> StoredContact | None:
        """Return the contact with this ``primaryEmail`` (case-insensitive), if any.

        Args:
            email: The e-mail address.
            org_id: Organization; any organization when ``None``.

        Returns:
            The contact or ``None``.
        """
        for contact in self._rules.contacts.values():
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
        return self._rules.attachments[att_id]

    @property
    def requests(self) -> list[RequestRecord]:
        """The request log, oldest first."""
        return list(self._log)

    @property
    def request_counts(self) -> Counter[str]:
        """How many requests arrived, by endpoint, whatever their outcome (never trimmed).

        With :attr:`applied`, it tells retries apart from writes: a request retried after
        a reset shows up twice here and once in :attr:`applied`.
        """
        return self._request_counts

    @property
    def applied(self) -> Counter[str]:
        """How many requests changed state, by endpoint (``"crm/addNotestoContact"``).

        A request that was rejected, faulted before applying, or only read data is not
        counted; one applied and then reset *is*. Tests use it to prove exactly-once.
        """
        return self._rules.applied

    @property
    def applied_detail(self) -> Counter[tuple[str, str]]:
        """Applied requests by ``(endpoint, action)``: ``("crm/addContactsFull", "created")``,
        ``"updated"``; notes ``"created"``/``"updated"``; attachments ``"inserted"``,
        ``"updated"``, ``"deleted"``; comms ``"logged"``."""
        return self._rules.applied_detail

    def reset(self) -> None:
        """Clear data, the request log, request and applied counts and faults; keep the seed."""
        self._rules.reset_data()
        self._log.clear()
        self._seq = 0
        self._request_counts.clear()
        self.faults.clear()

    # --------------------------------------------------------------- serving

    @property
    def base_url(self) -> str:
        """The URL the emulator serves, e.g. ``http://127.0.0.1:43121``.

        Raises:
            RuntimeError: The emulator is not serving.
        """
        if self._base_url is None:
            raise RuntimeError("the emulator is not serving; use start() or serve()")
        return self._base_url

    def make_app(self) -> web.Application:
        """Return an ``aiohttp.web.Application`` serving this emulator.

        Useful with aiohttp's own test utilities; :meth:`serve` uses it too.

        Returns:
            The application.
        """
        # Uploads are streamed to disk, never read whole: no size limit is needed.
        app = web.Application(client_max_size=1 << 62)
        app.router.add_route("*", API_PREFIX + "/{module}/{action}", self._handle_api)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        return app

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
        if self._runner is not None:
            raise RuntimeError("the emulator is already serving at " + self.base_url)
        self._closing = asyncio.Event()
        # A short shutdown timeout: stalled requests must not hold up a test's teardown.
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        self._base_url = _url_for(bound_host, bound_port)
        return self._base_url

    async def stop(self) -> None:
        """Stop serving (idempotent). In-flight stalls end at once; data is kept."""
        runner, self._runner = self._runner, None
        self._base_url = None
        if runner is None:
            return
        if self._closing is not None:
            self._closing.set()
        await runner.cleanup()

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

    # -------------------------------------------------------------- handling

    def _storage_dir(self) -> Path:
        if self._tempdir is None:
            path = Path(tempfile.mkdtemp(prefix="zyntro-emulator-"))
            self._tempdir = path
            # Also removed at garbage collection or exit if close() is never called.
            self._tempdir_finalizer = weakref.finalize(self, shutil.rmtree, path, True)
        return self._tempdir

    async def _handle_unknown(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        endpoint = path[len(API_PREFIX) + 1 :] if path.startswith(API_PREFIX + "/") else path
        answer = _envelope(404, "rejected", [f"Unknown endpoint: {endpoint}"])
        return self._respond(request, endpoint=endpoint, answer=answer, started=time.monotonic())

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        endpoint = f"{request.match_info['module']}/{request.match_info['action']}"
        if endpoint not in ENDPOINTS:
            answer = _envelope(404, "rejected", [f"Unknown endpoint: {endpoint}"])
            return self._respond(request, endpoint=endpoint, answer=answer, started=started)
        if request.method != "POST":
            answer = _envelope(
                405, "rejected", [f"Method {request.method} not allowed: use POST"], Allow="POST"
            )
            return self._respond(request, endpoint=endpoint, answer=answer, started=started)

        not_an_object = _envelope(400, "rejected", ["Request body must be a JSON object"])
        try:
            body, spilled = await parse_json_stream(
                _received_body(request.content),
                spill_dir=self._storage_dir(),
                threshold=self._spill_threshold,
            )
        except BodyError:
            return self._respond(request, endpoint=endpoint, answer=not_an_object, started=started)
        except (ConnectionError, HttpProcessingError):
            # The client went away (or broke the framing) before its body was complete:
            # a real server cannot apply half a request, and there is no one to answer.
            gone = _Answer(None, "disconnected")
            return self._respond(request, endpoint=endpoint, answer=gone, started=started)
        try:
            if not isinstance(body, dict):
                return self._respond(
                    request, endpoint=endpoint, answer=not_an_object, started=started
                )
            # Faults are drawn only for well-formed requests, in arrival order.
            decision = self.faults.decide(endpoint)
            if decision.latency_ms:
                await self._wait(decision.latency_ms / 1000)
            body = _materialize_text(body)
            answer = await self._answer(request, endpoint, body, decision)
            return self._respond(
                request,
                endpoint=endpoint,
                answer=answer,
                started=started,
                decision=decision,
                body=body,
            )
        finally:
            for spill in spilled:
                spill.path.unlink(missing_ok=True)

    async def _answer(
        self,
        request: web.Request,
        endpoint: str,
        body: dict[str, Any],
        decision: FaultDecision,
    ) -> _Answer:
        fault = decision.fault
        if isinstance(fault, RateLimited):
            return _envelope(
                429, "fault", ["Too many requests"], **{"Retry-After": str(int(fault.retry_after))}
            )
        if isinstance(fault, ResetBeforeApply):
            return _Answer(None, "fault")
        if isinstance(fault, ServerFailure):
            applied = (
                (await self._apply(endpoint, body, request.remote)).applied
                if fault.apply
                else False
            )
            answer = _failure_body(fault)
            answer.applied = applied
            return answer
        if isinstance(fault, ResetAfterApply):
            result = await self._apply(endpoint, body, request.remote)
            return _Answer(None, "fault", messages=result.messages, applied=result.applied)
        if isinstance(fault, Stall):
            interrupted = await self._wait(fault.seconds)
            if interrupted or fault.then == "drop":
                return _Answer(None, "fault")
            result = await self._apply(endpoint, body, request.remote)
            if fault.then == "apply":
                return _Answer(None, "fault", messages=result.messages, applied=result.applied)
            return result
        if isinstance(fault, Malformed):
            applied = (
                (await self._apply(endpoint, body, request.remote)).applied
                if fault.apply
                else False
            )
            answer = _malformed_body(fault)
            answer.applied = applied
            return answer
        return await self._apply(endpoint, body, request.remote)

    async def _apply(self, endpoint: str, body: dict[str, Any], peer: str | None) -> _Answer:
        before = self._rules.applied[endpoint]
        try:
            data = await self._rules.handle(endpoint, body, peer)
        except Rejected as rejected:
            return _envelope(200, "error", rejected.messages)
        except Exception as exc:
            # A bug in the emulator, not an API answer: make it loud and visible.
            logger.exception("emulator failed on %s", endpoint)
            answer = _envelope(500, "internal_error", [f"Emulator internal error: {exc!r}"])
            answer.applied = self._rules.applied[endpoint] != before
            return answer
        payload = json.dumps({"status": "success", "data": data}).encode()
        return _Answer(200, "success", payload, applied=self._rules.applied[endpoint] != before)

    async def _wait(self, seconds: float) -> bool:
        """Sleep, but wake up when the emulator stops; returns ``True`` if it stopped."""
        closing = self._closing
        if closing is None:  # served through make_app() by someone else
            await asyncio.sleep(seconds)
            return False
        try:
            await asyncio.wait_for(closing.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return False
        return True

    def _respond(
        self,
        request: web.Request,
        *,
        endpoint: str,
        answer: _Answer,
        started: float,
        decision: FaultDecision | None = None,
        body: Any = None,
    ) -> web.StreamResponse:
        self._seq += 1
        self._request_counts[endpoint] += 1
        record = RequestRecord(
            seq=self._seq,
            method=request.method,
            endpoint=endpoint,
            peer=request.remote,
            http_status=answer.status,
            outcome=answer.outcome,
            messages=answer.messages,
            applied=answer.applied,
            faults=decision.names if decision is not None else (),
            body=summarize_body(body) if isinstance(body, dict) else {},
            duration=time.monotonic() - started,
        )
        self._log.append(record)
        if self._on_request is not None:
            self._on_request(record)
        if answer.status is None:
            _reset_connection(request)
            # Never sent: the transport is gone. aiohttp notices and moves on.
            return web.Response(status=500)
        return web.Response(
            status=answer.status,
            body=answer.payload,
            content_type=answer.content_type,
            headers=answer.headers,
        )


def _url_for(host: str, port: int) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{port}"
    if address.is_unspecified:  # bound to all interfaces: reach it through loopback
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    return f"http://[{address}]:{port}" if address.version == 6 else f"http://{address}:{port}"


async def _received_body(content: StreamReader) -> AsyncIterator[bytes]:
    """Yield the request body in chunks, also when the client left after sending it all.

    aiohttp marks the body with the disconnect as soon as the connection drops, and from
    then on refuses to hand out even the bytes it already holds. A real server applies a
    request whose body arrived whole, whatever the client does next (it may have been
    killed right after its last byte), so such a body is read to its end regardless. Only
    a body cut short, one whose end the HTTP parser never saw, still raises.

    Args:
        content: The request's body stream.

    Yields:
        The body's bytes, chunk by chunk.

    Raises:
        ConnectionError: The client left before the whole body arrived.
    """
    while True:
        try:
            chunk = await content.read(CHUNK_SIZE)
        except ConnectionError:
            rest = _rest_of_complete_body(content)
            if rest is None:
                raise
            if rest:
                yield rest
            return
        if not chunk:
            return
        yield chunk


def _rest_of_complete_body(content: StreamReader) -> bytes | None:
    """The buffered remainder of a body that arrived whole, or ``None`` if it did not."""
    # is_eof(): the parser saw the end of the body (Content-Length reached, or the last
    # chunk of a chunked body); a connection lost earlier leaves it False.
    error = content.exception()
    if not content.is_eof() or error is None:
        return None
    # aiohttp offers no public way to read past a set exception: lift it for one
    # non-blocking read of what is buffered, then put it back.
    content._exception = None
    try:
        return content.read_nowait()
    finally:
        content.set_exception(error)


def _reset_connection(request: web.Request) -> None:
    """Close the connection with a TCP RST, so the client sees "connection reset"."""
    transport = request.transport
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            # SO_LINGER with a zero timeout turns close() into a reset.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _materialize_text(body: dict[str, Any]) -> dict[str, Any]:
    """Turn spilled strings back into text, except ``file_data`` (decoded from disk)."""

    def convert(value: Any) -> Any:
        if isinstance(value, SpilledString):
            return value.read_text()
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return {k: (v if k == "file_data" else convert(v)) for k, v in body.items()}


def _failure_body(fault: ServerFailure) -> _Answer:
    text = _HTML_STATUS_TEXT[fault.status]
    if fault.body == "envelope":
        return _envelope(fault.status, "fault", [text])
    html = (
        f"<html><head><title>{fault.status} {text}</title></head><body>"
        f"<center><h1>{fault.status} {text}</h1></center><hr><center>nginx</center>"
        "</body></html>\n"
    )
    return _Answer(fault.status, "fault", html.encode(), content_type="text/html")


def _malformed_body(fault: Malformed) -> _Answer:
    if fault.kind == "truncated":
        return _Answer(200, "fault", b'{"status": "success", "data": {"contact_id": "a1b2')
    if fault.kind == "html":
        html = b"<html><body><h1>Welcome to nginx!</h1></body></html>\n"
        return _Answer(200, "fault", html, content_type="text/html")
    if fault.kind == "wrong_shape":
        return _Answer(200, "fault", b'{"ok": true, "result": null}')
    return _Answer(200, "fault", b"")
