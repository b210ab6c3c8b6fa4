"""The ambassador programme: the form (/ambassador, or the menu), the ambassador's panel, and the
staff's decisions and overview (/ambassadors). Every staff press checks the role on the server;
every panel press checks that the presser is an approved ambassador."""
from __future__ import annotations

import asyncio

from telegram import InputFile, Update

from bot.campaign.config import BALE
from bot.campaign.services.ambassadors import (
    GROUPS_LENGTH,
    NAME_LENGTH,
    Decision,
    FormCheck,
    Standing,
    campaign_days,
    reads_unambiguously,
)
from bot.messenger import buttons as bt
from bot.messenger import keyboards, render
from bot.messenger.context import AppContext, app_context
from bot.messenger.keyboards import ambassadors as kb
from bot.messenger.platforms import PLATFORMS
from domain import AMB_APPROVED, AMB_PENDING, AMB_SUSPENDED, Ambassador, Figures
from handlers import states as S
from handlers.common import (
    Context,
    acting,
    allowed,
    answer,
    enter,
    private_buttons_only,
    reply,
    show_menu,
    staff_place,
    unless_unchanged,
)
from handlers.presses import data_of, staff_press
from messages_fa import ambassadors as t
from messages_fa import texts
from messages_fa.broadcasts import staff_command_only
from messages_fa.dates import jalali_day
from messages_fa.texts import ORGANISER, PLAN_NAME, PLATFORM_NAMES

END = -1  # ConversationHandler.END
PENDING_SHOWN = 10


# -- the form ----------------------------------------------------------------------------------------

async def on_entry(update: Update, context: Context):
    """/ambassador or the menu button: the form, where it was left, or the panel."""
    app, citizen = await enter(update, context)
    ambassador = await app.services.ambassadors.get(citizen)
    status = ambassador.status if ambassador else None
    if status == AMB_PENDING:
        await show_menu(update, context, citizen, t.still_pending())
        return END
    if status == AMB_SUSPENDED:
        await show_menu(update, context, citizen,
                        t.suspended(app.platform.markup.esc(app.services.config.profile.support)))
        return END
    if status == AMB_APPROVED:
        await send_panel(update, context, ambassador)
        return END
    ambassador = await app.services.ambassadors.start_form(citizen)
    return await _next_step(update, context, ambassador)


async def _next_step(update: Update, context: Context, ambassador: Ambassador):
    """The first question not yet answered (a form left half-way resumes there)."""
    if not ambassador.full_name:
        return await ask_name(update, context)
    if not ambassador.neighbourhood_id:
        return await ask_hood(update, context)
    if not ambassador.groups:
        return await ask_groups(update, context)
    return await ask_phone(update, context)


async def ask_name(update: Update, context: Context):
    await reply(update, context, t.ask_name(), keyboards.flow())
    return S.AMB_NAME


async def ask_hood(update: Update, context: Context):
    app = app_context(context)
    await reply(update, context, t.ask_neighbourhood(), kb.neighbourhoods(app.services.config.neighbourhoods))
    return S.AMB_HOOD


async def ask_groups(update: Update, context: Context):
    await reply(update, context, t.ask_groups(), keyboards.flow())
    return S.AMB_GROUPS


async def ask_phone(update: Update, context: Context):
    await reply(update, context, t.ask_phone(), keyboards.share_phone())
    return S.AMB_PHONE


async def back_to_menu(update: Update, context: Context):
    _, citizen = await enter(update, context)
    await show_menu(update, context, citizen, texts.cancelled())
    return END


async def on_name(update: Update, context: Context):
    app, citizen = await enter(update, context)
    result = await app.services.ambassadors.set_name(citizen, update.message.text)
    if result in (FormCheck.TOO_SHORT, FormCheck.TOO_LONG):
        await reply(update, context, t.name_invalid(result is FormCheck.TOO_LONG, NAME_LENGTH[1]), keyboards.flow())
        return S.AMB_NAME
    return await _after(update, context, result, ask_hood)


