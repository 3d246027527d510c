"""How progress and errors are shown on the terminal and in plain output."""

from __future__ import annotations

import datetime
import io
import re

import attrs
import pytest
from rich.console import Console

from zyntro_async import NotFoundError, RequestValidationError
from zyntro_async.bulk import (
    BulkReport,
    GovernorPhase,
    GovernorState,
    ItemResult,
    LearnedLimit,
    LongRetryAfterError,
    Progress,
    RateLimitStalledError,
    Status,
)
from zyntro_async.bulk._report import format_rate
from zyntro_async.cli._progress import (
    RichDisplay,
    Tally,
    describe_error,
    eta_text,
    pacing_text,
    plain_progress_line,
    rate_limit_line,
)


def test_a_validation_error_is_one_line_naming_the_field() -> None:
    error = RequestValidationError("contact.primaryEmail", "is required\n  (or set lookup_by)")
    assert describe_error(error) == "contact.primaryEmail: is required (or set lookup_by)"


def test_an_api_error_shows_the_api_messages() -> None:
    error = NotFoundError("NOT_FOUND", ("Contact not found",), "crm/addNotestoContact")
    assert describe_error(error) == "Contact not found"


def test_no_error_is_an_empty_message() -> None:
    assert describe_error(None) == ""


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("key \x1b[31mred", "key \\x1b[31mred"),  # a terminal escape from the input file
        ("path \udc80.pdf", "path \\udc80.pdf"),  # a lone surrogate: unprintable as UTF-8
        ("bell\x07", "bell\\x07"),
    ],
)
def test_control_characters_and_lone_surrogates_are_shown_escaped(text: str, shown: str) -> None:
    message = describe_error(RequestValidationError("file", text))
    assert message == f"file: {shown}"
    message.encode("utf-8")  # printable on a strict UTF-8 stdout


def test_a_long_message_is_cut() -> None:
    message = describe_error(RequestValidationError("note", "x" * 1000))
    assert message.endswith("...")
    assert len(message) < 1000


# ------------------------------------------------------------------- the live display


def _progress(done: int, total: int | None, elapsed: float = 10.0) -> Progress:
    counts = dict.fromkeys(Status, 0)
    counts[Status.SUCCEEDED] = done - 7
    counts[Status.FAILED] = 5
    counts[Status.UNKNOWN] = 2
    return Progress(
        done=done, pulled=done + 16, total=total, counts=counts, elapsed=elapsed, rate=done / 10
    )


def _tally(resumed: int, sent: int) -> Tally:
    tally = Tally(resumed=resumed, sent=sent)
    tally.children[Status.SUCCEEDED] = 612_345
    tally.children[Status.FAILED] = 12
    return tally


@pytest.mark.parametrize("total", [3_000, 1_190_000])
def test_the_bar_fits_80_columns_with_eta_children_and_resumed(total: int) -> None:
    live = Console(width=80, file=io.StringIO(), force_terminal=True)
    display = RichDisplay(live, tally=_tally(resumed=1_200, sent=1_260))
    display.start("importing contacts.jsonl (jsonl) into https://app.zyntrohq.com")
    display.set_total(total)
    display.update(_progress(2_460, None))
    display.stop()
    screen = Console(width=80, record=True, file=io.StringIO(), force_terminal=True)

    screen.print(display.renderable())

    text = screen.export_text()
    lines = text.splitlines()
    assert len(lines) == 3, text
    assert all(len(line) <= 80 for line in lines), text
    assert "…" not in text
    assert f"2,460/{total:,}" in lines[0]
    assert re.search(r"ETA \d+:\d\d:\d\d$", lines[0])
    assert lines[1] == "items: 2,453 succeeded, 5 failed, 2 unknown; 1,200 resumed from the journal"
    assert lines[2] == "notes/files/comms: 612,345 succeeded, 12 failed"


