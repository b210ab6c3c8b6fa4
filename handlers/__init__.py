"""Telegram/Bale I/O: read the update, call a service in bot/, render with messages_fa, reply."""
from __future__ import annotations

import warnings

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.campaign.roles import COMMAND_ACTIONS
from bot.messenger import buttons as bt
from handlers import (
    ambassadors,
    broadcasts,
    moderation,
    proposals,
    results,
    review,
    schedule,
    staff_input,
    start,
    stats,
    titles,
    voting,
)
from handlers import states as S
from handlers.common import (
    BACK,
    CANCEL_LABEL,
    CONTINUE,
    FREE_TEXT,
    MAIN_MENU,
    NEW_MESSAGE,
    PRIVATE,
    STAFF_WRITES_TITLE,
    WITHOUT_PERSON,
    Context,
    staff_command,
)
from handlers.errors import on_error
from handlers.flood import FloodGuard
from handlers.outbox import held_until_committed
from handlers.presses import PressGuard
from messages_fa.texts import DESCRIPTION_WORD, TITLE_WORD

# Our conversations mix message and callback steps on purpose and are keyed per chat and user;
# PTB warns that callbacks are then not tracked per message, which is what we want.
warnings.filterwarnings("ignore", message=r".*per_message=False.*", category=PTBUserWarning)


# Anything a step did not expect: it gets the step's hint. Commands, menu buttons and cancel
# go to the fallbacks; a shared contact goes to the global contact handler (verification).
OTHER_INPUT = ~filters.COMMAND & ~MAIN_MENU & ~CANCEL_LABEL & ~filters.CONTACT


def _msg(filter_, callback):
    return MessageHandler(NEW_MESSAGE & PRIVATE & filter_, callback)


def _text_step(setter: str, word: str, then, back, *also):
    """``also``: handlers tried before the step's free text (a voice note, a label)."""
    return [
        _msg(BACK, back),
        *also,
        _msg(FREE_TEXT, proposals.on_text_step(setter, word, then)),
        _msg(OTHER_INPUT, proposals.expect_text(word)),
    ]


def _media_step(then, back):
    return [
        _msg(BACK, back),
        _msg(filters.PHOTO, proposals.on_photo),
        _msg(filters.LOCATION, proposals.on_location),
        _msg(CONTINUE, then),
        _msg(OTHER_INPUT, proposals.on_media_other),
    ]


