"""The in-process harness itself: real Application, recorded API, user's view."""

import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.support import RecordingRequest, UpdateFactory, application_builder, collect_errors

USER = 1001


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    payload = " ".join(context.args)
    await update.message.reply_text(
        f"سلام {payload}".strip(),
        reply_markup=InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("بله", callback_data="yes")],
                [InlineKeyboardButton("سایت", url="https://example.org")],
            ]
        ),
    )


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    # PTB never answers callback queries by itself; handlers must.
    await query.answer()
    await query.edit_message_text(f"انتخاب شما: {query.data}")


async def ask_phone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("ارسال شماره", request_contact=True)], ["انصراف"]],
        resize_keyboard=True,
    )
    await update.message.reply_text("شماره؟", reply_markup=keyboard)


async def got_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    contact = update.message.contact
    await update.message.reply_text(
        f"{contact.phone_number} {contact.user_id == update.effective_user.id}",
        reply_markup=ReplyKeyboardRemove(),
    )


@pytest.fixture
async def harness():
    request = RecordingRequest()
    application = application_builder(request).build()
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("phone", ask_phone))
    application.add_handler(CallbackQueryHandler(pressed))
    application.add_handler(MessageHandler(filters.CONTACT, got_contact))
    errors = collect_errors(application)
    async with application:
        yield application, request, UpdateFactory(application.bot)
    assert errors == []  # a crashing handler must fail the test


async def test_collect_errors_sees_handler_crashes():
    request = RecordingRequest()
    application = application_builder(request).build()

    async def boom(update, context):
        raise ValueError("boom")

    application.add_handler(CommandHandler("start", boom))
    errors = collect_errors(application)
    async with application:
        await application.process_update(UpdateFactory(application.bot).text(USER, "/start"))
    assert [str(e) for e in errors] == ["boom"]


async def test_start_and_button_press(harness):
    application, request, updates = harness
    assert request.methods == ["getMe"]
    assert application.bot.username == "test_bot"

    await application.process_update(updates.text(USER, "/start ref42"))
    sent = request.calls_to("sendMessage")[0]
    assert sent.params["chat_id"] == USER
    assert sent.params["text"] == "سلام ref42"
    # reply_markup travels JSON-encoded; the recorder decodes it.
    assert sent.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "yes"

    message = request.last(USER)
    buttons = request.inline_buttons(message)
    assert buttons == [("بله", "yes"), ("سایت", "https://example.org")]

    await application.process_update(updates.callback(USER, message, "yes"))
    assert request.methods[-2:] == ["answerCallbackQuery", "editMessageText"]
    # The user now sees the edited text, and the keyboard is gone (edit without markup).
    assert request.texts(USER) == ["انتخاب شما: yes"]
    assert request.inline_buttons(request.last(USER)) == []
    assert request.last(USER)["message_id"] == message["message_id"]


async def test_reply_keyboard_and_contact(harness):
    application, request, updates = harness
    await application.process_update(updates.text(USER, "/phone"))
    assert request.reply_keyboard_texts(USER) == [["ارسال شماره"], ["انصراف"]]
    assert request.reply_keyboard(USER)["keyboard"][0][0]["request_contact"] is True

    await application.process_update(updates.contact(USER, "+989121234567"))
    assert request.texts(USER)[-1] == "+989121234567 True"
    assert request.reply_keyboard(USER) is None


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_failures_map_to_ptb_errors(harness):
    application, request, _ = harness
    bot = application.bot
    request.fail("setMyCommands", 404)
    with pytest.raises(InvalidToken):
        await bot.set_my_commands([("start", "شروع")])
    await bot.set_my_commands([("start", "شروع")])  # times=1: next call succeeds

    request.fail("sendMessage", 403)
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "x")
    request.fail("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "x")
    request.raise_on("sendMessage", TimedOut())
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "x")
    assert [c.status for c in request.calls_to("sendMessage")] == [403, 429, 0]

    message = await bot.send_message(USER, "یک")
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("یک", chat_id=USER, message_id=message.message_id)
    await message.delete()
    assert request.messages(USER) == []


async def test_group_chat_and_media(harness):
    application, request, updates = harness
    update = updates.text(USER, "/start", chat_id=-100123)
    assert update.effective_chat.type == "supergroup"
    await application.process_update(update)
    assert request.texts(-100123) == ["سلام"]

    photo = await application.bot.send_photo(USER, photo=b"\x89PNG\r\n", caption="عکس")
    assert photo.photo and request.texts(USER) == ["عکس"]
    call = request.calls_to("sendPhoto")[0]
    assert call.files["photo"][1] == b"\x89PNG\r\n"

    assert updates.photo(USER).message.photo[-1].width == 1280
    assert updates.sticker(USER).message.sticker is not None
    assert updates.document(USER, file_name="a.pdf").message.document.file_name == "a.pdf"
    assert updates.location(USER, 35.8, 51.4).message.location.latitude == 35.8
    assert updates.text(USER, "hi").update_id < updates.text(USER, "hi").update_id


async def test_unfaked_method_is_loud(harness):
    application, request, _ = harness
    with pytest.raises(NetworkError, match="does not fake getChatAdministrators"):
        await application.bot.get_chat_administrators(-100)
    request.respond("getChatAdministrators", [])
    assert await application.bot.get_chat_administrators(-100) == ()