def test_eta_comes_from_the_items_sent_not_the_resumed_ones() -> None:
    # 2,460 done in 10 s, of which 1,200 resumed from the journal: 126 sent per second.
    progress = _progress(2_460, 3_000)

    assert eta_text(progress, None, _tally(resumed=1_200, sent=1_260)) == "0:00:04"
    assert eta_text(progress, None, _tally(resumed=2_460, sent=0)) == "-:--:--"
    assert eta_text(_progress(3_000, 3_000), None, Tally()) == "0:00:00"
    assert eta_text(_progress(10, None), None, Tally(sent=10)) == "-:--:--"


def test_the_plain_line_counts_children_and_resumed_items() -> None:
    line = plain_progress_line(_progress(2_460, None), 3_000, _tally(resumed=1_200, sent=1_260))

    assert line.startswith("progress: 2460/3000 done, 5 failed, 2 unknown, 246.0 items/s")
    assert "ETA 0:00:04" in line
    assert "612,357 notes/files/comms (12 failed)" in line
    assert "1200 resumed from the journal" in line


def test_the_tally_counts_children_and_whole_items_resumed() -> None:
    child = ItemResult(index=0, key="k/notes/0", op=None, status=Status.FAILED)
    restored = ItemResult(index=1, key="j", op=None, status=Status.SUCCEEDED, from_journal=True)
    partly = ItemResult(
        index=2,
        key="p",
        op=None,
        status=Status.SUCCEEDED,
        from_journal=True,
        children=(child,),
    )
    tally = Tally()

    for result in (restored, partly):
        tally.add(result)

    assert (tally.resumed, tally.sent) == (1, 1)
    assert tally.children[Status.FAILED] == 1


# ------------------------------------------------------------------- rate limiting


def _pacing(**changes: object) -> GovernorState:
    state = GovernorState(
        phase=GovernorPhase.SETTLED,
        rate_limit=291.0,
        window=None,
        in_flight=16,
        accepted_rate=290.6,
        learned_limit=300.0,
        settled_rate=291.0,
        rate_limited=1_234,
        requests=60_000,
        paused_until=None,
        pause_remaining=0.0,
    )
    return attrs.evolve(state, **changes)


def test_nothing_is_said_of_pacing_until_the_api_rate_limits() -> None:
    assert pacing_text(None) is None
    assert pacing_text(_pacing(rate_limited=0, phase=GovernorPhase.PROBING)) is None
    nothing_learned = LearnedLimit(rate=None, window=None)
    assert pacing_text(_pacing(rate_limited=0, started_from=nothing_learned)) is None


@pytest.mark.parametrize(
    ("learned", "start"),
    [
        (LearnedLimit(rate=33.5), "searching up from 33.5/s, the limit"),
        (LearnedLimit(rate=33.5, window=8), "searching up from 33.5/s, the limit"),
        (LearnedLimit(window=8), "searching up from 8 in flight, the cap"),
    ],
)
def test_a_run_started_from_a_learned_limit_says_why_it_is_paced_before_any_429(
    learned: LearnedLimit, start: str
) -> None:
    # Paced from its first request: without a word, a user sees an import at 33/s and
    # no reason for it.
    state = _pacing(
        rate_limited=0, phase=GovernorPhase.PROBING, accepted_rate=32.6, started_from=learned
    )

    line = pacing_text(state)

    assert line == f"requests: 33/s, {start} an earlier run learned; no 429 yet"
    # Once the API refuses, the line is the usual one.
    assert pacing_text(attrs.evolve(state, rate_limited=3)) == (
        "requests: 33/s, probing above 300/s; 3 answered 429 (retried)"
    )


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({}, "settled at 291/s"),
        ({"phase": GovernorPhase.THROTTLED, "rate_limit": 145.5}, "throttled by the API to 145/s"),
        ({"phase": GovernorPhase.PROBING, "rate_limit": 310.0}, "probing above 300/s"),
        ({"phase": GovernorPhase.PROBING, "learned_limit": None}, "probing for the API's limit"),
        ({"window": 8, "settled_window": 8}, "settled at 8 in flight"),
    ],
)
def test_the_pacing_line_says_the_rate_the_state_and_the_429s(
    changes: dict[str, object], state: str
) -> None:
    line = pacing_text(_pacing(**changes))
    assert line == f"requests: 291/s, {state}; 1,234 answered 429 (retried)"


