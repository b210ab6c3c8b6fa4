"""The staff's export: one Excel workbook and the same tables as CSV files.

Sheets: proposals (status, feasibility, cost, votes), neighbourhoods, messengers, ambassadors and
the daily series. Nothing personal goes in: no user, chat or citizen ids, no phone numbers or
hashes, no file ids, no locations (storage/stats.py never reads them; the tests look at every cell).

Numbers stay numbers (costs with a thousands format, participation as a percentage) so staff can
sum and sort. Times are real date-times in Tehran's time (Excel has no time zones), which sort and
filter as times, with the Jalali text beside them for reading; tracking codes are there in Persian
digits and, beside them, in Latin ones, which is what a search box gets typed into it.
Sheets are right to left. CSVs are UTF-8 with a byte-order mark: without it Excel reads UTF-8 as
the Windows code page and the Persian comes out as mojibake.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jdatetime
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from bot.campaign.config import Config
from bot.campaign.services.stats import ExportData, StatsReport, neighbourhood_name, share
from messages_fa import stats as t
from messages_fa.dates import jalali_short
from messages_fa.numbers import fa_digits

TEXT, ID, COUNT, MONEY, PERCENT, MOMENT, DAY = "text", "id", "count", "money", "percent", "moment", "day"
NUMBER_FORMATS = {ID: "0", COUNT: "#,##0", MONEY: "#,##0", PERCENT: "0.0%", MOMENT: "yyyy-mm-dd hh:mm",
                  DAY: "yyyy-mm-dd"}
WIDTHS = {TEXT: 18, ID: 8, COUNT: 12, MONEY: 16, PERCENT: 10, MOMENT: 17, DAY: 12}
BOM = "\ufeff"
# What Excel reads as the start of a formula: a citizen's title must never run as one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT
    width: int | None = None


@dataclass(frozen=True)
class Table:
    key: str  # ASCII, for file names
    title: str  # the sheet's name
    columns: tuple[Column, ...]
    rows: tuple[tuple, ...]


def tables(config: Config, data: ExportData) -> list[Table]:
    """The export's tables, in sheet order; every cell a str, an int or a float (or None)."""
    report = data.report
    return [_proposals(config, data), _neighbourhoods(report), _platforms(report), _ambassadors(data), _days(report)]


def _proposals(config: Config, data: ExportData) -> Table:
    kinds = (ID, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, MONEY, COUNT, TEXT, MOMENT, TEXT)
    widths = (8, 12, 12, 16, 18, 40, 14, 30, 12, 30, 16, 8, 14, 17, 18)
    columns = tuple(Column(h, k, w) for h, k, w in zip(t.proposal_headers(config.money_unit), kinds, widths, strict=True))
    rows = []
    for p in data.proposals:
        category = config.category(p.category_id)
        rows.append((
            p.id, fa_digits(p.code), p.code, neighbourhood_name(config, p.neighbourhood_id),
            category.name if category else p.category_id,
            p.title, t.PROPOSAL_STATUS.get(p.status, p.status), p.reject_reason or "",
            t.FEASIBILITY.get(p.feasibility, p.feasibility or ""), p.feasibility_note or "", p.cost, p.votes,
            fa_digits(p.duplicate_of) if p.duplicate_of else "", _local(p.created_at, config),
            jalali_short(p.created_at, config.timezone),
        ))
    return Table("proposals", t.SHEET_PROPOSALS, columns, tuple(rows))


def _neighbourhoods(report: StatsReport) -> Table:
    columns = (Column(t.NEIGHBOURHOOD_HEADERS[0], TEXT, 18),
               *(Column(h, COUNT) for h in t.NEIGHBOURHOOD_HEADERS[1:-1]),
               Column(t.NEIGHBOURHOOD_HEADERS[-1], PERCENT))

    def row(name: str, c) -> tuple:
        return (name, c.citizens, c.verified, c.proposals, c.pending, c.approved, c.rejected, c.on_ballot, c.votes,
                c.voters, share(c.voters, c.citizens))
    rows = [row(h.name, h.counts) for h in report.neighbourhoods]
    if report.unassigned.citizens:
        rows.append(row(t.NO_NEIGHBOURHOOD, report.unassigned))
    rows.append(row(t.TOTAL, report.total))
    return Table("neighbourhoods", t.SHEET_NEIGHBOURHOODS, columns, tuple(rows))


def _platforms(report: StatsReport) -> Table:
    columns = (Column(t.PLATFORM_HEADERS[0], TEXT, 14), *(Column(h, COUNT) for h in t.PLATFORM_HEADERS[1:-1]),
               Column(t.PLATFORM_HEADERS[-1], PERCENT))
    rows = tuple((t.platform_name(p.platform), p.citizens, p.verified, p.proposals, p.votes, p.voters,
                  share(p.voters, p.citizens)) for p in report.platforms)
    return Table("platforms", t.SHEET_PLATFORMS, columns, rows)


