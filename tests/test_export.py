"""The export: the workbook read back with openpyxl, the CSVs as Excel would read them, nothing
personal anywhere, /export and who may ask for it, `python -m bot export`."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest
from openpyxl import load_workbook

from bot.__main__ import main
from bot.outputs import export
from domain import AMB_APPROVED, AMB_PENDING
from messages_fa import stats as t
from storage.repositories import Repositories
from tests.conftest import TELEGRAM_ADMIN
from tests.support.programs import required_program
from tests.support.stats_campaign import (
    DAY1,
    MODERATOR,
    REVIEWER,
    STRANGER,
    add_citizen,
    add_proposal,
    in_thread,
    opened,
    running_staff_bot,
    seed_file,
    seed_small,
    staffed_config,
    stats_service,
)


@pytest.fixture
async def db(config):
    async with opened(config.database) as database:
        yield database


@pytest.fixture
def staff_config(tmp_path):
    return staffed_config(tmp_path)


@pytest.fixture
async def staff_bot(staff_config):
    async with running_staff_bot(staff_config) as running:
        yield running


AMBASSADOR_USER = 400
AMBASSADOR_PHONE = "09121110000"
AMBASSADOR_HASH = "f" * 64
SHEETS = [t.SHEET_PROPOSALS, t.SHEET_NEIGHBOURHOODS, t.SHEET_PLATFORMS, t.SHEET_AMBASSADORS, t.SHEET_DAYS]


async def seed_with_ambassador(repos: Repositories):
    """seed_small, plus an approved ambassador in Tajrish through whose link t0 (who verified,
    proposed and voted) had joined, and a pending applicant (not exported)."""
    seeded = await seed_small(repos)
    at = DAY1 - dt.timedelta(days=1)
    amb, _ = await repos.citizens.get_or_create("telegram", AMBASSADOR_USER, AMBASSADOR_USER, at)
    await repos.ambassadors.start_draft(amb.id, at)
    await repos.ambassadors.update_draft(amb.id, full_name="مریم احمدی", neighbourhood_id="tajrish",
                                         phone=AMBASSADOR_PHONE, phone_hash=AMBASSADOR_HASH)
    await repos.ambassadors.submit(amb.id, at)
    await repos.ambassadors.change_status(amb.id, AMB_APPROVED, (AMB_PENDING,), "telegram:900", at)
    assert await repos.ambassadors.replace_link(amb.id, "a" + "x" * 32, at)
    # Attribution is first touch at /start; here t0 is attributed after the fact.
    assert await repos.ambassadors.attribute_by_link(seeded.citizens["t0"], "a" + "x" * 32, at)
    other, _ = await repos.citizens.get_or_create("telegram", 401, 401, at)
    await repos.ambassadors.start_draft(other.id, at)
    await repos.ambassadors.update_draft(other.id, full_name="علی رضایی", neighbourhood_id="darband",
                                         phone="09120000001", phone_hash="e" * 64)
    await repos.ambassadors.submit(other.id, at)
    seeded.user_ids += [AMBASSADOR_USER, 401]
    seeded.phone_hashes += [AMBASSADOR_HASH, "e" * 64]
    return seeded


@pytest.fixture
async def built(config, db):
    seeded = await seed_with_ambassador(Repositories(db))
    service = stats_service(config, db, DAY1 + dt.timedelta(days=3))
    data = await service.export_data()
    return seeded, data, export.build(config, data)


def _rows(ws) -> list[list]:
    return [list(row) for row in ws.iter_rows(values_only=True)]


async def test_workbook_sheets_headers_and_values(config, built):
    seeded, _, result = built
    wb = load_workbook(io.BytesIO(result.workbook))
    assert wb.sheetnames == SHEETS
    assert all(wb[name].sheet_view.rightToLeft for name in SHEETS)

    proposals = wb[t.SHEET_PROPOSALS]
    rows = _rows(proposals)
    assert rows[0] == list(t.proposal_headers("تومان"))
    by_code = {row[1]: row for row in rows[1:]}
    assert set(by_code) == {"۱۰۰۰۰۰۱", "۱۰۰۰۰۰۲", "۱۰۰۰۰۰۳", "۱۰۰۰۰۰۴"}
    ballot = by_code["۱۰۰۰۰۰۱"]
    assert (ballot[0], ballot[3], ballot[4], ballot[5], ballot[6]) == (
        seeded.proposals["ballot"], "تجریش", config.category("green").name, "پارک محله", "تأییدشده")
    assert (ballot[8], ballot[9], ballot[10], ballot[11]) == ("اجراپذیر", "شدنی است", 1_250_000_000, 3)
    assert ballot[2] == "1000001"  # the code in Latin digits, beside the Persian one
    assert ballot[14] == "۱۴۰۵/۰۹/۰۵ ۱۲:۰۰"  # 09:00 + 3 h, Tehran time
    # … and as a real date-time (Tehran's clock), which sorts and filters as one.
    assert ballot[13] == dt.datetime(2026, 11, 26, 12, 0)
    time_cell = proposals.cell(row=rows.index(ballot) + 1, column=14)
    assert time_cell.is_date and time_cell.number_format == "yyyy-mm-dd hh:mm"
    cost_cell = proposals.cell(row=rows.index(ballot) + 1, column=11)
    assert cost_cell.data_type == "n" and cost_cell.number_format == "#,##0"
    duplicate = by_code["۱۰۰۰۰۰۲"]
    assert (duplicate[6], duplicate[7], duplicate[12], duplicate[10], duplicate[11]) == ("ردشده", "تکراری", "۱۰۰۰۰۰۱",
                                                                                        None, 0)
    assert (by_code["۱۰۰۰۰۰۳"][6], by_code["۱۰۰۰۰۰۳"][8]) == ("در انتظار بررسی", "بررسی نشده")
    assert (by_code["۱۰۰۰۰۰۴"][3], by_code["۱۰۰۰۰۰۴"][8], by_code["۱۰۰۰۰۰۴"][9]) == ("دربند", "اجراناپذیر", "زمین ندارد")
    # Config order of neighbourhoods: دربند comes after تجریش.
    assert [row[3] for row in rows[1:]] == ["تجریش", "تجریش", "تجریش", "دربند"]

    hoods = _rows(wb[t.SHEET_NEIGHBOURHOODS])
    assert hoods[0] == list(t.NEIGHBOURHOOD_HEADERS)
    assert [row[0] for row in hoods[1:28]] == [n.name for n in config.neighbourhoods]
    tajrish = next(row for row in hoods if row[0] == "تجریش")
    assert tajrish == ["تجریش", 5, 4, 3, 1, 1, 1, 1, 3, 3, pytest.approx(0.6)]
    assert hoods[-2][:2] == [t.NO_NEIGHBOURHOOD, 3]  # the one who never chose, the two applicants' accounts
    assert hoods[-1][:2] == [t.TOTAL, 10] and hoods[-1][8:10] == [3, 3]
    share_cell = wb[t.SHEET_NEIGHBOURHOODS].cell(row=hoods.index(tajrish) + 1, column=11)
    assert share_cell.number_format == "0.0%"

    platforms = _rows(wb[t.SHEET_PLATFORMS])
    assert platforms[1][:2] == ["تلگرام", 9] and platforms[2][:2] == ["بله", 1]

    ambassadors = _rows(wb[t.SHEET_AMBASSADORS])
    assert ambassadors == [list(t.AMBASSADOR_HEADERS), ["مریم احمدی", "تجریش", "فعال", 1, 1, 1, 1]]

    days = _rows(wb[t.SHEET_DAYS])
    assert days[0] == list(t.DAY_HEADERS)
    assert [row[1] for row in days[1:]] == ["۱۴۰۵/۰۹/۰۴", "۱۴۰۵/۰۹/۰۵", "۱۴۰۵/۰۹/۰۶", "۱۴۰۵/۰۹/۰۷", "۱۴۰۵/۰۹/۰۸"]
    assert [row[0] for row in days[1:]] == [dt.datetime(2026, 11, d) for d in range(25, 30)]  # real dates
    assert days[4][5:7] == [3, 3] and days[-1][7:9] == [10, 3]


def _all_text(result: export.Export) -> list[str]:
    wb = load_workbook(io.BytesIO(result.workbook))
    cells = [cell for ws in wb for row in ws.iter_rows(values_only=True) for cell in row if cell is not None]
    texts = [str(cell) for cell in cells]
    return texts + [content.decode("utf-8-sig") for content in result.csv.values()]


async def test_nothing_personal_in_any_cell_or_file(built):
    seeded, _, result = built
    everything = _all_text(result)
    blob = "\n".join(everything)
    for user_id in seeded.user_ids:
        assert str(user_id) not in everything, user_id  # as a cell
        assert f",{user_id}," not in blob and f"{user_id}\r\n" not in blob  # as a CSV field
    for secret in seeded.phone_hashes:
        assert secret not in blob and secret[:16] not in blob
    for phone in (AMBASSADOR_PHONE, AMBASSADOR_PHONE[1:], "9121110000", "۰۹۱۲۱۱۱۰۰۰۰"):
        assert phone not in blob
    assert "شرح پارک محله" not in blob  # descriptions stay in the bot (they may hold anything)


async def test_a_title_that_looks_like_a_formula_stays_text(config, db):
    repos = Repositories(db)
    citizen = await add_citizen(repos, "telegram", 100, DAY1, "tajrish")
    title = '=HYPERLINK("http://example.com","پارک")'
    await add_proposal(repos, citizen, "tajrish", "telegram", DAY1, title, "1000009")
    data = await stats_service(config, db, DAY1).export_data()
    result = export.build(config, data)
    ws = load_workbook(io.BytesIO(result.workbook))[t.SHEET_PROPOSALS]
    assert ws.cell(row=2, column=6).value == title and ws.cell(row=2, column=6).data_type == "s"
    with zipfile.ZipFile(io.BytesIO(result.workbook)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml
    rows = list(csv.reader(io.StringIO(result.csv["proposals.csv"].decode("utf-8-sig"), newline="")))
    assert rows[1][5] == "'" + title


async def test_csvs_start_with_a_bom_and_round_trip_persian(built):
    _, _, result = built
    assert sorted(result.csv) == ["ambassadors.csv", "daily.csv", "neighbourhoods.csv", "platforms.csv",
                                  "proposals.csv"]
    for name, content in result.csv.items():
        assert content.startswith(b"\xef\xbb\xbf"), name
    rows = list(csv.reader(io.StringIO(result.csv["proposals.csv"].decode("utf-8-sig"), newline="")))
    assert rows[0] == list(t.proposal_headers("تومان"))
    by_code = {row[1]: row for row in rows[1:]}
    assert by_code["۱۰۰۰۰۰۲"][5] == "پارک محلهٔ ما" and by_code["۱۰۰۰۰۰۱"][10] == "1250000000"
    assert by_code["۱۰۰۰۰۰۱"][2] == "1000001" and by_code["۱۰۰۰۰۰۱"][13] == "2026-11-26 12:00"
    hoods = list(csv.reader(io.StringIO(result.csv["neighbourhoods.csv"].decode("utf-8-sig"), newline="")))
    assert next(row for row in hoods if row[0] == "تجریش")[-1] == "60.0%"
    # ZWNJ survives (رأی‌دهندگان).
    assert "\u200c" in hoods[0][9]
    archive = zipfile.ZipFile(io.BytesIO(export.csv_zip(result.csv)))
    assert {name: archive.read(name) for name in archive.namelist()} == result.csv


async def test_export_for_admins_only(staff_bot, monkeypatch):
    await seed_with_ambassador(staff_bot.services.repos)
    tg = staff_bot.telegram
    for user, refusal in ((MODERATOR, t.export_refused()), (REVIEWER, t.export_refused()),
                          (STRANGER, t.export_refused())):
        await tg.send(user, "/export")
        assert tg.last_text(user) == refusal
    assert not tg.request.calls_to("sendDocument")

    await tg.send(TELEGRAM_ADMIN, "/export")
    assert t.export_preparing() in [m.get("text") for m in tg.request.messages(TELEGRAM_ADMIN)]
    workbook, archive = tg.request.calls_to("sendDocument")
    name, data, _ = workbook.files["document"]
    assert name == "manshahrdaram-1405-09-05.xlsx"  # the proposals phase's first hour
    assert load_workbook(io.BytesIO(data)).sheetnames == SHEETS
    name, data, _ = archive.files["document"]
    assert name == "manshahrdaram-1405-09-05-csv.zip" and len(zipfile.ZipFile(io.BytesIO(data)).namelist()) == 5
    assert "شمارهٔ تلفن و شناسهٔ کاربران در آن نیست" in workbook.params["caption"]
    [entry] = await staff_bot.services.repos.audit.recent(5)
    assert (entry.actor, entry.action, entry.target) == (f"telegram:{TELEGRAM_ADMIN}", "export",
                                                         "manshahrdaram-1405-09-05.xlsx")

    # A reviewer may read /stats (charts stubbed here: tests/test_stats.py draws them).
    from handlers import stats as stats_handlers
    monkeypatch.setattr(stats_handlers, "_draw", lambda report, when: (b"\x89PNG-h", b"\x89PNG-d"))
    await tg.send(REVIEWER, "/stats")
    assert len(tg.request.calls_to("sendPhoto")) == 2
    report = next(m["text"] for m in tg.request.messages(REVIEWER) if m.get("text") and "شهروندان" in m["text"])
    assert "/export" not in report


async def test_cli_export_writes_the_workbook_and_csvs_beside_it(tmp_path, config, capsys):
    path = await seed_file(tmp_path)
    out = tmp_path / "out" / "results.xlsx"
    out.parent.mkdir()
    assert await in_thread(main, ["--config", path, "export", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed[0] == str(out) and len(printed) == 6
    assert load_workbook(out).sheetnames == SHEETS
    csv_path = out.parent / "results-proposals.csv"
    assert str(csv_path) in printed and csv_path.read_bytes().startswith(b"\xef\xbb\xbf")


async def test_cli_export_names_a_missing_folder(tmp_path, config, capsys):
    path = await seed_file(tmp_path)
    assert await in_thread(main, ["--config", path, "export", "--out", str(tmp_path / "no" / "x.xlsx")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path / "no") in err[0]


@pytest.mark.slow
async def test_libreoffice_opens_the_workbook_with_real_times_and_latin_codes(tmp_path, built):
    """Not only openpyxl reading back what openpyxl wrote: LibreOffice headless opens the workbook and
    converts its first sheet (the proposals) to CSV, as it shows the cells."""
    import asyncio
    import subprocess

    _, _, result = built
    source = tmp_path / "export.xlsx"
    source.write_bytes(result.workbook)
    profile = tmp_path / "lo-profile"  # its own profile: runs beside another LibreOffice never clash
    command = [required_program(("soffice", "libreoffice"), "libreoffice-calc-nogui"), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
               "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(tmp_path), str(source)]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO((tmp_path / "export.csv").read_text(encoding="utf-8"), newline="")))
    assert rows[0] == list(t.proposal_headers("تومان"))
    ballot = next(row for row in rows[1:] if row[2] == "1000001")  # found by its Latin digits
    assert ballot[1] == "۱۰۰۰۰۰۱" and ballot[5] == "پارک محله"
    assert ballot[13] == "2026-11-26 12:00"  # a date-time cell shown in its format (Tehran's clock)
    assert ballot[14] == "۱۴۰۵/۰۹/۰۵ ۱۲:۰۰"  # the Jalali text beside it
    assert ballot[10] == "1,250,000,000"  # the cost, a number with its thousands format
