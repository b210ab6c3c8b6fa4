"""Keyboards built from messages_fa labels. Callback data is packed by its family's codec
(bot/messenger/buttons.py, which lists every format) and always re-checked.

Keyboards that depend only on the config and the phase are built once (@cache): PTB objects
are immutable, and building the 27-button keyboard for every /start costs measurable CPU.
"""
from __future__ import annotations

from functools import cache

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.campaign.config import Category, Neighbourhood
from bot.campaign.services.voting import BallotView, DetailsView
from bot.messenger import buttons as bt
from bot.messenger.markup_dicts import JsonReady
from domain import Phase
from messages_fa import buttons as b
from messages_fa import staff as staff_b
from messages_fa.fit import shorten
from messages_fa.numbers import fa_digits

_PREVIEW_CANCEL = bt.Preview(bt.Preview.CANCEL).pack()


def _rows(items: list, width: int) -> list[list]:
    return [items[i:i + width] for i in range(0, len(items), width)]


@cache
def neighbourhoods(items: tuple[Neighbourhood, ...]) -> InlineKeyboardMarkup:
    # Three a row keeps the 27 names readable on a narrow phone.
    buttons = [InlineKeyboardButton(n.name, callback_data=bt.Neighbourhood(n.id).pack()) for n in items]
    return InlineKeyboardMarkup(_rows(buttons, 3))


_ALL_NEIGHBOURHOODS = InlineKeyboardButton(b.ALL_NEIGHBOURHOODS, callback_data=bt.AllNeighbourhoods().pack())


def neighbourhood_choices(items: tuple[Neighbourhood, ...]) -> InlineKeyboardMarkup:
    """A few names found for what was typed, and the way to the full list (which is only ever
    shown on request: a "not found" answer must not add another live 27-button message)."""
    rows = _rows([InlineKeyboardButton(n.name, callback_data=bt.Neighbourhood(n.id).pack()) for n in items], 3)
    return InlineKeyboardMarkup([*rows, [_ALL_NEIGHBOURHOODS]])


@cache
def all_neighbourhoods_button() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_ALL_NEIGHBOURHOODS]])


def move_confirm(target: Neighbourhood, current: Neighbourhood) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(b.move_to(target.name), callback_data=bt.MoveNeighbourhood(target.id).pack())],
        [InlineKeyboardButton(b.stay_in(current.name), callback_data=bt.MoveNeighbourhood(None).pack())],
    ])


@cache
def from_text_offer(yes: str = b.START_FROM_TEXT) -> InlineKeyboardMarkup:
    """``yes``: b.START_FROM_VOICE for a voice note kept the same way."""
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(yes, callback_data=bt.FromText(True).pack())],
        [InlineKeyboardButton(b.NOT_FROM_TEXT, callback_data=bt.FromText(False).pack())],
    ])


def private_chat(url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.OPEN_PRIVATE_CHAT, url=url)]])


def main_action(phase: Phase, remind_me_pending: bool) -> str | None:
    """The phase's own button, first on the main menu (what free text at the menu is pointed to)."""
    return {Phase.BEFORE: b.REMIND_ME if remind_me_pending else None, Phase.PROPOSALS: b.SEND_PROPOSAL, Phase.VOTING: b.VOTE,
            Phase.CLOSED: b.RESULTS}.get(phase)


@cache
def main_menu(phase: Phase, can_change_neighbourhood: bool, remind_me_pending: bool) -> ReplyKeyboardMarkup:
    """The menu follows the phase: only what makes sense now."""
    rows: list[list[str]] = []
    if phase is Phase.BEFORE:
        rows.append([b.REMIND_ME] if remind_me_pending else [])
    elif phase is Phase.PROPOSALS:
        rows.append([b.SEND_PROPOSAL])
    elif phase is Phase.VOTING:
        rows.append([b.VOTE])
    elif phase is Phase.CLOSED:
        rows.append([b.RESULTS])
    rows.append([b.MY_PROPOSALS] if phase is not Phase.BEFORE else [])
    rows.append(([b.CHANGE_NEIGHBOURHOOD] if can_change_neighbourhood and phase is not Phase.CLOSED else []) + [b.HELP])
    if phase is not Phase.CLOSED:
        rows.append([b.AMBASSADOR])
    return ReplyKeyboardMarkup([r for r in rows if r], resize_keyboard=True, is_persistent=True)


@cache
def flow(*extra: str) -> ReplyKeyboardMarkup:
    """Reply keyboard inside a flow: optional extra buttons, then back and cancel."""
    rows = [[label] for label in extra] + [[b.BACK, b.CANCEL]]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True)


@cache
def media_step() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(b.SHARE_LOCATION, request_location=True)], [b.CONTINUE], [b.BACK, b.CANCEL]],
        resize_keyboard=True,
    )


@cache
def share_phone() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(b.SHARE_PHONE, request_contact=True)], [b.BACK]], resize_keyboard=True, one_time_keyboard=True
    )


@cache
def categories(items: tuple[Category, ...]) -> InlineKeyboardMarkup:
    rows = _rows([InlineKeyboardButton(c.name, callback_data=bt.Category(c.id).pack()) for c in items], 2)
    return InlineKeyboardMarkup([*rows, [InlineKeyboardButton(b.CANCEL_PROPOSAL, callback_data=_PREVIEW_CANCEL)]])