async def on_groups(update: Update, context: Context):
    app, citizen = await enter(update, context)
    result = await app.services.ambassadors.set_groups(citizen, update.message.text)
    if result in (FormCheck.TOO_SHORT, FormCheck.TOO_LONG):
        await reply(update, context, t.groups_invalid(result is FormCheck.TOO_LONG, GROUPS_LENGTH[1]), keyboards.flow())
        return S.AMB_GROUPS
    return await _after(update, context, result, ask_phone)


@private_buttons_only
async def on_hood_pressed(update: Update, context: Context):
    app, citizen = await enter(update, context)
    hood = data_of(update, bt.AmbassadorHood).neighbourhood_id
    if hood is None:  # back to the name
        await answer(update)
        return await ask_name(update, context)
    result = await app.services.ambassadors.set_neighbourhood(citizen, hood)
    if result is FormCheck.TOO_SHORT:
        await answer(update, texts.button_expired(), alert=True)
        return None
    await answer(update)
    return await _after(update, context, result, ask_groups)


async def _after(update: Update, context: Context, result: FormCheck, then):
    if result is FormCheck.NOT_A_DRAFT:  # submitted or decided meanwhile (another device)
        return await on_entry(update, context)
    return await then(update, context)


async def on_phone(update: Update, context: Context):
    app, citizen = await enter(update, context)
    contact = update.message.contact
    service = app.services.ambassadors
    result = await service.set_phone(citizen, update.effective_user.id, contact.user_id, contact.phone_number)
    if result is FormCheck.NOT_YOURS:
        await reply(update, context, t.phone_not_yours(), keyboards.share_phone())
        return S.AMB_PHONE
    if result is FormCheck.NOT_IRANIAN:
        await reply(update, context, t.phone_not_iranian(), keyboards.share_phone())
        return S.AMB_PHONE
    if result is FormCheck.NOT_A_DRAFT:
        return await on_entry(update, context)
    ambassador = await service.submit(citizen)
    if ambassador is None:  # a step was lost (an edit on another device): ask what is missing
        return await _next_step(update, context, await service.start_form(citizen))
    await show_menu(update, context, citizen, t.submitted())
    # Committed; staff cards may take a while on two messengers: the applicant need not wait.
    context.application.create_task(app.notifier.post_ambassador_application(ambassador), update=update)
    return END


async def expect_text(update: Update, context: Context):
    await reply(update, context, t.text_expected(), keyboards.flow())
    return None


async def expect_phone(update: Update, context: Context):
    await reply(update, context, t.phone_expected(), keyboards.share_phone())
    return None


async def expect_hood(update: Update, context: Context):
    app = app_context(context)
    await reply(update, context, t.ask_neighbourhood(), kb.neighbourhoods(app.services.config.neighbourhoods))
    return None


# -- the ambassador's panel ------------------------------------------------------------------------------

async def send_panel(update: Update, context: Context, ambassador: Ambassador) -> None:
    app = app_context(context)
    hood = render.neighbourhood_name(app.services.config, ambassador.neighbourhood_id)
    await reply(update, context, t.panel(app.platform.markup, ambassador.full_name or "", hood), kb.panel())


def _links(app: AppContext, payload: str) -> list[tuple[str, str]]:
    """The ambassador's link on every messenger this bot serves, this one first."""
    names = [app.platform.name] + [n for n in app.notifier.bots if n != app.platform.name]
    return [(n, PLATFORMS[n].deep_link(app.notifier.bots[n].username, payload))
            for n in names if n in app.notifier.bots and app.notifier.bots[n].username]


def _printed(app: AppContext, name: str, url: str, payload: str) -> str:
    """The link as printed under its code, for typing: without https://; a link made before the
    unambiguous alphabet (I/l/1, O/0) prints as the bot's own address, its code still carries it all."""
    if not reads_unambiguously(payload):
        url = PLATFORMS[name].deep_link(app.notifier.bots[name].username)
    return url.removeprefix("https://")


