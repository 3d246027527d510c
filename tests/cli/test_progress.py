"""How an item's error is shown on the terminal and in plain output."""

from __future__ import annotations

import pytest

from zyntro_async import NotFoundError, RequestValidationError
from zyntro_async.cli._progress import describe_error


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
