"""Statistics: the aggregate figures for a scripted campaign, the charts as PNGs, /stats and who may
ask for it, the `python -m bot stats` command."""
from __future__ import annotations

import datetime as dt
import io
import random

import pytest
from PIL import Image
from telegram.ext import CommandHandler

from bot.__main__ import main
from bot.campaign.services.stats import DayStats, continuous_days, report_text
from bot.outputs import charts
from domain import APPROVED, FEASIBLE, REJECTED, DayCounts
from handlers import stats as stats_handlers
from handlers.common import NEW_MESSAGE
from messages_fa import stats as t
from messages_fa.markup import PlainMarkup
from storage.repositories import Repositories
from storage.stats import StatsRepository
from tests.conftest import TELEGRAM_ADMIN
from tests.support.stats_campaign import (
    DAY1,
    MODERATOR,
    STAFF,
    STRANGER,
    TEHRAN,
    add_citizen,
    add_proposal,
    in_thread,
    opened,
    running_staff_bot,
    seed_file,
    seed_small,
    staffed_config,
    stats_service,
    write_config,
)

# -- a larger campaign (tests/support/stats_campaign.py has the small one) ---------------------------

async def seed_many(repos: Repositories, config, citizens: int, days: int = 20, seed: int = 1) -> None:
    """A campaign of ``citizens`` people over ``days`` days in every neighbourhood (for the
    timings and for looking at the charts)."""
    rng = random.Random(seed)
    hoods = [n.id for n in config.neighbourhoods]
    weights = [rng.uniform(0.3, 3) for _ in hoods]
    by_hood: dict[str, list[tuple[int, int]]] = {h: [] for h in hoods}  # hood → [(citizen, proposal)]
    people = []
    for n in range(citizens):
        day = min(days - 1, int(rng.expovariate(1 / 5)))
        at = DAY1 + dt.timedelta(days=day, minutes=rng.randrange(12 * 60))
        hood = rng.choices(hoods, weights)[0] if rng.random() > 0.03 else None
        verified = rng.random() < 0.7
        platform = "bale" if rng.random() < 0.3 else "telegram"
        cid = await add_citizen(repos, platform, 10_000 + n, at, hood, f"{n + 10**6:064x}" if verified else None)
        people.append((cid, hood, verified, at, platform))
        if hood and rng.random() < 0.08:
            pid = await add_proposal(repos, cid, hood, platform, at + dt.timedelta(minutes=30),
                                     f"پیشنهاد {n}", str(2_000_000 + n), rng.choice(config.categories).id)
            roll = rng.random()
            if roll < 0.15:
                await repos.proposals.decide(pid, REJECTED, STAFF, at + dt.timedelta(days=1), "خارج از محدوده")
            elif roll < 0.95:
                await repos.proposals.decide(pid, APPROVED, STAFF, at + dt.timedelta(days=1))
                if rng.random() < 0.85:
                    await repos.proposals.set_feasibility(pid, FEASIBLE, "", STAFF, at + dt.timedelta(days=1))
                    await repos.proposals.set_cost(pid, rng.randrange(1, 50) * 100_000_000, STAFF,
                                                   at + dt.timedelta(days=1))
                    by_hood[hood].append(pid)
    for cid, hood, verified, at, _platform in people:
        if hood and verified and by_hood[hood] and rng.random() < 0.6:
            when = DAY1 + dt.timedelta(days=rng.randrange(max(8, (at - DAY1).days), days), hours=1)
            for pid in rng.sample(by_hood[hood], min(len(by_hood[hood]), rng.randint(1, 3))):
                await repos.votes.cast(cid, pid, hood, 3, when)


@pytest.fixture
async def db(config):
    async with opened(config.database) as database:
        yield database


# -- the figures ------------------------------------------------------------------------------------

