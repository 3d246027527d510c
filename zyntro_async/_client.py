"""``ZyntroClient``: configuration, the connection pool's lifetime, and the resources."""

from __future__ import annotations

import enum
import re
import warnings
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar

import aiohttp
import anyio
import attrs

from zyntro_async._config import ClientConfig, resolve_max_retries, user_agent
from zyntro_async._errors import ClientClosedError, ConfigurationError, RequestValidationError
from zyntro_async._hooks import EventHooks, HookObserver
from zyntro_async._log import install_env_log_handler, log_observer
from zyntro_async._observe import AttemptObserver, ObserverChain
from zyntro_async._proxy import ProxySetting, resolve_proxy
from zyntro_async._retry import RetryPolicy
from zyntro_async._tracing import TracingSwitch
from zyntro_async._transport import Transport
from zyntro_async._version import __version__
from zyntro_async.models._requests import ApiRequest, to_id
from zyntro_async.models._validators import check_id, check_json_value
from zyntro_async.resources.attachments import Attachments
from zyntro_async.resources.comms import Comms
from zyntro_async.resources.contacts import Contacts
from zyntro_async.resources.notes import Notes

if TYPE_CHECKING:
    from zyntro_async.bulk import Bulk

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "ZyntroClient"]

R = TypeVar("R")

DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
_STATE_UNOPENED, _STATE_OPEN, _STATE_CLOSED = "unopened", "open", "closed"


class _NotGiven(enum.Enum):
    NOT_GIVEN = "NOT_GIVEN"


NOT_GIVEN: Final = _NotGiven.NOT_GIVEN