@pytest.mark.parametrize("rate_limited", [0, 3])
def test_the_pacing_line_says_a_plain_fallback_paces_the_run(rate_limited: int) -> None:
    # The governor's learning failed (a bug): the live line must not go on saying it
    # probes or settled, from state the fallback no longer keeps; nor stay silent while
    # no 429 came (the bug may have been met learning from successes).
    state = _pacing(
        phase=GovernorPhase.PROBING, fallback=True, rate_limited=rate_limited, learned_limit=None
    )

    line = pacing_text(state)

    assert line == (
        "requests: 291/s, paced by a plain fallback after the rate governor failed "
        f"(see the log); {rate_limited} answered 429 (retried)"
    )


def test_a_long_pause_says_how_long_and_when_the_run_resumes() -> None:
    paused = _pacing(phase=GovernorPhase.PAUSED, paused_until=5000.0, pause_remaining=3480.0)
    at_13_07 = datetime.datetime(2026, 11, 30, 13, 7, 0)

    line = pacing_text(paused, now=lambda: at_13_07)

    assert line == "rate limited: the API asks to wait 58 min; resuming at 14:05"


def test_a_pause_longer_than_max_pause_says_when_the_run_resumes_however_short() -> None:
    # --max-pause 5 and a quota's "come back in 39 s": waited out by choice, announced as
    # such (to the second, under a minute), not as an ordinary pause.
    paused = _pacing(
        phase=GovernorPhase.PAUSED, paused_until=5000.0, pause_remaining=39.0, long_pause=True
    )
    at_13_07 = datetime.datetime(2026, 11, 30, 13, 7, 0)

    line = pacing_text(paused, now=lambda: at_13_07)

    assert line == "rate limited: the API asks to wait 39 s; resuming at 13:07:39"


def test_a_short_pause_is_said_without_a_time() -> None:
    paused = _pacing(phase=GovernorPhase.PAUSED, paused_until=5000.0, pause_remaining=2.0)
    assert (
        pacing_text(paused)
        == "rate limited: paused 2 s as the API asks; 1,234 answered 429 (retried)"
    )


def test_once_rate_limited_the_display_has_a_fourth_line_within_80_columns() -> None:
    live = Console(width=80, file=io.StringIO(), force_terminal=True)
    display = RichDisplay(live, tally=_tally(resumed=1_200, sent=1_260))
    display.start("importing contacts.jsonl (jsonl) into https://app.zyntrohq.com")
    display.set_total(1_190_000)
    display.update(attrs.evolve(_progress(2_460, None), pacing=_pacing(rate_limited=123_456)))
    display.stop()
    screen = Console(width=80, record=True, file=io.StringIO(), force_terminal=True)

    screen.print(display.renderable())

    lines = screen.export_text().splitlines()
    assert len(lines) == 4
    assert all(len(line) <= 80 for line in lines)
    assert lines[3] == "requests: 291/s, settled at 291/s; 123,456 answered 429 (retried)"


def test_the_plain_line_ends_with_the_pacing_once_rate_limited() -> None:
    progress = attrs.evolve(_progress(2_460, None), pacing=_pacing())
    line = plain_progress_line(progress, 3_000, Tally())
    assert line.endswith("; requests: 291/s, settled at 291/s; 1,234 answered 429 (retried)")


