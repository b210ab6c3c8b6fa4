"""The staff console's queues: /review (moderators: approve, reject with a reason, fix the category,
mark a duplicate) and /feasibility (reviewers: feasible or not with an explanation, the cost), and
/audit (admins). Every command and press checks the role on the server (bot/campaign/roles.py).

Callback data: Review, Feasibility and AuditPage (bot/messenger/buttons.py).
"""
from __future__ import annotations

import datetime as dt

from telegram import ForceReply, InlineKeyboardMarkup, Update
from telegram import InlineKeyboardButton as Button
from telegram.error import TelegramError

from bot.campaign.services.proposals import MAX_REASON, Decision
from bot.messenger import buttons as bt
from bot.messenger import keyboards, render
from bot.messenger.context import AppContext, app_context
from bot.messenger.markup_dicts import NO_LINK_PREVIEW
from bot.messenger.platforms import PLATFORMS
from domain import FEASIBLE, NOT_FEASIBLE, AuditFilter
from handlers.common import Context, acting, allowed, answer, reply, staff_place, unless_unchanged
from handlers.presses import staff_press
from messages_fa import staff as t
from messages_fa import texts
from messages_fa.dates import jalali_day
from messages_fa.fit import TEXT_LIMIT, cut, units

SEEN = {"u": None, "f": FEASIBLE, "n": NOT_FEASIBLE}
SEEN_CODE = {v: k for k, v in SEEN.items()}
DUPLICATE, NOTE, COST = "duplicate_code", "feasibility_note", "cost"  # what staff_inputs expects
AUDIT_PAGE = 15  # one page is one message, and one entry always fits: its values are shortened (messages_fa)


def _permitted(app: AppContext, update: Update, action: str) -> str | None:
    """None if this person may do it here; else why not."""
    if not allowed(app, update, action):
        return t.not_for_you()
    if not staff_place(app, update):
        return t.staff_place_only()
    return None


async def _private_for_typing(update: Update) -> bool:
    """A question that waits for typed text is asked in a private chat only (answers typed in a
    group are not taken, so the question would linger)."""
    if update.effective_chat.type == "private":
        return True
    await answer(update, t.continue_privately(), alert=True)
    return False


# -- /review ----------------------------------------------------------------------------------------

async def on_review(update: Update, context: Context) -> None:
    app = app_context(context)
    if why := _permitted(app, update, "moderate"):
        await reply(update, context, why)
        return
    await _show_next_pending(update, context, app, after_id=0)


async def _show_next_pending(update: Update, context: Context, app: AppContext, after_id: int,
                             saved: bool = False) -> None:
    """The next pending card (after «saved» when a typed answer came before it), or that none is left."""
    proposal = await app.services.proposals.next_pending(after_id)
    if proposal is None and after_id:
        proposal = await app.services.proposals.next_pending(0)  # round again from the oldest
    if proposal is None:
        await reply(update, context, t.saved_and_queue_empty() if saved else t.queue_empty())
        return
    if saved:
        await reply(update, context, t.saved_next())
    if proposal.photo_file_id and proposal.platform == app.platform.name:
        await context.bot.send_photo(update.effective_chat.id, proposal.photo_file_id,
                                     caption=texts.staff_photo_caption(proposal.code))
    if proposal.voice_file_id:  # heard with the card, copied from the other messenger if need be
        await app.notifier.send_staff_voice(app.platform.name, update.effective_chat.id, proposal)
    await reply(update, context, await _card(app, proposal), keyboards.review(proposal.id))


async def _card(app: AppContext, proposal) -> str:
    """The /review card, and under it the likely duplicates with their similarity and «me too»s
    (bot/campaign/services/similar.py), and the proposal's own «me too»s."""
    similar = app.services.similar
    likely = await similar.for_staff(proposal)
    own = (await similar.supporters([proposal.id])).get(proposal.id, 0)
    extra = [t.supporters_line(own)] if own else []
    if likely:
        extra.append(t.likely_duplicates(app.platform.markup, [(s.code, s.title, round(s.score * 100), s.supporters)
                                                              for s in likely]))
    markup = app.platform.markup
    tail = "".join("\n\n" + part for part in extra)
    # A long description gives way to the hints, not the other way round.
    return cut(markup, render.staff_card(app.platform, app.services.config, proposal),
               TEXT_LIMIT - units(markup.shown(tail))) + tail