def citizen_conversation() -> ConversationHandler:
    """One conversation per citizen: choosing a neighbourhood and writing a proposal.

    Main-menu buttons and /start, /cancel are both entry points and fallbacks, so a citizen can
    leave any step by pressing something else, and the step never mistakes a button for input.
    """
    menu = _msg(MAIN_MENU, start.on_menu)
    # NEW_MESSAGE on commands too: an old message edited into "/cancel" must not discard today's
    # draft (a CommandHandler's filters replace PTB's default, which lets edits through).
    start_cmd = CommandHandler("start", start.on_start, filters=NEW_MESSAGE & PRIVATE)
    ambassador_cmd = CommandHandler("ambassador", ambassadors.on_entry, filters=NEW_MESSAGE & PRIVATE)
    cancel = [CommandHandler("cancel", start.on_cancel, filters=NEW_MESSAGE & PRIVATE), _msg(CANCEL_LABEL, start.on_cancel)]

    preview = proposals.send_preview
    # The category keyboard carries its own cancel button.
    cancel_proposal = bt.exactly(bt.Preview(bt.Preview.CANCEL))
    category_buttons = [CallbackQueryHandler(proposals.on_preview_action, pattern=cancel_proposal)]
    # Similar proposals' buttons (issue 16 §3): answered at any step and after the flow too.
    similar_pressed = CallbackQueryHandler(proposals.on_similar_pressed, pattern=bt.Similar.PATTERN)
    # A staff command from someone who may take it ends the step they were in, as a menu button
    # does (it answers nothing: the command itself runs in group 1, register()). Before this, an
    # admin left in the neighbourhood step by /start had the next thing they typed after /schedule
    # looked up as a neighbourhood.
    staff_cmd = CommandHandler(list(COMMAND_ACTIONS), staff_input.end_citizen_step, filters=NEW_MESSAGE)
    # The offer to make a text typed at the main menu a proposal (issue 16 §1).
    from_text = CallbackQueryHandler(proposals.on_from_text_pressed, pattern=bt.FromText.PATTERN)
    conversation = ConversationHandler(
        name="citizen",
        persistent=True,
        allow_reentry=True,
        # The form's neighbourhood buttons on an old message also (re)enter the form.
        entry_points=[staff_cmd, start_cmd, menu, ambassador_cmd, similar_pressed, from_text,
                      CallbackQueryHandler(ambassadors.on_hood_pressed, pattern=bt.AmbassadorHood.PATTERN)],
        states={
            S.HOOD: [
                CallbackQueryHandler(start.on_neighbourhood_pressed, pattern=bt.Neighbourhood.PATTERN),
                # Answered here, the move ends the step; pressed later, elsewhere (the global one below).
                CallbackQueryHandler(start.on_move_pressed, pattern=bt.MoveNeighbourhood.PATTERN),
                _msg(BACK, proposals.back_to_menu),
                _msg(FREE_TEXT, start.on_neighbourhood_typed),
                _msg(OTHER_INPUT, start.on_neighbourhood_other),
            ],
            S.CATEGORY: [
                CallbackQueryHandler(proposals.on_category(proposals.ask_title), pattern=bt.Category.PATTERN),
                *category_buttons,
                _msg(BACK, proposals.back_to_menu),
                _msg(OTHER_INPUT, proposals.on_press_buttons),
            ],
            S.TITLE: _text_step("set_title", TITLE_WORD, proposals.after_title,
                                lambda u, c: proposals.ask_category(u, c, S.CATEGORY),
                                # No title to compare with similar ones: on to the description.
                                _msg(STAFF_WRITES_TITLE, proposals.on_staff_writes_title(proposals.ask_description))),
            S.DESCRIPTION: [similar_pressed,
                            *_text_step("set_description", DESCRIPTION_WORD, proposals.after_description,
                                        proposals.ask_title,
                                        # A voice has no words to compare: on to the photo and place.
                                        _msg(filters.VOICE, proposals.on_voice(proposals.ask_media)))],
            S.MEDIA: [similar_pressed, *_media_step(preview, proposals.ask_description)],
            S.PREVIEW: [
                CallbackQueryHandler(proposals.on_preview_action, pattern=bt.Preview.PATTERN),
                _msg(BACK, proposals.ask_media),
                # The media step's keyboard is still on screen: "continue" shows the preview again.
                _msg(CONTINUE, preview),
                _msg(OTHER_INPUT, proposals.on_press_buttons),
            ],
            S.EDIT: [
                CallbackQueryHandler(proposals.on_edit_choice, pattern=bt.EditField.PATTERN),
                CallbackQueryHandler(proposals.on_preview_action, pattern=bt.Preview.PATTERN),
                _msg(BACK | CONTINUE, preview),
                _msg(OTHER_INPUT, proposals.on_press_buttons),
            ],
            S.EDIT_CATEGORY: [
                CallbackQueryHandler(proposals.on_category(preview), pattern=bt.Category.PATTERN),
                *category_buttons,
                _msg(BACK | CONTINUE, preview),
                _msg(OTHER_INPUT, proposals.on_press_buttons),
            ],
            S.EDIT_TITLE: _text_step("set_title", TITLE_WORD, preview, preview,
                                     _msg(STAFF_WRITES_TITLE, proposals.on_staff_writes_title(preview))),
            S.EDIT_DESCRIPTION: _text_step("set_description", DESCRIPTION_WORD, preview, preview,
                                           _msg(filters.VOICE, proposals.on_voice(preview))),
            S.EDIT_MEDIA: _media_step(preview, preview),
            S.AMB_NAME: [
                _msg(BACK, ambassadors.back_to_menu),
                _msg(FREE_TEXT, ambassadors.on_name),
                _msg(OTHER_INPUT, ambassadors.expect_text),
            ],
            S.AMB_HOOD: [
                CallbackQueryHandler(ambassadors.on_hood_pressed, pattern=bt.AmbassadorHood.PATTERN),
                _msg(BACK, ambassadors.ask_name),
                _msg(OTHER_INPUT, ambassadors.expect_hood),
            ],
            S.AMB_GROUPS: [
                _msg(BACK, ambassadors.ask_hood),
                _msg(FREE_TEXT, ambassadors.on_groups),
                _msg(OTHER_INPUT, ambassadors.expect_text),
            ],
            S.AMB_PHONE: [
                _msg(BACK, ambassadors.ask_groups),
                _msg(filters.CONTACT, ambassadors.on_phone),
                _msg(OTHER_INPUT, ambassadors.expect_phone),
            ],
        },
        # A neighbourhood button from an older message is answered without leaving the step: a
        # citizen who has a neighbourhood is asked before any move (handlers/start._choose).
        fallbacks=[staff_cmd, start_cmd, menu, ambassador_cmd, *cancel, similar_pressed, from_text,
                   CallbackQueryHandler(start.on_neighbourhood_pressed, pattern=bt.Neighbourhood.PATTERN)],
    )
    # Every step's replies go out once the state they announce is committed (handlers/outbox.py).
    steps = [*conversation.entry_points, *(h for hs in conversation.states.values() for h in hs),
             *conversation.fallbacks]
    for handler in {id(h): h for h in steps}.values():  # start_cmd, menu … appear twice
        handler.callback = held_until_committed(conversation.name, handler.callback)
    return conversation


async def _ignore(update: Update, context: Context) -> None:
    raise ApplicationHandlerStop