@private_buttons_only
async def on_panel_pressed(update: Update, context: Context) -> None:
    app, citizen = await enter(update, context)
    action = data_of(update, bt.Panel).action
    service = app.services.ambassadors
    ambassador = await service.get(citizen)
    if ambassador is None or ambassador.status != AMB_APPROVED:
        await answer(update, t.not_an_ambassador(), alert=True)
        return
    if action == "new":
        await service.new_link(ambassador)
        await answer(update, t.new_link_made(), alert=True)
        action = "links"
    else:
        await answer(update)
    payload = await service.link(ambassador)
    hood = render.neighbourhood_name(app.services.config, ambassador.neighbourhood_id)
    m = app.platform.markup
    links = _links(app, payload)
    here = dict(links).get(app.platform.name, "")
    # Cards and posters carry every messenger's link, Bale first; and when and by whom.
    bale_first = sorted(links, key=lambda link: link[0] != BALE)
    days = campaign_days(app.services.calendar.current, app.services.config.timezone)
    if action == "links":
        await reply(update, context, t.links(m, links))
    elif action == "card":
        await reply(update, context, t.card_intro())
        await reply(update, context, t.invitation(m, hood, bale_first, t.campaign_dates(*days)), kb.open_bot(here))
    elif action == "poster":
        # Pillow, the QR library and the font load on the first poster, not in every bot's memory.
        from bot.outputs.poster import invite_poster  # noqa: PLC0415
        codes = [(PLATFORM_NAMES[name], url, _printed(app, name, url, payload)) for name, url in bale_first]
        png = await asyncio.to_thread(invite_poster, codes, PLAN_NAME, t.poster_neighbourhood(hood),
                                      t.poster_lines(t.campaign_date_lines(*days)), "", ORGANISER)
        # A document, not a photo: the messenger would recompress a photo, and it is for print.
        await context.bot.send_document(update.effective_chat.id, InputFile(png, filename="poster.png"),
                                        caption=t.poster_caption(hood, [name for name, _ in bale_first]))
    elif action == "stats":
        total, days = await service.figures(ambassador)
        day_lines = [(jalali_day(day.day), _tuple(day.figures)) for day in days]
        await reply(update, context, t.figures(_tuple(total), day_lines))


def _sum(standings: list[Standing]) -> Figures:
    return Figures(*(sum(getattr(s.figures, name) for s in standings) for name in Figures.__dataclass_fields__))


def _tuple(f) -> tuple[int, int, int, int]:
    return f.joined, f.verified, f.proposed, f.voted


# -- staff --------------------------------------------------------------------------------------------

async def on_ambassadors(update: Update, context: Context) -> None:
    app = app_context(context)
    if not allowed(app, update, "ambassadors"):
        await reply(update, context, staff_command_only())
        return
    if not staff_place(app, update):
        await reply(update, context, t.staff_place_only())
        return
    text, markup = await _overview(app, page=0)
    await reply(update, context, text, markup)
    # Pending applications, each with its buttons again (the first copy may be far up the staff chat).
    for ambassador in (await app.services.ambassadors.pending())[:PENDING_SHOWN]:
        await app.notifier.post_ambassador_application(ambassador, only=(app.platform.name, update.effective_chat.id))


