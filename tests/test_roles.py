"""Who may do what: every command and every button prefix, used by every role.

The table: every command in COMMANDS and CITIZEN_COMMANDS, every callback prefix in BUTTONS and
CITIZEN_BUTTONS, each with who may use it — a staff action of bot/campaign/roles.py's ACTIONS (admin /
moderator / reviewer), approved ambassadors, or everyone. Each is tried by every role (admin,
moderator, reviewer, approved ambassador, plain citizen) and must be refused exactly when the role
is not in the table; a refused press changes nothing. The table is checked against the handlers
the application really registers, so a command or button prefix added without a row here fails,
and anything outside the table gets "this button has expired".
"""
from __future__ import annotations

import dataclasses

import pytest

from bot.campaign.roles import ACTIONS, Actor, Role
from domain import Audience
from messages_fa import ambassadors as at
from messages_fa import broadcasts as bt
from messages_fa import staff as st
from messages_fa import stats as stt
from messages_fa import texts
from tests.conftest import STAFF_CHAT, Bot, ManualClock, make_config, phase_moments

ADMIN, MODERATOR, REVIEWER, CITIZEN, AMBASSADOR = 900, 910, 920, 930, 940
ROLES = {ADMIN: Role.ADMIN, MODERATOR: Role.MODERATOR, REVIEWER: Role.REVIEWER, CITIZEN: None, AMBASSADOR: None}
EVERYONE, AMBASSADORS = "everyone", "approved ambassadors"

COMMANDS = [  # (command, action)
    ("/broadcast", "broadcast"), ("/broadcasts", "broadcast"), ("/schedule", "schedule"),
    ("/ambassadors", "ambassadors"), ("/review", "moderate"), ("/feasibility", "review"), ("/audit", "audit"),
    ("/stats", "stats"), ("/export", "export"), ("/results", "results"), ("/title", "moderate"),
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
    (lambda ids: f"dup:{ids['pending']}:{ids['approved']}", "moderate"),
    (lambda ids: f"bc:go:{ids['draft']}", "broadcast"),
    (lambda ids: f"bc:x:{ids['draft']}", "broadcast"),
    (lambda ids: "cal:mv:1", "schedule"),
    (lambda ids: f"amb:a:{ids['applicant']}", "ambassadors"),
    (lambda ids: "amb:p:0", "ambassadors"),
    (lambda ids: "au:0", "audit"),
    (lambda ids: "au:m:d", "audit"),
    (lambda ids: "st:h", "stats"),
    (lambda ids: "st:h:0", "stats"),
    (lambda ids: "rs:c", "results"),
]
# Citizens' commands and buttons: anyone may use them (staff are citizens too), and the ambassador's
# own panel is for approved ambassadors. (command or data made from the seeded ids, who may)
CITIZEN_COMMANDS = [("/start", EVERYONE), ("/help", EVERYONE), ("/cancel", EVERYONE), ("/whoami", EVERYONE),
                    ("/ambassador", EVERYONE)]
CITIZEN_BUTTONS = [
    (lambda ids: "n:tajrish", EVERYONE),
    (lambda ids: "nm:darband", EVERYONE),
    (lambda ids: "nl:all", EVERYONE),
    (lambda ids: "ft:n", EVERYONE),
    (lambda ids: f"c:{ids['category']}", EVERYONE),
    (lambda ids: "pv:ok", EVERYONE),
    (lambda ids: "pe:title", EVERYONE),
    (lambda ids: "an:tajrish", EVERYONE),
    (lambda ids: f"v:{ids['approved']}:0", EVERYONE),
    (lambda ids: f"w:{ids['approved']}:0", EVERYONE),
    (lambda ids: "p:0", EVERYONE),
    (lambda ids: f"i:{ids['approved']}", EVERYONE),
    (lambda ids: f"sm:s:{ids['approved']}", EVERYONE),
    (lambda ids: "rs:h:0", EVERYONE),
    (lambda ids: "ap:links", AMBASSADORS),
    (lambda ids: "ap:stats", AMBASSADORS),
]
REFUSALS = {texts.staff_only(), st.not_for_you(), bt.staff_command_only(), stt.stats_refused(),
            stt.export_refused(), at.not_an_ambassador()}


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
    await services.proposals.decide(Actor.person("telegram", 900), ids["approved"], True)
    draft = await services.broadcasts.draft(Actor.person("telegram", ADMIN), "text", "آزمایش", None, None)
    await services.broadcasts.choose(Actor.person("telegram", ADMIN), draft.id, Audience())
    ids["draft"] = draft.id
    applicant, _ = await services.citizens.enter("telegram", 1803, 1803)
    await services.repos.ambassadors.start_draft(applicant.id, bot.clock.now())
    await services.repos.ambassadors.update_draft(applicant.id, full_name="سفیر آزمایشی", neighbourhood_id="tajrish",
                                                  groups="گروه", phone="+989120000000")
    await services.repos.ambassadors.submit(applicant.id, bot.clock.now())
    ids["applicant"] = applicant.id
    ambassador, _ = await services.citizens.enter("telegram", AMBASSADOR, AMBASSADOR)
    await services.repos.ambassadors.start_draft(ambassador.id, bot.clock.now())
    await services.repos.ambassadors.update_draft(ambassador.id, full_name="سفیر تأییدشده", neighbourhood_id="tajrish",
                                                  groups="گروه محله", phone="+989120000001")
    await services.repos.ambassadors.submit(ambassador.id, bot.clock.now())
    await services.ambassadors.decide(Actor.person("telegram", 900), ambassador.id, "approve")
    ids["category"] = config.categories[0].id
    bot.ids = ids
    yield bot
    await bot.stop()
    assert not bot.errors, bot.errors


