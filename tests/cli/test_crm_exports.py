"""Realistic exports from other CRMs and address books, imported for real.

Each fixture in ``fixtures/`` is written the way its tool writes it (headers, delimiter,
encoding, line ends, quoting); each is imported by the ``zyntro-async`` process into an
in-process emulator with at most ``--ignore-unknown-columns`` or a mapping flag (plus the
dialect flag the issue allows: ``--encoding`` for Excel's cp1252), and what lands is checked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from zyntro_async.testing import Emulator
from zyntro_async.testing._state import StoredContact

from .conftest import emulator_env, run_cli, run_cli_async

FIXTURES = Path(__file__).parent / "fixtures"


async def import_fixture(
    emulator: Emulator, tmp_path: Path, name: str, *flags: str
) -> tuple[int, str]:
    # Copied: the command may write next to its input (a journal), never into the repo.
    path = tmp_path / name
    shutil.copy(FIXTURES / name, path)
    result = await run_cli_async("import", path, *flags, env=emulator_env(emulator))
    return result.returncode, result.output


def by_email(emulator: Emulator) -> dict[str, StoredContact]:
    return {(c.primary_email or "").lower(): c for c in emulator.contacts}


def entity_names(emulator: Emulator) -> set[str]:
    return {entity.name for entity in emulator.entities}


async def test_hubspot_export_with_crlf_and_extra_columns(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    status, output = await import_fixture(
        zyntro_emulator, tmp_path, "hubspot.csv", "--ignore-unknown-columns"
    )

    assert status == 0, output
    contacts = by_email(zyntro_emulator)
    assert set(contacts) == {"ada@engines.example", "alan@bletchley.example", "grace@navy.example"}
    ada = next(c for c in zyntro_emulator.contacts if c.first_name == "Ada")
    assert (ada.last_name, ada.primary_phone, ada.role_label, ada.status) == (
        "Lovelace",
        "+44 20 7946 0001",
        "Mathematician",
        "Open",
    )
    alan = next(c for c in zyntro_emulator.contacts if c.first_name == "Alan")
    assert alan.primary_phone == "+44 7700 900123"  # the mobile stands in for an empty phone
    assert {"Analytical Engines Ltd", "Bletchley Park, Ltd"} <= entity_names(zyntro_emulator)
    assert "not importing column(s) 'Lifecycle Stage', 'Create Date', 'Contact owner'" in output


async def test_salesforce_export_with_quoted_delimiters_and_line_breaks(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    status, output = await import_fixture(zyntro_emulator, tmp_path, "salesforce.csv")

    assert status == 0, output
    assert len(zyntro_emulator.contacts) == 3
    notes = sorted(note.note_content for note in zyntro_emulator.notes)
    assert notes == [
        'Computed trajectories for "Friendship 7".\nCall back in Q3, after the review.',
        "First line\nsecond line; with a semicolon\nthird line, with a comma",
    ]
    assert "NASA, Langley" in entity_names(zyntro_emulator)
    katherine = next(c for c in zyntro_emulator.contacts if c.first_name == "Katherine")
    assert (katherine.role_label, katherine.source) == ("Research Mathematician", "Web")
    dorothy = next(c for c in zyntro_emulator.contacts if c.first_name == "Dorothy")
    assert dorothy.primary_phone == "757-555-0101"


async def test_google_contacts_export_with_bom_and_multi_value_cells(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    status, output = await import_fixture(
        zyntro_emulator, tmp_path, "google.csv", "--ignore-unknown-columns"
    )

    assert status == 0, output
    contacts = by_email(zyntro_emulator)
    hedy, claude = contacts["hedy@films.example"], contacts["claude@bell.example"]
    assert (hedy.first_name, hedy.last_name, hedy.primary_email) == (
        "Hedy",
        "Lamarr",
        "hedy@films.example",  # the first of "a ::: b"
    )
    assert hedy.tags == ["Inventors"]  # Google's "* myContacts" is on every contact
    assert hedy.role_label == "Actress"
    assert claude.first_name == "Claude"  # E-mail 2 stands in for an empty E-mail 1
    assert {"MGM", "Bell Labs"} <= entity_names(zyntro_emulator)
    assert [note.note_content for note in zyntro_emulator.notes] == ["Frequency hopping"]


async def test_outlook_export_separated_by_semicolons(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    status, output = await import_fixture(
        zyntro_emulator, tmp_path, "outlook.csv", "--map", "Middle Name=ignore"
    )

    assert status == 0, output
    radia = next(c for c in zyntro_emulator.contacts if c.first_name == "Radia")
    assert radia.role_label == "Engineer"  # Job Title, not Title ("Ms.")
    assert radia.tags == ["VIP", "Partners"]
    assert radia.primary_phone == "+1 555 0100"
    vint = next(c for c in zyntro_emulator.contacts if c.first_name == "Vint")
    assert vint.primary_email == "vint@inet.example"
    websites = {entity.fields.get("website") for entity in zyntro_emulator.entities}
    assert "https://net.example" in websites


async def test_excel_cp1252_export_with_accented_names(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    status, output = await import_fixture(
        zyntro_emulator, tmp_path, "excel_cp1252.csv", "--encoding", "cp1252"
    )

    assert status == 0, output
    names = {(c.first_name, c.last_name) for c in zyntro_emulator.contacts}
    assert names == {("Zoë", "Brontë"), ("José", "Müller"), ("Françoise", "Barré-Sinoussi")}
    assert {"Éditions Haworth", "Straße & Söhne"} <= entity_names(zyntro_emulator)
    assert "Café rencontre \u2013 très bien" in {n.note_content for n in zyntro_emulator.notes}


async def test_excel_cp1252_export_without_encoding_is_refused_with_the_flag_to_use(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    status, output = await import_fixture(zyntro_emulator, tmp_path, "excel_cp1252.csv")

    assert status == 2
    assert "is not UTF-8 (byte 0xeb on line 2)" in output
    assert "--encoding cp1252" in output
    assert zyntro_emulator.contacts == []


async def test_pipedrive_export_separated_by_tabs_with_full_names(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    status, output = await import_fixture(zyntro_emulator, tmp_path, "pipedrive.tsv")

    assert status == 0, output
    contacts = by_email(zyntro_emulator)
    barbara = contacts["barbara@mit.example"]
    tim = contacts["tim@home.example"]  # Email - Home when Email - Work is empty
    assert (barbara.first_name, barbara.last_name) == ("Barbara", "Liskov")
    assert barbara.tags == ["Hot lead", "Academia"]
    assert (tim.first_name, tim.last_name) == ("Tim", "Berners-Lee")
    assert tim.primary_phone == "+44 7700 900456"
    assert {"MIT", "W3C"} <= entity_names(zyntro_emulator)


async def test_zoho_export_separated_by_pipes_with_a_mapping_file(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    mapping = tmp_path / "zoho.toml"
    mapping.write_text('"Lead Source" = "custom:industry"\n"Description" = "note"\n')

    status, output = await import_fixture(
        zyntro_emulator, tmp_path, "zoho.csv", "--mapping", str(mapping)
    )

    assert status == 0, output
    contacts = by_email(zyntro_emulator)
    margaret = contacts["margaret@apollo.example"]
    assert margaret.tags == ["apollo", "software"]
    assert margaret.custom_fields == {"industry": "Partner"}
    assert margaret.role_label == "Director"
    assert "frances@ibm.example" in contacts  # Secondary Email when Email is empty
    assert [n.note_content for n in zyntro_emulator.notes] == ["Wrote the flight software"]


async def test_a_runaway_quote_fails_its_row_and_the_rest_still_imports(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    status, output = await import_fixture(zyntro_emulator, tmp_path, "runaway.csv")

    assert status == 1, output
    assert set(by_email(zyntro_emulator)) == {
        "ann@runaway.example",
        "cid@runaway.example",
        "dee@runaway.example",
    }
    assert "runaway.csv:3" in output
    assert "unbalanced" in output
    assert "quoted, with a comma" in {n.note_content for n in zyntro_emulator.notes}


async def test_an_xlsx_workbook_imports_from_the_named_sheet(
    zyntro_emulator: Emulator, tmp_path: Path
) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    cover = workbook.active
    assert cover is not None
    cover.title = "Read me"
    cover.append(["This sheet is not the data"])
    sheet = workbook.create_sheet("Contacts")
    sheet.append(["First Name", "Last Name", "E-mail Address", "Mobile Phone", "Company"])
    sheet.append(["Ada", "Lovelace", "ada@xlsx.example", 447700900123, "Engines"])
    sheet.append([None, None, None, None, None])
    sheet.append(["Alan", "Turing", "alan@xlsx.example", None, None])
    path = tmp_path / "contacts.xlsx"
    workbook.save(path)

    result = await run_cli_async(
        "import", path, "--sheet", "Contacts", env=emulator_env(zyntro_emulator)
    )

    assert result.returncode == 0, result.output
    contacts = by_email(zyntro_emulator)
    assert contacts["ada@xlsx.example"].primary_phone == "447700900123"
    assert "alan@xlsx.example" in contacts
    assert "Engines" in entity_names(zyntro_emulator)


def test_with_emulator_mapped_custom_fields_are_defined_in_it(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("First Name,Email,Region\nAnn,ann@x.example,EU\n")

    result = run_cli("import", path, "--emulator", "--map", "Region=custom:region")

    assert result.returncode == 0, result.output
    assert "holds 1 contacts" in result.stdout
