"""The column headers the CSV/XLSX reader recognises, as other CRMs and address books write them.

One table, :data:`HEADERS`, says which target each known header feeds. Headers are compared
*normalised* (:func:`normalise`): case, spaces, underscores, hyphens and other punctuation
do not count, so ``First Name``, ``first_name``, ``FIRSTNAME`` and ``firstName`` are one
header. The README lists this table ("Importing other CRMs' exports"); keep them together.

When several columns of a file feed the same target:

- ``primaryEmail`` and ``primaryPhone`` take, row by row, the first non-empty cell in
  :attr:`HeaderAlias.rank` order (then column order): a row without ``Phone`` but with
  ``Mobile Phone`` still gets a phone. The other cells of that row are not sent.
- every other contact or company field uses the one column of the best rank in the file
  (``Job Title`` over Outlook's ``Title``, which holds "Mr."/"Ms."); the others are ignored,
  and the reader says so.
- ``note`` columns each give a note, ``tags`` columns are merged.
- A header may carry Pipedrive's ``Person -`` prefix (``Person - Email - Work``).
- ``Name`` (a full name) is used only when no column gives ``firstName``: it is split at its
  last space (``Mary Ann Smith`` -> ``Mary Ann`` + ``Smith``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

__all__ = ["FULL_NAME", "HEADERS", "HeaderAlias", "lookup_header", "normalise"]

FULL_NAME = "fullName"
"""Pseudo-target of a whole-name column (split into ``firstName`` and ``lastName``)."""

_NOT_ALNUM = re.compile(r"[\W_]+")


def normalise(header: str) -> str:
    """A header as it is compared: lower case, letters and digits only.

    Args:
        header: A column name as written in the file (or in ``--map``).

    Returns:
        ``"E-mail Address"`` -> ``"emailaddress"``, ``"first_name"`` -> ``"firstname"``.
    """
    return _NOT_ALNUM.sub("", header.casefold())


@attrs.frozen
class HeaderAlias:
    """One recognised header.

    Attributes:
        header: The header as the exporting tool writes it.
        target: What it feeds: a contact field (``firstName``), ``entity.name`` and other
            ``entity.*`` fields, ``note``, ``tags``, ``attachment``, or :data:`FULL_NAME`.
        rank: Lower wins when several columns feed one target (see the module docstring).
        exporters: Which tools write it (documentation only).
    """

    header: str
    target: str
    rank: int = 0
    exporters: str = ""


def _aliases(target: str, rank: int, exporters: str, *headers: str) -> list[HeaderAlias]:
    return [HeaderAlias(header, target, rank, exporters) for header in headers]


HEADERS: tuple[HeaderAlias, ...] = (
    # The import format's own names (``firstName`` is also every CRM's "First Name": the
    # comparison ignores case and spaces) come first in their groups.
    *_aliases("firstName", 0, "Zyntro, HubSpot, Salesforce, Zoho, Outlook, Google", "firstName"),
    *_aliases("firstName", 2, "Google (older), Pipedrive", "Given Name", "Forename", "First"),
    *_aliases("lastName", 0, "Zyntro, HubSpot, Salesforce, Zoho, Outlook, Google", "lastName"),
    *_aliases("lastName", 2, "Google (older)", "Family Name", "Surname", "Last"),
    *_aliases(
        FULL_NAME, 0, "Google, Pipedrive", "Name", "Full Name", "Contact Name", "Display Name"
    ),
    *_aliases("primaryEmail", 0, "Zyntro", "primaryEmail"),
    *_aliases(
        "primaryEmail",
        1,
        "HubSpot, Salesforce, Zoho, Outlook, Google, Pipedrive",
        "Email",
        "E-mail Address",
        "E-mail 1 - Value",
        "Email 1",
        "Email - Work",
        "Work Email",
    ),
    *_aliases(
        "primaryEmail",
        2,
        "Outlook, Google, Zoho, Pipedrive",
        "E-mail 2 Address",
        "Email 2",
        "E-mail 2 - Value",
        "Secondary Email",
        "Email - Home",
        "Personal Email",
        "Email - Other",
        "Other Email",
    ),
    *_aliases("primaryPhone", 0, "Zyntro", "primaryPhone"),
    *_aliases(
        "primaryPhone",
        1,
        "Salesforce, Zoho, Google, HubSpot",
        "Phone",
        "Phone Number",
        "Phone 1 - Value",
        "Phone 1",
        "Telephone",
    ),
    *_aliases(
        "primaryPhone",
        2,
        "Outlook, Salesforce, HubSpot, Zoho, Pipedrive",
        "Mobile Phone",
        "Mobile Phone Number",
        "Mobile Number",
        "Mobile",
        "Cell",
        "Cell Phone",
        "Phone - Mobile",
    ),
    *_aliases(
        "primaryPhone",
        3,
        "Outlook, Pipedrive",
        "Business Phone",
        "Work Phone",
        "Office Phone",
        "Direct Phone",
        "Phone - Work",
    ),
    *_aliases(
        "primaryPhone",
        4,
        "Outlook, Google, Pipedrive",
        "Home Phone",
        "Phone - Home",
        "Phone 2 - Value",
        "Phone 2",
        "Other Phone",
        "Phone - Other",
    ),
    *_aliases("roleLabel", 0, "Zyntro", "roleLabel"),
    *_aliases("roleLabel", 1, "HubSpot, Outlook", "Job Title", "Role", "Position"),
    *_aliases(
        "roleLabel",
        2,
        "Google, Salesforce, Zoho",
        "Organization Title",
        "Organization 1 - Title",
        "Title",
    ),
    *_aliases("status", 0, "Zyntro", "status"),
    *_aliases("status", 1, "HubSpot, Salesforce, Zoho", "Lead Status", "Contact Status"),
    *_aliases("source", 0, "Zyntro", "source"),
    *_aliases("source", 1, "Salesforce, Zoho, HubSpot", "Lead Source", "Original Source"),
    *_aliases("source", 2, "", "Contact Source"),
    *_aliases("tags", 0, "Zyntro, Zoho", "tags", "Tag"),
    *_aliases("tags", 1, "Google, Pipedrive, Outlook", "Labels", "Label", "Categories"),
    *_aliases("tags", 2, "Google (older)", "Group Membership"),
    *_aliases("entity.name", 0, "Zyntro, Outlook, Zoho", "company"),
    *_aliases(
        "entity.name",
        1,
        "HubSpot, Salesforce, Zoho, Pipedrive, Google",
        "Company Name",
        "Account Name",
        "Account",
        "Organization",
        "Organisation",
        "Organisation Name",
        "Company / Account",
        "Business Name",
        "Organization Name",
        "Organization 1 - Name",
    ),
    *_aliases(
        "entity.website",
        0,
        "HubSpot, Salesforce, Zoho, Outlook",
        "Website",
        "Website URL",
        "Web Page",
        "Company Website",
        "Company Domain Name",
    ),
    *_aliases("note", 0, "Zyntro, Outlook, Google, HubSpot", "note", "Notes"),
    *_aliases("note", 1, "Salesforce, Zoho", "Description", "Comments", "Comment"),
    *_aliases("attachment", 0, "Zyntro", "attachment", "Attachments", "File"),
)
"""Every recognised header, in the order the README lists them."""


def _by_normalised(aliases: tuple[HeaderAlias, ...]) -> Mapping[str, HeaderAlias]:
    table: dict[str, HeaderAlias] = {}
    for alias in aliases:
        key = normalise(alias.header)
        if key in table and table[key] != alias:  # pragma: no cover - a table mistake
            raise AssertionError(f"header {alias.header!r} is listed twice")
        table[key] = alias
    return table


_BY_NORMALISED = _by_normalised(HEADERS)
_PERSON_PREFIX = "person"


def lookup_header(header: str) -> HeaderAlias | None:
    """The recognised header ``header`` stands for, if any.

    Args:
        header: A column name as written in the file.

    Returns:
        Its :class:`HeaderAlias` (compared after :func:`normalise`), or ``None``.
    """
    key = normalise(header)
    found = _BY_NORMALISED.get(key)
    if found is None and key.startswith(_PERSON_PREFIX):
        # Pipedrive prefixes a person's columns: "Person - Email - Work".
        found = _BY_NORMALISED.get(key.removeprefix(_PERSON_PREFIX))
    return found


def known_headers() -> tuple[str, ...]:
    """Every recognised header, normalised (for "did you mean" suggestions)."""
    return tuple(_BY_NORMALISED)