def allowed(user: int, action: str) -> bool:
    if action == EVERYONE:
        return True
    if action == AMBASSADORS:
        return user == AMBASSADOR
    return ROLES[user] in ACTIONS[action]


def test_every_action_in_the_table_is_exercised():
    assert {action for _, action in COMMANDS} | {action for _, action in BUTTONS} == set(ACTIONS)


@pytest.mark.parametrize("user", list(ROLES))
@pytest.mark.parametrize("command, action", COMMANDS + CITIZEN_COMMANDS)
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
@pytest.mark.parametrize("make, action", BUTTONS + CITIZEN_BUTTONS)
async def test_buttons(staffed, user, make, action):
    m = staffed.telegram
    await m.send(user, "/start")  # a message of the bot's in their chat to press on
    data = make(staffed.ids)
    before = await _state(staffed)
    await m.app.process_update(m.updates.callback(user, m.request.last(user), data))
    await staffed.settle()
    alerts = m.alerts()
    assert alerts, f"{data} by {user}: the press was never answered"
    refused = alerts[-1] in REFUSALS
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
    from bot.campaign.roles import COMMAND_ACTIONS
    from messages_fa.texts import STAFF_COMMANDS
    assert {name for name, _ in STAFF_COMMANDS} == set(COMMAND_ACTIONS) == {c.lstrip("/") for c, _ in COMMANDS}
    assert all(COMMAND_ACTIONS[c.lstrip("/")] == action for c, action in COMMANDS)


def _registered(application) -> tuple[set[str], set[str]]:
    """Every command and every callback-data prefix the application's handlers accept."""
    from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler

    commands: set[str] = set()
    prefixes: set[str] = set()

    def visit(handler) -> None:
        if isinstance(handler, ConversationHandler):
            for inner in (*handler.entry_points, *handler.fallbacks,
                          *(h for hs in handler.states.values() for h in hs)):
                visit(inner)
        elif isinstance(handler, CommandHandler):
            commands.update(f"/{c}" for c in handler.commands)
        elif isinstance(handler, CallbackQueryHandler) and handler.pattern is not None:
            pattern = getattr(handler.pattern, "pattern", handler.pattern)
            head = pattern.removeprefix("^").split(":")[0]
            # "[vw]" is two prefixes
            letters = head[1:-1] if head.startswith("[") else None
            prefixes.update(f"{x}:" for x in letters) if letters else prefixes.add(f"{head}:")

    for group in application.handlers.values():
        for handler in group:
            visit(handler)
    return commands, prefixes


async def test_the_table_lists_every_registered_command_and_button_prefix(staffed):
    commands, prefixes = _registered(staffed.telegram.app)
    assert commands == {c for c, _ in COMMANDS + CITIZEN_COMMANDS}
    ids = staffed.ids
    tabled = {make(ids).split(":")[0] + ":" for make, _ in BUTTONS + CITIZEN_BUTTONS}
    assert prefixes == tabled


@pytest.mark.parametrize("command, action", COMMANDS)
async def test_roles_are_per_messenger(staffed, command, action):
    """Telegram's admin id on Bale is somebody else: the same commands are refused there."""
    m = staffed.bale
    await m.send(ADMIN, command)
    await staffed.settle()
    answers = [c.params.get("text") for c in m.request.calls if c.params.get("chat_id") == ADMIN
               and c.method == "sendMessage"]
    assert answers and answers[-1] in REFUSALS, (command, answers[-1:])


NEIGHBOURS_GROUP = -1002777
SENDS = ("sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "copyMessage", "forwardMessage")


def _posted_in(m, chat_id: int) -> list[str]:
    return [c.method for c in m.request.calls if c.method in SENDS and c.params.get("chat_id") == chat_id]


@pytest.mark.parametrize("group", [NEIGHBOURS_GROUP, STAFF_CHAT])
@pytest.mark.parametrize("command, action", COMMANDS)
async def test_a_staff_command_by_someone_without_the_right_is_never_refused_in_a_group(staffed, command, action, group):
    """A stranger's /stats in a neighbourhood group (or a moderator's /broadcast in the staff group)
    is answered in their private chat, never where the whole group reads it."""
    m = staffed.telegram
    strangers = [user for user in ROLES if not allowed(user, action)]
    assert CITIZEN in strangers
    for user in strangers:
        await m.send(user, f"{command}@test_bot", chat_id=group)
        await staffed.settle()
        assert _posted_in(m, group) == [], (command, user)
        private = [c.params.get("text") for c in m.request.calls
                   if c.method == "sendMessage" and c.params.get("chat_id") == user]
        assert private and private[-1] in REFUSALS, (command, user, private[-1:])


async def test_a_refusal_that_cannot_reach_the_person_privately_is_dropped(staffed):
    m = staffed.telegram
    # Never started the bot: the messenger refuses a private message to them.
    m.request.fail("sendMessage", 403, "Forbidden: bot can't initiate conversation with a user", times=len(COMMANDS))
    for command, _ in COMMANDS:
        await m.send(CITIZEN, command, chat_id=NEIGHBOURS_GROUP)
    await staffed.settle()
    assert _posted_in(m, NEIGHBOURS_GROUP) == []
    assert len(m.request.calls_to("sendMessage")) == len(COMMANDS)  # one try each, to the person only
    assert all(c.params.get("chat_id") == CITIZEN for c in m.request.calls_to("sendMessage"))