async def test_figures_per_neighbourhood_platform_and_day(config, db):
    repos = Repositories(db)
    await seed_small(repos)
    report = await stats_service(config, db, DAY1 + dt.timedelta(days=3)).report()

    assert [h.id for h in report.neighbourhoods] == [n.id for n in config.neighbourhoods]
    hood = {h.id: h for h in report.neighbourhoods}
    tajrish, darband = hood["tajrish"].counts, hood["darband"].counts
    assert (tajrish.citizens, tajrish.verified, tajrish.pending, tajrish.approved, tajrish.rejected,
            tajrish.on_ballot, tajrish.votes, tajrish.voters) == (5, 4, 1, 1, 1, 1, 3, 3)
    assert (darband.citizens, darband.verified, darband.approved, darband.on_ballot, darband.voters) == (2, 0, 1, 0, 0)
    assert hood["tajrish"].participation == pytest.approx(3 / 5)
    assert hood["araj"].counts.citizens == 0 and hood["araj"].participation == 0
    assert report.unassigned.citizens == 1
    assert (report.total.citizens, report.total.verified, report.total.proposals, report.total.votes,
            report.total.voters) == (8, 4, 4, 3, 3)
    assert report.participation == pytest.approx(3 / 8)

    platforms = {p.platform: p for p in report.platforms}
    assert (platforms["telegram"].citizens, platforms["telegram"].voters, platforms["telegram"].proposals) == (7, 2, 4)
    assert (platforms["bale"].citizens, platforms["bale"].verified, platforms["bale"].votes) == (1, 1, 1)

    # Days in Tehran time, continuous to today (8 Azar), running totals.
    assert [d.day for d in report.days] == [dt.date(2026, 11, 26) + dt.timedelta(days=n) for n in range(4)]
    first, second, third, today = report.days
    assert (first.counts.citizens, first.counts.verified, first.counts.proposals) == (8, 4, 4)
    assert second.counts == DayCounts(second.day)  # nothing happened: present with zeros
    assert (third.counts.votes, third.counts.voters, third.voters_so_far, third.citizens_so_far) == (3, 3, 3, 8)
    assert today.participation == pytest.approx(3 / 8)


async def test_withdrawn_votes_leave_the_voters_and_the_day_series(config, db):
    repos = Repositories(db)
    seeded = await seed_small(repos)
    await repos.votes.withdraw(seeded.citizens["t1"], seeded.proposals["ballot"])
    report = await stats_service(config, db, DAY1 + dt.timedelta(days=3)).report()
    assert (report.total.votes, report.total.voters) == (2, 2)
    assert sum(d.counts.voters for d in report.days) == 2  # citizens.first_vote_at would still say 3


async def test_day_boundary_is_tehran_midnight(config, db):
    repos = Repositories(db)
    # 23:59 and 00:01 Tehran time are 20:29 and 20:31 UTC on the same UTC day.
    await add_citizen(repos, "telegram", 1, dt.datetime(2026, 11, 26, 23, 59, tzinfo=TEHRAN), "tajrish")
    await add_citizen(repos, "telegram", 2, dt.datetime(2026, 11, 27, 0, 1, tzinfo=TEHRAN), "tajrish")
    _, _, days = await StatsRepository(db).snapshot(210)
    assert [(d.day, d.citizens) for d in days] == [(dt.date(2026, 11, 26), 1), (dt.date(2026, 11, 27), 1)]


def test_continuous_days_fills_gaps_and_keeps_running_totals_when_cut():
    counts = [DayCounts(dt.date(2026, 1, 1), citizens=10, voters=2), DayCounts(dt.date(2026, 1, 4), citizens=5, voters=3)]
    days = continuous_days(counts, dt.date(2026, 1, 5))
    assert [d.day.day for d in days] == [1, 2, 3, 4, 5]
    assert [d.citizens_so_far for d in days] == [10, 10, 10, 15, 15]
    cut = continuous_days(counts, dt.date(2026, 1, 5), max_days=2)
    assert [(d.day.day, d.citizens_so_far, d.voters_so_far) for d in cut] == [(4, 15, 5), (5, 15, 5)]
    assert continuous_days([], dt.date(2026, 1, 5)) == ()