async def on_queue_pressed(update: Update, context: Context) -> None:
    app = app_context(context)
    press = await staff_press(update, app, bt.Review, "moderate", refused=t.not_for_you, elsewhere=t.staff_place_only)
    if press is None:
        return
    action, proposal_id = press.action, press.proposal_id
    services = app.services
    r = bt.Review
    if action == r.NEXT:
        await answer(update)
        await _show_next_pending(update, context, app, after_id=proposal_id)
        return
    if action == r.REJECT:
        await answer(update)
        await reply(update, context, t.choose_reason(), keyboards.reject_reasons(proposal_id, services.config.reject_reasons))
        return
    if action == r.TYPE_REASON:
        proposal = await services.proposals.get(proposal_id)
        if proposal is None:
            await answer(update, texts.button_expired(), alert=True)
            return
        await answer(update)
        # The existing rejection-reason question: the reply to it is the reason (handlers/moderation.py).
        question = await reply(update, context, texts.ask_reject_reason(proposal.code), ForceReply())
        await services.proposals.remember_reason_question(app.platform.name, question.chat_id, question.message_id,
                                                          proposal_id)
        return
    if action == r.CATEGORY:
        await answer(update)
        await reply(update, context, t.choose_category(), keyboards.categories_for(proposal_id, services.config.categories))
        return
    if action == r.DUPLICATE:
        await _ask_duplicate_code(update, context, app, proposal_id)
        return
    if action == r.APPROVE:
        result = await services.proposals.decide(acting(app, update), proposal_id, True, None)
    elif action == r.READY_REASON:
        reasons = services.config.reject_reasons
        index = press.index
        if index >= len(reasons):
            await answer(update, texts.button_expired(), alert=True)
            return
        result = await services.proposals.decide(acting(app, update), proposal_id, False, reasons[index])
    else:  # SET_CATEGORY
        categories = services.config.categories
        index = press.index
        if index >= len(categories):
            await answer(update, texts.button_expired(), alert=True)
            return
        result = await services.proposals.fix_category(acting(app, update), proposal_id, categories[index].id)
        if result.decision is Decision.DONE:
            await answer(update, t.saved())
            p = result.proposal
            author = await services.citizens.get(p.citizen_id)
            markup = PLATFORMS[p.platform].markup  # the author's messenger, not this one
            if author is not None:
                await app.notifier.tell(p.platform, author.chat_id, t.category_changed_for_author(
                    markup, p.title, p.code, categories[index].name), parse_mode=markup.parse_mode)
            context.application.create_task(app.notifier.refresh_staff_cards(p), update=update)
            if update.effective_chat.type == "private":  # the /review screen; the staff chat's card is refreshed
                await reply(update, context, await _card(app, p), keyboards.review(p.id))
            return
    await _after_decision(update, context, app, result)


async def _after_decision(update: Update, context: Context, app: AppContext, result) -> None:
    # In the staff chat every pending proposal has its card already: no next card is posted there
    # after a decision («next» shows another on request); in a private chat the queue goes on.
    private = update.effective_chat.type == "private"
    if result.decision is not Decision.DONE:
        refusals = {Decision.ALREADY: t.already_done, Decision.NO_TITLE: texts.title_first}
        await answer(update, refusals.get(result.decision, texts.button_expired)(), alert=True)
        if result.decision is Decision.ALREADY and private:  # a colleague was quicker: on to the next one
            await _show_next_pending(update, context, app, after_id=0)
        return
    await answer(update, texts.decision_saved())  # as the first cards' buttons answered
    proposal = result.proposal
    context.application.create_task(_announce(app, proposal, update.effective_user.full_name), update=update)
    if private:
        await _show_next_pending(update, context, app, after_id=proposal.id)


async def _ask_duplicate_code(update: Update, context: Context, app: AppContext, proposal_id: int) -> None:
    """The original's code is typed in a private chat (answers typed in a group are not read): pressed
    in the staff chat, the question goes to the presser's private chat; if the messenger will not let
    the bot write there first, they are told to start it."""
    proposal = await app.services.proposals.get(proposal_id)
    if proposal is None:
        await answer(update, texts.button_expired(), alert=True)
        return
    who = acting(app, update)
    await app.services.questions.ask(who, DUPLICATE, str(proposal_id))
    # The likely duplicates first, one press each; the typed code still answers the question.
    likely = keyboards.duplicates(proposal_id, [(s.id, s.code, s.title, round(s.score * 100))
                                                for s in await app.services.similar.for_staff(proposal)])
    if update.effective_chat.type == "private":
        await answer(update)
        await reply(update, context, t.choose_duplicate() if likely else t.ask_duplicate_code(), likely)
        return
    try:
        # A private chat's id is its person's id.
        await context.bot.send_message(update.effective_user.id, t.ask_duplicate_code_for(proposal.code),
                                       reply_markup=likely)
    except TelegramError:
        await app.services.questions.close(who)
        await answer(update, t.continue_privately(), alert=True)
        return
    await answer(update, t.asked_privately())


