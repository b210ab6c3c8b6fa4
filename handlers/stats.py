"""/stats (admins, moderators, reviewers) and /export (admins). Rights are checked on the server at
every command; the answer goes only to a private chat or the configured staff chat.

/stats: the short text first, then the two charts drawn in a worker thread. The figures are read
on a connection of their own (storage/stats.py): about a second at 500,000 citizens, during which
citizens' updates go on.
/export: a «being prepared» line, then the workbook and a zip of the CSVs — two documents, not
six: every call counts against the bot's rate, staff who want CSV want all the tables, and one
zip keeps the chat readable (ASCII names inside, which every unzip tool reads).
"""
from __future__ import annotations

import asyncio

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.ext import CommandHandler

from bot.campaign.config import Config
from bot.campaign.services.stats import ExportData, StatsReport, StatsService, report_text
from bot.messenger import buttons as bt
from bot.messenger.context import AppContext, app_context
from handlers.common import NEW_MESSAGE, Context, allowed, answer, reply, staff_ref
from handlers.presses import staff_press
from messages_fa import stats as t
from messages_fa import texts

STATS, EXPORT = "stats", "export"  # actions of bot/campaign/roles.py


def command_handlers() -> list[CommandHandler]:
    """/stats and /export alone (tests/support/stats_campaign.install; handlers/__init__.py registers
    every staff command in group 1)."""
    return [CommandHandler("stats", on_stats, filters=NEW_MESSAGE),
            CommandHandler("export", on_export, filters=NEW_MESSAGE)]


def _service(app: AppContext) -> StatsService:
    return app.services.stats


def _staff_place(app: AppContext, update: Update) -> bool:
    """Figures and the workbook (ambassadors' names) stay in private chats and the staff chat."""
    chat = update.effective_chat
    return chat is not None and (chat.type == "private"
                                 or chat.id == app.services.config.platforms[app.platform.name].staff_chat_id)


async def _allowed(update: Update, context: Context, app: AppContext, action: str, refusal: str) -> bool:
    if not allowed(app, update, action):
        await reply(update, context, refusal)
        return False
    if not _staff_place(app, update):
        await reply(update, context, t.staff_place_only())
        return False
    return True


# matplotlib and openpyxl are imported on first use, in the worker thread: the bot's start-up
# (and every test that starts it) need not pay their half a second.

def _draw(report: StatsReport, when: str) -> tuple[bytes, bytes]:
    from bot.outputs import charts

    return charts.neighbourhoods_chart(report, when), charts.days_chart(report, when)


def _build(config: Config, data: ExportData) -> tuple[str, bytes, bytes]:
    """The files' name (without extension), the workbook, the zip of CSVs."""
    from bot.outputs import export

    built = export.build(config, data)
    return export.file_stem(data.report), built.workbook, export.csv_zip(built.csv)


async def on_stats(update: Update, context: Context) -> None:
    app = app_context(context)
    if not await _allowed(update, context, app, STATS, t.stats_refused()):
        return
    service = _service(app)
    report = await service.report()
    when = service.when(report.at)
    await reply(update, context, report_text(report, app.platform.markup, when, can_export=allowed(app, update, EXPORT)))
    hoods, days = await asyncio.to_thread(_draw, report, when)
    chat_id = update.effective_chat.id
    await context.bot.send_photo(chat_id, InputFile(hoods, filename="neighbourhoods.png"),
                                 caption=t.chart_caption_hoods())
    # A neighbourhood's own chart on request: under the days' chart, the button that offers them.
    more = InlineKeyboardMarkup([[Button(t.HOOD_CHART, callback_data=bt.StatsChart().pack())]])
    await context.bot.send_photo(chat_id, InputFile(days, filename="days.png"), caption=t.chart_caption_days(),
                                 reply_markup=more)


async def on_chart_pressed(update: Update, context: Context) -> None:
    """«a neighbourhood's chart»: the neighbourhoods to choose from; one of them: its chart."""
    app = app_context(context)
    press = await staff_press(update, app, bt.StatsChart, STATS, refused=t.stats_refused, elsewhere=t.staff_place_only)
    if press is None:
        return
    hoods = app.services.config.neighbourhoods
    if press.index is None:
        await answer(update)
        buttons = [Button(n.name, callback_data=bt.StatsChart(i).pack()) for i, n in enumerate(hoods)]
        await reply(update, context, t.choose_hood_chart(), InlineKeyboardMarkup([buttons[i:i + 3]
                                                                                   for i in range(0, len(buttons), 3)]))
        return
    if press.index >= len(hoods):
        await answer(update, texts.button_expired(), alert=True)
        return
    await answer(update)
    hood = hoods[press.index]
    service = _service(app)
    days = await service.neighbourhood_days(hood.id)
    png = await asyncio.to_thread(_draw_hood, hood.name, days, service.when())
    await context.bot.send_photo(update.effective_chat.id, InputFile(png, filename=f"{hood.id}.png"),
                                 caption=t.chart_caption_hood(hood.name))


def _draw_hood(name: str, days, when: str) -> bytes:
    from bot.outputs import charts

    return charts.neighbourhood_chart(name, days, when)


async def on_export(update: Update, context: Context) -> None:
    app = app_context(context)
    if not await _allowed(update, context, app, EXPORT, t.export_refused()):
        return
    # A few seconds at city scale: say so at once.
    await reply(update, context, t.export_preparing())
    service = _service(app)
    data = await service.export_data()
    stem, workbook, archive = await asyncio.to_thread(_build, app.services.config, data)
    # Who took the data out, and when: it reads nothing personal, but it leaves the system.
    await app.services.audit(staff_ref(app, update), EXPORT, f"{stem}.xlsx", None, None)
    chat_id = update.effective_chat.id
    await context.bot.send_document(chat_id, InputFile(workbook, filename=f"{stem}.xlsx"),
                                    caption=t.export_caption(service.when(data.report.at)))
    await context.bot.send_document(chat_id, InputFile(archive, filename=f"{stem}-csv.zip"),
                                    caption=t.export_csv_caption())