async def test_report_text_is_persian_with_rankings(config, db):
    await seed_small(Repositories(db))
    service = stats_service(config, db, DAY1 + dt.timedelta(days=3))
    report = await service.report()
    text = report_text(report, PlainMarkup(), service.when(), can_export=True)
    assert "شهروندان: ۸ (تلفن تأییدشده: ۴)" in text
    assert "رأی‌ها: ۳ از ۳ رأی‌دهنده — مشارکت ۳۷٫۵٪" in text
    assert "در انتظار بررسی ۱، تأییدشده ۲، ردشده ۱؛ در فهرست رأی‌گیری ۱" in text
    assert "بیشترین مشارکت: تجریش ۶۰٫۰٪" in text and "کمترین مشارکت: دربند ۰٪" in text
    assert "تلگرام: ۷ شهروند، ۲ رأی‌دهنده · بله: ۱ شهروند، ۱ رأی‌دهنده" in text
    assert "/export" in text and not any(ch.isascii() and ch.isdigit() for ch in text.replace("/export", ""))
    full = report_text(report, PlainMarkup(), service.when(), full=True)
    assert "تجریش: ۵ شهروند، ۴ تأییدشده، ۳ پیشنهاد، ۳ رأی از ۳ رأی‌دهنده — مشارکت ۶۰٫۰٪" in full
    assert "۵ آذر: ۸ شهروند، ۴ تأیید، ۴ پیشنهاد، ۰ رأی" in full
    assert "نمودار" in text and "نمودار" not in full  # the command line draws no charts


def test_percent_and_day_labels():
    assert t.fa_percent(0.375) == "۳۷٫۵٪" and t.fa_percent(0) == "۰٪" and t.fa_percent(1) == "۱۰۰٫۰٪"
    assert t.day_label(dt.date(2026, 11, 26)) == "۵ آذر"
    assert t.day_cell(dt.date(2026, 11, 26)) == "۱۴۰۵/۰۹/۰۵"


# -- the charts -------------------------------------------------------------------------------------

def _png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes every chunk: a truncated file fails here
    return image


def _ink_columns(image: Image.Image, box: tuple[int, int, int, int]) -> list[int]:
    """x positions inside box with any dark pixel."""
    gray = image.convert("L").crop(box)
    width, height = gray.size
    pixels = gray.load()
    return [x for x in range(width) if any(pixels[x, y] < 100 for y in range(height))]


async def test_charts_are_pngs_of_the_expected_size_with_names_on_the_right(config, db):
    await seed_small(Repositories(db))
    service = stats_service(config, db, DAY1 + dt.timedelta(days=3))
    report = await service.report()
    hoods = _png(charts.neighbourhoods_chart(report, service.when()))
    days = _png(charts.days_chart(report, service.when()))
    assert hoods.format == days.format == "PNG"
    assert hoods.size == (1350, 1800) and days.size == (1500, 1050)
    # The 27 names stand right of the plot (x > 76% of the width), where the bars do not reach.
    names = _ink_columns(hoods, (int(1350 * 0.77), 150, 1350, 1700))
    assert len(names) > 40


def _ink_profile(image: Image.Image) -> list[float]:
    """The ink of a one-line label, cropped, scaled to 300×60 and standardised."""
    import numpy as np
    ink = 255 - np.asarray(image.convert("L"), dtype=float)
    cols, rows = np.where(ink.max(axis=0) > 100)[0], np.where(ink.max(axis=1) > 100)[0]
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scaled = np.asarray(Image.fromarray(ink.astype("uint8")).resize((300, 60)), dtype=float).ravel()
    return (scaled - scaled.mean()) / scaled.std()