class ZyntroClient:
    """An asyncio client for the Zyntro public API.

    One client holds one aiohttp connection pool; share it between tasks (it is safe to
    call from many at once) and close it when done, best with ``async with``::

        async with ZyntroClient() as zy:  # credentials from ZYNTRO_* variables
            result = await zy.contacts.upsert(Contact(first_name="Jane", primary_email=...))

    Args:
        api_key: falls back to ``ZYNTRO_API_KEY``; required.
        developer_secret: falls back to ``ZYNTRO_DEVELOPER_SECRET``; required.
        org_id: falls back to ``ZYNTRO_ORG_ID``; required.
        member_id: falls back to ``ZYNTRO_MEMBER_ID``; every CRM write needs one, here or
            per call (``member_id=`` on each method).
        brand_id: falls back to ``ZYNTRO_BRAND_ID``; needed by ``contacts.fetch``.
        base_url: falls back to ``ZYNTRO_BASE_URL``, then ``https://app.zyntrohq.com``.
            Plain ``http://`` is refused except to loopback, unless ``allow_insecure_http``.
        timeout: seconds per attempt (connect, send and answer); uploads get one more
            second per MiB of body. ``None`` falls back to ``ZYNTRO_TIMEOUT``, then 30.
        max_connections: size of the connection pool.
        max_retries: retries after the first attempt, used when ``retry_policy`` is None.
            ``None`` falls back to ``ZYNTRO_MAX_RETRIES``, then 3.
        session: an aiohttp session to use instead of our own; it stays yours to close
            (``proxy``, ``trust_env`` and ``app_info`` then cannot apply: configure the
            session itself).
        deadline: seconds a whole call may take, retries and waits included (None: no
            limit beyond the attempts' timeouts).
        retry_policy: full control of retrying (backoff, budget, injectable sleep/clock).
        max_response_bytes: larger responses are refused, not buffered.
        allow_insecure_http: permit ``http://`` to a non-loopback host.
        event_hooks: ``{"request": [...], "response": [...], "retry": [...]}``, callables
            (plain or ``async``) given a :class:`~zyntro_async.RequestEvent`,
            :class:`~zyntro_async.ResponseEvent` or :class:`~zyntro_async.RetryEvent`.
            A request hook that raises stops the call with its exception (as in httpx);
            a response or retry hook that raises is logged and the call goes on.
        proxy: an ``http://`` proxy URL for every request (credentials in it are sent as
            ``Proxy-Authorization``); overrides the environment.
        trust_env: read ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` and ``NO_PROXY`` (once,
            when the connection pool is created) when ``proxy`` is not given.
        app_info: your application, appended to the User-Agent: ``"acme-sync/1.2"`` or
            ``{"name": "acme-sync", "version": "1.2", "url": "https://acme.example"}``.

    Raises:
        ConfigurationError: a required credential is missing (naming its variable) or a
            setting is unusable.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        developer_secret: str | None = None,
        org_id: str | None = None,
        member_id: str | None = None,
        brand_id: str | int | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_connections: int = 100,
        max_retries: int | None = None,
        session: aiohttp.ClientSession | None = None,
        deadline: float | None = None,
        retry_policy: RetryPolicy | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        allow_insecure_http: bool = False,
        event_hooks: Mapping[str, Any] | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
        app_info: str | Mapping[str, str] | None = None,
    ) -> None:
        self._config = ClientConfig.resolve(
            api_key=api_key,
            developer_secret=developer_secret,
            org_id=org_id,
            member_id=member_id,
            brand_id=brand_id,
            base_url=base_url,
            timeout=timeout,
            deadline=deadline,
            max_connections=max_connections,
            max_response_bytes=max_response_bytes,
            allow_insecure_http=allow_insecure_http,
        )
        if retry_policy is None:
            retry_policy = RetryPolicy(max_retries=resolve_max_retries(max_retries))
        if not isinstance(trust_env, bool):
            raise ConfigurationError(f"trust_env must be True or False, got {trust_env!r:.40}")
        self._user_agent = user_agent(app_info, sdk_version=__version__)
        self._proxy = resolve_proxy(proxy)
        self._trust_env = trust_env
        if session is not None and (proxy is not None or app_info is not None):
            raise ConfigurationError(
                "proxy= and app_info= configure the session the client creates; with "
                "session=..., set the proxy and User-Agent on your own session"
            )
        hooks = EventHooks.from_mapping(event_hooks)
        self._hooks = HookObserver(hooks) if hooks else None
        # The client's observers see every attempt of every call made through it (and its
        # views); the transport chains a caller's own observer (a bulk run's) after them.
        install_env_log_handler()
        self._log = log_observer()
        # Tracing joins them at the first call after a tracer provider is configured: until
        # then (or without opentelemetry-api) a call pays nothing for it.
        self._tracing = TracingSwitch.for_client(self._config.base_url)
        self._traced: AttemptObserver | None = None
        self._own: AttemptObserver | None = ObserverChain.of(self._hooks, self._log)
        self._retry = retry_policy
        self._session = session
        self._owns_session = session is None
        self._state = _STATE_UNOPENED
        self._root = self
        self._build_resources()

    @property
    def _observer(self) -> AttemptObserver | None:
        """The client's own observers: tracing (once it records), event hooks, the log."""
        if self._tracing is not None:
            traced = self._tracing.current()
            if traced is not self._traced:
                self._traced = traced
                self._own = ObserverChain.of(traced, self._hooks, self._log)
        return self._own

    @_observer.setter
    def _observer(self, observer: AttemptObserver | None) -> None:
        # Replaces all of them (a test's recorder, say): tracing no longer joins by itself.
        self._tracing = None
        self._own = observer

    def _build_resources(self) -> None:
        """The transport and the resources over it (again for each view)."""
        self._transport = Transport(
            self._config,
            self._retry,
            self._root._get_session,
            # Our own session always verifies TLS; an injected one is checked per request.
            check_tls=not self._root._owns_session and self._config.base_url.startswith("https:"),
        )
        self.contacts = Contacts(self)
        self.notes = Notes(self)
        self.attachments = Attachments(self)
        self.comms = Comms(self)
        self._bulk: Bulk | None = None  # a view's bulk runs use the view's options

    # ---- per-call options ---------------------------------------------------------------

    def with_options(
        self,
        *,
        timeout: float | _NotGiven = NOT_GIVEN,
        max_retries: int | _NotGiven = NOT_GIVEN,
        deadline: float | _NotGiven | None = NOT_GIVEN,
        member_id: str | _NotGiven = NOT_GIVEN,
    ) -> ZyntroClient:
        """A view of this client with other options, sharing everything else (openai's way).

        The view uses the same connection pool, the same retry budget (so retries through
        every view count against one budget), the same event hooks and tracing, and the
        same lifetime: it works while this client is open. A view cannot close the pool:
        its ``aclose()`` (and leaving ``async with view``) does nothing, so a view can be
        made per call without ceremony::

            await zy.with_options(max_retries=0, timeout=5).contacts.fetch(contact_id)

        Args:
            timeout: seconds per attempt.
            max_retries: retries after the first attempt (0: exactly one attempt).
            deadline: seconds for a whole call, retries included; ``None`` removes it.
            member_id: the member used when a call gives none.

        Returns:
            A new :class:`ZyntroClient` view; options not given are this client's.

        Raises:
            ConfigurationError: a value is unusable (naming it).
        """
        config = self._config.with_options(
            timeout=None if timeout is NOT_GIVEN else timeout,
            deadline=None if isinstance(deadline, _NotGiven) else deadline,
            member_id=None if isinstance(member_id, _NotGiven) else member_id,
        )
        if deadline is None:
            config = attrs.evolve(config, deadline=None)
        policy = self._retry
        if not isinstance(max_retries, _NotGiven):
            # evolve keeps the budget, rng, sleep and clock objects: shared, not copied.
            policy = attrs.evolve(policy, max_retries=resolve_max_retries(max_retries))
        view = object.__new__(ZyntroClient)
        view.__dict__.update(self.__dict__)
        view._config = config
        view._retry = policy
        view._build_resources()
        return view

    @property
    def is_view(self) -> bool:
        """Whether this client is a :meth:`with_options` view of another one."""
        return self._root is not self

    # ---- lifecycle ------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        if self._state == _STATE_CLOSED:
            raise ClientClosedError("this ZyntroClient is closed; create a new one")
        if self._session is None:
            # Created lazily so it binds to the running loop, never at import or __init__.
            self._session = self._new_session()
        self._state = _STATE_OPEN
        return self._session

    def _new_session(self) -> aiohttp.ClientSession:
        proxy = self._proxy
        if proxy is None and self._trust_env:
            proxy = ProxySetting.from_environment(self._config.base_url)
        connector = aiohttp.TCPConnector(limit=self._config.max_connections)
        with warnings.catch_warnings():
            # aiohttp 3.14 warns about the session-level proxy_auth (see ProxySetting).
            warnings.simplefilter("ignore", DeprecationWarning)
            return aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self._user_agent},
                # Credentials live in the body; never follow redirects with them.
                auto_decompress=True,
                # The environment was read above, once: aiohttp's trust_env would look the
                # proxy up again in a worker thread on every request.
                trust_env=False,
                **({} if proxy is None else proxy.session_options()),  # type: ignore[arg-type]
            )

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has been called (on this client or the one it views)."""
        return self._root._state == _STATE_CLOSED

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The aiohttp session in use (``None`` until the first request)."""
        return self._root._session

    async def aclose(self) -> None:
        """Close the connection pool (not an injected session). Safe to call twice.

        On a :meth:`with_options` view this does nothing: the pool is the parent's.
        Pending ``async`` response/retry hooks are awaited first.
        """
        if self._root is not self or self._state == _STATE_CLOSED:
            return
        self._state = _STATE_CLOSED
        if self._hooks is not None:
            await self._hooks.drain()
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            with anyio.CancelScope(shield=True):
                await session.close()

    async def __aenter__(self) -> ZyntroClient:
        if self.closed:
            raise ClientClosedError("this ZyntroClient is closed; create a new one")
        self._root._get_session()
        # anyio imports its event-loop backend on first use, tens of milliseconds that
        # would otherwise stall the loop in the middle of the first upload or bulk run.
        anyio.get_cancelled_exc_class()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"<ZyntroClient base_url={self._config.base_url!r} org_id={self._config.org_id!r} "
            f"member_id={self._config.member_id!r} state={self._root._state}"
            f"{' view' if self.is_view else ''}>"
        )

    # ---- extras -----------------------------------------------------------------------

    @property
    def config(self) -> ClientConfig:
        """The resolved configuration (secrets redacted in its repr)."""
        return self._config

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy in force."""
        return self._retry

    @property
    def bulk(self) -> Bulk:
        """Bulk imports over this client: ``await zy.bulk.run(items)``."""
        if self._bulk is None:
            from zyntro_async.bulk import Bulk

            self._bulk = Bulk(self)
        return self._bulk

    async def send(self, request: ApiRequest[R], *, observer: AttemptObserver | None = None) -> R:
        """Send a request model and return its typed result.

        Every endpoint method is this with a request it builds: ``zy.notes.add(cid, "x")``
        is ``zy.send(NoteWrite(contact_id=cid, note="x"))``. The request was validated when
        it was built; here it gets the credentials, is sent and retried as its
        ``idempotent`` allows, and its result is structured.

        Args:
            request: a request model (``zyntro_async.models`` ``ContactWrite``,
                ``NoteWrite``, ``FileInsert``, ...).
            observer: told about each attempt of this request, after the client's own
                observer (a bulk run paces and journals its items this way).

        Returns:
            The request's result model (``ContactResult``, ``Note``, ...).

        Raises:
            ConfigurationError: the request needs a member or brand that is not configured.
            APIError: the API refused (see its ``code``).
            APIConnectionError: the API could not be reached after retries
                (:class:`~zyntro_async.AmbiguousOutcomeError` when a creating request may
                have been applied).
            MalformedResponseError: the answer is not the documented envelope.
        """
        own = self._observer
        if own is not None:
            observer = own if observer is None else ObserverChain((own, observer))
        return await self._transport.send(request, observer=observer)

    async def call(
        self,
        module: str,
        action: str,
        body: Mapping[str, Any] | None = None,
        *,
        idempotent: bool = False,
        member_id: str | int | None = None,
        brand: bool = True,
    ) -> Any:
        """Call an endpoint this SDK has no method for.

        The credentials and base identifiers are added (``brand_id`` too when configured,
        as the base request format shows), the envelope is unwrapped, errors are raised as
        for every other call.

        Args:
            module: e.g. ``"crm"``, ``"calendar"``.
            action: e.g. ``"scoreContact"``.
            body: the endpoint's own fields; they may override ``org_id``, ``member_id``
                and ``brand_id`` but not the credentials.
            idempotent: set when repeating the call cannot change the result, so failures
                are retried like ``contacts.upsert``; otherwise it is retried only when it
                provably was not applied.
            member_id: overrides the client's member for this call.
            brand: include the configured ``brand_id``.

        Returns:
            The envelope's ``data``, as parsed JSON.
        """
        for field, value in (("module", module), ("action", action)):
            if not isinstance(value, str) or not _NAME.match(value):
                raise RequestValidationError(field, f"must be a plain name, got {value!r:.60}")
        for flag, flag_value in (("idempotent", idempotent), ("brand", brand)):
            if not isinstance(flag_value, bool):
                raise RequestValidationError(
                    flag, f"must be True or False, got {type(flag_value).__name__}"
                )
        if body is None:
            body = {}
        if not isinstance(body, Mapping):
            raise RequestValidationError("body", f"must be a mapping, got {type(body).__name__}")
        check_json_value("body", body)
        member = to_id(member_id)
        checked_member = None if member is None else check_id("member_id", member)
        extra = dict(body)
        for secret_key in ("api_key", "developer_secret"):
            if secret_key in extra:
                raise RequestValidationError(
                    f"body.{secret_key}", "credentials come from the client, not the body"
                )
        fields = self._transport.base_fields(member_id=checked_member)
        if brand and self._config.brand_id:
            fields["brand_id"] = self._config.brand_id
        fields.update(extra)
        return await self._transport.request(
            f"{module}/{action}", fields, idempotent=idempotent, observer=self._observer
        )