def _ambassadors(data: ExportData) -> Table:
    columns = (Column(t.AMBASSADOR_HEADERS[0], TEXT, 24), Column(t.AMBASSADOR_HEADERS[1], TEXT, 16),
               Column(t.AMBASSADOR_HEADERS[2], TEXT, 10), *(Column(h, COUNT, 14) for h in t.AMBASSADOR_HEADERS[3:]))
    rows = tuple((a.name, a.neighbourhood, t.AMBASSADOR_STATUS.get(a.status, a.status), a.figures.joined,
                  a.figures.verified, a.figures.proposed, a.figures.voted) for a in data.ambassadors)
    return Table("ambassadors", t.SHEET_AMBASSADORS, columns, rows)


def _days(report: StatsReport) -> Table:
    columns = (Column(t.DAY_HEADERS[0], DAY), Column(t.DAY_HEADERS[1], TEXT, 12),
               *(Column(h, COUNT, 14) for h in t.DAY_HEADERS[2:-1]), Column(t.DAY_HEADERS[-1], PERCENT, 14))
    rows = tuple((d.day, t.day_cell(d.day), d.counts.citizens, d.counts.verified, d.counts.proposals, d.counts.votes,
                  d.counts.voters, d.citizens_so_far, d.voters_so_far, d.participation) for d in report.days)
    return Table("daily", t.SHEET_DAYS, columns, rows)


def _local(moment: dt.datetime, config: Config) -> dt.datetime:
    """The moment as Tehran's clock shows it, without a zone: what a spreadsheet can hold."""
    return moment.astimezone(config.timezone).replace(tzinfo=None)


# -- the workbook ---------------------------------------------------------------------------------

def workbook_bytes(config: Config, data: ExportData) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in tables(config, data):
        _sheet(workbook, table)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _sheet(workbook: Workbook, table: Table) -> None:
    ws = workbook.create_sheet(table.title)
    ws.sheet_view.rightToLeft = True
    ws.append([c.header for c in table.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in table.rows:
        ws.append(list(row))
    texts = [index for index, column in enumerate(table.columns, start=1) if column.kind == TEXT]
    for index in texts if table.rows else ():
        for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
            # openpyxl stores a str starting with "=" as a formula; text is text.
            if isinstance(cell.value, str):
                cell.data_type = "s"
    for index, column in enumerate(table.columns, start=1):
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = column.width or WIDTHS[column.kind]
        number_format = NUMBER_FORMATS.get(column.kind)
        if number_format and table.rows:
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
    ws.freeze_panes = "A2"
    if table.rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"


# -- CSV ------------------------------------------------------------------------------------------

def _csv_cell(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == PERCENT:
        return f"{value * 100:.1f}%"  # Excel reads "12.5%" as the number 0.125
    if kind == MOMENT:
        return value.strftime("%Y-%m-%d %H:%M")  # read as a date-time by Excel and LibreOffice
    if kind == DAY:
        return value.isoformat()
    text = str(value)
    if kind == TEXT and text.startswith(FORMULA_STARTS):
        return "'" + text  # shown as typed instead of evaluated (OWASP's advice for CSV injection)
    return text


def csv_bytes(table: Table) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in table.columns])
    kinds = [c.kind for c in table.columns]
    for row in table.rows:
        writer.writerow([_csv_cell(value, kind) for value, kind in zip(row, kinds, strict=True)])
    return (BOM + out.getvalue()).encode("utf-8")


def csv_files(config: Config, data: ExportData) -> dict[str, bytes]:
    """File name → content, one per sheet (ASCII names: they survive every zip tool and messenger)."""
    return {f"{table.key}.csv": csv_bytes(table) for table in tables(config, data)}


def csv_zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


@dataclass(frozen=True)
class Export:
    workbook: bytes
    csv: dict[str, bytes]


def build(config: Config, data: ExportData) -> Export:
    """Both forms at once (for the bot; run it in a worker thread)."""
    return Export(workbook_bytes(config, data), csv_files(config, data))


def write_files(config: Config, data: ExportData, out: Path) -> list[Path]:
    """The workbook at ``out`` and each CSV beside it as ``<out's stem>-<table>.csv``; returns the paths."""
    export = build(config, data)
    written = [out]
    out.write_bytes(export.workbook)
    for name, content in export.csv.items():
        path = out.with_name(f"{out.stem}-{name}")
        path.write_bytes(content)
        written.append(path)
    return written


def file_stem(report: StatsReport) -> str:
    """«manshahrdaram-1405-09-20»: ASCII, dated by the Jalali calendar like everything staff read."""
    j = jdatetime.date.fromgregorian(date=report.today)
    return f"manshahrdaram-{j.year}-{j.month:02d}-{j.day:02d}"