@pytest.mark.parametrize("text", [t.CHART_HOODS_TITLE, "امامزاده قاسم", "۵ آذر"])
def test_chart_labels_read_right_to_left_like_the_poster(text):
    """matplotlib's rendering of a label, against the poster's (Pillow, shaped and reordered by
    bot.outputs.persian_render): the same picture, and not the one with the letters in reverse order (what
    shaped text gives when matplotlib reorders it a second time)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import ImageDraw, ImageFont

    from bot.outputs.persian_render import font_path, shape_rtl

    fig = Figure(figsize=(8, 1.2), dpi=100, facecolor="white")
    fig.text(0.5, 0.5, charts._fa(text), fontproperties=charts._font(36), ha="center", va="center")
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    drawn = _ink_profile(Image.open(out))

    def poster_style(visual: str) -> list[float]:
        font = ImageFont.truetype(str(font_path()), 50, layout_engine=ImageFont.Layout.BASIC)
        image = Image.new("L", (1000, 120), 255)
        ImageDraw.Draw(image).text((500, 60), visual, font=font, anchor="mm", fill=0)
        return _ink_profile(image)

    right = float((drawn * poster_style(shape_rtl(text))).mean())
    reversed_ = float((drawn * poster_style(shape_rtl(text)[::-1])).mean())
    assert right > 0.85 and reversed_ < 0.5, (right, reversed_)


def test_charts_draw_nothing_but_a_note_without_data(config):
    from bot.campaign.services.stats import StatsReport
    from domain import NeighbourhoodCounts
    empty = StatsReport(at=DAY1, today=DAY1.date(), neighbourhoods=(), unassigned=NeighbourhoodCounts(None),
                        total=NeighbourhoodCounts(None), platforms=(), days=())
    assert _png(charts.neighbourhoods_chart(empty, "—")).size == (1350, 1800)
    assert _png(charts.days_chart(empty, "—")).size == (1500, 1050)


def test_day_axis_is_jalali_and_has_at_most_ten_labels():
    days = tuple(DayStats(DayCounts(dt.date(2026, 11, 26) + dt.timedelta(days=n), citizens=n), n, n // 2)
                 for n in range(40))
    labels = charts.day_tick_labels(days)
    assert labels[0] == "۵ آذر" and 4 <= len(labels) <= 10
    assert all(label.split()[1] in ("آذر", "دی") for label in labels)


# -- /stats in the messenger ------------------------------------------------------------------------

@pytest.fixture
def staff_config(tmp_path):
    return staffed_config(tmp_path)


@pytest.fixture
async def staff_bot(staff_config):
    async with running_staff_bot(staff_config) as running:
        yield running


async def test_stats_for_staff_text_and_two_charts(staff_bot):
    await seed_small(staff_bot.services.repos)
    tg = staff_bot.telegram
    for user in (TELEGRAM_ADMIN, MODERATOR):  # (reviewers: tests/test_export.py, without the drawing)
        before = len(tg.request.calls_to("sendPhoto"))
        await tg.send(user, "/stats")
        texts = [m["text"] for m in tg.request.messages(user) if m.get("text")]
        assert any("شهروندان: ۸" in text for text in texts), texts
        photos = tg.request.calls_to("sendPhoto")[before:]
        assert len(photos) == 2
        for call in photos:
            assert str(call.params["chat_id"]) == str(user)
            _png(call.files["photo"][1])
    # Only admins are told about /export.
    assert "/export" in next(m["text"] for m in tg.request.messages(TELEGRAM_ADMIN) if "شهروندان" in (m["text"] or ""))
    assert "/export" not in next(m["text"] for m in tg.request.messages(MODERATOR) if "شهروندان" in (m["text"] or ""))


async def test_stats_refused_to_citizens(staff_bot):
    tg = staff_bot.telegram
    await tg.send(STRANGER, "/stats")
    assert tg.last_text(STRANGER) == t.stats_refused()
    assert not tg.request.calls_to("sendPhoto")


async def test_stats_not_in_an_ordinary_group(staff_bot):
    tg = staff_bot.telegram
    await tg.send(TELEGRAM_ADMIN, "/stats", chat_id=-5555)
    assert tg.last_text(-5555) == t.staff_place_only()
    assert not tg.request.calls_to("sendPhoto")


# -- the command line -------------------------------------------------------------------------------

async def test_cli_stats_prints_the_full_persian_report(tmp_path, config, capsys):
    path = await seed_file(tmp_path)
    assert await in_thread(main, ["--config", path, "stats"]) == 0
    out = capsys.readouterr().out
    assert "شهروندان: ۸ (تلفن تأییدشده: ۴)" in out
    assert "تجریش: ۵ شهروند" in out and "اراج: ۰ شهروند" in out


async def test_cli_stats_names_a_missing_database(tmp_path, capsys):
    path = write_config(tmp_path, tmp_path / "nowhere.sqlite3")
    assert await in_thread(main, ["--config", path, "stats"]) == 1
    err = capsys.readouterr().err
    assert "nowhere.sqlite3" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "nowhere.sqlite3").exists()


def test_stats_handlers_are_commands_for_new_messages_only():
    handlers = stats_handlers.command_handlers()
    assert [sorted(h.commands) for h in handlers] == [["stats"], ["export"]]
    assert all(isinstance(h, CommandHandler) and h.filters is NEW_MESSAGE for h in handlers)


# -- single days as points; one neighbourhood's chart on request (issue 17) ---------------------------

def _colour_pixels(fig, ax, colour: str) -> int:
    """How many pixels inside ``ax`` are drawn in ``colour`` (or close to it)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgb

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[:, :, :3].astype(int)
    box = ax.get_window_extent()
    height = image.shape[0]
    inside = image[int(height - box.y1):int(height - box.y0), int(box.x0):int(box.x1)]
    target = np.array([round(c * 255) for c in to_rgb(colour)])
    return int((np.abs(inside - target).sum(axis=2) < 40).sum())


