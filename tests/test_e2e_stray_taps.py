"""Issue 16, part 1 — stray taps and typing, end to end through the loopback Bot API: the real
polling loop, transport and persistence (tests/support/e2e.py).

Each test is one bullet of the issue: the 27-name message (edited after a choice, an old one
never moves anybody, "not found" does not pile up lists, the move is its own confirmed action), a
phone typed at verification, free text at the main menu, typos in names, /start in a group.
"""
from __future__ import annotations

import pytest

from messages_fa import buttons as b
from messages_fa import texts
from messages_fa.markup import PlainMarkup
from messages_fa.numbers import fa_number
from tests.support.e2e import containing, inline_labels, text_of
from tests.support.e2e_journeys import (
    GREEN,
    WELCOME,
    approved_proposal,
    assert_clean_logs,
    choose_neighbourhood,
    running,
)

pytestmark = pytest.mark.slow

TG, BALE = "telegram", "bale"
PLAIN = PlainMarkup()
GROUP = -100777


@pytest.fixture
async def e2e(tmp_path, caplog):
    async with running(tmp_path, caplog) as harness:
        yield harness


async def hood_of(e2e, person) -> str | None:
    [(hood,)] = await e2e.query("SELECT neighbourhood_id FROM citizens WHERE platform = ? AND user_id = ?",
                                person.platform, person.id)
    return hood


def live_lists(person) -> list[dict]:
    """The person's messages that still carry the full 27-name keyboard."""
    return [m for m in person.messages() if len(inline_labels(m)) == 27]


# --- the 27-name message ---------------------------------------------------------------------------

@pytest.mark.parametrize("platform", [TG, BALE])
async def test_a_chosen_list_shows_the_choice_and_an_old_list_pressed_mid_proposal_asks_first(e2e, caplog, platform):
    citizen = e2e.person(platform, 3101)
    [welcome] = await citizen.send("/start")
    # A partial name first: its few buttons stay on that older message.
    [several] = await citizen.send("شهرک")
    assert set(inline_labels(several)) == {"شهرک نفت", "دانشگاه (شهرک گل‌ها)", b.ALL_NEIGHBOURHOODS}
    assert len(live_lists(citizen)) == 1  # no new 27-button message for it
    await citizen.press("تجریش", until=containing(texts.neighbourhood_set(PLAIN, "تجریش")))
    # The list shows the choice and lost its buttons, in place (no other message).
    chosen = await citizen.wait(lambda msgs: [m for m in msgs if m["message_id"] == welcome["message_id"]
                                              and not inline_labels(m)])
    assert text_of(chosen[0]).endswith("✅ تجریش") and WELCOME in text_of(chosen[0])
    assert live_lists(citizen) == []

    # Writing a proposal, the old partial-name message is pressed.
    [ask] = await citizen.tap(b.SEND_PROPOSAL)
    await citizen.press(GREEN, until=containing("گام ۲ از ۴"))
    [ask] = await citizen.send("سایه‌بان برای ایستگاه")
    assert "گام ۳ از ۴" in text_of(ask)
    count = len(citizen.messages())
    await citizen.press("شهرک نفت", until=containing("آیا می‌خواهید محلهٔ خود را به"))
    asked = citizen.message(several["message_id"])
    assert "محلهٔ کنونی شما تجریش است" in text_of(asked)
    assert "پیشنهاد نیمه‌کارهٔ شما نگه داشته می‌شود و برای محلهٔ شهرک نفت فرستاده می‌شود" in text_of(asked)
    assert "پس از نخستین رأی، محلهٔ شما دیگر تغییر نمی‌کند" in text_of(asked)
    assert inline_labels(asked) == [b.move_to("شهرک نفت"), b.stay_in("تجریش")]
    assert len(citizen.messages()) == count  # edited in place
    assert await hood_of(e2e, citizen) == "tajrish"  # nothing moved on the tap alone

    # The step is kept: the next text is the description.
    [ask] = await citizen.send("یک سایه‌بان برای ایستگاه اتوبوس تا مسافران زیر آفتاب نمانند.")
    assert "گام ۴ از ۴" in text_of(ask)
    # Yes: moved, and the draft goes along.
    await citizen.press(b.move_to("شهرک نفت"), until=containing("محلهٔ شما به شهرک نفت تغییر کرد ✅"))
    assert await hood_of(e2e, citizen) == "shahrak-naft"
    assert inline_labels(citizen.message(several["message_id"])) == []
    [preview] = await citizen.tap(b.CONTINUE)
    assert "پیش‌نمایش پیشنهاد شما" in text_of(preview) and "شهرک نفت" in text_of(preview)
    await citizen.press(b.CONFIRM, until=containing("کد پیگیری"))
    assert await e2e.query("SELECT neighbourhood_id, title FROM proposals") == [("shahrak-naft", "سایه‌بان برای ایستگاه")]
    assert_clean_logs(caplog)