async def _announce(app: AppContext, proposal, by: str) -> None:
    await app.notifier.close_staff_cards(proposal, by)
    await app.notifier.tell_author(proposal)


async def take_duplicate_code(update: Update, context: Context, app: AppContext, target: str) -> None:
    await _mark_duplicate(update, context, app, int(target), update.message.text or "")


async def on_duplicate_pressed(update: Update, context: Context) -> None:
    """One of the likely duplicates listed under «duplicate…» (keyboards.duplicates)."""
    app = app_context(context)
    press = await staff_press(update, app, bt.DuplicateOf, "moderate", refused=t.not_for_you,
                              elsewhere=t.staff_place_only)
    if press is None:
        return
    original = await app.services.proposals.get(press.original_id)
    await answer(update)
    await _mark_duplicate(update, context, app, press.proposal_id, original.code if original else "")


async def _mark_duplicate(update: Update, context: Context, app: AppContext, proposal_id: int, code: str) -> None:
    services = app.services
    result = await services.proposals.mark_duplicate(acting(app, update), proposal_id, code,
                                                     lambda original: t.duplicate_reason(original.code, original.title))
    if result.decision is Decision.MISSING:
        await reply(update, context, t.duplicate_code_unknown())
        return
    await services.questions.close(acting(app, update))
    if result.decision is not Decision.DONE:
        await reply(update, context, t.already_done())
        return
    context.application.create_task(_announce(app, result.proposal, update.effective_user.full_name), update=update)
    await _show_next_pending(update, context, app, after_id=proposal_id, saved=True)


# -- /feasibility --------------------------------------------------------------------------------

def _feasibility_keyboard(proposal) -> InlineKeyboardMarkup:
    seen = SEEN_CODE[proposal.feasibility]
    f = bt.Feasibility

    def button(label: str, action: str, seen: str | None = None) -> Button:
        return Button(label, callback_data=f(action, proposal.id, seen).pack())
    first = button(t.ENTER_COST, f.COST) if proposal.feasibility == FEASIBLE else button(t.FEASIBLE, f.FEASIBLE, seen)
    return InlineKeyboardMarkup([
        [first, button(t.NOT_FEASIBLE, f.NOT_FEASIBLE, seen)],
        [button(t.NEXT, f.SKIP)],
    ])


async def on_feasibility(update: Update, context: Context) -> None:
    app = app_context(context)
    if why := _permitted(app, update, "review"):
        await reply(update, context, why)
        return
    config = app.services.config
    backlog = await app.services.proposals.review_backlog()
    lines = [(n.name, backlog[n.id]) for n in config.neighbourhoods if backlog.get(n.id)]
    await reply(update, context, t.backlog(app.platform.markup, lines))
    # The backlog line has already said whether anything is left.
    await _show_next_to_review(update, context, app, after_id=0, when_empty=None)


async def _show_next_to_review(update: Update, context: Context, app: AppContext, after_id: int,
                               saved: bool = False, when_empty: str | None = "") -> None:
    """The next card, after «saved» when a decision came before it; with nothing left, says so
    (``when_empty`` None: nothing, the caller has said it)."""
    proposal = await app.services.proposals.next_to_review(after_id)
    if proposal is None and after_id:
        proposal = await app.services.proposals.next_to_review(0)
    if proposal is None:
        if when_empty is not None:
            await reply(update, context, t.all_reviewed(saved))
        return
    if saved:
        await reply(update, context, t.saved_next())
    card = render.staff_card(app.platform, app.services.config, proposal, footer=t.review_footer(proposal.feasibility),
                             heading=t.FEASIBILITY_HEADING)
    await reply(update, context, card, _feasibility_keyboard(proposal))


async def _ask_cost(update: Update, context: Context, app: AppContext, proposal_id: int) -> None:
    await app.services.questions.ask(acting(app, update), COST, str(proposal_id))
    await reply(update, context, t.ask_cost(app.services.config.money_unit))