@cache
def preview() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(b.CONFIRM, callback_data=bt.Preview(bt.Preview.OK).pack())],
        [InlineKeyboardButton(b.EDIT, callback_data=bt.Preview(bt.Preview.EDIT).pack()),
         InlineKeyboardButton(b.CANCEL_PROPOSAL, callback_data=_PREVIEW_CANCEL)],
    ])


def _edit_field(label: str, field: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=bt.EditField(field).pack())


@cache
def edit_fields() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [_edit_field(b.EDIT_CATEGORY, "cat"), _edit_field(b.EDIT_TITLE, "title")],
        [_edit_field(b.EDIT_DESCRIPTION, "desc"), _edit_field(b.EDIT_MEDIA, "media")],
        [_edit_field(b.BACK_TO_PREVIEW, "back")],
    ])


def ballot(view: BallotView) -> JsonReady:
    """Made for one message and sent at once: written as the Bot API's JSON directly
    (bot/messenger/markup_dicts.py), without building PTB's buttons only to turn them back into it."""
    rows: list[list[dict[str, str]]] = [
        # The button says what it does (vote or withdraw), so a double tap cannot undo itself;
        # beside it, the proposal's details (full description, photo, place).
        [{"text": b.vote_button(fa_digits(view.number_of(p)), p.id in view.my_votes),
          "callback_data": bt.Vote(p.id, view.page, withdraw=p.id in view.my_votes).pack()},
         {"text": b.details_button(fa_digits(view.number_of(p))), "callback_data": bt.Details(p.id).pack()}]
        for p in view.proposals
    ]
    nav = []
    if view.page > 0:
        nav.append({"text": b.PREVIOUS_PAGE, "callback_data": bt.BallotPage(view.page - 1).pack()})
    if view.page + 1 < view.pages:
        nav.append({"text": b.NEXT_PAGE, "callback_data": bt.BallotPage(view.page + 1).pack()})
    if nav:
        rows.append(nav)
    return JsonReady(inline_keyboard=rows)


def details(view: DetailsView) -> JsonReady:
    """The details view: the same vote button as on the ballot, and back to the ballot's page."""
    vote = bt.Vote(view.proposal.id, view.page, withdraw=view.mine, details=True)
    return JsonReady(inline_keyboard=[
        [{"text": b.vote_button(fa_digits(view.number), view.mine), "callback_data": vote.pack()}],
        [{"text": b.BACK_TO_BALLOT, "callback_data": bt.BallotPage(view.page).pack()}],
    ])


def moderation(proposal_id: int) -> InlineKeyboardMarkup:
    """The first cards' two buttons (m:a, m:r): no longer sent, still answered for cards already out."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(b.APPROVE, callback_data=bt.Moderation(proposal_id, approve=True).pack()),
        InlineKeyboardButton(b.REJECT, callback_data=bt.Moderation(proposal_id, approve=False).pack()),
    ]])


def _review(label: str, action: str, proposal_id: int, index: int | None = None) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=bt.Review(action, proposal_id, index).pack())


def review(proposal_id: int) -> InlineKeyboardMarkup:
    """One moderation screen: the card pushed to the staff chat and /review's card carry the same
    buttons (handlers/review.on_queue_pressed answers both)."""
    r = bt.Review
    return InlineKeyboardMarkup([
        [_review(staff_b.APPROVE, r.APPROVE, proposal_id), _review(staff_b.REJECT, r.REJECT, proposal_id)],
        [_review(staff_b.CATEGORY, r.CATEGORY, proposal_id), _review(staff_b.DUPLICATE, r.DUPLICATE, proposal_id)],
        [_review(staff_b.NEXT, r.NEXT, proposal_id)],
    ])


def reject_reasons(proposal_id: int, reasons: tuple[str, ...] | list[str]) -> InlineKeyboardMarkup:
    """The ready reasons, then «another reason (typed)»."""
    r = bt.Review
    rows = [[_review(reason, r.READY_REASON, proposal_id, i)] for i, reason in enumerate(reasons)]
    rows.append([_review(staff_b.OTHER_REASON, r.TYPE_REASON, proposal_id)])
    return InlineKeyboardMarkup(rows)


def categories_for(proposal_id: int, categories: tuple[Category, ...] | list[Category]) -> InlineKeyboardMarkup:
    """Fixing a proposal's category: one row per category."""
    return InlineKeyboardMarkup([[_review(c.name, bt.Review.SET_CATEGORY, proposal_id, i)]
                                 for i, c in enumerate(categories)])


# -- similar proposals (issue 16 §3) ----------------------------------------------------------------

def similar(items: list[tuple[int, str, bool]]) -> InlineKeyboardMarkup:
    """items: (proposal id, title, the citizen's own) — one button each, then «mine is different»."""
    rows = [[InlineKeyboardButton(b.similar_button(fa_digits(str(n)), shorten(title, 40), mine),
                                  callback_data=bt.Similar(proposal_id).pack())]
            for n, (proposal_id, title, mine) in enumerate(items, 1)]
    rows.append([InlineKeyboardButton(b.SIMILAR_DIFFERENT, callback_data=bt.Similar(None).pack())])
    return InlineKeyboardMarkup(rows)


def duplicates(proposal_id: int, items: list[tuple[int, str, str, int]]) -> InlineKeyboardMarkup | None:
    """/review's «duplicate…»: the likely duplicates first (original id, code, title, percent)."""
    if not items:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(staff_b.duplicate_button(code, title, percent),
                              callback_data=bt.DuplicateOf(proposal_id, original_id).pack())]
        for original_id, code, title, percent in items])