def test_the_summary_gives_the_settled_rate_to_pass_as_max_per_second() -> None:
    report = BulkReport(rate_limited=42, settled_rate=291.7)
    line = rate_limit_line(report)
    assert line == (
        "rate limit: the run settled at 291 requests/s (42 answered 429, retried; none "
        "failed an item); next time pass --max-per-second 291"
    )
    assert rate_limit_line(BulkReport()) is None
    assert rate_limit_line(BulkReport(started_from=LearnedLimit(rate=33.5))) == (
        "rate limit: none met; the run started at 33.5 requests/s, the limit an earlier run learned"
    )
    assert rate_limit_line(BulkReport(started_from=LearnedLimit())) is None
    assert rate_limit_line(BulkReport(rate_limited=3)) == (
        "rate limit: none found (3 answered 429, retried; none failed an item)"
    )
    fell_back = BulkReport(rate_limited=3, pacing_fault="ZeroDivisionError: boom")
    assert rate_limit_line(fell_back) == (
        "rate limit: paced by a plain fallback after the rate governor failed "
        "(ZeroDivisionError: boom; see the log above; 3 answered 429, retried)"
    )
    assert fell_back.summary().endswith(
        "; paced by a plain fallback after the rate governor failed "
        "(ZeroDivisionError: boom; see the log)"
    )


@pytest.mark.parametrize(
    ("window", "rate", "in_flight"),
    [(8, 326.4, "8 requests in flight"), (1, 30.2, "1 request in flight")],
)
def test_the_summary_under_a_cap_gives_the_window_to_pass_as_concurrency(
    window: int, rate: float, in_flight: str
) -> None:
    under_a_cap = BulkReport(rate_limited=9, settled_rate=rate, settled_concurrency=window)
    shown = format_rate(rate)
    assert rate_limit_line(under_a_cap) == (
        f"rate limit: the run settled at {in_flight}, {shown} requests/s (9 answered "
        f"429, retried; none failed an item); next time pass --concurrency {window}"
    )
    assert under_a_cap.rate_limit_advice() == (
        f"rate limited (9 429s): settled at {in_flight} ({shown} requests/s); "
        f"pass concurrency={window} next time"
    )
    assert rate_limit_line(BulkReport(started_from=LearnedLimit(window=window))) == (
        f"rate limit: none met; the run started at {in_flight}, the cap an earlier run learned"
    )


@pytest.mark.parametrize(
    ("learned", "start"),
    [
        (LearnedLimit(rate=33.5), "33.5 requests/s, the limit"),
        (LearnedLimit(window=1), "1 request in flight, the cap"),
    ],
)
def test_the_one_line_summary_says_what_a_run_without_429s_started_from(
    learned: LearnedLimit, start: str
) -> None:
    # Paced from its first request and never refused: without this, nothing in the
    # library's one line said why the run went at 33/s.
    report = BulkReport(started_from=learned)
    assert report.summary().endswith(f"; no 429; started at {start} an earlier run learned")
    assert BulkReport(started_from=LearnedLimit()).summary() == BulkReport().summary()
    met = BulkReport(started_from=learned, rate_limited=2, settled_rate=30.0)
    assert "started at" not in met.summary()  # the limit it met is the news


def test_the_summary_of_a_run_a_rate_limit_stopped_does_not_say_none_was_found() -> None:
    # Stopped by a Retry-After longer than max_pause before the run settled: it met a
    # limit, and "none found" read as though the 429s were strays.
    stopped = BulkReport(rate_limited=4, stopped=LongRetryAfterError(660.0, 300.0))
    assert rate_limit_line(stopped) == (
        "rate limit: met, the run stopped before settling (4 answered 429, retried; none "
        "failed an item)"
    )
    stalled = BulkReport(rate_limited=50, stopped=RateLimitStalledError(600.0))
    assert rate_limit_line(stalled) == (
        "rate limit: met, the run stopped before settling (50 answered 429, retried; none "
        "failed an item)"
    )


@pytest.mark.parametrize(
    ("rate", "text"),
    [(291.7, "291"), (9.78, "9.78"), (0.256, "0.256"), (10.0, "10"), (0.0012, "0.0012")],
)
def test_a_rate_is_written_as_a_user_types_it_never_rounded_up(rate: float, text: str) -> None:
    assert format_rate(rate) == text
