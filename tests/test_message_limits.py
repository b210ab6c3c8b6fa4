"""Issue 12, item 6: lengths as the messengers count them (UTF-16 code units), and every message
the bot composes within its limit, whatever the config allows.

The recording API refuses, as Telegram does, a text over 4,096 or a caption over 1,024 units of
what a person reads; here every input is the longest the config lets through, with emoji (two
units each) and «<&» (which HTML escaping makes longer), on both messengers.
"""
from __future__ import annotations

import dataclasses

import pytest

from bot.campaign.config import DESCRIPTION_LENGTH, LIST_MOST, NAME_MOST, TITLE_LENGTH, Category, Neighbourhood
from bot.campaign.money import MAX_COST
from bot.campaign.roles import Actor
from bot.campaign.services.ambassadors import NAME_LENGTH
from bot.campaign.services.proposals import MAX_REASON, TextCheck
from bot.devtools.localapi.validate import render_text
from messages_fa import ambassadors as amb
from messages_fa import broadcasts as bc
from messages_fa import buttons as b
from messages_fa import results as rt
from messages_fa import staff as st
from messages_fa import texts
from messages_fa.fit import CAPTION_LIMIT, TEXT_LIMIT, cut, fit, fit_lines, pages, shorten, units
from messages_fa.markup import HtmlMarkup, PlainMarkup
from messages_fa.numbers import fa_digits
from tests.conftest import BALE_ADMIN, STAFF_CHAT, TELEGRAM_ADMIN, make_config

HTML, PLAIN = HtmlMarkup(), PlainMarkup()
NAME_UNITS = NAME_MOST  # the longest neighbourhood or category name the config accepts
TITLE_UNITS, DESCRIPTION_UNITS = TITLE_LENGTH[1], DESCRIPTION_LENGTH[1]  # the limits at their most
HOODS = LIST_MOST  # as many neighbourhoods as the config accepts


def exactly(units_wanted: int, chunk: str) -> str:
    """``chunk`` repeated to exactly ``units_wanted`` UTF-16 units (topped up with «ا»)."""
    text = ""
    while units(text + chunk) <= units_wanted:
        text += chunk
    return text + "ا" * (units_wanted - units(text))


TITLE = exactly(TITLE_UNITS, "ش<&😀")
DESCRIPTION = exactly(DESCRIPTION_UNITS, "زمین <بازی> & 😀 ")
REASON = exactly(MAX_REASON, "دلیل <رد> & 😀 ")


@pytest.fixture
def config(tmp_path):
    base = make_config(tmp_path, title_length=TITLE_UNITS, description_length=DESCRIPTION_UNITS,
                       proposals_per_citizen=20, proposals_per_day=20, votes_per_citizen=60,
                       show_vote_counts=True)
    hoods = [Neighbourhood(n.id, exactly(NAME_UNITS, n.name + " <&😀")) for n in base.neighbourhoods]
    hoods += [Neighbourhood(f"h{i}", exactly(NAME_UNITS, f"محلهٔ {fa_digits(i)} <&😀")) for i in range(len(hoods), HOODS)]
    categories = [Category(c.id, exactly(NAME_UNITS, c.name + " <&😀")) for c in base.categories]
    return dataclasses.replace(base, neighbourhoods=tuple(hoods), categories=tuple(categories),
                               results=dataclasses.replace(base.results, rule="greedy", default_budget=MAX_COST))


def shown_units(call) -> tuple[str, int, int] | None:
    for key, limit in (("text", TEXT_LIMIT), ("caption", CAPTION_LIMIT)):
        value = call.params.get(key)
        if isinstance(value, str) and call.method != "answerCallbackQuery":
            return key, units(render_text(value, call.params.get("parse_mode"), caption=key == "caption")), limit
    return None


def assert_every_message_sent(bot) -> int:
    """No call was refused, and each composed text was within its limit; returns the longest."""
    longest = 0
    for name, messenger in bot.messengers.items():
        for call in messenger.request.calls:
            assert call.ok, (name, call.method, call.status, str(call.params.get("text"))[:200])
            if (measured := shown_units(call)) is not None:
                key, size, limit = measured
                assert size <= limit, (name, call.method, key, size)
                longest = max(longest, size)
    return longest


def hood_label(config, hood_id: str) -> str:
    return config.neighbourhood(hood_id).name


# -- the helpers ----------------------------------------------------------------------------------


def test_units_count_as_the_messengers_do():
    assert units("abc") == 3 and units("سلام") == 4
    assert units("😀") == 2 and units("👨‍👩‍👧") == 8 and units("𝟏") == 2


