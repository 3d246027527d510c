"""From a CSV/XLSX header to the import format: which column feeds which field.

A :class:`ColumnPlan` is built once from the header row and the user's flags, and then
turns each row into one line of the JSONL import format (so a row's errors name the same
fields as a JSONL line's, and ``--export`` writes it back ready to fix). Each column gets
its target from, in this order:

1. ``--map SOURCE=TARGET`` / ``--mapping FILE`` (SOURCE matched exactly, then normalised);
2. ``--custom-field NAME`` (the column named exactly NAME is that custom field);
3. the header table of :mod:`zyntro_async.cli._headers` (normalised);
4. otherwise the column is unknown: an error listing every unknown column with the flags
   that fix it, unless ``--ignore-unknown-columns``.

TARGET is a contact field in any spelling the header table knows (``firstName``,
``First Name``, ``email``), ``company`` / ``entity.name`` (and ``entity.website``,
``entity.label``, ``entity.status``), ``note``, ``tags``, ``attachment``, ``custom:NAME``
or ``ignore``.
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from zyntro_async.bulk._format import CONTACT_KEYS, ENTITY_KEYS
from zyntro_async.cli._errors import ImportUsageError
from zyntro_async.cli._headers import FULL_NAME, known_headers, lookup_header, normalise

__all__ = [
    "ColumnMap",
    "ColumnPlan",
    "Target",
    "load_mapping_file",
    "parse_map_option",
    "parse_target",
]

TargetKind = Literal[
    "contact", "entity", "full_name", "note", "tags", "attachment", "custom", "ignore"
]

# Contact fields a cell holds as text (tags and customFields have their own targets).
_CONTACT_FIELDS = {
    normalise(name): name for name in CONTACT_KEYS if name not in ("tags", "customFields")
}
_ENTITY_FIELDS = {normalise(name): name for name in ENTITY_KEYS}
# Fields a row may fill from several columns, taking the first non-empty cell.
_FALLBACK_FIELDS = frozenset({"primaryEmail", "primaryPhone"})
# Google Contacts puts several values in one cell: "a@x.example ::: b@x.example".
_MULTI_VALUE = ":::"
_TAG_SEPARATORS = re.compile(r"[,;]|:::")
# Google marks its own groups with "* " ("* starred"); "* myContacts" is on every contact.
_GOOGLE_EVERYONE = "myContacts"
_TARGET_HELP = (
    "a contact field (firstName, lastName, primaryEmail, primaryPhone, source, status, "
    "roleLabel), company (or entity.name, entity.website), note, tags, attachment, "
    "custom:NAME, or ignore"
)


@attrs.frozen
class Target:
    """Where a column's cells go.

    Attributes:
        kind: ``contact`` (a contact field), ``entity`` (a company field), ``full_name``
            (split into first and last name), ``note``, ``tags``, ``attachment``,
            ``custom`` (a custom field), or ``ignore``.
        name: The field's wire name (``firstName``, ``website``) or the custom field's name.
    """

    kind: TargetKind
    name: str = ""

    def __str__(self) -> str:
        if self.kind == "contact":
            return self.name
        if self.kind == "entity":
            return "company" if self.name == "name" else f"entity.{self.name}"
        if self.kind == "custom":
            return f"custom:{self.name}"
        if self.kind == "full_name":
            return "full name (first and last)"
        return self.kind


def _alias_target(target: str) -> Target:
    """A header table target (``firstName``, ``entity.name``, ``note``...) as a Target."""
    if target == FULL_NAME:
        return Target("full_name")
    if target.startswith("entity."):
        return Target("entity", target.removeprefix("entity."))
    if target in ("note", "tags", "attachment"):
        return Target(target)  # type: ignore[arg-type]
    return Target("contact", target)


def parse_target(text: str) -> Target:
    """Read the TARGET of ``--map SOURCE=TARGET`` or of a mapping file entry.

    Args:
        text: ``firstName`` (any case or spacing, or any header the table knows),
            ``company``, ``entity.website``, ``note``, ``tags``, ``attachment``,
            ``custom:NAME`` or ``ignore``.

    Returns:
        The target.

    Raises:
        ImportUsageError: Not one of those.
    """
    stripped = text.strip()
    if stripped.casefold().startswith("custom:"):
        name = stripped[len("custom:") :].strip()
        if not name:
            raise ImportUsageError("custom: needs the custom field's name, e.g. custom:industry")
        return Target("custom", name)
    key = normalise(stripped)
    if key in ("ignore", "skip"):
        return Target("ignore")
    if key in ("notes", "note"):
        return Target("note")
    if stripped.casefold().startswith("entity."):
        field = _ENTITY_FIELDS.get(normalise(stripped[len("entity.") :]))
        if field is not None:
            return Target("entity", field)
    if key in _CONTACT_FIELDS:
        return Target("contact", _CONTACT_FIELDS[key])
    alias = lookup_header(stripped)
    if alias is not None:
        return _alias_target(alias.target)
    raise ImportUsageError(f"unknown target {stripped!r}: use {_TARGET_HELP}")


@attrs.frozen
class ColumnMap:
    """One SOURCE=TARGET pair from ``--map`` or a mapping file.

    Attributes:
        source: The column's header.
        target: Where its cells go.
        origin: ``"--map"`` or the mapping file's name (for messages).
        required: Whether the file must have the column (``--map``: yes; a mapping file
            written for a CRM's export may name columns a given export leaves out).
    """

    source: str
    target: Target
    origin: str = "--map"
    required: bool = True


def parse_map_option(text: str) -> ColumnMap:
    """Read one ``--map "SOURCE=TARGET"``.

    The split is at the last ``=``: a header may contain one, a target never does.

    Args:
        text: The option's value.

    Returns:
        The pair.

    Raises:
        ImportUsageError: No ``=``, an empty side, or an unknown target.
    """
    source, sep, target = text.rpartition("=")
    if not sep or not source.strip() or not target.strip():
        raise ImportUsageError(
            f"--map {shlex.quote(text)}: expected SOURCE=TARGET, e.g. --map 'E-mail=primaryEmail'"
        )
    try:
        return ColumnMap(source.strip(), parse_target(target))
    except ImportUsageError as exc:
        raise ImportUsageError(f"--map {shlex.quote(text)}: {exc}") from exc


def load_mapping_file(path: Path) -> list[ColumnMap]:
    """Read ``--mapping FILE``: a TOML or JSON table of ``"SOURCE" = "TARGET"``.

    The pairs may also sit in a ``[columns]`` table. TOML needs Python 3.11, or the
    ``tomli`` package (which the ``cli`` extra installs) on 3.10.

    Args:
        path: A ``.toml`` file, or JSON (any other extension).

    Returns:
        The pairs, in the file's order.

    Raises:
        ImportUsageError: The file cannot be read or parsed, or an entry is not a
            string-to-string pair with a known target.
    """
    where = f"--mapping {path}"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportUsageError(f"{where}: cannot read it: {exc}") from exc
    data: Any
    if path.suffix.lower() == ".toml":
        toml = _toml_module()
        try:
            data = toml.loads(text)
        except toml.TOMLDecodeError as exc:
            raise ImportUsageError(f"{where}: not valid TOML: {exc}") from exc
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportUsageError(
                f"{where}: not valid JSON: {exc.msg} (line {exc.lineno}); a .toml file is "
                "read as TOML"
            ) from exc
    if isinstance(data, Mapping) and set(data) == {"columns"}:
        data = data["columns"]
    if not isinstance(data, Mapping):
        raise ImportUsageError(f'{where}: expected a table of "SOURCE" = "TARGET" pairs')
    pairs: list[ColumnMap] = []
    for source, target in data.items():
        if not isinstance(target, str) or not str(source).strip():
            raise ImportUsageError(
                f"{where}: {source!r} must map to a target name (a string), got {target!r}"
            )
        try:
            parsed = parse_target(target)
        except ImportUsageError as exc:
            raise ImportUsageError(f"{where}: {source!r}: {exc}") from exc
        pairs.append(ColumnMap(str(source).strip(), parsed, origin=path.name, required=False))
    return pairs


def _toml_module() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:  # pragma: no cover - Python 3.10 only
        import tomli
    except ImportError:  # pragma: no cover - Python 3.10 without the cli extra
        raise ImportUsageError(
            "reading a TOML mapping needs Python 3.11+ or the tomli package "
            "(pip install 'zyntro-async[cli]'); or write the mapping as JSON"
        ) from None
    return tomli  # pragma: no cover


@attrs.frozen
class _Column:
    index: int
    header: str
    target: Target
    rank: int  # lower wins; -1 for an explicit --map / --custom-field


class ColumnPlan:
    """What each column of one file feeds; turns rows into import-format lines.

    Build it with :meth:`from_header`.

    Attributes:
        custom_fields: The custom field names the file fills (for the emulator).
        notices: Columns found but not used, one sentence each (shown to the user).
    """

    def __init__(
        self,
        columns: Sequence[_Column],
        *,
        notices: Sequence[str],
        lookup_by: str,
        width: int,
    ) -> None:
        self._columns = tuple(columns)
        self.notices = tuple(notices)
        self.width = width
        self._lookup_by = lookup_by
        self.custom_fields = tuple(
            dict.fromkeys(c.target.name for c in columns if c.target.kind == "custom")
        )

    @classmethod
    def from_header(
        cls,
        header: Sequence[str],
        *,
        file_name: str,
        maps: Sequence[ColumnMap] = (),
        custom_fields: Sequence[str] = (),
        ignore_unknown_columns: bool = False,
        lookup_by: str = "email",
    ) -> ColumnPlan:
        """Resolve every column of ``header``.

        Args:
            header: The header row's cells.
            file_name: For messages.
            maps: ``--map`` and ``--mapping`` pairs (``--map`` ones first: they win).
            custom_fields: ``--custom-field`` names.
            ignore_unknown_columns: Leave unknown columns out instead of failing.
            lookup_by: ``email`` or ``phone``: the column contacts are matched by must exist.

        Returns:
            The plan.

        Raises:
            ImportUsageError: A blank or repeated header, a declared custom field that is a
                contact column, a ``--map`` source or ``--custom-field`` with no column,
                unknown columns (all listed), or no column for the lookup field.
        """
        names = [name.strip() for name in header]
        if not any(names):
            raise ImportUsageError(
                f"{file_name} has no header row (the first row names the columns)"
            )
        for position, name in enumerate(names, start=1):
            if not name:
                raise ImportUsageError(f"{file_name}: column {position} has no name")
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ImportUsageError(f"{file_name}: column {repeated[0]!r} appears more than once")
        declared = list(dict.fromkeys(custom_fields))
        for name in declared:
            if normalise(name) in _CONTACT_FIELDS or name in ("tags", "company", "note"):
                raise ImportUsageError(
                    f"--custom-field {name}: {name!r} is a contact column, not a custom field"
                )
            if name not in names:
                raise ImportUsageError(
                    f"--custom-field {name}: {file_name} has no column named {name!r}"
                )
        for pair in maps:
            if pair.required and _find_map(pair.source, names) is None:
                raise ImportUsageError(
                    f"--map {shlex.quote(pair.source + '=' + str(pair.target))}: {file_name} "
                    f"has no column {pair.source!r}{_closest_header(pair.source, names)}"
                )
        columns: list[_Column] = []
        unknown: list[str] = []
        for index, name in enumerate(names):
            mapped = _map_for(name, maps)
            if mapped is not None:
                columns.append(_Column(index, name, mapped.target, -1))
            elif name in declared:
                columns.append(_Column(index, name, Target("custom", name), -1))
            elif (alias := lookup_header(name)) is not None:
                columns.append(_Column(index, name, _alias_target(alias.target), alias.rank))
            elif ignore_unknown_columns:
                columns.append(_Column(index, name, Target("ignore"), 0))
            else:
                unknown.append(name)
        if unknown:
            raise ImportUsageError(_unknown_columns_message(file_name, unknown))
        used, notices = _choose(columns)
        ignored = [c.header for c in columns if c.target.kind == "ignore"]
        if ignored:
            notices.insert(
                0, f"{file_name}: not importing column(s) {', '.join(map(repr, ignored))}"
            )
        lookup_field = "primaryPhone" if lookup_by == "phone" else "primaryEmail"
        if lookup_by in ("email", "phone") and not any(
            c.target == Target("contact", lookup_field) for c in used
        ):
            what = "e-mail" if lookup_by == "email" else "phone"
            raise ImportUsageError(
                f"{file_name} has no {lookup_field} column: contacts are matched by {what} "
                f"(name a column with --map 'COLUMN={lookup_field}')"
            )
        return cls(used, notices=notices, lookup_by=lookup_by, width=len(names))

    def line(self, row: Sequence[str], *, base_dir: Path) -> dict[str, Any]:
        """One row in the JSONL import format (file paths made absolute).

        Args:
            row: The row's cells (missing trailing cells count as empty).
            base_dir: Directory that relative attachment paths are relative to.

        Returns:
            ``{"contact": {...}, "entity": {...}, "notes": [...], "attachments": [...]}``,
            without the parts the row leaves empty.
        """
        contact: dict[str, Any] = {}
        entity: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        tags: list[str] = []
        notes: list[dict[str, Any]] = []
        attachments: list[dict[str, Any]] = []
        full_name = ""
        for column in self._columns:
            value = row[column.index].strip() if column.index < len(row) else ""
            if not value:
                continue
            target = column.target
            if target.kind == "contact":
                if target.name in _FALLBACK_FIELDS:
                    value = value.split(_MULTI_VALUE, 1)[0].strip()
                contact.setdefault(target.name, value)
            elif target.kind == "entity":
                entity.setdefault(target.name, value)
            elif target.kind == "custom":
                custom.setdefault(target.name, value)
            elif target.kind == "full_name":
                full_name = full_name or value
            elif target.kind == "tags":
                tags.extend(_tags(value))
            elif target.kind == "note":
                notes.append({"note": value})
            elif target.kind == "attachment":
                attachments.append(attachment_line(value, base_dir))
        if full_name:
            first, _, last = full_name.rpartition(" ")
            contact.setdefault("firstName", first.strip() or last)
            if first.strip():
                contact.setdefault("lastName", last)
        if tags:
            contact["tags"] = list(dict.fromkeys(tags))
        if custom:
            contact["customFields"] = custom
        line: dict[str, Any] = {"contact": _wire_order(contact)}
        if self._lookup_by != "email":
            line["lookup_by"] = self._lookup_by
        if entity:
            line["entity"] = entity
        if notes:
            line["notes"] = notes
        if attachments:
            line["attachments"] = attachments
        return line


_WIRE_ORDER = {name: i for i, name in enumerate(CONTACT_KEYS)}


def _tags(value: str) -> Iterator[str]:
    for part in _TAG_SEPARATORS.split(value):
        tag = part.strip().removeprefix("* ").strip()
        if tag and tag != _GOOGLE_EVERYONE:
            yield tag


def _wire_order(contact: dict[str, Any]) -> dict[str, Any]:
    """The contact's keys in the API's order (the import format's, for readable exports)."""
    return dict(sorted(contact.items(), key=lambda item: _WIRE_ORDER.get(item[0], 99)))


def _find_map(source: str, names: Sequence[str]) -> str | None:
    if source in names:
        return source
    key = normalise(source)
    return next((name for name in names if normalise(name) == key), None)


def _map_for(name: str, maps: Sequence[ColumnMap]) -> ColumnMap | None:
    exact = next((pair for pair in maps if pair.source == name), None)
    if exact is not None:
        return exact
    key = normalise(name)
    return next((pair for pair in maps if normalise(pair.source) == key), None)


def _choose(columns: Sequence[_Column]) -> tuple[list[_Column], list[str]]:
    """Order the columns for :meth:`ColumnPlan.line`, dropping the ones that lose.

    A single-valued field keeps its best-ranked column (``primaryEmail`` and
    ``primaryPhone`` keep all, best first: a row falls back to the next non-empty one).
    """
    notices: list[str] = []
    active = [c for c in columns if c.target.kind != "ignore"]
    if any(c.target == Target("contact", "firstName") for c in active):
        for c in active:
            if c.target.kind == "full_name":
                notices.append(f"column {c.header!r} is not used: another column gives firstName")
        active = [c for c in active if c.target.kind != "full_name"]
    ordered = sorted(active, key=lambda c: (c.rank, c.index))
    used: list[_Column] = []
    winners: dict[Target, _Column] = {}
    for column in ordered:
        target = column.target
        single = target.kind in ("contact", "entity", "custom", "full_name")
        if single and target.name not in _FALLBACK_FIELDS and target in winners:
            notices.append(
                f"column {column.header!r} is not used: {winners[target].header!r} gives {target}"
            )
            continue
        winners.setdefault(target, column)
        used.append(column)
    fallbacks = [
        c for c in used if c.target.kind == "contact" and c.target.name in _FALLBACK_FIELDS
    ]
    for field in _FALLBACK_FIELDS:
        chain = [c.header for c in fallbacks if c.target.name == field]
        if len(chain) > 1:
            notices.append(f"{field}: the first non-empty of {', '.join(map(repr, chain))}")
    return used, notices


def _closest_header(source: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(source, names, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _closest_targets(header: str) -> list[str]:
    """Known fields whose usual headers look like ``header``, best first."""
    by_key = {
        normalise(name): name for name in (*_CONTACT_FIELDS.values(), "company", "note", "tags")
    }
    keys = (*known_headers(), *by_key)
    found: list[str] = []
    for key in difflib.get_close_matches(normalise(header), keys, n=4, cutoff=0.8):
        alias = lookup_header(key)
        target = str(_alias_target(alias.target)) if alias is not None else by_key[key]
        if target not in found and not target.startswith("full name"):
            found.append(target)
    return found


def _custom_name(header: str) -> str:
    """A plausible custom field tag for a header: ``Lifecycle Stage`` -> ``lifecycle_stage``."""
    return re.sub(r"[\W_]+", "_", header.casefold()).strip("_") or "field"


def _unknown_columns_message(file_name: str, unknown: Sequence[str]) -> str:
    """Every unknown column, what it may be, and the exact flags that import the file."""
    count = f"{len(unknown)} unknown columns" if len(unknown) > 1 else "unknown column"
    lines = [f"{file_name}: {count} (not contact fields): {', '.join(map(repr, unknown))}"]
    fixes: list[str] = []
    for header in unknown:
        close = _closest_targets(header)
        if close:
            fix = f"--map {shlex.quote(f'{header}={close[0]}')}"
            lines.append(f"  {header!r}: did you mean {' or '.join(close)}? {fix}")
        else:
            fix = f"--map {shlex.quote(f'{header}=custom:{_custom_name(header)}')}"
            also = f" (or --custom-field {shlex.quote(header)})" if header.isidentifier() else ""
            lines.append(f"  {header!r}: if it is a custom field, {fix}{also}")
        fixes.append(fix)
    lines.append(f"to import them, add: {' '.join(fixes)}")
    lines.append("or leave them out: --ignore-unknown-columns")
    lines.append(f"(a --map TARGET is {_TARGET_HELP})")
    return "\n".join(lines)


def attachment_line(value: str, base_dir: Path) -> dict[str, Any]:
    """An ``attachment`` cell as an import-format attachment.

    Args:
        value: An ``http(s)://`` URL (a link named after it) or a file path.
        base_dir: What a relative path is relative to.

    Returns:
        ``{"name": ..., "url": ...}`` or ``{"path": ...}`` (absolute when resolvable).
    """
    if "://" in value:
        return {"name": _name_from_url(value), "url": value}
    try:
        path = Path(value).expanduser()
    except (RuntimeError, ValueError):  # "~nosuchuser/...": op_from_line refuses it by name
        return {"path": value}
    return {"path": str(path if path.is_absolute() else base_dir / path)}


def _name_from_url(url: str) -> str:
    """``https://acme.com/files/deck.pdf`` -> ``deck.pdf``; ``https://acme.com`` -> ``acme.com``."""
    rest = url.split("://", 1)[1].split("?", 1)[0].split("#", 1)[0]
    host, _, path = rest.partition("/")
    segments = [segment for segment in path.split("/") if segment]
    return segments[-1] if segments else host or url
