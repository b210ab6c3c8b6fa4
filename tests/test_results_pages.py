"""Results of a neighbourhood with many winners (40 long titles) are complete: several messages, none cut."""
from __future__ import annotations

from bot.campaign.roles import Actor
from bot.campaign.services.proposals import new_tracking_code
from messages_fa import buttons as b
from messages_fa.fit import TEXT_LIMIT, units
from tests.conftest import TELEGRAM_ADMIN

TOOL = Actor.tool("test")


def _title(n: int) -> str:
    # 100 units, the configured most: the winners' list of a neighbourhood takes several messages.
    head = f"{n:02d} "
    return head + "بازسازی و نورپردازی پیاده‌روی خیابان اصلی محله با نیمکت و سطل زباله و درخت"[:100 - len(head)]


async def test_forty_winners_with_long_titles_all_shown_in_several_messages(bot):
    services, repos = bot.services, bot.services.repos
    bot.at("proposals")
    now = bot.clock.now()
    ids = []
    for n in range(40):
        citizen, _ = await services.citizens.enter("telegram", 5000 + n, 5000 + n)
        await repos.citizens.set_neighbourhood(citizen.id, "tajrish")
        await repos.drafts.update(citizen.id, now, category_id="sport", title=_title(n),
                                  description="شرح کافی برای این پیشنهاد")
        proposal = await repos.proposals.submit_draft(citizen.id, "tajrish", "telegram", new_tracking_code, 3, now)
        assert (await services.proposals.decide(TOOL, proposal.id, True)).proposal
        bot.at("review")
        assert (await services.proposals.judge(TOOL, proposal.id, True, "شدنی")).proposal
        assert (await services.proposals.set_cost(TOOL, proposal.id, "1000000")).proposal
        ids.append(proposal.id)
        bot.at("proposals")
    bot.at("voting")
    for n, proposal_id in enumerate(ids):  # one voter a proposal: all 40 win (40 M of a 5,000 M budget)
        voter, _ = await services.citizens.enter("telegram", 6000 + n, 6000 + n)
        await repos.citizens.set_neighbourhood(voter.id, "tajrish")
        assert (await repos.votes.cast(voter.id, proposal_id, "tajrish", 5, bot.clock.now()))[0] == "voted"
    bot.at("closed")
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/results")
    before = len(m.request.texts(TELEGRAM_ADMIN))
    await m.press(TELEGRAM_ADMIN, "تجریش")
    shown = m.request.texts(TELEGRAM_ADMIN)[before:]
    run = await services.results.published() or (await services.results.get(
        max(int(d.split(":")[2]) for _, d in m.buttons(TELEGRAM_ADMIN) if d.startswith("rs:v:"))))
    winners = [w for w in run.winners if w.neighbourhood_id == "tajrish"]
    assert len(winners) == 40
    assert len(shown) >= 2 and all(units(text) <= TEXT_LIMIT for text in shown)
    whole = "\n".join(shown)
    for n in range(40):
        assert whole.count(_title(n)) == 1, n  # every title once, whole
    assert "ماندهٔ بودجه" in shown[-1]  # the last line, on the last message
    # Citizens, once published, read the same, complete.
    await m.press(TELEGRAM_ADMIN, "📣 انتشار نتایج برای همه")
    await m.send(6000, b.RESULTS)
    citizen_view = "\n".join(m.request.texts(6000))
    assert all(citizen_view.count(_title(n)) == 1 for n in range(40))