async def on_feasibility_pressed(update: Update, context: Context) -> None:
    app = app_context(context)
    press = await staff_press(update, app, bt.Feasibility, "review", refused=t.not_for_you,
                              elsewhere=t.staff_place_only)
    if press is None:
        return
    action, proposal_id = press.action, press.proposal_id
    if action == bt.Feasibility.SKIP:
        await answer(update)
        await _show_next_to_review(update, context, app, after_id=proposal_id)
        return
    if not await _private_for_typing(update):
        return
    await answer(update)
    if not app.services.proposals.reviewing_open():
        await reply(update, context, t.reviewing_closed())
        return
    if action == bt.Feasibility.COST:
        await _ask_cost(update, context, app, proposal_id)
        return
    await app.services.questions.ask(acting(app, update), NOTE, f"{action}:{proposal_id}:{press.seen}")
    await reply(update, context, t.ask_note(action == bt.Feasibility.FEASIBLE))


async def take_note(update: Update, context: Context, app: AppContext, target: str) -> None:
    verdict, proposal_id, seen = target.split(":")
    services = app.services
    result = await services.proposals.judge(acting(app, update), int(proposal_id), verdict == bt.Feasibility.FEASIBLE,
                                            update.message.text or "", seen=SEEN[seen])
    if result.decision is Decision.TOO_LONG:  # the question stays open for a shorter one
        await reply(update, context, t.note_too_long(MAX_REASON))
        return
    await services.questions.close(acting(app, update))
    if result.decision is Decision.CLOSED:
        await reply(update, context, t.reviewing_closed())
        return
    if result.decision is not Decision.DONE:
        await reply(update, context, t.already_done())
        return
    if verdict == bt.Feasibility.FEASIBLE:
        await _ask_cost(update, context, app, result.proposal.id)
        return
    await app.notifier.tell_review(result.proposal)
    await _show_next_to_review(update, context, app, after_id=result.proposal.id, saved=True)


async def take_cost(update: Update, context: Context, app: AppContext, target: str) -> None:
    services = app.services
    result = await services.proposals.set_cost(acting(app, update), int(target), update.message.text or "")
    if result.decision is Decision.INVALID:
        await reply(update, context, t.cost_invalid(services.config.money_unit))
        return
    await services.questions.close(acting(app, update))
    if result.decision is not Decision.DONE:
        await reply(update, context, t.reviewing_closed() if result.decision is Decision.CLOSED else t.already_done())
        return
    await app.notifier.tell_review(result.proposal)
    await _show_next_to_review(update, context, app, after_id=result.proposal.id, saved=True)


# -- /audit ----------------------------------------------------------------------------------------

async def on_audit(update: Update, context: Context) -> None:
    app = app_context(context)
    if why := _permitted(app, update, "audit"):
        await reply(update, context, why)
        return
    await _audit_page(update, context, app, 0, None)


async def on_audit_pressed(update: Update, context: Context) -> None:
    app = app_context(context)
    if (press := await staff_press(update, app, bt.AuditPage, "audit", refused=t.not_for_you,
                                   elsewhere=t.staff_place_only)) is None:
        return
    if press.only is not None and press.only[0] == "d" and _day(press.only) is None:  # d20261340: forged
        await answer(update, texts.button_expired(), alert=True)
        return
    await answer(update)
    if press.menu is not None:
        await _audit_choices(update, context, app, press.menu)
        return
    await _audit_page(update, context, app, press.offset, press.only)


def _day(code: str) -> dt.date | None:
    """The day of a d<yyyymmdd> filter (the pattern holds 8 digits; the date may not exist)."""
    try:
        return dt.date(int(code[1:5]), int(code[5:7]), int(code[7:9]))
    except ValueError:
        return None


# Who, in a button's data: t<id> / b<id> a person on Telegram / Bale, x<name> one of the operator's tools.
_PLATFORM_CODES = {"telegram": "t", "bale": "b"}
_CODE_PLATFORMS = {v: k for k, v in _PLATFORM_CODES.items()}


def _person_code(ref: str) -> str | None:
    platform, sep, user_id = ref.partition(":")
    if sep and platform in _PLATFORM_CODES and user_id.isdigit() and len(user_id) <= 15:
        return _PLATFORM_CODES[platform] + user_id
    code = "x" + ref
    return code if bt.AuditPage.parse(f"au:0:{code}") else None  # a tool whose name does not fit is not offered


