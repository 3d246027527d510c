"""A FastAPI backend that uses ONE ZyntroClient (one connection pool) for its whole life.

The client is created when the app starts (lifespan), shared by every request, and closed
when the app shuts down. Creating a client per request would open a new connection pool
each time: slow, and the source of "Unclosed client session" warnings.

Run it against Zyntro (credentials from the ZYNTRO_* environment variables)::

    pip install "zyntro_async[cli]" fastapi uvicorn
    uvicorn fastapi_app:app --app-dir examples

or against a local emulator (no credentials needed)::

    python examples/fastapi_app.py --emulator

then::

    curl -X POST localhost:8000/contacts -H 'content-type: application/json' \\
         -d '{"first_name": "Jane", "email": "jane@acme.example", "company": "Acme"}'
    curl -X POST localhost:8000/contacts/<contact_id>/notes -H 'content-type: application/json' \\
         -d '{"note": "Met at the fair"}'
    curl localhost:8000/contacts/<contact_id>

SDK errors become HTTP errors: input the SDK or the API rejects -> 422, an unknown contact
-> 404, rate limiting -> 503 with Retry-After, anything else from Zyntro (bad credentials,
server errors, outcome unknown) -> 502, Zyntro unreachable -> 502/504.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from zyntro_async import (
    AmbiguousOutcomeError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    Contact,
    Entity,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ZyntroClient,
)
from zyntro_async import RequestValidationError as ZyntroValidationError

# ----------------------------------------------------------------------------- bodies


class ContactIn(BaseModel):
    """A contact to create or update (matched by e-mail)."""

    first_name: str
    last_name: str | None = None
    email: str
    phone: str | None = None
    company: str | None = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: dict[str, str | int | float | bool] = Field(default_factory=dict)


class ContactOut(BaseModel):
    """What happened to the contact."""

    contact_id: str
    action: str | None
    entity_id: str | None


class NoteIn(BaseModel):
    """A note to add."""

    note: str
    visible: bool = False
    editable: bool = False


class NoteOut(BaseModel):
    """The stored note."""

    note_id: str
    contact_id: str | None
    note: str | None


class ContactRecordOut(BaseModel):
    """A contact as stored."""

    contact_id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    status: str | None


# ------------------------------------------------------------------------------- app


def create_app(
    *, client_factory: Callable[[], ZyntroClient] = ZyntroClient, title: str = "Contacts"
) -> FastAPI:
    """Build the app; the client is created at startup and closed at shutdown.

    Args:
        client_factory: Makes the one client (default: ``ZyntroClient()``, configured
            from the ``ZYNTRO_*`` environment variables).
        title: The OpenAPI title.

    Returns:
        The FastAPI application.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = client_factory()
        app.state.zyntro = client
        try:
            yield
        finally:
            await client.aclose()

    app = FastAPI(title=title, lifespan=lifespan)
    _add_error_handlers(app)

    def zyntro(request: Request) -> ZyntroClient:
        client: ZyntroClient = request.app.state.zyntro
        return client

    @app.post("/contacts", response_model=ContactOut)
    async def upsert_contact(body: ContactIn, request: Request) -> ContactOut:
        contact = Contact(
            first_name=body.first_name,
            last_name=body.last_name,
            primary_email=body.email,
            primary_phone=body.phone,
            tags=body.tags or None,
            custom_fields=body.custom_fields or None,
        )
        entity = Entity(name=body.company) if body.company else None
        result = await zyntro(request).contacts.upsert(contact, entity=entity)
        return ContactOut(
            contact_id=result.contact_id, action=result.action, entity_id=result.entity_id
        )

    @app.post("/contacts/{contact_id}/notes", response_model=NoteOut, status_code=201)
    async def add_note(contact_id: str, body: NoteIn, request: Request) -> NoteOut:
        note = await zyntro(request).notes.add(
            contact_id, body.note, visible=body.visible, editable=body.editable
        )
        return NoteOut(note_id=note.note_id, contact_id=note.contact_id, note=note.note_content)

    @app.get("/contacts/{contact_id}", response_model=ContactRecordOut)
    async def get_contact(contact_id: str, request: Request) -> ContactRecordOut:
        record = await zyntro(request).contacts.fetch(contact_id)
        return ContactRecordOut(
            contact_id=record.contact_id,
            first_name=record.first_name,
            last_name=record.last_name,
            email=record.email,
            status=record.contact_status,
        )

    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Map SDK errors to HTTP answers (never leaking credentials: SDK messages have none)."""

    def answer(status: int, code: str, message: str, **headers: str) -> JSONResponse:
        return JSONResponse(
            status_code=status, content={"detail": {"code": code, "message": message}},
            headers=headers or None,
        )  # fmt: skip

    async def validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ZyntroValidationError)
        return answer(422, "REQUEST_VALIDATION", str(exc))

    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, APIError)
        if isinstance(exc, NotFoundError):
            return answer(404, exc.code, exc.message)
        if isinstance(exc, InvalidRequestError):
            return answer(422, exc.code, exc.message)
        if isinstance(exc, RateLimitError):
            retry_after = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after else {}
            return answer(503, exc.code, "Zyntro is rate limiting us; retry later", **retry_after)
        # Credentials, permissions, server errors: our problem upstream, not the caller's.
        return answer(502, exc.code, f"Zyntro answered: {exc.message}")

    async def connection_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, APIConnectionError)
        if isinstance(exc, AmbiguousOutcomeError):
            return answer(502, "OUTCOME_UNKNOWN", "Zyntro may or may not have applied this")
        if isinstance(exc, APITimeoutError):
            return answer(504, "TIMEOUT", "Zyntro did not answer in time")
        return answer(502, "UNREACHABLE", "Zyntro could not be reached")

    app.add_exception_handler(ZyntroValidationError, validation)
    app.add_exception_handler(APIError, api_error)
    app.add_exception_handler(APIConnectionError, connection_error)


app = create_app()
"""For ``uvicorn fastapi_app:app``: the client is built from ZYNTRO_* when it starts."""


# ----------------------------------------------------------------------- standalone


async def _serve_with_emulator(port: int) -> None:
    import uvicorn

    from zyntro_async.testing import Emulator

    emulator = Emulator.demo()
    async with emulator.serve() as base_url:
        credentials: Mapping[str, Any] = {**emulator.credentials.as_dict(), "base_url": base_url}
        demo = create_app(client_factory=lambda: ZyntroClient(**credentials), title="Demo")
        server = uvicorn.Server(uvicorn.Config(demo, host="127.0.0.1", port=port))
        print(f"serving on http://127.0.0.1:{port} against an emulator at {base_url}")
        await server.serve()
    await emulator.close()


def main() -> None:
    """``python examples/fastapi_app.py [--emulator] [--port N]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--emulator", action="store_true", help="use a local emulator")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    if args.emulator:
        asyncio.run(_serve_with_emulator(args.port))
    else:
        import uvicorn

        uvicorn.run(app, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