async def _overview(app: AppContext, page: int):
    service = app.services.ambassadors
    config = app.services.config
    standings = await service.standings()
    pending = await service.pending()
    m = app.platform.markup
    hood = lambda a: render.neighbourhood_name(config, a.neighbourhood_id)  # noqa: E731
    leaders = [t.leader_line(i + 1, m.esc(s.ambassador.full_name or ""), m.esc(hood(s.ambassador)), s.figures.verified,
                             s.figures.joined) for i, s in enumerate(standings[:10])]
    # Per neighbourhood: totals only, so the message stays one message with 500 ambassadors; the
    # people themselves are the paged buttons below.
    per_hood: dict[str, list[Standing]] = {}
    for s in standings:
        per_hood.setdefault(hood(s.ambassador), []).append(s)
    ordered = [t.neighbourhood_line(m.esc(n.name), len(per_hood[n.name]), _tuple(_sum(per_hood[n.name])))
               for n in config.neighbourhoods if n.name in per_hood]
    flagged = sum(1 for s in standings if s.ambassador.flagged_at)
    text = t.overview(m, ordered, leaders, len(pending), flagged)
    pages = max(1, -(-len(standings) // kb.PAGE))
    page = min(page, pages - 1)
    entries = [(s.ambassador.citizen_id, t.standing_button(i + 1, s.ambassador.full_name or "", hood(s.ambassador),
                                                           s.figures.joined))
               for i, s in enumerate(standings)][page * kb.PAGE:(page + 1) * kb.PAGE]
    return text, kb.standings(entries, page, pages)


async def on_staff_pressed(update: Update, context: Context) -> None:
    app = app_context(context)
    press = await staff_press(update, app, bt.AmbassadorStaff, "ambassadors", elsewhere=t.staff_place_only)
    if press is None:
        return
    if press.action == bt.AmbassadorStaff.PAGE:  # a page of the list
        await answer(update)
        text, markup = await _overview(app, press.number)
        async with unless_unchanged():  # a double tap on "next"
            await update.callback_query.edit_message_text(text, parse_mode=app.platform.markup.parse_mode,
                                                          reply_markup=markup)
        return
    action, ambassador_id = press.action, press.number
    service = app.services.ambassadors
    if action == "v":
        ambassador = await service.by_id(ambassador_id)
        if ambassador is None:
            await answer(update, texts.button_expired(), alert=True)
            return
        await answer(update)
        await _staff_card(update, context, app, ambassador)
        return
    if action == "k":
        ambassador = await service.revoke_link(acting(app, update), ambassador_id)
        done = ambassador is not None
        await answer(update, t.decision_saved() if done else t.already_decided(), alert=not done)
        if done:
            await app.notifier.tell(ambassador.platform, ambassador.chat_id, t.new_link_made())
        return
    verb = {"a": "approve", "r": "reject", "s": "suspend", "u": "reinstate", "x": "remove"}[action]
    decision, ambassador = await service.decide(acting(app, update), ambassador_id, verb)
    if decision is not Decision.DONE:
        await answer(update, t.already_decided() if decision is Decision.ALREADY else texts.button_expired(), alert=True)
        return
    await answer(update, t.decision_saved())
    context.application.create_task(_announce(app, ambassador, verb, update.effective_user.full_name), update=update)
    if verb in ("suspend", "reinstate", "remove"):
        await _staff_card(update, context, app, ambassador, edit=True)


async def _announce(app: AppContext, ambassador: Ambassador, verb: str, by: str) -> None:
    if verb in ("approve", "reject"):
        await app.notifier.close_ambassador_cards(ambassador, by)
    await app.notifier.tell_decision(ambassador, reinstated=verb == "reinstate")


async def _staff_card(update: Update, context: Context, app: AppContext, ambassador: Ambassador, edit: bool = False):
    total, _ = await app.services.ambassadors.figures(ambassador)
    m = app.platform.markup
    text = t.staff_card(m, ambassador.full_name or "", render.neighbourhood_name(app.services.config, ambassador.neighbourhood_id),
                        ambassador.phone or "", ambassador.status, _tuple(total), ambassador.flagged_at is not None)
    markup = kb.manage(ambassador.citizen_id, ambassador.status)
    if edit:
        await update.callback_query.edit_message_text(text, parse_mode=m.parse_mode, reply_markup=markup)
    else:
        await reply(update, context, text, markup)