async def test_not_found_answers_add_no_live_lists_and_the_full_list_comes_on_request(e2e, caplog):
    citizen = e2e.person(TG, 3102)
    await citizen.send("/start")
    for typed in ("پاریس", "لندن", "12345"):
        [answer] = await citizen.send(typed)
        assert "پیدا نشد" in text_of(answer) and inline_labels(answer) == [b.ALL_NEIGHBOURHOODS]
    assert len(live_lists(citizen)) == 1  # the welcome's, still unanswered
    # Asked for: the "not found" message itself becomes the list.
    count = len(citizen.messages())
    await citizen.press(b.ALL_NEIGHBOURHOODS, until=lambda msgs: len(live_lists(citizen)) == 2)
    assert len(citizen.messages()) == count
    await citizen.press("دربند", until=containing(texts.neighbourhood_set(PLAIN, "دربند")))
    assert await hood_of(e2e, citizen) == "darband"
    assert_clean_logs(caplog)


async def test_changing_the_neighbourhood_is_its_own_confirmed_action(e2e, caplog):
    citizen = e2e.person(BALE, 3103)
    await choose_neighbourhood(citizen, "تجریش")
    [question] = await citizen.tap(b.CHANGE_NEIGHBOURHOOD)
    assert "محلهٔ کنونی شما: تجریش" in text_of(question) and len(inline_labels(question)) == 27
    await citizen.press("دربند", until=containing("آیا می‌خواهید محلهٔ خود را به دربند تغییر دهید؟"))
    assert "پیشنهاد نیمه‌کاره" not in text_of(citizen.message(question["message_id"]))  # there is none
    await citizen.press(b.stay_in("تجریش"), until=containing(texts.stayed(PLAIN, "تجریش")))
    assert await hood_of(e2e, citizen) == "tajrish"
    # The answered question is not a way to move later either.
    assert inline_labels(citizen.message(question["message_id"])) == []

    [question] = await citizen.tap(b.CHANGE_NEIGHBOURHOOD)
    await citizen.press("دربند", until=containing("آیا می‌خواهید"))
    await citizen.press(b.move_to("دربند"), until=containing(texts.moved(PLAIN, "دربند", False)))
    assert await hood_of(e2e, citizen) == "darband"
    assert_clean_logs(caplog)


# --- a phone typed at verification ------------------------------------------------------------------

async def test_a_typed_phone_at_verification_gets_use_the_button_and_keeps_the_keyboard(e2e, caplog):
    await approved_proposal(e2e)
    e2e.at("voting")
    voter = e2e.person(TG, 3201)
    await choose_neighbourhood(voter, "تجریش")
    [ask] = await voter.tap(b.VOTE)
    assert text_of(ask) == texts.ask_phone()
    for typed in ("09121234567", "۰۹۱۲۱۲۳۴۵۶۷", "+98 912 123 4567"):
        [answer] = await voter.send(typed)
        assert text_of(answer) == texts.phone_typed()
        keyboard = voter.reply_keyboard()
        assert keyboard["keyboard"][0][0] == {"text": b.SHARE_PHONE, "request_contact": True}
    [(verified,)] = await e2e.query("SELECT verified_at IS NOT NULL FROM citizens WHERE user_id = ?", voter.id)
    assert not verified
    # The place is kept: the button goes on to the ballot.
    verified_msg, ballot = await voter.tap(b.SHARE_PHONE, count=2)
    assert text_of(verified_msg) == texts.phone_verified() and text_of(ballot).startswith("پیشنهادهای محلهٔ تجریش")
    assert_clean_logs(caplog)


# --- free text at the main menu ---------------------------------------------------------------------

PROPOSAL_TYPED = ("سلام، پیشنهاد من این است که در پارک محله چند سطل زباله و یک آب‌خوری گذاشته شود "
                  "چون بچه‌ها و سالمندان عصرها آنجا هستند.")


