"""Results: /results for admins (compute, preview per neighbourhood, publish once) and the citizens'
results menu button (b.RESULTS: their own neighbourhood's winners, and the others on request, once published).

Callback data:
  rs:v:<result id>:<i>   an admin views neighbourhood i of a computation
  rs:p:<result id>       publish it;   rs:c  compute again
  rs:h:<i>               a citizen views neighbourhood i of the published results
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup, Update

from bot.campaign.roles import NOT_STAFF
from bot.campaign.services.results import Publish, UnfundedNeighbourhoods
from bot.messenger import buttons as bt
from bot.messenger.context import AppContext, app_context
from domain import ResultRun
from handlers.common import Context, acting, allowed, answer, enter, reply, show_menu, staff_place
from handlers.presses import data_of, staff_press
from messages_fa import results as t
from messages_fa import staff as st
from messages_fa import texts

log = logging.getLogger(__name__)


def _block(app: AppContext, run: ResultRun, index: int, after: str = "") -> list[str]:
    """One neighbourhood's winners, as one message or more."""
    config = app.services.config
    hood = config.neighbourhoods[index]
    budget, spent, voters = run.neighbourhoods.get(hood.id, (config.results.budget(hood.id), 0, 0))
    winners = [(w.title, w.code, w.cost, w.votes) for w in run.winners if w.neighbourhood_id == hood.id]
    if run.published_at is not None and (page := config.site.hood_url(hood.id)):  # the public page, once it exists
        after = t.site_link(page) + (f"\n\n{after}" if after else "")
    return t.winners_pages(app.platform.markup, hood.name, budget, spent, voters, winners, config.money_unit, after)


async def _reply_pages(update: Update, context: Context, pages: list[str], markup=None) -> None:
    """In order; the buttons go with the last message, under everything they refer to."""
    for page in pages[:-1]:
        await reply(update, context, page)
    await reply(update, context, pages[-1], markup)


def _hood_buttons(app: AppContext, data: Callable[[int], bt.Results]) -> list[list[Button]]:
    """``data(i)``: what neighbourhood i's button carries."""
    buttons = [Button(n.name, callback_data=data(i).pack()) for i, n in enumerate(app.services.config.neighbourhoods)]
    return [buttons[i:i + 3] for i in range(0, len(buttons), 3)]


async def _preview(update: Update, context: Context, app: AppContext, run: ResultRun) -> None:
    config = app.services.config
    hoods = []
    for hood in config.neighbourhoods:
        budget, spent, voters = run.neighbourhoods.get(hood.id, (0, 0, 0))
        hoods.append((hood.name, sum(1 for w in run.winners if w.neighbourhood_id == hood.id), spent, budget, voters))
    rows = _hood_buttons(app, lambda i: bt.Results(bt.Results.VIEW, run.id, i))
    if run.published_at is None:
        rows.append([Button(t.PUBLISH, callback_data=bt.Results(bt.Results.PUBLISH, run.id).pack()),
                     Button(t.RECOMPUTE, callback_data=bt.Results(bt.Results.COMPUTE).pack())])
    pages = t.preview(app.platform.markup, run.id, run.rule, hoods, config.money_unit, run.published_at is not None)
    await _reply_pages(update, context, pages, InlineKeyboardMarkup(rows))


async def on_results_command(update: Update, context: Context) -> None:
    app = app_context(context)
    if not allowed(app, update, "results") or not staff_place(app, update):
        await reply(update, context, st.not_for_you() if not allowed(app, update, "results") else st.staff_place_only())
        return
    run = await app.services.results.published() or await _compute(update, context, app)
    if run is not None:
        await _preview(update, context, app, run)


async def _compute(update: Update, context: Context, app: AppContext) -> ResultRun | None:
    """A fresh computation; None (staff told why) while a neighbourhood's budget is 0, or when the
    presser's role was taken away since the command's own check."""
    try:
        run = await app.services.results.compute(acting(app, update))
    except UnfundedNeighbourhoods as exc:
        names = [n.name for n in app.services.config.neighbourhoods if n.id in exc.neighbourhood_ids]
        await reply(update, context, t.budget_missing(names))
        return None
    if run is NOT_STAFF:
        await reply(update, context, st.not_for_you())
        return None
    return run


async def on_pressed(update: Update, context: Context) -> None:
    app = app_context(context)
    press = data_of(update, bt.Results)
    if press.action == bt.Results.HOOD:  # a citizen's view of the published results
        await _citizen_view(update, context, app, press.index)
        return
    if await staff_press(update, app, bt.Results, "results", refused=st.not_for_you, elsewhere=st.not_for_you) is None:
        return
    services = app.services
    if press.action == bt.Results.COMPUTE:
        await answer(update)
        if (run := await _compute(update, context, app)) is not None:
            await _preview(update, context, app, run)
        return
    result_id = press.result_id
    run = await services.results.get(result_id)
    if run is None:
        await answer(update, texts.button_expired(), alert=True)
        return
    if press.action == bt.Results.VIEW:
        index = press.index
        if index >= len(services.config.neighbourhoods):
            await answer(update, texts.button_expired(), alert=True)
            return
        await answer(update)
        await _reply_pages(update, context, _block(app, run, index))
        return
    outcome = await services.results.publish(acting(app, update), result_id)
    if outcome is not Publish.DONE:
        refusals = {Publish.ALREADY: t.already_published, Publish.STALE: t.computed_before_close,
                    Publish.NOT_STAFF: st.not_for_you,
                    Publish.TOO_EARLY: lambda: t.voting_not_closed(
                        services.calendar.when(services.calendar.current.voting_closes))}
        await answer(update, refusals[outcome](), alert=True)
        return
    # The press answered at once (drawing the charts takes seconds), then the public pages, before
    # the announcement is sent: its link must open.
    await answer(update, t.published_done(), alert=True)
    site_written = await _write_site(app)
    if app.worker is not None:
        app.worker.wake()
    if not site_written:
        await reply(update, context, t.site_failed(str(services.config.site.dir)))


async def _write_site(app: AppContext) -> bool:
    """The public results pages into site.dir (bot/outputs/site.py); False (logged) if they could not be."""
    from bot.outputs.site import publish_site  # noqa: PLC0415 (matplotlib loads with the first publication)

    try:
        await publish_site(app.services, app.services.config.site.dir)
    except (OSError, LookupError) as exc:
        log.error("results pages not written into %s: %s", app.services.config.site.dir, exc)
        return False
    return True


async def on_citizen_results(update: Update, context: Context):
    app, citizen = await enter(update, context)
    run = await app.services.results.published()
    if run is None:
        results_at = app.services.calendar.current.results_announced
        await show_menu(update, context, citizen, t.not_published(
            app.services.calendar.when(results_at) if results_at else None))
        return None
    hoods = app.services.config.neighbourhoods
    index = next((i for i, n in enumerate(hoods) if n.id == citizen.neighbourhood_id), None)
    markup = InlineKeyboardMarkup(_hood_buttons(app, lambda i: bt.Results(bt.Results.HOOD, index=i)))
    if index is None:
        await reply(update, context, t.OTHER_NEIGHBOURHOODS, markup)
    else:
        await _reply_pages(update, context, _block(app, run, index, after=t.OTHER_NEIGHBOURHOODS), markup)
    return None


async def _citizen_view(update: Update, context: Context, app: AppContext, index: int) -> None:
    run = await app.services.results.published()
    if run is None or index >= len(app.services.config.neighbourhoods):
        await answer(update, texts.button_expired(), alert=True)
        return
    await answer(update)
    await _reply_pages(update, context, _block(app, run, index))