@pytest.mark.parametrize("text", ["😀" * 50, "ش😀" * 30, "👨‍👩‍👧" * 10, "سلام دنیا " * 20, "e\u0301" * 40])
def test_shorten_keeps_within_the_limit_and_whole_characters(text):
    for limit in range(1, 60):
        short = shorten(text, limit)
        assert units(short) <= limit
        assert short.endswith("…") or short == "" or short == text
        body = short.removesuffix("…")
        assert text.startswith(body)  # no half of a surrogate pair, nothing invented
        assert not body.endswith("\u200d")  # never a joiner left dangling
        rest = text[len(body):]
        assert not rest or rest[0] not in "\u200d\u0301"  # a character never loses its mark


def test_cut_never_splits_a_tag_or_an_entity_and_closes_what_is_open():
    text = "\n".join(f"<b>{fa_digits(i)}. {HTML.esc('<&> ' * 20)}</b> {HTML.esc('😀&')}" for i in range(200))
    for limit in (5, 17, 100, 1000, TEXT_LIMIT):
        short = cut(HTML, text, limit)
        plain = render_text(short, "HTML")  # the loopback server's parser: refuses broken HTML
        assert units(plain) <= limit and plain.endswith("…")


def test_fit_shortens_the_part_and_keeps_the_rest_whole():
    text = fit(HTML, lambda part: f"<b>سر</b>\n{part}\n<i>پایان</i>", "<&😀" * 3000, 500)
    plain = render_text(text, "HTML")
    assert units(plain) == 500 and plain.startswith("سر\n<&😀") and plain.endswith("…\nپایان")


def test_fit_lines_and_pages():
    lines = [f"سطر {fa_digits(i)} " + "😀" * 50 for i in range(300)]
    text = fit_lines(PLAIN, ["سر"], lines, ["پایان"], texts.more_left_out)
    assert units(text) <= TEXT_LIMIT and text.startswith("سر\nسطر ۰") and text.endswith("مورد دیگر\nپایان")
    split = pages(HTML, [HTML.bold(HTML.esc(line)) for line in lines])
    assert len(split) > 1 and all(units(render_text(p, "HTML")) <= TEXT_LIMIT for p in split)
    assert sum(p.count("سطر") for p in split) == 300  # nothing lost


# -- typed lengths ----------------------------------------------------------------------------------


async def test_a_description_of_3000_emoji_is_3000_too_long(bot):
    """The issue's case: 3,000 emoji passed a check of 3,000 characters, then the preview failed."""
    tg = bot.telegram
    await tg.send(1001, "/start")
    await tg.press(1001, hood_label(bot.config, "tajrish"))
    await tg.send(1001, b.SEND_PROPOSAL)
    await tg.press(1001, bot.config.category("sport").name)
    await tg.send(1001, "زمین بازی")
    await tg.send(1001, "😀" * 3000)
    assert "۶٬۰۰۰ حرف" in tg.last_text(1001) and "۳٬۰۰۰ حرف" in tg.last_text(1001)
    citizen = await bot.services.repos.citizens.find("telegram", 1001)
    assert (await bot.services.proposals.draft(citizen)).description is None
    assert (await bot.services.proposals.set_description(citizen, "زمین " + "😀" * 1497)).check is TextCheck.OK
    assert_every_message_sent(bot)