def register(application: Application) -> None:
    # Before anything else: every handler below answers, checks or records a person, and a message
    # sent for a channel or a group, or without a sender, has none. Ignored without a word.
    application.add_handler(MessageHandler(WITHOUT_PERSON, _ignore), group=-3)
    # Earlier still, and stopping nothing: staff's names for /audit (handlers/staff_input.py).
    application.add_handler(TypeHandler(Update, staff_input.remember_staff_name), group=-4)
    # Flood control before any real work; first in group -2 and matching only what it stops (handlers/flood.py).
    application.add_handler(FloodGuard(application), group=-2)
    # Group -1 sees replies first: a reply to a rejection-reason question is consumed there
    # (ApplicationHandlerStop); every other update falls through to group 0.
    application.add_handler(MessageHandler(NEW_MESSAGE & filters.REPLY & filters.TEXT & ~filters.COMMAND,
                                           moderation.on_reply), group=-2)
    # A press from another person's private chat, or without data, is refused before anything reads
    # it (handlers/presses.py).
    application.add_handler(PressGuard(), group=-2)
    # Then an admin's answer to the bot's question (a broadcast's content, a time).
    application.add_handler(MessageHandler(NEW_MESSAGE & PRIVATE, staff_input.on_staff_input), group=-1)
    # Refused in private, never in a group, for someone without the right (handlers/common.py).
    staff_commands = [CommandHandler(name, staff_command(COMMAND_ACTIONS[name], callback), filters=NEW_MESSAGE)
                      for name, callback in (
        ("broadcast", broadcasts.on_broadcast), ("broadcasts", broadcasts.on_broadcasts),
        ("schedule", schedule.on_schedule), ("ambassadors", ambassadors.on_ambassadors),
        ("review", review.on_review), ("feasibility", review.on_feasibility), ("audit", review.on_audit),
        ("stats", stats.on_stats), ("export", stats.on_export), ("results", results.on_results_command),
        ("title", titles.on_title))]
    application.add_handlers([
        # The presses a citizen makes most (three votes a journey) first: PTB tries a group's
        # handlers in order, and no other handler of this group reads these families' data.
        CallbackQueryHandler(voting.on_vote_pressed, pattern=bt.Vote.PATTERN),
        CallbackQueryHandler(voting.on_page_pressed, pattern=bt.BallotPage.PATTERN),
        CallbackQueryHandler(voting.on_details_pressed, pattern=bt.Details.PATTERN),
        CallbackQueryHandler(moderation.on_moderation_pressed, pattern=bt.Moderation.PATTERN),
        CallbackQueryHandler(broadcasts.on_pressed, pattern=bt.Broadcast.PATTERN),
        CallbackQueryHandler(schedule.on_move_pressed, pattern=bt.MoveBoundary.PATTERN),
        CallbackQueryHandler(ambassadors.on_staff_pressed, pattern=bt.AmbassadorStaff.PATTERN),
        CallbackQueryHandler(ambassadors.on_panel_pressed, pattern=bt.Panel.PATTERN),
        CallbackQueryHandler(review.on_queue_pressed, pattern=bt.Review.PATTERN),
        CallbackQueryHandler(review.on_duplicate_pressed, pattern=bt.DuplicateOf.PATTERN),  # issue 16 §3
        CallbackQueryHandler(review.on_feasibility_pressed, pattern=bt.Feasibility.PATTERN),
        CallbackQueryHandler(review.on_audit_pressed, pattern=bt.AuditPage.PATTERN),
        CallbackQueryHandler(stats.on_chart_pressed, pattern=bt.StatsChart.PATTERN),
        CallbackQueryHandler(results.on_pressed, pattern=bt.Results.PATTERN),
        citizen_conversation(),
        CommandHandler("help", start.on_help, filters=NEW_MESSAGE & PRIVATE),
        # In a group: one short answer with the way into the private chat (issue 16).
        CommandHandler(["start", "help"], start.on_group_start, filters=NEW_MESSAGE & ~PRIVATE),
        CommandHandler("whoami", start.on_whoami, filters=NEW_MESSAGE),
        CommandHandler("cancel", start.on_cancel, filters=NEW_MESSAGE & PRIVATE),
        _msg(BACK | CANCEL_LABEL, proposals.back_to_menu),
        _msg(filters.CONTACT, voting.on_contact),
        CallbackQueryHandler(start.on_neighbourhood_pressed, pattern=bt.Neighbourhood.PATTERN),
        CallbackQueryHandler(start.on_move_pressed, pattern=bt.MoveNeighbourhood.PATTERN),
        CallbackQueryHandler(start.on_all_neighbourhoods_pressed, pattern=bt.AllNeighbourhoods.PATTERN),
        # Every family's handler takes only the data its family parses (bot/messenger/buttons.py): the rest,
        # forged, truncated or from a version that no longer exists, is refused here, in one place.
        CallbackQueryHandler(start.on_unknown_button),
        _msg(filters.ALL, start.on_unknown),
    ])
    # After group 0, whose citizen conversation has ended the step a staff member was in (citizen_conversation).
    application.add_handlers(staff_commands, group=1)
    application.add_error_handler(on_error)