def test_a_campaigns_first_day_is_drawn_as_points():
    """A line through one day draws nothing: the first day of a campaign left an empty chart."""
    from bot.campaign.services.stats import StatsReport
    from domain import NeighbourhoodCounts
    one = (DayStats(DayCounts(dt.date(2026, 11, 26), citizens=3, verified=2, proposals=1, votes=4, voters=1), 3, 1),)
    report = StatsReport(at=DAY1, today=DAY1.date(), neighbourhoods=(), unassigned=NeighbourhoodCounts(None),
                         total=NeighbourhoodCounts(None), platforms=(), days=one)
    fig = charts.days_figure(report, "—")
    upper, lower = fig.axes
    for _field, _label, colour in charts.DAY_SERIES:
        assert _colour_pixels(fig, lower, colour) > 30, colour
    assert _colour_pixels(charts.days_figure(report, "—"), upper, charts.VOTERS_COLOUR) > 30
    fig = charts.neighbourhood_figure("تجریش", one, "—")
    for _field, _label, colour in charts.HOOD_SERIES:
        assert _colour_pixels(fig, fig.axes[0], colour) > 30, colour


async def test_a_neighbourhoods_chart_of_proposals_and_votes_on_request(staff_bot):
    await seed_small(staff_bot.services.repos)
    tg = staff_bot.telegram
    await tg.send(MODERATOR, "/stats")
    days_photo = tg.request.calls_to("sendPhoto")[-1]
    assert t.HOOD_CHART in str(days_photo.params.get("reply_markup"))
    await tg.press(MODERATOR, t.HOOD_CHART)
    assert tg.last_text(MODERATOR) == t.choose_hood_chart()
    assert len(tg.buttons(MODERATOR)) == len(staff_bot.config.neighbourhoods)
    await tg.press(MODERATOR, "تجریش")
    chart = tg.request.calls_to("sendPhoto")[-1]
    assert chart.params["caption"] == t.chart_caption_hood("تجریش") and chart.params["chat_id"] == MODERATOR
    assert _png(chart.files["photo"][1]).size == (1500, 750)
    # Its figures: the neighbourhood's proposals and votes, every day from its first.
    service = staff_bot.services.stats
    days = await service.neighbourhood_days("tajrish")
    tajrish = next(h for h in (await service.report()).neighbourhoods if h.id == "tajrish").counts
    assert sum(d.counts.proposals for d in days) == tajrish.pending + tajrish.approved + tajrish.rejected > 0
    assert sum(d.counts.votes for d in days) == tajrish.votes > 0
    assert [d.day for d in days] == [days[0].day + dt.timedelta(days=n) for n in range(len(days))]
    # Someone without the right to /stats, pressing it (forged): refused, nothing drawn.
    await tg.send(STRANGER, "/start")
    before = len(tg.request.calls_to("sendPhoto"))
    await tg.press_data(STRANGER, "st:h:0")
    assert tg.alerts()[-1] == t.stats_refused() and len(tg.request.calls_to("sendPhoto")) == before
