"""Fault injection, observed from a raw client; applied counts prove what really happened."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from zyntro_async.testing import (
    Emulator,
    FaultRule,
    Latency,
    Malformed,
    RateLimited,
    ResetAfterApply,
    ResetBeforeApply,
    ServerFailure,
    Stall,
)
from zyntro_async.testing._faults import parse_fault

from ._docs import COMMS_CURL, NOTES_CURL, doc_body
from ._raw import RawApi

COMMS = "crm/addCommsHistory"


async def test_latency_delays_then_answers(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    zyntro_emulator.faults.add(Latency(ms=150), endpoint=COMMS)
    started = time.monotonic()
    await api.ok(COMMS, doc_body(COMMS_CURL, api.creds))
    assert time.monotonic() - started >= 0.14
    assert zyntro_emulator.requests[-1].faults == ("latency",)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_failure_html(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator, status: int
) -> None:
    zyntro_emulator.faults.add(ServerFailure(status=status), endpoint=COMMS, times=1)
    async with api.session.post(api.url(COMMS), json=doc_body(COMMS_CURL, api.creds)) as resp:
        assert resp.status == status
        assert resp.content_type == "text/html"
        assert str(status) in await resp.text()
    assert zyntro_emulator.applied[COMMS] == 0
    await api.ok(COMMS, doc_body(COMMS_CURL, api.creds))  # times=1: next one passes
    assert zyntro_emulator.applied[COMMS] == 1


async def test_server_failure_envelope_after_apply(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    zyntro_emulator.faults.add(ServerFailure(status=500, body="envelope", apply=True))
    status, payload = await api.post(COMMS, doc_body(COMMS_CURL, api.creds))
    assert status == 500
    assert payload["status"] == "error"
    assert zyntro_emulator.applied[COMMS] == 1
    assert zyntro_emulator.requests[-1].applied


async def test_rate_limited_has_retry_after(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    zyntro_emulator.faults.add(RateLimited(retry_after=7), endpoint=COMMS)
    async with api.session.post(api.url(COMMS), json=doc_body(COMMS_CURL, api.creds)) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "7"
        assert (await resp.json())["status"] == "error"
    assert zyntro_emulator.applied[COMMS] == 0


async def test_reset_before_apply_changes_nothing(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    zyntro_emulator.faults.add(ResetBeforeApply(), endpoint=COMMS, times=1)
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.post(COMMS, doc_body(COMMS_CURL, api.creds))
    assert zyntro_emulator.comms == []
    assert zyntro_emulator.applied[COMMS] == 0
    record = zyntro_emulator.requests[-1]
    assert (record.http_status, record.faults, record.applied) == (
        None,
        ("reset_before_apply",),
        False,
    )
    # A retry lands exactly once: two requests arrived, one was applied.
    await api.ok(COMMS, doc_body(COMMS_CURL, api.creds))
    assert zyntro_emulator.request_counts[COMMS] == 2
    assert zyntro_emulator.applied[COMMS] == 1
    assert len(zyntro_emulator.comms) == 1


async def test_reset_after_apply_is_the_ambiguous_case(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    zyntro_emulator.faults.add(ResetAfterApply(), endpoint=COMMS)
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.post(COMMS, doc_body(COMMS_CURL, api.creds))
    assert len(zyntro_emulator.comms) == 1
    assert zyntro_emulator.applied[COMMS] == 1
    assert zyntro_emulator.requests[-1].applied


async def test_reset_after_a_rejected_request_applied_nothing(
    api: RawApi, zyntro_emulator: Emulator
) -> None:
    zyntro_emulator.faults.add(ResetAfterApply(), endpoint=COMMS)
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.post(COMMS, doc_body(COMMS_CURL, api.creds))  # no such contact
    assert zyntro_emulator.applied[COMMS] == 0
    assert zyntro_emulator.requests[-1].messages == ("Contact not found in this organization",)


@pytest.mark.parametrize(("then", "applied"), [("drop", 0), ("apply", 1), ("respond", 1)])
async def test_stall_outlasts_the_client_timeout(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator, then: str, applied: int
) -> None:
    zyntro_emulator.faults.add(Stall(seconds=0.2, then=then), endpoint=COMMS)  # type: ignore[arg-type]
    timeout = aiohttp.ClientTimeout(total=0.05)
    with pytest.raises(asyncio.TimeoutError):
        async with api.session.post(
            api.url(COMMS), json=doc_body(COMMS_CURL, api.creds), timeout=timeout
        ) as resp:
            await resp.read()
    # The server goes on after the client gave up.
    for _ in range(50):
        if zyntro_emulator.requests:
            break
        await asyncio.sleep(0.02)
    assert zyntro_emulator.requests[-1].faults == ("stall",)
    assert zyntro_emulator.applied[COMMS] == applied


async def test_stall_then_respond_answers_a_patient_client(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    zyntro_emulator.faults.add(Stall(seconds=0.1))
    data = await api.ok(COMMS, doc_body(COMMS_CURL, api.creds))
    assert data["ch_id"] == 1


async def test_stopping_ends_stalls_at_once(doc_contact: str, zyntro_emulator: Emulator) -> None:
    emulator = Emulator.demo()
    emulator.faults.add(Stall(seconds=60))
    base_url = await emulator.start()
    async with aiohttp.ClientSession() as session:
        request = asyncio.ensure_future(
            session.post(f"{base_url}/apis/v2/public/{COMMS}", json={"api_key": "x"})
        )
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await emulator.close()
        assert time.monotonic() - started < 2
        with pytest.raises(aiohttp.ClientError):
            await request


@pytest.mark.parametrize("kind", ["truncated", "html", "wrong_shape", "empty"])
async def test_malformed_bodies(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator, kind: str
) -> None:
    zyntro_emulator.faults.add(Malformed(kind=kind), endpoint=COMMS)  # type: ignore[arg-type]
    async with api.session.post(api.url(COMMS), json=doc_body(COMMS_CURL, api.creds)) as resp:
        assert resp.status == 200
        text = await resp.text()
    if kind == "wrong_shape":
        assert "status" not in text
    elif kind == "empty":
        assert text == ""
    else:
        with pytest.raises(ValueError):
            __import__("json").loads(text)
    assert zyntro_emulator.applied[COMMS] == 1  # a proxy mangled a real answer


async def test_malformed_without_apply(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    zyntro_emulator.faults.add(Malformed(kind="html", apply=False))
    async with api.session.post(api.url(COMMS), json=doc_body(COMMS_CURL, api.creds)) as resp:
        await resp.read()
    assert zyntro_emulator.applied[COMMS] == 0


async def test_per_endpoint_rules_leave_other_endpoints_alone(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    zyntro_emulator.faults.add(RateLimited(), endpoint="crm/addNotestoContact")
    await api.ok(COMMS, doc_body(COMMS_CURL, api.creds))
    status, _ = await api.post("crm/addNotestoContact", doc_body(NOTES_CURL, api.creds))
    assert status == 429


async def test_after_every_and_times(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    zyntro_emulator.faults.add(RateLimited(), endpoint=COMMS, after=1, every=2, times=2)
    statuses = [await api.status(COMMS, doc_body(COMMS_CURL, api.creds)) for _ in range(8)]
    # 1st passes (after=1); then every 2nd eligible one (3rd, 5th) fires; times=2 stops it.
    assert statuses == [200, 200, 429, 200, 429, 200, 200, 200]
    assert zyntro_emulator.applied[COMMS] == 6
    assert zyntro_emulator.faults.fired["rate_limited"] == 2


async def test_first_terminal_rule_wins_and_latency_adds_up(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    zyntro_emulator.faults.add(Latency(ms=20))
    zyntro_emulator.faults.add(RateLimited(retry_after=3))
    zyntro_emulator.faults.add(Latency(ms=20))
    zyntro_emulator.faults.add(ServerFailure(status=503))
    assert await api.status(COMMS, doc_body(COMMS_CURL, api.creds)) == 429
    assert zyntro_emulator.requests[-1].faults == ("latency", "rate_limited")


async def test_remove_and_clear(api: RawApi, doc_contact: str, zyntro_emulator: Emulator) -> None:
    rule = zyntro_emulator.faults.add(RateLimited())
    zyntro_emulator.faults.add(ServerFailure(status=503))
    zyntro_emulator.faults.remove(rule)
    assert await api.status(COMMS, doc_body(COMMS_CURL, api.creds)) == 503
    zyntro_emulator.faults.clear()
    assert zyntro_emulator.faults.rules == ()
    await api.ok(COMMS, doc_body(COMMS_CURL, api.creds))


async def _statuses_with_seed(seed: str, count: int) -> list[int]:
    rule = FaultRule(ServerFailure(status=503), probability=0.5)
    emulator = Emulator.demo(seed=seed, faults=[rule])
    emulator.add_contact(contact_id="a1b2c3d4-e5f6-7890-abcd-ef1234567890", fields={})
    async with emulator.serve() as base_url, aiohttp.ClientSession() as session:
        statuses = []
        for _ in range(count):
            async with session.post(
                f"{base_url}/apis/v2/public/{COMMS}",
                json=doc_body(COMMS_CURL, emulator.credentials),
            ) as resp:
                statuses.append(resp.status)
    await emulator.close()
    assert emulator.applied[COMMS] == statuses.count(200)
    return statuses


async def test_probability_is_reproducible_under_a_seed() -> None:
    first = await _statuses_with_seed("alpha", 40)
    second = await _statuses_with_seed("alpha", 40)
    other = await _statuses_with_seed("beta", 40)
    assert first == second
    assert first != other
    assert 5 < first.count(503) < 35


async def test_faults_from_the_constructor(doc_contact: str) -> None:
    emulator = Emulator.demo(faults=[FaultRule(RateLimited(), endpoint=COMMS, times=1)])
    assert emulator.faults.rules[0].endpoint == COMMS
    await emulator.close()


def test_rules_validate_their_arguments() -> None:
    with pytest.raises(ValueError):
        FaultRule(RateLimited(), probability=1.5)
    with pytest.raises(ValueError):
        FaultRule(RateLimited(), every=0)
    with pytest.raises(ValueError):
        ServerFailure(status=418)
    with pytest.raises(ValueError):
        Latency(ms=-1)


@pytest.mark.parametrize(
    ("spec", "fault", "probability"),
    [
        ("503:0.05", ServerFailure(503), 0.05),
        ("500", ServerFailure(500), 1.0),
        ("429=0:0.2", RateLimited(retry_after=0), 0.2),
        ("reset-before", ResetBeforeApply(), 1.0),
        ("reset-after:0.01", ResetAfterApply(), 0.01),
        ("malformed=html", Malformed("html"), 1.0),
        ("stall=3", Stall(seconds=3, then="drop"), 1.0),
        ("latency=20", Latency(ms=20), 1.0),
    ],
)
def test_parse_fault_specs(spec: str, fault: Any, probability: float) -> None:
    assert parse_fault(spec) == FaultRule(fault, probability=probability)


@pytest.mark.parametrize("spec", ["404", "malformed=bad", "latency", "503:x", "503:1.5", "stall=x"])
def test_parse_fault_refuses_bad_specs(spec: str) -> None:
    with pytest.raises(ValueError, match=r"fault|probability"):
        parse_fault(spec)