async def test_a_reason_is_counted_in_utf16_units(bot):
    citizen, proposal = await seed(bot, 1, approve=False)
    result = await bot.services.proposals.decide(Actor.person("telegram", 900), proposal[0].id, False,
                                                 "😀" * (MAX_REASON // 2 + 1))
    assert result.decision.name == "TOO_LONG"


async def test_an_ambassador_name_is_counted_in_utf16_units(bot):
    services = bot.services
    citizen, _ = await services.citizens.enter("telegram", 1001, 1001)
    await services.ambassadors.start_form(citizen)
    assert (await services.ambassadors.set_name(citizen, "ش" + "😀" * (NAME_LENGTH[1] // 2))).name == "TOO_LONG"
    # Exactly the limit: two letters (a name needs visible letters) and emoji, two units each.
    assert (await services.ambassadors.set_name(citizen, "شش" + "😀" * (NAME_LENGTH[1] // 2 - 1))).name == "OK"


# -- composed messages at the config's limits ---------------------------------------------------------


async def seed(bot, count: int, hood: str = "tajrish", first_user: int = 5000, approve: bool = True,
               cost: int = MAX_COST, author: int | None = None):
    """``count`` proposals of the longest title and description; approved, feasible and costed."""
    services, made = bot.services, []
    citizen = None
    for n in range(count):
        user = author or first_user + n
        citizen, _ = await services.citizens.enter("telegram", user, user)
        await services.citizens.choose_neighbourhood(citizen, hood)
        citizen = await services.repos.citizens.get(citizen.id)
        await services.proposals.start(citizen)
        assert await services.proposals.set_category(citizen, "sport")
        assert (await services.proposals.set_title(citizen, TITLE)).check is TextCheck.OK
        assert (await services.proposals.set_description(citizen, DESCRIPTION)).check is TextCheck.OK
        proposal = (await services.proposals.submit(citizen)).proposal
        assert proposal is not None
        if approve:
            assert (await services.proposals.decide(Actor.person("telegram", 900), proposal.id, True)).proposal
            assert (await services.proposals.judge(Actor.person("telegram", 900), proposal.id, True, REASON)).proposal
            assert (await services.proposals.set_cost(Actor.person("telegram", 900), proposal.id, str(cost))).proposal
        made.append(await services.proposals.get(proposal.id))
    return citizen, made


@pytest.mark.parametrize("platform", ["telegram", "bale"])
async def test_the_longest_proposal_previews_goes_to_staff_and_comes_back_decided(bot, platform):
    m, user = bot.messengers[platform], 1001
    await m.send(user, "/start")
    await m.press(user, hood_label(bot.config, "tajrish"))
    await m.send(user, b.SEND_PROPOSAL)
    await m.press(user, bot.config.category("sport").name)
    await m.send(user, TITLE)
    await m.send(user, DESCRIPTION)
    await m.update(m.updates.photo(user))
    await m.update(m.updates.location(user, 35.8, 51.4))
    await m.send(user, b.CONTINUE)
    preview = m.request.last(user)["text"]
    assert units(render_text(preview, m.request.calls_to("sendMessage")[-1].params.get("parse_mode"))) > 3000
    assert "…" not in preview  # it fits whole: the citizen sees all they wrote
    await m.press(user, b.CONFIRM)
    await bot.settle()
    proposal = (await bot.services.repos.proposals.by_citizen(
        (await bot.services.repos.citizens.find(platform, user)).id))[0]
    # The cards on both messengers, closed with the longest outcome; the author told.
    decided = (await bot.services.proposals.decide(Actor.person("telegram", 900), proposal.id, False, REASON)).proposal
    await bot.notifier.close_staff_cards(decided, "😀" * 64 + " <&>")
    await bot.notifier.tell_author(decided)
    for messenger, chat in ((bot.telegram, STAFF_CHAT), (bot.bale, BALE_ADMIN)):
        card = [t for t in messenger.request.texts(chat) if t and "رد شد" in t]
        assert card and card[-1].endswith(REASON if messenger is bot.bale else HTML.esc(REASON))
    assert "دلیل" in m.last_text(user)
    assert assert_every_message_sent(bot) > 3000


async def test_the_staff_queue_and_review_cards_of_the_longest_proposal(bot):
    await seed(bot, 2, approve=False)
    tg = bot.telegram
    await tg.send(TELEGRAM_ADMIN, "/review")
    await tg.press(TELEGRAM_ADMIN, "⏭ بعدی")
    for proposal in await bot.services.repos.proposals.by_citizen(
            (await bot.services.repos.citizens.find("telegram", 5000)).id):
        await bot.services.proposals.decide(Actor.person("telegram", 900), proposal.id, True)
        await bot.services.proposals.judge(Actor.person("telegram", 900), proposal.id, True, REASON)
    await tg.send(TELEGRAM_ADMIN, "/feasibility")
    await tg.send(TELEGRAM_ADMIN, "/audit")
    assert assert_every_message_sent(bot) > 3000


async def test_a_ballot_of_the_longest_titles_page_by_page(bot):
    await seed(bot, 12)
    bot.at("voting")
    tg, voter = bot.telegram, 2001
    await tg.send(voter, "/start")
    await tg.press(voter, hood_label(bot.config, "tajrish"))
    await tg.send(voter, b.VOTE)
    await tg.update(tg.updates.contact(voter, "+989121234567"))
    for n in range(1, 6):
        await tg.press(voter, b.vote_button(fa_digits(n), False))
    for _label, data in tg.buttons(voter):
        if data and data.startswith("p:") and data != "p:0":
            await tg.press_data(voter, data)
            break
    assert assert_every_message_sent(bot) > 2000


async def test_my_proposals_with_the_longest_titles_and_reasons(bot):
    citizen, made = await seed(bot, 12, approve=False, author=3001)
    for n, proposal in enumerate(made):
        if n % 2:
            await bot.services.proposals.decide(Actor.person("telegram", 900), proposal.id, False, REASON)
        else:
            await bot.services.proposals.decide(Actor.person("telegram", 900), proposal.id, True)
            await bot.services.proposals.judge(Actor.person("telegram", 900), proposal.id, False, REASON)
    await bot.telegram.send(3001, b.MY_PROPOSALS)
    await bot.notifier.tell_untold_authors()
    await bot.notifier.tell_untold_reviews()
    assert "پیشنهادهای شما" in bot.telegram.last_text(3001) or any(
        "پیشنهادهای شما" in (t or "") for t in bot.telegram.request.texts(3001))
    assert assert_every_message_sent(bot) > 2000


async def test_results_of_many_neighbourhoods_and_many_winners(bot):
    citizen, made = await seed(bot, 80, cost=1000)
    bot.at("voting")
    voter, _ = await bot.services.citizens.enter("telegram", 2001, 2001)
    await bot.services.citizens.choose_neighbourhood(voter, "tajrish")
    for proposal in made:
        assert (await bot.services.repos.votes.cast(voter.id, proposal.id, "tajrish", 100, bot.clock.now()))[0] == "voted"
    bot.at("closed")
    tg = bot.telegram
    await tg.send(TELEGRAM_ADMIN, "/results")
    run = await bot.services.results.compute(Actor.person("telegram", TELEGRAM_ADMIN))
    assert len([w for w in run.winners if w.neighbourhood_id == "tajrish"]) == 80
    await tg.press_data(TELEGRAM_ADMIN, f"rs:v:{run.id}:{[n.id for n in bot.config.neighbourhoods].index('tajrish')}")
    shown = "\n".join(t or "" for t in tg.request.texts(TELEGRAM_ADMIN))
    assert all(f"\n{fa_digits(i)}. " in shown for i in range(1, 81))  # every winner, over several messages
    await tg.press_data(TELEGRAM_ADMIN, f"rs:p:{run.id}")
    await tg.send(2001, "/start")
    await tg.send(2001, b.RESULTS)
    assert rt.OTHER_NEIGHBOURHOODS in tg.last_text(2001)
    assert assert_every_message_sent(bot) > 3000


# -- overviews, composed directly at their largest --------------------------------------------------


@pytest.mark.parametrize("m", [HTML, PLAIN], ids=["html", "plain"])
def test_overviews_of_every_neighbourhood_fit(m):
    name = exactly(NAME_UNITS, "نام <&😀")
    lines = [amb.neighbourhood_line(m.esc(name), 500, (10**6, 10**6, 10**6, 10**6)) for _ in range(HOODS)]
    leaders = [amb.leader_line(i, m.esc(exactly(80, "سفیر <&😀")), m.esc(name), 10**6, 10**6) for i in range(10)]
    broadcasts = (bc.list_text([bc.list_item(i, "sending", "پنجشنبه ۵ آذر ۱۴۰۵، ساعت ۹:۰۰",
                                             bc.audience_label("neighbourhoods", [name] * HOODS, "bale"),
                                             "…" * 41, 10**6, 10**6) for i in range(50)]),
                  bc.preview_summary(bc.audience_label("neighbourhoods", [name] * HOODS, None), 10**6,
                                     {"telegram": 10**6, "bale": 10**6}, True),
                  bc.ask_neighbourhoods([name] * HOODS, 10**6))  # plain text on both messengers
    marked = (amb.overview(m, lines, leaders, 10**6, 10**6),
              amb.figures((10**6,) * 4, [(f"پنجشنبه {fa_digits(i)} آذر ۱۴۰۵", (10**6,) * 4) for i in range(365)]),
              st.backlog(m, [(name, 10**6)] * HOODS),
              texts.neighbourhood_not_found(m, "<&😀" * 2000),
              texts.neighbourhood_several(m, "<&😀" * 2000),
              *rt.preview(m, 1, "greedy", [(name, 10**4, MAX_COST, MAX_COST, 10**6)] * HOODS, "ریال", False))
    for text, mode in [(text, None) for text in broadcasts] + [(text, m.parse_mode) for text in marked]:
        plain = render_text(text, mode)
        assert units(plain) <= TEXT_LIMIT, text[:100]
