"""Generate the example import data in this directory, deterministically.

    python examples/make_dataset.py                            # the bundled files, here
    python examples/make_dataset.py --rows 100000 --out /tmp/big  # a larger dataset

writes (and overwrites):

- ``contacts.jsonl``: 300 lines, one contact bundle each (contact, company, notes, links,
  files, communication history), of which 6 are deliberately bad, each for a clear reason;
- ``contacts.csv``: 50 rows for the CSV reader (3 bad), with the custom-field columns
  ``industry`` and ``company_size``;
- ``files/``: small but real files of several allowed types (PNG, PDF, TXT, CSV, ZIP), and
  ``setup.exe``, a text file whose extension the API does not accept;
- ``.zyntro-example.json``: which rows are bad on purpose, so ``zyntro-async import`` can
  say so before its summary.

With ``--rows N --out DIR`` it writes the same kinds of files into ``DIR``, with ``N`` lines
in ``contacts.jsonl`` and ``N`` rows in ``contacts.csv``: the same shape (bundles, children,
custom fields), the same bad lines repeating (6 in every 300 JSONL lines, 3 in every 50 CSV
rows), and e-mail addresses made unique by a number. Lines are written as they are made,
so a million rows take no more memory than ten.

Every value comes from a seeded random generator and fixed tables, so running it again
produces byte-identical files. Names, companies, domains (``.example``) and phone numbers
(the 555-01xx and Ofcom drama ranges) are fictional. The custom fields are the emulator
demo organization's (``zyntro_async.testing.DEFAULT_CUSTOM_FIELDS``): ``industry``,
``company_size`` (1-10, 11-50, 50-200, 200+), ``lead_score``, ``lead_source`` (Website,
Referral, Event, Partner, Other) and ``region``.

Try it::

    zyntro-async import examples/contacts.jsonl --emulator
    zyntro-async import examples/contacts.csv --emulator \\
        --custom-field industry --custom-field company_size
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import struct
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
SEED = 20260401
JSONL_LINES = 300
CSV_ROWS = 50

FIRST_NAMES = [
    "Amara", "Ben", "Carmen", "Dmitri", "Elena", "Farid", "Grace", "Hiroshi", "Ines", "Jamal",
    "Katarina", "Liam", "Mei", "Nikhil", "Olivia", "Pedro", "Quinn", "Rosa", "Samuel", "Tanvi",
    "Umar", "Valentina", "Wei", "Ximena", "Yusuf", "Zoe", "Aiko", "Bruno", "Chloe", "Diego",
    "Esther", "Felix", "Gabriela", "Hannah", "Ivan", "Julia", "Kwame", "Lucia", "Mateo", "Nadia",
    "Oscar", "Priya", "Rafael", "Sofia", "Tomasz", "Uma", "Victor", "Wanjiru", "Yara", "Zain",
]  # fmt: skip
LAST_NAMES = [
    "Okafor", "Schmidt", "Garcia", "Ivanov", "Rossi", "Haddad", "Kim", "Tanaka", "Moreau",
    "Johnson", "Novak", "O'Brien", "Chen", "Patel", "Williams", "Silva", "Murphy", "Lopez",
    "Adeyemi", "Sharma", "Khan", "Bianchi", "Wang", "Hernandez", "Demir", "Fischer", "Sato",
    "Costa", "Dubois", "Ramirez", "Cohen", "Larsen", "Mendes", "Nowak", "Petrov", "Reyes",
    "Mwangi", "Andersson", "Nguyen", "Kowalski", "Van der Berg", "Lindqvist", "Achebe", "Park",
]  # fmt: skip
COMPANIES = [
    ("Brightlane Logistics", "brightlane.example", "Logistics", "50-200", "EMEA"),
    ("Northwind Analytics", "northwind-analytics.example", "Software", "11-50", "North America"),
    ("Cobalt Health Partners", "cobalthealth.example", "Healthcare", "200+", "North America"),
    ("Saffron & Sage Foods", "saffronsage.example", "Retail", "11-50", "APAC"),
    ("Granite Ridge Manufacturing", "graniteridge.example", "Manufacturing", "200+", "EMEA"),
    ("Lumen Learning Labs", "lumenlabs.example", "Education", "1-10", "LATAM"),
    ("Harbor Point Capital", "harborpoint.example", "Financial Services", "50-200", "EMEA"),
    ("Verdant Energy Co", "verdant-energy.example", "Energy", "200+", "APAC"),
    ("Pixel Foundry", "pixelfoundry.example", "Software", "1-10", "EMEA"),
    ("Atlas Freight Systems", "atlasfreight.example", "Logistics", "200+", "LATAM"),
    ("Quillmark Legal", "quillmark.example", "Professional Services", "11-50", "North America"),
    ("Tidewater Clinics", "tidewater.example", "Healthcare", "50-200", "APAC"),
    ("Ember & Oak Furniture", "emberoak.example", "Retail", "50-200", "North America"),
    ("Stratus Cloud Works", "stratuscloud.example", "Software", "200+", "North America"),
    ("Meridian Insurance Group", "meridian-ins.example", "Financial Services", "200+", "EMEA"),
    ("Kestrel Robotics", "kestrelrobotics.example", "Manufacturing", "11-50", "APAC"),
    ("Bluebell Bakeries", "bluebell.example", "Retail", "1-10", "EMEA"),
    ("Orchid Biotech", "orchidbio.example", "Healthcare", "11-50", "EMEA"),
    ("Summit Outdoor Supply", "summitoutdoor.example", "Retail", "50-200", "North America"),
    ("Ironclad Security", "ironclad-sec.example", "Software", "50-200", "LATAM"),
]  # fmt: skip
ROLES = ["Decision Maker", "Champion", "Influencer", "Technical Buyer", "End User", "Procurement"]
STATUSES = ["Active", "Active", "Active", "Lead", "Prospect", "Customer"]
SOURCES = ["API Import", "Website", "Trade Show", "Referral", "LinkedIn", "Webinar"]
LEAD_SOURCES = ["Website", "Referral", "Event", "Partner", "Other"]
TAGS = ["prospect", "enterprise", "vip", "newsletter", "trial", "renewal-2026", "partner",
        "churn-risk", "decision-maker", "event-2026"]  # fmt: skip
NOTES = [
    "Met at the {event}; interested in the {product} tier.",
    "Asked for a security questionnaire before the next call.",
    "Prefers e-mail over phone. Best reached mornings {tz}.",
    "Budget approved for Q{quarter}; procurement needs two quotes.",
    "Currently on a competitor's contract until {month}.",
    "Champion inside the account; introduced us to the CFO.",
    "Requested a demo of the reporting dashboards for their ops team.",
    "Follow up after their board meeting in {month}.",
]
EVENTS = ["SaaStr Europa", "Web Summit", "the Lisbon partner day", "RetailTech Expo", "HLTH"]
PRODUCTS = ["Growth", "Scale", "Enterprise", "Starter"]
MONTHS = ["January", "March", "May", "July", "September", "November"]
TIMEZONES = ["CET", "EST", "PST", "JST", "GMT"]
COMMS = [
    ("email", "Gmail", "Sent the pricing proposal; they will review it with finance."),
    ("email", "Outlook", "Shared the onboarding checklist and a link to the sandbox."),
    ("call", "Phone", "20-minute discovery call about their current CRM pain points."),
    ("call", "Zoom", "Demo of bulk import and reporting; positive reception."),
    ("sms", "Twilio", "Confirmed the meeting time for Thursday 10:00."),
    ("message", "WhatsApp", "Quick question about SSO support; answered with docs link."),
    ("message", "LinkedIn", "Connected after the webinar; asked for a case study."),
]
SENTIMENTS = ["positive", "positive", "neutral", "neutral", "negative", "frustrated"]
NEXT_STEPS = [
    "Send revised quote by Friday",
    "Book a technical deep-dive with their IT lead",
    "Share two customer references",
    "Check in after their budget review",
    None,
]
LINKS = [
    ("Company website", "https://{domain}/", "Main site"),
    ("Pricing page they viewed", "https://{domain}/pricing", "Visited twice this week"),
    ("Shared deck", "https://{domain}/decks/q2-review", "Deck from the last meeting"),
    ("Case study", "https://{domain}/customers/case-study", None),
]
FILE_ATTACHMENTS = [
    ("files/proposal.pdf", "Proposal.pdf", "Signed proposal"),
    ("files/logo.png", "Company logo.png", "For the account page"),
    ("files/meeting-notes.txt", "Meeting notes.txt", "Kick-off meeting"),
    ("files/price-list.csv", "Price list.csv", "Quoted prices"),
    ("files/brand-assets.zip", "Brand assets.zip", None),
]
PHONE_FORMATS = {
    "North America": ["+1-555-01{nn}", "+1 (555) 01{nn}", "+1.555.01{nn}"],
    "EMEA": ["+44 20 7946 0{nnn}", "+44 (0)20 7946 0{nnn}"],
    "APAC": ["+61 2 5550 1{nnn}", "+61 (2) 5550 1{nnn}"],
    "LATAM": ["+52 55 5550 1{nnn}"],
}


# ------------------------------------------------------------------------------ files


def _png(width: int = 16, height: int = 16) -> bytes:
    """A small RGB gradient as a valid PNG (stdlib only)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 16, y * 16, 160)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _pdf() -> bytes:
    """A one-page PDF with a line of text, with a correct cross-reference table."""
    text = b"BT /F1 18 Tf 72 720 Td (Proposal: Zyntro CRM rollout, 2026) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _zip(members: dict[str, bytes]) -> bytes:
    """A ZIP archive with fixed timestamps, so it is byte-identical on every run."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def write_files(folder: Path = FILES) -> None:
    """Write ``files/``: one small real file per allowed type, and one disallowed."""
    folder.mkdir(parents=True, exist_ok=True)
    logo = _png()
    notes = (
        "Kick-off meeting - 2026-03-12\n"
        "Attendees: account team, customer ops lead, IT security\n"
        "- Import 40k contacts from the legacy CRM by end of April\n"
        "- SSO required before rollout\n"
        "- Next: technical deep-dive, send security questionnaire\n"
    )
    prices = "plan,seats,monthly_usd\nStarter,5,49\nGrowth,25,199\nScale,100,649\n"
    contents = {
        "logo.png": logo,
        "proposal.pdf": _pdf(),
        "meeting-notes.txt": notes.encode(),
        "price-list.csv": prices.encode(),
        "brand-assets.zip": _zip({"logo.png": logo, "README.txt": b"Brand assets, v2\n"}),
        # Not a program: a text file whose extension the API's allow-list rejects.
        "setup.exe": b"Not a real program: its .exe name is what makes the import reject it.\n",
    }
    for name, data in contents.items():
        (folder / name).write_bytes(data)


# ---------------------------------------------------------------------------- people


def _person(rng: random.Random, used: set[str] | None, number: str = "") -> dict[str, Any]:
    """A fictional person; unique by ``used`` (the bundled files) or by ``number`` (large)."""
    while True:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company = rng.choice(COMPANIES)
        local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        if used is None:
            email = f"{local}.{number}@{company[1]}"
            break
        email = f"{local}@{company[1]}"
        if email not in used:
            used.add(email)
            break
    phone_format = rng.choice(PHONE_FORMATS[company[4]])
    phone = phone_format.format(nn=f"{rng.randrange(100):02d}", nnn=f"{rng.randrange(1000):03d}")
    return {"first": first, "last": last, "email": email, "phone": phone, "company": company}


def _note(rng: random.Random) -> str:
    return rng.choice(NOTES).format(
        event=rng.choice(EVENTS),
        product=rng.choice(PRODUCTS),
        tz=rng.choice(TIMEZONES),
        quarter=rng.randint(1, 4),
        month=rng.choice(MONTHS),
    )


def _bundle(rng: random.Random, number: int, person: dict[str, Any]) -> dict[str, Any]:
    name, domain, industry, size, region = person["company"]
    contact: dict[str, Any] = {
        "firstName": person["first"],
        "lastName": person["last"],
        "primaryEmail": person["email"],
        "source": rng.choice(SOURCES),
        "status": rng.choice(STATUSES),
        "roleLabel": rng.choice(ROLES),
        "tags": sorted(rng.sample(TAGS, rng.randint(0, 3))),
        "customFields": {
            "industry": industry,
            "company_size": size,
            "lead_score": rng.randint(5, 99),
            "lead_source": rng.choice(LEAD_SOURCES),
            "region": region,
        },
    }
    if rng.random() < 0.85:
        contact["primaryPhone"] = person["phone"]
    if not contact["tags"]:
        del contact["tags"]
    line: dict[str, Any] = {"key": f"crm-{number:04d}", "contact": contact}
    line["entity"] = {
        "name": name,
        "label": "Company",
        "status": "Active",
        "website": f"https://{domain}",
    }
    notes = [
        {"note": _note(rng), "visible": rng.random() < 0.5, "editable": rng.random() < 0.3}
        for _ in range(rng.choice((0, 1, 1, 2, 3)))
    ]
    for note in notes:
        for flag in ("visible", "editable"):
            if not note[flag]:
                del note[flag]
    attachments: list[dict[str, Any]] = []
    for title, url, context in rng.sample(LINKS, rng.choice((0, 0, 1, 1, 2))):
        link = {"name": title, "url": url.format(domain=domain)}
        if context:
            link["context"] = context
        attachments.append(link)
    if rng.random() < 0.2:
        path, title, context = rng.choice(FILE_ATTACHMENTS)
        attachment = {"path": path, "name": title}
        if context:
            attachment["context"] = context
        attachments.append(attachment)
    comms = []
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        comms_type, source, text = rng.choice(COMMS)
        entry: dict[str, Any] = {"comms_type": comms_type, "source": source}
        if comms_type == "email" and rng.random() < 0.5:
            entry["data"] = {"subject": "Following up", "body": text, "to": [person["email"]]}
        else:
            entry["data"] = text
        entry["sentiment"] = rng.choice(SENTIMENTS)
        next_step = rng.choice(NEXT_STEPS)
        if next_step:
            entry["next_step"] = next_step
        if rng.random() < 0.1:
            entry["status"] = "pending"
        comms.append(entry)
    for group, items in (("notes", notes), ("attachments", attachments), ("comms", comms)):
        if items:
            line[group] = items
    return line


def _spoil(line: dict[str, Any], reason: str) -> dict[str, Any] | str:
    """Make a line bad in one specific, documented way."""
    if reason == "invalid email":
        line["contact"]["primaryEmail"] = line["contact"]["primaryEmail"].replace("@", "@@", 1)
    elif reason == "unsupported file type":
        line["attachments"] = [
            *line.get("attachments", []),
            {"path": "files/setup.exe", "name": "setup.exe", "context": "installer"},
        ]
    elif reason == "comms source too long":
        line["comms"] = [
            {
                "comms_type": "email",
                "data": "Newsletter reply",
                "source": "Imported from the legacy marketing automation platform export",
            }
        ]
    elif reason == "missing primaryEmail":
        del line["contact"]["primaryEmail"]
    elif reason == "company_size not an option":
        line["contact"]["customFields"]["company_size"] = "5000+"
    elif reason == "malformed JSON":
        # A hand edit gone wrong: a trailing comma before the closing brace.
        return json.dumps(line, ensure_ascii=False)[:-1] + ", }"
    return line


BAD_LINES = {
    17: "invalid email",
    58: "unsupported file type",
    103: "comms source too long",
    151: "missing primaryEmail",
    204: "malformed JSON",
    262: "company_size not an option",
}
"""Line number -> why that line of contacts.jsonl fails."""


def _bad_reason(number: int, bad: dict[int, str], period: int) -> str | None:
    """Why line/row ``number`` is bad: the bundled pattern, repeated every ``period``."""
    return bad.get((number - 1) % period + 1)


def write_jsonl(
    rng: random.Random, used: set[str] | None, *, folder: Path = HERE, lines: int = JSONL_LINES
) -> None:
    """Write ``contacts.jsonl`` (``used`` is None: e-mails made unique by the line number)."""
    with (folder / "contacts.jsonl").open("w", encoding="utf-8", newline="\n") as out:
        for number in range(1, lines + 1):
            person = _person(rng, used, str(number))
            line: dict[str, Any] | str = _bundle(rng, number, person)
            reason = _bad_reason(number, BAD_LINES, JSONL_LINES)
            if reason is not None:
                assert isinstance(line, dict)
                line = _spoil(line, reason)
            text = line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)
            out.write(text + "\n")


CSV_BAD_ROWS = {
    12: "invalid email",
    29: "missing primaryEmail",
    41: "invalid phone",
}
"""Data row number (1-based, after the header) -> why that row of contacts.csv fails."""


def write_csv(
    rng: random.Random, used: set[str] | None, *, folder: Path = HERE, rows: int = CSV_ROWS
) -> None:
    """Write ``contacts.csv`` (``used`` is None: e-mails made unique by the row number)."""
    columns = [
        "firstName", "lastName", "primaryEmail", "primaryPhone", "company", "roleLabel",
        "status", "source", "tags", "note", "attachment", "industry", "company_size",
    ]  # fmt: skip
    with (folder / "contacts.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for number in range(1, rows + 1):
            person = _person(rng, used, f"c{number}")
            name, domain, industry, size, _ = person["company"]
            attachment = ""
            roll = rng.random()
            if roll < 0.25:
                attachment = f"https://{domain}/decks/intro"
            elif roll < 0.35:
                attachment = rng.choice(FILE_ATTACHMENTS)[0]
            row = {
                "firstName": person["first"],
                "lastName": person["last"],
                "primaryEmail": person["email"],
                "primaryPhone": person["phone"],
                "company": name,
                "roleLabel": rng.choice(ROLES),
                "status": rng.choice(STATUSES),
                "source": "Spreadsheet import",
                "tags": ";".join(sorted(rng.sample(TAGS, rng.randint(0, 2)))),
                "note": _note(rng) if rng.random() < 0.6 else "",
                "attachment": attachment,
                "industry": industry,
                "company_size": size,
            }
            reason = _bad_reason(number, CSV_BAD_ROWS, CSV_ROWS)
            if reason == "invalid email":
                row["primaryEmail"] = row["primaryEmail"].split("@")[0]
            elif reason == "missing primaryEmail":
                row["primaryEmail"] = ""
            elif reason == "invalid phone":
                row["primaryPhone"] = "call me maybe"
            writer.writerow([row[column] for column in columns])


MARKER = ".zyntro-example.json"
"""Read by ``zyntro-async import``: which rows of these files are bad on purpose."""
_MARKER_LINES_SHOWN = 10


def _bad_numbers(count: int, bad: dict[int, str], period: int) -> list[int]:
    return [n for n in range(1, count + 1) if _bad_reason(n, bad, period) is not None]


def write_marker(folder: Path, *, lines: int, rows: int) -> None:
    """Write ``.zyntro-example.json``: the count (and first line numbers) of the bad rows."""
    bad_jsonl = _bad_numbers(lines, BAD_LINES, JSONL_LINES)
    # CSV rows are counted after the header: file line = row + 1.
    bad_csv = [row + 1 for row in _bad_numbers(rows, CSV_BAD_ROWS, CSV_ROWS)]
    marker = {
        name: {"refused": len(bad), "lines": bad[:_MARKER_LINES_SHOWN]}
        for name, bad in (("contacts.jsonl", bad_jsonl), ("contacts.csv", bad_csv))
    }
    (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def _rows(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> None:
    """Write every example file: the bundled ones, or ``--rows N`` of them into ``--out``.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description="Generate the example import data.")
    parser.add_argument(
        "--rows",
        type=_rows,
        default=None,
        metavar="N",
        help="lines of contacts.jsonl and rows of contacts.csv (default: the bundled 300 and 50)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where to write (default: this folder); required with --rows",
    )
    args = parser.parse_args(argv)
    if args.rows is not None and args.out is None:
        parser.error("--rows needs --out DIR (the bundled files stay as they are)")
    folder: Path = args.out if args.out is not None else HERE
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    lines = args.rows if args.rows is not None else JSONL_LINES
    rows = args.rows if args.rows is not None else CSV_ROWS
    # The bundled files keep their original, set-checked e-mails (byte-identical output);
    # a large dataset numbers them instead of holding a million of them in a set.
    used: set[str] | None = set() if args.rows is None else None
    write_files(folder / "files")
    write_jsonl(rng, used, folder=folder, lines=lines)
    write_csv(rng, used, folder=folder, rows=rows)
    write_marker(folder, lines=lines, rows=rows)
    print(
        f"wrote {folder / 'contacts.jsonl'} ({lines} lines), {folder / 'contacts.csv'} "
        f"({rows} rows) and {folder / 'files'}/"
    )


if __name__ == "__main__":
    main()
