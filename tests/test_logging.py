"""Logs (bot/logs.py): one JSON line per event, and no token, phone number or citizen's text in
any of them — even with every library at DEBUG."""
from __future__ import annotations

import functools
import io
import json
import logging

import pytest
from telegram import Update

from bot import logs
from bot.__main__ import main
from messages_fa import buttons as b
from tests.conftest import STAFF_CHAT
from tests.support.e2e import TOKENS, Harness, containing, text_of
from tests.support.e2e_journeys import choose_neighbourhood, make_votable, write_proposal

LIBRARIES = ("telegram", "aiosqlite", "aiohttp", "apscheduler", "httpx", "httpcore", "asyncio", "bot", "handlers",
             "storage")


@pytest.fixture
def captured():
    """Our handler on the root logger, writing to a buffer; everything as it was afterwards."""
    stream = io.StringIO()
    levels = {name: logging.getLogger(name).level for name in LIBRARIES}
    root_level = logging.getLogger().level
    logs.setup("DEBUG", stream, quiet_libraries=False)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        logs.teardown()
        logging.getLogger().setLevel(root_level)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def events(stream: io.StringIO) -> list[dict]:
    lines = stream.getvalue().splitlines()
    assert lines
    parsed = [json.loads(line) for line in lines]  # one valid object per line, or this raises
    for event in parsed:
        assert {"time", "level", "logger", "message"} <= set(event), event
        assert event["time"].endswith("Z") and "T" in event["time"]
    return parsed


# --- the format and the filter ----------------------------------------------------------------------


def test_a_failure_is_one_line_with_its_traceback_and_extras(captured):
    log = logging.getLogger("handlers.errors")
    typed = "my neighbour's number is 0912 345 6789"  # what a citizen sent (the frames show code, not values)
    try:
        int(typed)
    except ValueError as exc:
        log.error("%s: update %s failed: %s", "telegram", 5012, type(exc).__name__, exc_info=exc,
                  extra={"update_id": 5012, "platform": "telegram"})
    [event] = events(captured)
    assert event["level"] == "ERROR" and event["logger"] == "handlers.errors"
    assert event["message"] == "telegram: update 5012 failed: ValueError"
    assert event["update_id"] == 5012 and event["platform"] == "telegram"
    assert event["exc"].startswith("Traceback (most recent call last):\n")
    assert "test_logging.py" in event["exc"]
    # ValueError quotes what was typed: its message is withheld, the type and frames stay.
    assert event["exc"].endswith("ValueError: <message withheld>")
    assert "neighbour" not in captured.getvalue() and "345" not in captured.getvalue()


def test_chained_exceptions_keep_their_order_and_their_safe_messages(captured):
    title = "the citizen's title"
    try:
        try:
            raise KeyError(title)
        except KeyError as exc:
            raise RuntimeError("database is not open") from exc
    except RuntimeError:
        logging.getLogger("bot.x").exception("broadcast worker: step failed")
    [event] = events(captured)
    first, second = event["exc"].split("The above exception was the direct cause of the following exception:")
    assert first.rstrip().endswith("KeyError: <message withheld>")
    assert second.rstrip().endswith("RuntimeError: database is not open")
    assert "citizen's title" not in captured.getvalue()


@pytest.mark.parametrize("phone", [
    "+989121234567", "+98 912 123 4567", "00989121234567", "989121234567", "09121234567", "0912-123-4567",
    "۰۹۱۲۱۲۳۴۵۶۷", "+۹۸ ۹۱۲ ۱۲۳ ۴۵۶۷", "٠٩١٢١٢٣٤٥٦٧", "۰۰۹۸۹۱۲۱۲۳۴۵۶۷",
])
def test_phone_numbers_are_redacted_in_every_usual_shape(captured, phone):
    logging.getLogger("x").warning("contact %s shared", phone)
    logging.getLogger("x").warning(f"typed: {phone}.")
    messages = [event["message"] for event in events(captured)]
    assert messages == ["contact <phone> shared", "typed: <phone>."]


