"""Tests of the loopback Bot API server (bot/devtools/localapi) itself."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, MessageHandler, filters
from telegram.request import HTTPXRequest

from bot.devtools.localapi import ControlError, LocalApiClient, LocalApiState, LocalBotApi

# slow: every test starts the loopback Bot API server (`pytest -m "not slow"` skips it).
pytestmark = pytest.mark.slow

TOKEN = "123456:TEST-TOKEN"
USER = 42


@pytest.fixture
async def api():
    async with LocalBotApi(bots={TOKEN: "shahrdar_bot"}) as server:
        yield server


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def bot_call(http, api, method, token=TOKEN, **params):
    """POST params the way PTB does: form-encoded, non-strings JSON-encoded."""
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    async with http.post(f"{api.bot_base_url}{token}/{method}", data=form) as resp:
        return resp.status, await resp.json()


async def ok(http, api, method, **params):
    status, body = await bot_call(http, api, method, **params)
    assert status == 200 and body["ok"], body
    return body["result"]


# ------------------------------------------------------------------ Bot API


async def test_get_me_any_token_and_unknown_method(api, http):
    async with http.get(f"{api.bot_base_url}{TOKEN}/getMe") as resp:
        me = (await resp.json())["result"]
    assert me == {"id": 123456, "is_bot": True, "first_name": "Shahrdar Bot", "username": "shahrdar_bot",
                  "can_join_groups": True, "can_read_all_group_messages": False,
                  "supports_inline_queries": False}
    other = await ok(http, api, "getMe", token="not-a-real-token")
    assert other["username"] == "test_bot" and other["id"] == LocalApiState().bot("not-a-real-token").user["id"]
    assert other["id"] != me["id"]
    async with http.post(f"{api.bot_base_url}{TOKEN}/getMe", json={}) as resp:  # JSON bodies work too
        assert (await resp.json())["result"]["id"] == 123456

    status, body = await bot_call(http, api, "sendTelepathy", chat_id=USER)
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert await ok(http, api, "deleteWebhook") is True
    assert (await ok(http, api, "getWebhookInfo"))["url"] == ""


async def test_updates_offset_and_long_poll(api, http):
    st = api.state
    first = st.send_text(TOKEN, USER, "/start ref_7")
    st.send_text(TOKEN, USER, "hello")
    updates = await ok(http, api, "getUpdates", offset=0, timeout=0)
    assert [u["update_id"] for u in updates] == [first["update_id"], first["update_id"] + 1]
    msg = updates[0]["message"]
    assert msg["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert msg["chat"] == {"id": USER, "type": "private", "first_name": f"User {USER}"}
    assert "entities" not in updates[1]["message"]

    # Unconfirmed updates are delivered again; confirming drops them.
    assert len(await ok(http, api, "getUpdates", timeout=0)) == 2
    assert await ok(http, api, "getUpdates", offset=updates[-1]["update_id"] + 1, timeout=0) == []

    # Long poll: parked until an update arrives, not until the timeout.
    started = time.monotonic()
    poll = asyncio.create_task(ok(http, api, "getUpdates", offset=updates[-1]["update_id"] + 1, timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()
    st.send_location(TOKEN, USER, 35.7, 51.4)
    got = await asyncio.wait_for(poll, 2)
    assert got[0]["message"]["location"] == {"latitude": 35.7, "longitude": 51.4}
    assert time.monotonic() - started < 2

    # deleteWebhook(drop_pending_updates) forgets the backlog, like Telegram.
    st.send_text(TOKEN, USER, "stale")
    await ok(http, api, "deleteWebhook", drop_pending_updates=True)
    assert await ok(http, api, "getUpdates", timeout=0) == []


async def test_update_deliveries_count_what_a_restarted_poller_gets_again(api, http):
    """What a crash test compares with the bot's markers: which updates were handed out and not
    confirmed, and which were handed out more than once."""
    st = api.state
    first = st.send_text(TOKEN, USER, "one")["update_id"]
    st.send_text(TOKEN, USER, "two")
    assert st.update_deliveries(TOKEN) == {"unconfirmed": [], "redelivered": {}}  # queued, not handed out
    await ok(http, api, "getUpdates", timeout=0)
    assert st.update_deliveries(TOKEN) == {"unconfirmed": [first, first + 1], "redelivered": {}}
    # A new poller (no offset) gets both again; one more update comes with them, once.
    third = st.send_text(TOKEN, USER, "three")["update_id"]
    assert len(await ok(http, api, "getUpdates", timeout=0)) == 3
    assert st.update_deliveries(TOKEN) == {"unconfirmed": [first, first + 1, third],
                                           "redelivered": {str(first): 2, str(first + 1): 2}}
    assert st.stats()["updates_redelivered"] == 2
    await ok(http, api, "getUpdates", offset=third + 1, timeout=0)
    assert st.update_deliveries(TOKEN)["unconfirmed"] == []
    st.reset()
    assert st.update_deliveries(TOKEN) == {"unconfirmed": [], "redelivered": {}}


async def test_wait_polling_returns_once_a_get_updates_is_parked(api, http):
    st = api.state
    with pytest.raises(TimeoutError):
        await st.wait_polling(TOKEN, timeout=0.05)
    poll = asyncio.create_task(ok(http, api, "getUpdates", timeout=5))
    await st.wait_polling(TOKEN, timeout=2)
    # The parked call was checked against the faults when it arrived: it still gets the update.
    st.add_fault(method="getUpdates", kind="502", token=TOKEN)
    sent = st.send_text(TOKEN, USER, "hello")
    assert [u["update_id"] for u in await asyncio.wait_for(poll, 2)] == [sent["update_id"]]
    status, body = await bot_call(http, api, "getUpdates", offset=sent["update_id"] + 1, timeout=0)
    assert status == 502 and st.update_deliveries(TOKEN)["unconfirmed"] == [sent["update_id"]]


async def test_send_message_markup_and_reply_keyboard(api, http):
    api.state.send_text(TOKEN, USER, "/start")
    inline = {"inline_keyboard": [[{"text": "Yes", "callback_data": "v:y"}, {"text": "Site", "url": "https://x.ir"}]]}
    sent = await ok(http, api, "sendMessage", chat_id=USER, text="<b>Vote</b> &amp; win",
                    parse_mode="HTML", reply_markup=inline)
    assert sent["message_id"] == 2  # the user's /start was message 1 of this chat
    assert sent["text"] == "Vote & win"  # Telegram strips the markup from `text`
    assert sent["from"]["username"] == "shahrdar_bot" and sent["chat"]["type"] == "private"
    assert sent["reply_markup"] == inline

    keyboard = {"keyboard": [[{"text": "Share phone", "request_contact": True}], [{"text": "Help"}]],
                "resize_keyboard": True}
    sent2 = await ok(http, api, "sendMessage", chat_id=USER, text="menu", reply_markup=keyboard)
    assert "reply_markup" not in sent2  # Message.reply_markup is inline-only in the Bot API
    assert api.state.reply_keyboard(TOKEN, USER) == keyboard

    views = api.state.messages(TOKEN, USER)
    assert [(v["text"], v["deleted"], v["edit_count"]) for v in views] == [("Vote & win", False, 0),
                                                                       ("menu", False, 0)]
    assert views[0]["sent_text"] == "<b>Vote</b> &amp; win" and views[0]["parse_mode"] == "HTML"
    assert views[1]["reply_markup"] == keyboard  # the view keeps the markup as sent

    await ok(http, api, "sendMessage", chat_id=USER, text="bye", reply_markup={"remove_keyboard": True})
    assert api.state.reply_keyboard(TOKEN, USER) is None
    assert api.state.last_message(TOKEN, USER)["text"] == "bye"

    reply = await ok(http, api, "sendMessage", chat_id=USER, text="re", reply_parameters={"message_id": 1})
    assert reply["reply_to_message"]["text"] == "/start"


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": "x"}, "Bad Request: chat_id is empty"),
        ({"chat_id": USER}, "Bad Request: message text is empty"),
        ({"chat_id": 999, "text": "x"}, "Bad Request: chat not found"),
        ({"chat_id": USER, "text": "x" * 4097}, "Bad Request: message is too long"),
        ({"chat_id": USER, "text": "<b>x", "parse_mode": "HTML"},
         "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""),
        ({"chat_id": USER, "text": "<div>x</div>", "parse_mode": "HTML"},
         "Bad Request: can't parse entities: Unsupported start tag \"div\" at byte offset 0"),
        ({"chat_id": USER, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "d" * 65}]]}},
         "Bad Request: BUTTON_DATA_INVALID"),
        ({"chat_id": USER, "text": "x", "reply_parameters": {"message_id": 77}},
         "Bad Request: message to be replied not found"),
    ],
)
async def test_send_message_errors(api, http, params, description):
    api.state.add_user(USER)
    status, body = await bot_call(http, api, "sendMessage", **params)
    assert (status, body) == (400, {"ok": False, "error_code": 400, "description": description})


async def test_edit_and_delete_semantics(api, http):
    api.state.send_text(TOKEN, USER, "/start")
    kb = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    mid = (await ok(http, api, "sendMessage", chat_id=USER, text="pick", reply_markup=kb))["message_id"]

    status, body = await bot_call(http, api, "editMessageText", chat_id=USER, message_id=mid,
                                  text="pick", reply_markup=kb)
    assert status == 400 and body["description"].startswith("Bad Request: message is not modified: ")
    status, body = await bot_call(http, api, "editMessageText", chat_id=USER, message_id=999, text="x")
    assert body["description"] == "Bad Request: message to edit not found"
    status, body = await bot_call(http, api, "editMessageText", chat_id=USER, message_id=1, text="x")
    assert body["description"] == "Bad Request: message can't be edited"  # the user's message

    # Same text but a new keyboard is a modification; text edits without
    # reply_markup drop the inline keyboard, as on Telegram.
    kb2 = {"inline_keyboard": [[{"text": "B", "callback_data": "b"}]]}
    edited = await ok(http, api, "editMessageReplyMarkup", chat_id=USER, message_id=mid, reply_markup=kb2)
    assert edited["reply_markup"] == kb2
    edited = await ok(http, api, "editMessageText", chat_id=USER, message_id=mid, text="done")
    assert edited["text"] == "done" and "reply_markup" not in edited and "edit_date" in edited
    view = api.state.last_message(TOKEN, USER)
    assert (view["text"], view["edit_count"], view.get("reply_markup")) == ("done", 2, None)
    status, body = await bot_call(http, api, "editMessageCaption", chat_id=USER, message_id=mid, caption="c")
    assert body["description"] == "Bad Request: there is no caption in the message to edit"

    assert await ok(http, api, "deleteMessage", chat_id=USER, message_id=mid) is True
    status, body = await bot_call(http, api, "deleteMessage", chat_id=USER, message_id=mid)
    assert body["description"] == "Bad Request: message to delete not found"
    status, body = await bot_call(http, api, "editMessageText", chat_id=USER, message_id=mid, text="again")
    assert body["description"] == "Bad Request: message to edit not found"
    assert api.state.messages(TOKEN, USER)[0]["deleted"] is True
    assert api.state.last_message(TOKEN, USER) is None
    assert api.state.messages(TOKEN, USER, include_deleted=False) == []


async def test_copy_forward_commands_chat(api, http):
    st = api.state
    st.send_text(TOKEN, USER, "original")
    st.add_user(7, first_name="Admin")
    copied = await ok(http, api, "copyMessage", chat_id=7, from_chat_id=USER, message_id=1)
    assert st.messages(TOKEN, 7)[0]["text"] == "original" and copied == {"message_id": 1}
    fwd = await ok(http, api, "forwardMessage", chat_id=7, from_chat_id=USER, message_id=1)
    assert fwd["forward_origin"]["sender_user"]["id"] == USER
    status, body = await bot_call(http, api, "copyMessage", chat_id=7, from_chat_id=USER, message_id=50)
    assert body["description"] == "Bad Request: message to copy not found"

    cmds = [{"command": "start", "description": "Begin"}]
    assert await ok(http, api, "setMyCommands", commands=cmds) is True
    assert await ok(http, api, "getMyCommands") == cmds
    await ok(http, api, "deleteMyCommands")
    assert await ok(http, api, "getMyCommands") == []

    chat = await ok(http, api, "getChat", chat_id=7)
    assert chat["first_name"] == "Admin" and chat["type"] == "private"
    assert await ok(http, api, "sendChatAction", chat_id=7, action="typing") is True

    st.send_text(TOKEN, USER, "in group", chat_id=-100)
    group = await ok(http, api, "sendMessage", chat_id=-100, text="hi all")
    assert group["chat"] == {"id": -100, "type": "group", "title": "Group 100"}
    assert [m["text"] for m in st.messages(TOKEN, -100, include_user=True)] == ["in group", "hi all"]


async def test_photo_upload_get_file_and_download(api, http):
    st = api.state
    st.add_user(USER)
    form = aiohttp.FormData()
    form.add_field("chat_id", str(USER))
    form.add_field("caption", "map")
    form.add_field("photo", b"\xff\xd8fake-jpeg", filename="map.jpg", content_type="image/jpeg")
    async with http.post(f"{api.bot_base_url}{TOKEN}/sendPhoto", data=form) as resp:
        msg = (await resp.json())["result"]
    assert msg["caption"] == "map" and len(msg["photo"]) == 3
    biggest = msg["photo"][-1]
    info = await ok(http, api, "getFile", file_id=biggest["file_id"])
    async with http.get(f"{api.file_base_url}{TOKEN}/{info['file_path']}") as resp:
        assert await resp.read() == b"\xff\xd8fake-jpeg"

    # Re-sending by file_id (and a user's own photo) works and keeps sizes.
    user_photo = st.send_photo(TOKEN, USER, caption="pothole")
    again = await ok(http, api, "sendPhoto", chat_id=USER, photo=user_photo["file_id"])
    assert again["photo"][-1]["file_id"] == user_photo["file_id"]
    doc = await ok(http, api, "sendDocument", chat_id=USER, document="doc-id-from-config")
    assert doc["document"]["file_id"] == "doc-id-from-config"
    status, body = await bot_call(http, api, "getFile", file_id="nope")
    assert body["description"] == "Bad Request: invalid file_id"


# ---------------------------------------------------------- simulated users


async def test_press_validation_and_buttons(api, http):
    st = api.state
    st.add_user(USER, first_name="Sara", phone_number="989121234567")
    st.send_text(TOKEN, USER, "/start")
    kb = {"inline_keyboard": [[{"text": "Yes", "callback_data": "v:y"}, {"text": "Site", "url": "https://x.ir"}]]}
    mid = (await ok(http, api, "sendMessage", chat_id=USER, text="vote?", reply_markup=kb))["message_id"]
    await ok(http, api, "getUpdates", offset=-1)  # forget all but the last update
    await ok(http, api, "getUpdates", offset=st.pending_updates(TOKEN)[-1]["update_id"] + 1)

    with pytest.raises(ControlError, match="not on message"):
        st.press(TOKEN, USER, mid, "v:n")
    forged = st.press(TOKEN, USER, mid, "v:n", forge=True)
    pressed = st.press_button(TOKEN, USER, "Yes")
    updates = st.pending_updates(TOKEN)
    assert [u["callback_query"]["data"] for u in updates] == ["v:n", "v:y"]
    cq = updates[1]["callback_query"]
    assert cq["id"] == pressed["callback_query_id"] and cq["from"]["first_name"] == "Sara"
    assert cq["message"]["message_id"] == mid and cq["message"]["reply_markup"] == kb
    assert st.press_button(TOKEN, USER, "Site") == {"url": "https://x.ir", "message_id": mid, "update_id": None}

    assert await ok(http, api, "answerCallbackQuery", callback_query_id=cq["id"], text="ok!", show_alert=True)
    assert st.callback_answer(TOKEN, cq["id"])["text"] == "ok!"
    status, body = await bot_call(http, api, "answerCallbackQuery", callback_query_id=cq["id"])
    assert status == 400 and "query is too old" in body["description"]
    assert st.callback_answer(TOKEN, forged["callback_query_id"]) is None

    keyboard = {"keyboard": [[{"text": "📱 Share", "request_contact": True}, "Help"]]}
    await ok(http, api, "sendMessage", chat_id=USER, text="menu", reply_markup=keyboard)
    st.press_button(TOKEN, USER, "📱 Share")
    st.press_button(TOKEN, USER, "Help")
    contact_update, text_update = st.pending_updates(TOKEN)[-2:]
    assert contact_update["message"]["contact"] == {"phone_number": "989121234567", "first_name": "Sara",
                                                    "user_id": USER}
    assert text_update["message"]["text"] == "Help"
    with pytest.raises(ControlError, match="visible"):
        st.press_button(TOKEN, USER, "Nope")


async def test_other_user_actions(api):
    st = api.state
    c = st.send_contact(TOKEN, USER, phone_number="+98 912", contact_user_id=None, first_name="Ali")
    s = st.send_sticker(TOKEN, USER)
    d = st.send_document(TOKEN, USER, file_name="plan.pdf", content="pdf")
    f = st.forward(TOKEN, USER, "news", from_user_id=9)
    ups = {u["update_id"]: u["message"] for u in st.pending_updates(TOKEN)}
    assert ups[c["update_id"]]["contact"] == {"phone_number": "+98 912", "first_name": "Ali"}
    assert ups[s["update_id"]]["sticker"]["emoji"] == "👍"
    assert ups[d["update_id"]]["document"]["file_name"] == "plan.pdf"
    assert ups[f["update_id"]]["forward_origin"]["sender_user"]["id"] == 9
    assert [m["message_id"] for m in ups.values()] == [1, 2, 3, 4]
    with pytest.raises(ControlError):
        st.send_text(TOKEN, USER, "hi", chat_id=USER + 1)  # not the user's chat


async def test_reset_keeps_update_ids_increasing(api):
    st = api.state
    before = st.send_text(TOKEN, USER, "a")["update_id"]
    st.reset()
    assert st.pending_updates(TOKEN) == [] and st.messages(TOKEN, USER) == []
    assert st.send_text(TOKEN, USER, "b")["update_id"] == before + 1


# ------------------------------------------------------- faults and latency


async def test_fault_answers(api, http):
    st = api.state
    st.add_user(USER)
    st.add_fault("sendMessage", "429", retry_after=7, count=1)
    status, body = await bot_call(http, api, "sendMessage", chat_id=USER, text="x")
    assert (status, body) == (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
                                    "parameters": {"retry_after": 7}})
    await ok(http, api, "sendMessage", chat_id=USER, text="x")  # count exhausted

    st.add_fault(None, "502", chat_id=555)  # null method: any method, but only for chat 555
    await ok(http, api, "sendMessage", chat_id=USER, text="y")
    st.add_user(555)
    assert (await bot_call(http, api, "sendMessage", chat_id=555, text="y"))[0] == 502
    st.clear_faults()

    st.block(TOKEN, USER)
    status, body = await bot_call(http, api, "sendMessage", chat_id=USER, text="z")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    st.send_text(TOKEN, USER, "/start")  # writing to the bot again unblocks it
    await ok(http, api, "sendMessage", chat_id=USER, text="z")

    st.add_fault("sendMessage", "500", perform=True, count=1)  # failed answer, but it was sent
    assert (await bot_call(http, api, "sendMessage", chat_id=USER, text="ghost"))[0] == 500
    assert st.last_message(TOKEN, USER)["text"] == "ghost"

    stats = st.stats()["methods"]["sendMessage"]
    assert stats == {"429": 1, "200": 3, "502": 1, "403": 1, "500": 1}
    assert [c["status"] for c in st.calls(TOKEN, "sendMessage", chat_id=USER)][:2] == [429, 200]


async def test_fault_scoped_to_one_token_and_404_kind(api, http):
    """Bale answers a method it lacks with 404: a "404" rule for one bot token only."""
    other = "777:OTHER-TOKEN"
    cmds = [{"command": "start", "description": "Begin"}]
    rule = api.state.add_fault("setMyCommands", "404", token=TOKEN)
    assert (rule["token"], rule["kind"]) == (TOKEN, "404")
    status, body = await bot_call(http, api, "setMyCommands", commands=cmds)
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert await ok(http, api, "setMyCommands", token=other, commands=cmds) is True
    assert api.state.commands(TOKEN) == [] and api.state.commands(other) == cmds
    [failed] = api.state.calls(TOKEN, "setMyCommands")
    assert (failed["status"], failed["fault"]) == (404, "404")
    assert api.state.pick_fault("setMyCommands", None, other) is None
    assert api.state.pick_fault("setMyCommands", None, TOKEN).kind == "404"

    async with LocalApiClient(api.url) as client:  # the same over the control API
        await client.clear_faults()
        await client.add_fault("getMe", "404", token=other)
        assert [(f["method"], f["token"]) for f in await client.faults()] == [("getMe", other)]
        assert (await client.bot_api(other, "getMe"))["error_code"] == 404
        assert (await client.bot_api(TOKEN, "getMe"))["ok"] is True
        with pytest.raises(ControlError, match="unknown fault kind"):
            await client.add_fault("getMe", "418")


async def test_fault_rate_is_seeded():
    def pattern(seed):
        st = LocalApiState(seed=seed)
        st.add_fault("sendMessage", "500", rate=0.5)
        return [st.pick_fault("sendMessage", 1) is not None for _ in range(32)]

    assert pattern(3) == pattern(3)
    assert pattern(3) != pattern(4)
    assert 4 < sum(pattern(3)) < 28


async def test_drop_and_timeout_faults(api, http):
    st = api.state
    st.add_user(USER)
    st.configure(timeout_seconds=5)
    st.add_fault("sendMessage", "drop", count=1)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await bot_call(http, api, "sendMessage", chat_id=USER, text="x")
    st.add_fault("sendMessage", "timeout", count=1)
    after = st.call_seq
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        async with http.post(f"{api.bot_base_url}{TOKEN}/sendMessage", data={"chat_id": str(USER), "text": "x"},
                             timeout=aiohttp.ClientTimeout(total=0.1)):
            pass
    # The server handler is cancelled when the client hangs up; it is logged
    # as "no answer" (status 0) rather than lingering for timeout_seconds.
    call = await st.wait_for_call(TOKEN, "sendMessage", after=after, timeout=2)
    assert (call["status"], call["fault"]) == (0, "timeout")
    assert time.monotonic() - started < 2
    assert st.messages(TOKEN, USER) == []
    assert st.stats()["methods"]["sendMessage"] == {"0": 2}


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter.retry_after
async def test_ptb_sees_faults_as_telegram_errors(api):
    st = api.state
    st.add_user(USER)
    request = HTTPXRequest(read_timeout=0.2)
    async with Bot(TOKEN, base_url=api.bot_base_url, request=request) as bot:
        st.configure(timeout_seconds=3)
        for kind, exc in (("429", RetryAfter), ("403", Forbidden), ("502", NetworkError),
                          ("drop", NetworkError), ("timeout", TimedOut)):
            st.set_faults([{"method": "sendMessage", "kind": kind, "count": 1, "retry_after": 3}])
            with pytest.raises(exc):
                await bot.send_message(USER, "x")
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", chat_id=USER, message_id=99)
        assert (await bot.send_message(USER, "fine")).text == "fine"


async def test_latency_applies_per_call(api, http):
    api.state.add_user(USER)
    api.state.configure(latency=0.05)
    started = time.monotonic()
    await ok(http, api, "sendMessage", chat_id=USER, text="slow")
    assert time.monotonic() - started >= 0.05
    started = time.monotonic()
    await ok(http, api, "getUpdates", timeout=0)
    assert 0.05 <= time.monotonic() - started < 0.15


# ------------------------------------------------- control API and client


async def test_client_over_http(api):
    async with LocalApiClient(api.url) as client:
        await client.add_user(USER, first_name="Reza")
        r = await client.send_text(TOKEN, USER, "/start")
        assert r["message_id"] == 1
        with pytest.raises(ControlError, match="no bot message"):
            await client.press(TOKEN, USER, 1, "x")

        async def reply_later():
            await asyncio.sleep(0.02)
            api.state.api(TOKEN, "sendMessage", {"chat_id": USER, "text": "one"})
            await asyncio.sleep(0.02)
            api.state.api(TOKEN, "sendMessage", {"chat_id": USER, "text": "two"})
            api.state.record(TOKEN, "sendMessage", {"chat_id": USER}, 200)  # wake watchers

        task = asyncio.create_task(reply_later())
        msgs = await client.wait_for(TOKEN, USER, lambda ms: len(ms) == 2, timeout=2)
        await task
        assert [m["text"] for m in msgs] == ["one", "two"]
        assert [m["text"] for m in await client.wait_for_messages(TOKEN, USER, count=2)] == ["one", "two"]
        with pytest.raises(TimeoutError):
            await client.wait_for(TOKEN, USER, lambda ms: len(ms) > 5, timeout=0.05)

        await client.add_fault("sendMessage", "429", retry_after=2)
        assert (await client.faults())[0]["retry_after"] == 2
        assert (await client.bot_api(TOKEN, "sendMessage", chat_id=USER, text="x"))["error_code"] == 429
        await client.clear_faults()
        assert (await client.configure(latency=0))["latency"] == 0
        assert (await client.stats())["methods"]["sendMessage"]["429"] == 1
        assert (await client.calls(TOKEN, "sendMessage"))[-1]["status"] == 429
        await client.reset()
        assert await client.messages(TOKEN, USER) == []
        with pytest.raises(ControlError, match="TypeError"):
            await client.call("send_text", token=TOKEN)


async def test_real_ptb_application_end_to_end(api):
    """A real PTB Application polling the loopback server."""

    async def start(update, context):
        kb = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="vote:yes"),
                                    InlineKeyboardButton("Site", url="https://example.org")]])
        await update.message.reply_text(f"welcome {' '.join(context.args)}", reply_markup=kb)

    async def menu(update, context):
        kb = ReplyKeyboardMarkup([[KeyboardButton("Share", request_contact=True)]], resize_keyboard=True)
        await update.message.reply_text("share your phone", reply_markup=kb)

    async def contact(update, context):
        await update.message.reply_text(f"got {update.message.contact.phone_number}")

    async def echo(update, context):
        await update.message.reply_text(update.message.text)

    async def on_vote(update, context):
        query = update.callback_query
        await query.answer("thanks!")
        await query.edit_message_text(f"you chose {query.data.split(':')[1]}")

    application = (ApplicationBuilder().token(TOKEN).base_url(api.bot_base_url)
                   .base_file_url(api.file_base_url).build())
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("menu", menu))
    application.add_handler(CallbackQueryHandler(on_vote, pattern="^vote:"))
    application.add_handler(MessageHandler(filters.CONTACT, contact))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))

    client = api.client()
    async with application:
        await application.updater.start_polling(timeout=5)
        await application.start()
        try:
            assert application.bot.username == "shahrdar_bot"
            await client.send_text(TOKEN, USER, "/start ref_7")
            (welcome,) = await client.wait_for_messages(TOKEN, USER)
            assert welcome["text"] == "welcome ref_7"

            pressed = await client.press_button(TOKEN, USER, "Yes")
            msgs = await client.wait_for(TOKEN, USER, lambda ms: ms[-1]["text"] == "you chose yes")
            assert msgs[-1]["message_id"] == welcome["message_id"] and "reply_markup" not in msgs[-1]
            assert (await client.callback_answer(TOKEN, pressed["callback_query_id"]))["text"] == "thanks!"
            with pytest.raises(ControlError):  # the keyboard is gone after the edit
                await client.press(TOKEN, USER, welcome["message_id"], "vote:yes")

            await client.send_text(TOKEN, USER, "سلام")
            assert [m["text"] for m in await client.wait_for_messages(TOKEN, USER)] == ["سلام"]

            await client.send_text(TOKEN, USER, "/menu")
            await client.wait_for_messages(TOKEN, USER)
            assert (await client.reply_keyboard(TOKEN, USER))["keyboard"][0][0]["request_contact"] is True
            await client.press_button(TOKEN, USER, "Share")
            (got,) = await client.wait_for_messages(TOKEN, USER)
            assert got["text"].startswith("got 98912")
        finally:
            await application.updater.stop()
            await application.stop()
            await client.close()
    assert {c["method"] for c in api.state.calls(TOKEN)} >= {"getMe", "deleteWebhook", "getUpdates",
                                                             "sendMessage", "answerCallbackQuery",
                                                             "editMessageText"}


def test_standalone_process_starts_and_stops_on_sigterm():
    root = Path(__file__).resolve().parents[1]
    with subprocess.Popen([sys.executable, "-m", "bot.devtools.localapi", "--port", "0", "--bot", "1:A=a_bot"],
                          cwd=root, stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": str(root)}) as proc:
        try:
            line = proc.stdout.readline().strip()
            assert line.startswith("listening on http://127.0.0.1:")

            async def get_me():
                async with aiohttp.ClientSession() as s, s.get(line.split()[-1] + "/bot1:A/getMe") as resp:
                    return (await resp.json())["result"]["username"]

            assert asyncio.run(get_me()) == "a_bot"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


async def test_text_after_a_force_reply_is_a_reply_like_a_telegram_client():
    from bot.devtools.localapi import LocalBotApi

    async with LocalBotApi(bots={"5:t": "t_bot"}) as api:
        state = api.state
        state.send_text("5:t", 42, "/start")
        asked = state.api("5:t", "sendMessage", {"chat_id": 42, "text": "why?", "reply_markup": '{"force_reply": true}'})
        state.send_text("5:t", 42, "because")
        state.send_text("5:t", 42, "and another thing")  # no longer a reply: the question was answered
        updates = [u["message"] for u in state.pending_updates("5:t")]
        assert updates[1]["reply_to_message"]["message_id"] == asked["message_id"]
        assert "reply_markup" not in updates[1]["reply_to_message"]
        assert "reply_to_message" not in updates[2]
        client = api.client()
        try:
            sent = await client.send_text("5:t", 42, "explicit", reply_to_message_id=asked["message_id"])
        finally:
            await client.close()
        assert state.pending_updates("5:t")[-1]["message"]["reply_to_message"]["message_id"] == asked["message_id"]
        assert sent["message_id"] > asked["message_id"]


# ------------------------------------------------ broadcast benchmark support


async def test_add_users_makes_a_range_known_without_updates_or_objects(api, http):
    st = api.state
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        assert st.add_users(TOKEN, 1000, 1_000_000) == {"first_user_id": 1000, "count": 1_000_000}
        elapsed = time.perf_counter() - started
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert elapsed < 0.5 and grown < 50_000  # an id range, not a million users
    assert st.pending_updates(TOKEN) == [] and st.chats(TOKEN) == [] and st.users == {}

    first = await ok(http, api, "sendMessage", chat_id=1000, text="hi")
    last = await ok(http, api, "sendMessage", chat_id=1_000_999, text="hi")
    assert first["chat"] == {"id": 1000, "type": "private", "first_name": "User 1000"}
    assert (first["message_id"], last["message_id"]) == (1, 1)
    assert [c["id"] for c in st.chats(TOKEN)] == [1000, 1_000_999]  # chats appear when used
    assert (await ok(http, api, "getChatMember", chat_id=1000, user_id=5000))["user"]["id"] == 5000
    for stranger in (999, 1_001_000):
        status, body = await bot_call(http, api, "sendMessage", chat_id=stranger, text="hi")
        assert (status, body["description"]) == (400, "Bad Request: chat not found")
    status, body = await bot_call(http, api, "sendMessage", token="9:OTHER", chat_id=5000, text="hi")
    assert body["description"] == "Bad Request: chat not found"  # known to this bot only

    # Batches merge, so a lookup stays a few range checks however they were added.
    for start in (1, 21, 11, 15, 500):
        st.add_users("9:OTHER", start, 10)
    assert st.bot("9:OTHER").known_ranges == [range(1, 31), range(500, 510)]
    with pytest.raises(ControlError):
        st.add_users(TOKEN, 0, 5)
    with pytest.raises(ControlError):
        st.add_users(TOKEN, 1, -1)

    st.reset()
    status, body = await bot_call(http, api, "sendMessage", chat_id=5000, text="hi")
    assert body["description"] == "Bad Request: chat not found"


async def test_block_share_is_seeded_and_answers_403(api, http):
    st = api.state
    st.add_users(TOKEN, 1, 10_000)
    got = st.block_share(TOKEN, 1, 10_000, share=0.02, seed=1)
    ids = got["user_ids"]
    assert got["blocked"] == len(ids) == len(set(ids)) == 200 and ids == sorted(ids)
    assert 1 <= ids[0] and ids[-1] <= 10_000
    assert LocalApiState().block_share(TOKEN, 1, 10_000, 0.02, seed=1)["user_ids"] == ids
    assert LocalApiState().block_share(TOKEN, 1, 10_000, 0.02, seed=2)["user_ids"] != ids
    assert LocalApiState().block_share(TOKEN, 1, 10, 0.0)["user_ids"] == []

    status, body = await bot_call(http, api, "sendMessage", chat_id=ids[0], text="news")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    free = next(uid for uid in range(1, 10_001) if uid not in set(ids))
    await ok(http, api, "sendMessage", chat_id=free, text="news")
    st.unblock(TOKEN, ids[0])
    await ok(http, api, "sendMessage", chat_id=ids[0], text="news")
    for bad_args in ({"share": 1.5}, {"share": -0.1}, {"count": -1}):
        with pytest.raises(ControlError):
            st.block_share(TOKEN, **{"first_user_id": 1, "count": 10, "share": 0.5, **bad_args})


async def test_deliveries_counts_bot_messages_per_private_chat(api, http):
    st = api.state
    st.add_users(TOKEN, 100, 10)
    st.send_text(TOKEN, 100, "#B7 from the user")  # users' messages are not deliveries
    for uid in (100, 101, 102, 103):
        await ok(http, api, "sendMessage", chat_id=uid, text=f"<b>news</b> #B7 {uid}", parse_mode="HTML")
    await ok(http, api, "sendMessage", chat_id=101, text="news #B7 again")  # a duplicate
    await ok(http, api, "sendMessage", chat_id=102, text="unrelated")
    await ok(http, api, "sendPhoto", chat_id=104, photo="poster-id", caption="#B7 poster")
    await ok(http, api, "copyMessage", chat_id=105, from_chat_id=100, message_id=1)  # the user's text
    gone = await ok(http, api, "sendMessage", chat_id=106, text="#B7 deleted later")
    await ok(http, api, "deleteMessage", chat_id=106, message_id=gone["message_id"])
    for _ in range(3):
        await ok(http, api, "sendMessage", chat_id=107, text="#B7 thrice")
    st.send_text(TOKEN, 100, "in group", chat_id=-5)
    await ok(http, api, "sendMessage", chat_id=-5, text="#B7 group")  # not a private chat
    st.block(TOKEN, 108)
    assert (await bot_call(http, api, "sendMessage", chat_id=108, text="#B7 blocked"))[0] == 403

    marked = st.deliveries(TOKEN, marker="#B7", with_chat_ids=True)
    assert marked == {"chats": 8, "messages": 11, "duplicate_chats": 2,
                      "duplicates": {"101": 2, "107": 3},
                      "per_chat_counts_histogram": {"1": 6, "2": 1, "3": 1},
                      "chat_ids": [100, 101, 102, 103, 104, 105, 106, 107]}
    everything = st.deliveries(TOKEN, max_duplicates=1)
    assert (everything["chats"], everything["messages"], everything["duplicate_chats"]) == (8, 12, 3)
    assert everything["duplicates"] == {"101": 2} and "chat_ids" not in everything
    assert st.deliveries(TOKEN, marker="nowhere") == {"chats": 0, "messages": 0, "duplicate_chats": 0,
                                                      "duplicates": {}, "per_chat_counts_histogram": {}}
    assert st.deliveries("9:OTHER")["messages"] == 0


async def test_broadcast_operations_over_the_control_api(api, http):
    async with LocalApiClient(api.url) as client:
        assert await client.add_users(TOKEN, 1, 100_000) == {"first_user_id": 1, "count": 100_000}
        blocked = await client.block_share(TOKEN, 1, 100_000, share=0.02, seed=1)
        assert blocked == api.state.block_share(TOKEN, 1, 100_000, share=0.02, seed=1)
        assert blocked["blocked"] == 2000
        refused = await client.bot_api(TOKEN, "sendMessage", chat_id=blocked["user_ids"][0], text="x")
        assert refused["error_code"] == 403
        sent = [uid for uid in range(1, 40) if uid not in blocked["user_ids"]][:5]
        for uid in sent:
            assert (await client.bot_api(TOKEN, "sendMessage", chat_id=uid, text="#M1"))["ok"]
        await client.bot_api(TOKEN, "sendMessage", chat_id=sent[0], text="#M1 again")
        summary = await client.deliveries(TOKEN, marker="#M1", with_chat_ids=True)
        assert summary == {"chats": 5, "messages": 6, "duplicate_chats": 1, "duplicates": {str(sent[0]): 2},
                           "per_chat_counts_histogram": {"1": 4, "2": 1}, "chat_ids": sent}
        async with http.get(f"{api.url}/control/deliveries", params={"token": TOKEN, "marker": "1"}) as resp:
            assert (await resp.json())["result"]["messages"] == 6  # a marker in the query stays a string


async def test_rare_429s_and_blocked_chats_pay_the_latency(api, http):
    st = api.state
    st.add_users(TOKEN, 1, 10)
    st.configure(seed=5)
    st.add_fault(None, "429", rate=0.01, retry_after=1)  # 1% of every method but getUpdates
    fired = [st.pick_fault(m, 1, TOKEN) is not None for m in ("sendMessage", "copyMessage") * 5000]
    assert 60 <= sum(fired) <= 140
    assert not any(st.pick_fault("getUpdates", None, TOKEN) for _ in range(1000))
    st.set_faults([{"kind": "429", "rate": 0.999999, "retry_after": 1}])  # the same rule, made to fire
    status, body = await bot_call(http, api, "sendVideo", chat_id=1, video="clip-id")
    assert (status, body["parameters"]) == (429, {"retry_after": 1})
    st.clear_faults()

    # Telegram answers 403 after a full round trip: latency applies to every call.
    st.block(TOKEN, 2)
    st.configure(latency=0.05)
    started = time.monotonic()
    assert (await bot_call(http, api, "sendMessage", chat_id=2, text="x"))[0] == 403
    assert time.monotonic() - started >= 0.05