async def test_a_proposal_typed_at_the_menu_is_offered_and_becomes_the_description(e2e, caplog):
    citizen = e2e.person(TG, 3301)
    await choose_neighbourhood(citizen, "دربند")
    [offer] = await citizen.send(PROPOSAL_TYPED)
    assert texts.from_text_offer(PLAIN, "دربند") == text_of(offer)
    assert inline_labels(offer) == [b.START_FROM_TEXT, b.NOT_FROM_TEXT]
    await citizen.press(b.START_FROM_TEXT, until=containing("گام ۱ از ۴"))
    assert inline_labels(citizen.message(offer["message_id"])) == []
    await citizen.press(GREEN, until=containing("گام ۲ از ۴"))
    # The title, then straight to the photo step: the description is the text typed at the menu.
    [ask] = await citizen.send("سطل زباله و آب‌خوری در پارک")
    assert "گام ۴ از ۴" in text_of(ask)
    [preview] = await citizen.tap(b.CONTINUE)
    assert "آب‌خوری گذاشته شود" in text_of(preview)
    await citizen.press(b.CONFIRM, until=containing("کد پیگیری"))
    assert await e2e.query("SELECT title, description FROM proposals") == [
        ("سطل زباله و آب‌خوری در پارک", PROPOSAL_TYPED)]
    assert_clean_logs(caplog)


async def test_greetings_forwards_and_long_texts_are_no_dead_end(e2e, caplog):
    citizen = e2e.person(BALE, 3302)
    await choose_neighbourhood(citizen, "دربند")
    [answer] = await citizen.send("سلام")  # too short to be a proposal: what can be done now
    assert f"دکمهٔ «{b.SEND_PROPOSAL}»" in text_of(answer) and b.SEND_PROPOSAL in citizen.menu()
    # A forwarded post: offered too; "no" drops the kept text.
    e2e.state.forward(citizen.token, citizen.id, PROPOSAL_TYPED)
    [offer] = await citizen.new_messages()
    assert inline_labels(offer) == [b.START_FROM_TEXT, b.NOT_FROM_TEXT]
    await citizen.press(b.NOT_FROM_TEXT, until=containing(texts.from_text_declined()))
    assert await e2e.query("SELECT count(*) FROM drafts") == [(0,)]
    # Longer than a description may be: said so, with the way to send one.
    limit = e2e.config.limits.description_length
    [answer] = await citizen.send("درخت " * (limit // 4))
    assert f"حداکثر {fa_number(limit)}" in text_of(answer) and b.SEND_PROPOSAL in text_of(answer)
    # Voting: pointed to the ballot instead.
    e2e.at("voting")
    [answer] = await citizen.send(PROPOSAL_TYPED)
    assert f"دکمهٔ «{b.VOTE}»" in text_of(answer) and b.VOTE in citizen.menu()
    assert_clean_logs(caplog)


# --- typos in names ---------------------------------------------------------------------------------

async def test_a_name_with_a_typo_offers_the_closest_names_and_never_guesses(e2e, caplog):
    citizen = e2e.person(TG, 3401)
    await citizen.send("/start")
    [answer] = await citizen.send("نیاورن")  # a letter missing
    assert text_of(answer) == texts.neighbourhood_close(PLAIN, "نیاورن")
    assert inline_labels(answer)[0] == "نیاوران" and len(inline_labels(answer)) <= 4
    assert await hood_of(e2e, citizen) is None  # offered, not chosen
    [answer] = await citizen.send("زعفرنیه")
    assert inline_labels(answer)[:2] == ["زعفرانیه", "فرمانیه"]  # the closest two, best first
    await citizen.press("نیاوران", until=containing(texts.neighbourhood_set(PLAIN, "نیاوران")))
    assert await hood_of(e2e, citizen) == "niavaran"

    other = e2e.person(BALE, 3402)
    await other.send("/start")
    await other.send("زعفرانيه", count=1)  # Arabic yeh: the normalization finds it exactly
    assert await hood_of(e2e, other) == "zafaranieh"
    assert_clean_logs(caplog)


# --- groups -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("platform, link", [(TG, "https://t.me/manshahrdaram_bot"),
                                            (BALE, "https://ble.ir/manshahrdaram_bale_bot")])
async def test_start_or_help_in_a_group_answers_once_with_a_button_into_the_private_chat(e2e, caplog,
                                                                                          platform, link):
    e2e.state.add_group(GROUP, title="گروه همسایگان")
    neighbour = e2e.person(platform, 3501)
    for n, command in enumerate(("/start", "/help@" + link.rsplit("/", 1)[1]), start=1):
        e2e.state.send_text(neighbour.token, neighbour.id, command, chat_id=GROUP)
        answer = (await neighbour.wait(lambda msgs, n=n: len(msgs) >= n, chat_id=GROUP))[-1]
        assert text_of(answer) == texts.group_start()
        markup = answer["reply_markup"]["inline_keyboard"]
        assert markup == [[{"text": b.OPEN_PRIVATE_CHAT, "url": link}]]
    assert len(neighbour.messages(GROUP)) == 2
    assert neighbour.messages() == []  # nothing in private
    assert_clean_logs(caplog)