def _person_ref(code: str) -> str:
    return f"{_CODE_PLATFORMS[code[0]]}:{code[1:]}" if code[0] in _CODE_PLATFORMS else code[1:]


async def _names(app: AppContext, refs: list[str]) -> dict[str, str]:
    """Each actor as the log names them (messages_fa.staff.staff_name)."""
    m = app.platform.markup
    known = await app.services.audit_log.names(refs)
    return {ref: t.staff_name(m, ref, *((known[ref].first_name, known[ref].username) if ref in known else (None, None)))
            for ref in refs}


async def _narrowed(app: AppContext, only: str | None) -> tuple[AuditFilter | None, str | None]:
    """The filter a button's ``only`` stands for, and how the page's heading names it."""
    if only is None:
        return None, None
    kind, value = only[0], only[1:]
    if kind == "a":
        return AuditFilter(action=value), t.ACTION_NAMES.get(value, value)
    if kind == "d" and (day := _day(only)) is not None:
        return app.services.audit_log.day(day), jalali_day(day)
    ref = _person_ref(only)
    return AuditFilter(actor=ref), (await _names(app, [ref]))[ref]


async def _audit_page(update: Update, context: Context, app: AppContext, offset: int, only: str | None) -> None:
    """Up to AUDIT_PAGE entries, as many as fit in one message: fifteen rejections with reasons
    near MAX_REASON would be twice the messengers' limit, and the messenger would refuse the page."""
    narrowed, described = await _narrowed(app, only)
    entries = await app.services.audit_log.page(AUDIT_PAGE + 1, offset, narrowed)
    config = app.services.config
    m = app.platform.markup
    names = await _names(app, [e.actor for e in entries[:AUDIT_PAGE]])
    categories = {c.id: c.name for c in config.categories}
    lines: list[str] = []
    for e in entries[:AUDIT_PAGE]:
        line = t.audit_entry(m, e.at, names[e.actor], e.action, e.target, e.before, e.after, config.money_unit,
                             categories, config.timezone)
        if lines and units(m.shown(t.audit_text([*lines, line], described))) > TEXT_LIMIT:
            break
        lines.append(line)
    a = bt.AuditPage
    rows = [[Button(label, callback_data=a(menu=menu).pack())
             for label, menu in ((t.AUDIT_BY_PERSON, a.PERSON), (t.AUDIT_BY_ACTION, a.ACTION), (t.AUDIT_BY_DAY, a.DAY))]]
    below = []
    if len(entries) > len(lines):
        below.append(Button(t.OLDER, callback_data=a(offset + len(lines), only).pack()))
    if only is not None:
        below.append(Button(t.AUDIT_ALL, callback_data=a(0).pack()))
    if below:
        rows.append(below)
    await _audit_show(update, context, app, t.audit_text(lines, described), InlineKeyboardMarkup(rows))


async def _audit_show(update: Update, context: Context, app: AppContext, text: str, markup) -> None:
    """/audit's one message: the command sends it, its buttons (pages, filters, the choices) edit it
    in place — a new message each press would add nothing but calls and clutter."""
    if update.callback_query is None:
        await reply(update, context, text, markup)
        return
    async with unless_unchanged():
        await update.callback_query.edit_message_text(text, parse_mode=app.platform.markup.parse_mode,
                                                      reply_markup=markup, link_preview_options=NO_LINK_PREVIEW)


async def _audit_choices(update: Update, context: Context, app: AppContext, menu: str) -> None:
    """The people, the kinds of action or the days the log holds, one button each."""
    log = app.services.audit_log
    a = bt.AuditPage
    if menu == a.PERSON:
        refs = [ref for ref in await log.people() if _person_code(ref)]
        names = await _names(app, refs)
        # Button labels are plain text: the name without the markup's escaping.
        choices = [(app.platform.markup.shown(names[ref]), _person_code(ref)) for ref in refs]
    elif menu == a.ACTION:
        choices = [(t.ACTION_NAMES.get(action, action), "a" + action) for action in await log.actions()
                   if a.parse(f"au:0:a{action}")]
    else:
        choices = [(jalali_day(day), "d" + day.strftime("%Y%m%d")) for day in await log.days()]
    rows = [[Button(label, callback_data=a(0, code).pack())] for label, code in choices]
    rows.append([Button(t.AUDIT_ALL, callback_data=a(0).pack())])
    await _audit_show(update, context, app, t.audit_choose(menu), InlineKeyboardMarkup(rows))