def test_what_looks_like_a_phone_but_is_not_stays(captured):
    logging.getLogger("x").info("update 912345678 at 2025-11-26 09:12:34; took 0.912345678901 s; id 1700000000123")
    [event] = events(captured)
    assert event["message"] == "update 912345678 at 2025-11-26 09:12:34; took 0.912345678901 s; id 1700000000123"


def test_tokens_are_redacted_in_urls_in_text_and_when_configured(captured):
    logs.add_secrets("5555555:short-but-configured")
    log = logging.getLogger("httpx")
    log.info('HTTP Request: POST https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage')
    log.info("token=%s", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    log.info("GET https://tapi.bale.ai/file/bot987654321:abcdefghijklmnopqrstuvwxyz/photos/1.jpg")
    log.info("configured: 5555555:short-but-configured, or its half short-but-configured")
    messages = [event["message"] for event in events(captured)]
    assert messages == [
        "HTTP Request: POST https://api.telegram.org/bot<token>/sendMessage",
        "token=<token>",
        "GET https://tapi.bale.ai/file/bot<token>/photos/1.jpg",
        "configured: <secret>, or its half <secret>",
    ]


def test_payloads_in_arguments_are_logged_by_their_shape(captured):
    update = Update.de_json({"update_id": 77, "message": {
        "message_id": 5, "date": 0, "chat": {"id": 1, "type": "private"},
        "from": {"id": 1, "is_bot": False, "first_name": "Shirin"}, "text": "my secret proposal"}}, None)
    log = logging.getLogger("telegram.ext.Application")
    log.debug("Processing update %s", update)
    log.debug("Calling Bot API endpoint `%s` with parameters `%s`", "sendMessage",
              {"chat_id": 1, "text": "my secret proposal"})
    log.debug("Getting updates: %s", [77, 78])
    logging.getLogger("aiosqlite").debug("executing %s", functools.partial(print, "my secret proposal"))
    logging.getLogger("telegram.ext._utils.webhookhandler").debug("Webhook received data: %s", '{"text": "x"}')
    messages = [event["message"] for event in events(captured)]
    assert messages == [
        "Processing update <Update update_id 77>",
        "Calling Bot API endpoint `sendMessage` with parameters `<dict: chat_id, text>`",
        "Getting updates: [77, 78]",
        "executing <call print>",
        "Webhook received data: <13 characters>",
    ]
    assert "secret" not in captured.getvalue() and "Shirin" not in captured.getvalue()


def test_a_bad_log_call_still_gives_one_line(captured):
    logging.getLogger("x").info("two %s %s", "arguments, one given")  # noqa: PLE1206 - on purpose
    [event] = events(captured)
    assert event["message"] == "two %s %s (unformattable arguments)"


def test_library_warnings_are_log_lines_too(captured):
    import warnings

    warnings.warn("something is deprecated", UserWarning, stacklevel=1)
    [event] = events(captured)
    assert event["logger"] == "py.warnings" and "something is deprecated" in event["message"]


def test_the_level_comes_from_the_flag_or_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(logs.LEVEL_ENV, "warning")
    assert logs.level_from_env() == "WARNING"
    monkeypatch.setenv(logs.LEVEL_ENV, "nonsense")
    assert logs.level_from_env() == "INFO"

    levels = []
    real_setup = logs.setup
    monkeypatch.setattr(logs, "setup", lambda level, *a, **k: (levels.append(level), real_setup(level, *a, **k))[1])
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    missing = str(tmp_path / "missing.toml")
    monkeypatch.setenv(logs.LEVEL_ENV, "ERROR")
    assert main(["check-config", missing]) == 2
    assert main(["--log-level", "DEBUG", "check-config", missing]) == 2
    assert levels == ["ERROR", "DEBUG"]
    # main() leaves logging as it found it (it is called in-process by tests).
    assert list(root.handlers) == handlers
    root.setLevel(level)


# --- a whole journey at DEBUG -------------------------------------------------------------------------

TITLE = "نیمکت سبز کنار ایستگاه"
DESCRIPTION = "شرح ویژهٔ آزمون لاگ؛ اگر سؤالی بود با ۰۹۱۲ ۳۴۵ ۶۷۸۹ تماس بگیرید."
VOTER_PHONE = "+989351112233"


@pytest.mark.slow  # the loopback Bot API server and the real polling loop
async def test_a_journey_at_debug_leaks_no_token_phone_or_citizen_text(tmp_path, captured):
    async with Harness(tmp_path, latency=0.002) as h:
        await h.start()
        author = h.person("telegram", 1501, first_name="Zhubin")
        h.state.add_user(1501, last_name="Citizenson")
        # A lost reply (error handler, traceback) and a 502 the transport repeats.
        h.state.add_fault("sendMessage", "drop", count=1, chat_id=1501)
        [sorry] = await author.send("/start")  # the first answer is lost: «try again»
        assert "خطایی پیش آمد" in text_of(sorry)
        await author.send("/start")
        await author.press("تجریش", until=containing("محلهٔ شما: تجریش ✅"))
        h.state.add_fault("editMessageText", "502", count=1)
        await write_proposal(author, TITLE, DESCRIPTION)
        staff = h.staff("telegram")
        await staff.wait(lambda msgs: msgs and b.APPROVE in str(msgs[-1].get("reply_markup")), chat_id=STAFF_CHAT)
        await staff.press(b.APPROVE, chat_id=STAFF_CHAT, until=lambda msgs: "✅ تأیید شد" in text_of(msgs[-1]))
        await make_votable(h)

        h.at("voting")
        voter = h.person("bale", 3101, first_name="Parvaneh")
        h.state.add_user(3101, phone_number=VOTER_PHONE)
        await choose_neighbourhood(voter, "تجریش")
        await voter.tap(b.VOTE)
        await voter.send("شماره‌ام ۰۹۳۵۱۱۱۲۲۳۳ است")  # typed, not shared: «please use the button»
        verified, _ballot = await voter.tap(b.SHARE_PHONE, count=2)
        assert "تأیید شد" in text_of(verified)

    found = events(captured)
    text = captured.getvalue()
    decoded = "\n".join(json.dumps(event, ensure_ascii=False) for event in found)
    # The filter had work to do: PTB's and aiosqlite's DEBUG lines with payloads, a traceback.
    loggers = {event["logger"].split(".")[0] for event in found}
    assert {"telegram", "aiosqlite", "handlers", "bot"} <= loggers, loggers
    assert any("Calling Bot API endpoint `sendMessage` with parameters `<dict:" in e["message"] for e in found)
    assert any(e["message"].startswith("Processing update <Update update_id") for e in found)
    [failure] = [e for e in found if e["logger"] == "handlers.errors"]
    assert failure["update_id"] and failure["platform"] == "telegram" and "Traceback" in failure["exc"]
    assert any(e["logger"] == "bot.messenger.transport" and "repeating" in e["message"] for e in found)

    secrets = [*TOKENS.values(), *(token.split(":")[1] for token in TOKENS.values())]
    phones = [VOTER_PHONE, VOTER_PHONE[1:], VOTER_PHONE[3:], "09351112233", "۰۹۳۵۱۱۱۲۲۳۳", "۰۹۱۲ ۳۴۵ ۶۷۸۹",
              "989120001501", "9120001501"]
    typed = [TITLE, "نیمکت سبز", "شرح ویژه", "آزمون لاگ", "شماره‌ام", "Zhubin", "Citizenson", "Parvaneh"]
    for needle in [*secrets, *phones, *typed]:
        assert needle not in text and needle not in decoded, needle
