"""Who may do what: every staff command and every staff button, pressed by every role.

The table is bot/roles.py's ACTIONS; this test holds each entry point against it, so a command or
button added without a role check (or with the wrong one) fails here.
"""
from __future__ import annotations

import dataclasses

import pytest

from bot.roles import ACTIONS, Role
from messages_fa import broadcasts as bt
from messages_fa import staff as st
from messages_fa import stats as stt
from messages_fa import texts
from storage.models import Audience
from tests.conftest import Bot, ManualClock, make_config, phase_moments

ADMIN, MODERATOR, REVIEWER, CITIZEN = 900, 910, 920, 930
ROLES = {ADMIN: Role.ADMIN, MODERATOR: Role.MODERATOR, REVIEWER: Role.REVIEWER, CITIZEN: None}

COMMANDS = [  # (command, action)
    ("/broadcast", "broadcast"), ("/broadcasts", "broadcast"), ("/schedule", "schedule"),
    ("/ambassadors", "ambassadors"), ("/review", "moderate"), ("/feasibility", "review"), ("/audit", "audit"),
    ("/stats", "stats"), ("/export", "export"), ("/results", "results"),
]
# (callback data made from the seeded ids, action)
BUTTONS = [
    (lambda ids: f"m:a:{ids['pending']}", "moderate"),
    (lambda ids: f"rv:a:{ids['pending']}", "moderate"),
    (lambda ids: f"rv:rr:{ids['pending']}:0", "moderate"),
    (lambda ids: f"rv:cc:{ids['pending']}:0", "moderate"),
    (lambda ids: f"rv:d:{ids['pending']}", "moderate"),
    (lambda ids: f"fz:y:{ids['approved']}:u", "review"),
    (lambda ids: f"fz:n:{ids['approved']}:u", "review"),
    (lambda ids: f"fz:c:{ids['approved']}", "review"),
    (lambda ids: f"fz:s:{ids['approved']}", "review"),
    (lambda ids: f"rv:n:{ids['pending']}", "moderate"),
    (lambda ids: f"rv:r:{ids['pending']}", "moderate"),
    (lambda ids: f"bc:go:{ids['draft']}", "broadcast"),
    (lambda ids: f"bc:x:{ids['draft']}", "broadcast"),
    (lambda ids: "cal:mv:1", "schedule"),
    (lambda ids: f"amb:a:{ids['applicant']}", "ambassadors"),
    (lambda ids: "amb:p:0", "ambassadors"),
    (lambda ids: "au:0", "audit"),
    (lambda ids: "rs:c", "results"),
]
REFUSALS = {texts.staff_only(), st.not_for_you(), bt.staff_command_only(), stt.stats_refused(),
            stt.export_refused()}


@pytest.fixture
async def staffed(tmp_path):
    config = make_config(tmp_path)
    telegram = dataclasses.replace(config.platforms["telegram"], admins=frozenset({ADMIN}),
                                   moderators=frozenset({MODERATOR}), reviewers=frozenset({REVIEWER}))
    config = dataclasses.replace(config, platforms={**config.platforms, "telegram": telegram})
    bot = await Bot(config, ManualClock(phase_moments(config)["proposals"])).start()
    services = bot.services
    ids = {}
    for user, key in ((1801, "pending"), (1802, "approved")):
        citizen, _ = await services.citizens.enter("telegram", user, user)
        await services.citizens.choose_neighbourhood(citizen, "tajrish")
        citizen = await services.repos.citizens.get(citizen.id)
        await services.proposals.start(citizen)
        for setter, text in (("set_title", f"عنوان پیشنهاد {user}"), ("set_description", "شرح کافی برای این پیشنهاد")):
            await getattr(services.proposals, setter)(citizen, text)
        await services.proposals.set_category(citizen, config.categories[0].id)
        ids[key] = (await services.proposals.submit(citizen)).proposal.id
    await services.proposals.decide(True, "telegram:900", ids["approved"], True)
    draft = await services.broadcasts.draft("telegram", ADMIN, "text", "آزمایش", None, None)
    await services.broadcasts.choose(draft.id, Audience())
    ids["draft"] = draft.id
    applicant, _ = await services.citizens.enter("telegram", 1803, 1803)
    await services.repos.ambassadors.start_draft(applicant.id, bot.clock.now())
    await services.repos.ambassadors.update_draft(applicant.id, full_name="سفیر آزمایشی", neighbourhood_id="tajrish",
                                                  groups="گروه", phone="+989120000000")
    await services.repos.ambassadors.submit(applicant.id, bot.clock.now())
    ids["applicant"] = applicant.id
    bot.ids = ids
    yield bot
    await bot.stop()
    assert not bot.errors, bot.errors


def allowed(user: int, action: str) -> bool:
    return ROLES[user] in ACTIONS[action]


def test_every_action_in_the_table_is_exercised():
    assert {action for _, action in COMMANDS} | {action for _, action in BUTTONS} == set(ACTIONS)


@pytest.mark.parametrize("user", list(ROLES))
@pytest.mark.parametrize("command, action", COMMANDS)
async def test_commands(staffed, user, command, action):
    m = staffed.telegram
    await m.send(user, command)
    await staffed.settle()
    answers = [c.params.get("text") for c in m.request.calls if c.params.get("chat_id") == user
               and c.method == "sendMessage"]
    assert answers, f"{command} by {user} got no answer"
    refused = answers[-1] in REFUSALS
    assert refused != allowed(user, action), (command, user, answers[-1])


@pytest.mark.parametrize("user", list(ROLES))
@pytest.mark.parametrize("make, action", BUTTONS)
async def test_buttons(staffed, user, make, action):
    m = staffed.telegram
    await m.send(user, "/start")  # a message of the bot's in their chat to press on
    data = make(staffed.ids)
    before = await _state(staffed)
    await m.app.process_update(m.updates.callback(user, m.request.last(user), data))
    await staffed.settle()
    alerts = m.alerts()
    refused = bool(alerts) and alerts[-1] in REFUSALS
    assert refused != allowed(user, action), (data, user, alerts[-1:])
    if refused:
        assert await _state(staffed) == before  # and nothing changed


async def _state(bot) -> tuple:
    repos = bot.services.repos
    return (
        [(p.status, p.category_id, p.feasibility) for p in
         [await repos.proposals.get(bot.ids["pending"]), await repos.proposals.get(bot.ids["approved"])]],
        (await repos.broadcasts.get(bot.ids["draft"])).status,
        (await repos.ambassadors.get(bot.ids["applicant"])).status,
        bot.services.calendar.current,
        await repos.staff_inputs.expected("telegram", CITIZEN, bot.clock.now().replace(year=2000)),
        len(await repos.audit.recent(100)),
    )


async def test_buttons_outside_the_table_are_refused(staffed):
    m = staffed.telegram
    await m.send(ADMIN, "/start")
    for data in ("zz:1", "rv:zz:1", "fz:q:1", "amb:q:1", "au:x", "bc:go:x", "cal:mv:x"):
        before = len(m.alerts())
        await m.app.process_update(m.updates.callback(ADMIN, m.request.last(ADMIN), data))
        assert len(m.alerts()) == before + 1 and m.alerts()[-1] == texts.button_expired(), data


def test_every_staff_command_has_its_action():
    from bot.roles import COMMAND_ACTIONS
    from messages_fa.texts import STAFF_COMMANDS
    assert {name for name, _ in STAFF_COMMANDS} == set(COMMAND_ACTIONS) == {c.lstrip("/") for c, _ in COMMANDS}
    assert all(COMMAND_ACTIONS[c.lstrip("/")] == action for c, action in COMMANDS)
