"""Headers as people write them, and --map / --mapping: what each column feeds."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from zyntro_async.cli._errors import ImportUsageError
from zyntro_async.cli._headers import HEADERS, lookup_header, normalise
from zyntro_async.cli._mapping import (
    ColumnPlan,
    Target,
    load_mapping_file,
    parse_map_option,
    parse_target,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def plan(header: str, **options: object) -> ColumnPlan:
    return ColumnPlan.from_header(header.split(","), file_name="in.csv", **options)  # type: ignore[arg-type]


def line(header: str, row: str, **options: object) -> dict[str, object]:
    return plan(header, **options).line(row.split(","), base_dir=Path("/base"))


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("First Name", "firstName"),
        ("first_name", "firstName"),
        ("FIRSTNAME", "firstName"),
        ("first-name", "firstName"),
        ("E-mail Address", "primaryEmail"),
        ("Email 1 - Value", "primaryEmail"),
        ("Mobile Phone", "primaryPhone"),
        ("Phone 1 - Value", "primaryPhone"),
        ("Company Name", "entity.name"),
        ("Account Name", "entity.name"),
        ("Organization", "entity.name"),
        ("Organization 1 - Name", "entity.name"),
        ("Notes", "note"),
        ("Job Title", "roleLabel"),
        ("Lead Status", "status"),
        ("Labels", "tags"),
        ("Website", "entity.website"),
        ("Person - Email - Work", "primaryEmail"),
        ("Person - Organization", "entity.name"),
    ],
)
def test_headers_match_ignoring_case_spaces_underscores_and_hyphens(
    header: str, target: str
) -> None:
    alias = lookup_header(header)

    assert alias is not None
    assert alias.target == target


def test_every_recognised_header_is_listed_in_the_readme() -> None:
    readme = README.read_text()
    section = readme.split("## Importing other CRMs' exports", 1)[1].split("\n## ", 1)[0]

    for alias in HEADERS:
        assert f"`{alias.header}`" in section, alias.header


def test_normalise_keeps_letters_and_digits_only() -> None:
    assert normalise("E-mail 2 Address") == "email2address"
    assert normalise(" Phone_Number ") == "phonenumber"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("firstName", Target("contact", "firstName")),
        ("first name", Target("contact", "firstName")),
        ("PRIMARY_EMAIL", Target("contact", "primaryEmail")),
        ("email", Target("contact", "primaryEmail")),
        ("company", Target("entity", "name")),
        ("entity.name", Target("entity", "name")),
        ("entity.website", Target("entity", "website")),
        ("note", Target("note")),
        ("Notes", Target("note")),
        ("tags", Target("tags")),
        ("attachment", Target("attachment")),
        ("custom:industry", Target("custom", "industry")),
        ("custom: Company Size ", Target("custom", "Company Size")),
        ("ignore", Target("ignore")),
    ],
)
def test_map_targets(text: str, expected: Target) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize("text", ["nonsense", "custom:", "entity.nothing"])
def test_an_unknown_target_is_a_usage_error_listing_the_choices(text: str) -> None:
    with pytest.raises(ImportUsageError, match=r"custom:NAME, or ignore|needs the custom field"):
        parse_target(text)


def test_map_option_splits_at_the_last_equals_sign() -> None:
    pair = parse_map_option("Score (1=low)=custom:score")

    assert (pair.source, pair.target) == ("Score (1=low)", Target("custom", "score"))
    with pytest.raises(ImportUsageError, match="expected SOURCE=TARGET"):
        parse_map_option("just-a-column")


def test_mapping_files_in_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "m.toml"
    toml.write_text('[columns]\n"E-Mail Adresse" = "primaryEmail"\n"Firma" = "company"\n')
    js = tmp_path / "m.json"
    js.write_text(json.dumps({"Vorname": "firstName", "Branche": "custom:industry"}))

    assert [(m.source, str(m.target)) for m in load_mapping_file(toml)] == [
        ("E-Mail Adresse", "primaryEmail"),
        ("Firma", "company"),
    ]
    assert [(m.source, str(m.target)) for m in load_mapping_file(js)] == [
        ("Vorname", "firstName"),
        ("Branche", "custom:industry"),
    ]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.json", "{not json", "not valid JSON"),
        ("bad.toml", "= nothing", "not valid TOML"),
        ("list.json", "[1, 2]", "SOURCE"),
        ("number.json", '{"A": 1}', "must map to a target name"),
        ("target.json", '{"A": "nowhere"}', "unknown target 'nowhere'"),
    ],
)
def test_a_bad_mapping_file_is_a_usage_error(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text)

    with pytest.raises(ImportUsageError, match=expected):
        load_mapping_file(path)


def test_every_unknown_column_is_listed_at_once_with_the_flags_that_fix_it() -> None:
    with pytest.raises(ImportUsageError) as caught:
        plan("First Name,E-mail,Lifecycle Stage,Lastname2,Create Date")

    message = str(caught.value)
    assert "3 unknown columns" in message
    assert "'Lifecycle Stage': if it is a custom field, --map 'Lifecycle Stage=custom:" in message
    assert "'Lastname2': did you mean lastName? --map Lastname2=lastName" in message
    fix = message.split("to import them, add: ", 1)[1].split("\n", 1)[0]
    # The suggested flags are valid shell: each --map value survives shlex as one word.
    words = shlex.split(fix)
    assert words[0::2] == ["--map"] * 3
    assert words[1] == "Lifecycle Stage=custom:lifecycle_stage"
    assert "--ignore-unknown-columns" in message


def test_ignore_unknown_columns_leaves_them_out_and_says_so() -> None:
    result = plan("Email,Lifecycle Stage", ignore_unknown_columns=True)

    assert result.line(["a@b.example", "lead"], base_dir=Path()) == {
        "contact": {"primaryEmail": "a@b.example"}
    }
    assert any("'Lifecycle Stage'" in notice for notice in result.notices)


def test_map_wins_over_the_header_table_and_custom_fields_are_collected() -> None:
    result = plan(
        "Email,Title,Region",
        maps=[parse_map_option("Title=custom:salutation"), parse_map_option("region=ignore")],
    )

    assert result.line(["a@b.example", "Dr.", "EU"], base_dir=Path()) == {
        "contact": {"primaryEmail": "a@b.example", "customFields": {"salutation": "Dr."}}
    }
    assert result.custom_fields == ("salutation",)


def test_a_map_for_a_missing_column_is_a_usage_error_but_a_mapping_file_entry_is_not(
    tmp_path: Path,
) -> None:
    with pytest.raises(ImportUsageError, match=r"has no column 'Emial' .*did you mean 'Email'"):
        plan("Email", maps=[parse_map_option("Emial=primaryEmail")])
    mapping = tmp_path / "m.json"
    mapping.write_text('{"Fax": "ignore"}')

    plan("Email", maps=load_mapping_file(mapping))


def test_phones_take_the_first_non_empty_column_by_priority() -> None:
    header = "Email,Home Phone,Business Phone,Mobile Phone,Phone"

    assert line(header, "a@b.example,1111111,2222222,3333333,4444444")["contact"] == {
        "primaryEmail": "a@b.example",
        "primaryPhone": "4444444",
    }
    assert line(header, "a@b.example,1111111,2222222,,")["contact"] == {
        "primaryEmail": "a@b.example",
        "primaryPhone": "2222222",
    }


def test_other_fields_use_the_best_ranked_column_only() -> None:
    result = plan("Email,Title,Job Title")

    # Outlook's Title is "Mr."/"Ms.": never a stand-in for an empty Job Title.
    assert result.line(["a@b.example", "Mr.", ""], base_dir=Path()) == {
        "contact": {"primaryEmail": "a@b.example"}
    }
    assert any("'Title' is not used" in notice for notice in result.notices)


def test_a_full_name_is_split_when_no_column_gives_the_first_name() -> None:
    assert line("Name,Email", "Mary Ann Smith,m@x.example")["contact"] == {
        "firstName": "Mary Ann",
        "lastName": "Smith",
        "primaryEmail": "m@x.example",
    }
    assert line("Name,Email", "Cher,c@x.example")["contact"] == {
        "firstName": "Cher",
        "primaryEmail": "c@x.example",
    }
    assert line("Name,First Name,Email", "Mary Smith,Mary,m@x.example")["contact"] == {
        "firstName": "Mary",
        "primaryEmail": "m@x.example",
    }


def test_tags_split_on_commas_semicolons_and_google_separators_notes_each_give_a_note() -> None:
    result = line(
        "Email,Tags,Labels,Notes,Description",
        "a@b.example,vip; beta,* myContacts ::: * starred ::: Friends ::: vip,n1,n2",
    )

    assert result["contact"] == {
        "primaryEmail": "a@b.example",
        "tags": ["vip", "beta", "starred", "Friends"],
    }
    assert result["notes"] == [{"note": "n1"}, {"note": "n2"}]


def test_company_website_and_attachments() -> None:
    result = line(
        "Email,Account Name,Website,attachment",
        "a@b.example,Acme,https://acme.example,files/deck.pdf",
    )

    assert result["entity"] == {"name": "Acme", "website": "https://acme.example"}
    assert result["attachments"] == [{"path": str(Path("/base/files/deck.pdf"))}]


def test_the_lookup_column_is_required() -> None:
    with pytest.raises(ImportUsageError, match="no primaryEmail column"):
        plan("First Name,Phone")
    by_phone = plan("First Name,Phone", lookup_by="phone")
    assert by_phone.line(["A", "555 0100"], base_dir=Path()) == {
        "contact": {"firstName": "A", "primaryPhone": "555 0100"},
        "lookup_by": "phone",
    }
