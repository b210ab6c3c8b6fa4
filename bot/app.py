"""Assembly of one PTB Application per messenger, all sharing one Services and database."""
from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat
from telegram.error import InvalidToken, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import BaseRequest, HTTPXRequest

from bot.campaign.config import PlatformConfig
from bot.campaign.roles import COMMAND_ACTIONS, may, staff_of
from bot.campaign.services import Services
from bot.messenger.context import KEY, AppContext
from bot.messenger.flood_door import FloodDoor
from bot.messenger.messenger_bot import MessengerBot
from bot.messenger.notices import Notifier
from bot.messenger.persistence import ConversationStatePersistence, StatesOnlyApplication
from bot.messenger.platforms import PLATFORMS
from bot.messenger.shared_rate import SharedBudget, SharedRateLimiter, budget_name
from bot.messenger.transport import AiohttpRequest
from bot.messenger.update_journal import UpdateJournal
from bot.messenger.update_processor import PerUserUpdateProcessor
from handlers import register as register_handlers  # the assembly is the one place bot/ sees handlers/
from messages_fa.texts import COMMANDS, STAFF_ALWAYS, STAFF_COMMANDS
from storage.engine import shared_by_processes
from storage.rate_budget import RateBudgetRepository

log = logging.getLogger(__name__)

# Different citizens' updates run concurrently (each citizen's in order): with ~100 ms per API
# call, one-at-a-time would serve a few updates per second for the whole city.
CONCURRENT_UPDATES = 256
# The most calls one update has in flight at once: a press's answer goes out alongside its edit
# or its next message (handlers/voting.py, handlers/outbox.py).
CALLS_AT_ONCE_PER_UPDATE = 2
# A connection for every call the running updates can have in flight (the long poll has its own
# request). Had the pool fewer, the excess calls would wait for a slot (bot/messenger/transport.py), never
# fail; with these numbers only broadcasts, which share the pool, can make a reply wait.
CONNECTION_POOL = CONCURRENT_UPDATES * CALLS_AT_ONCE_PER_UPDATE
# How long a call may wait for the messenger's answer. A message that timed out may still arrive,
# so it is not sent again and the citizen is told «try again»: a messenger that is merely slow
# under a surge (10,000 citizens at once: answers after more than PTB's 5 s) must make the citizen
# wait, not fail. A connection that is really dead still ends the call, later.
READ_TIMEOUT = 30.0


def make_request(transport: str, pool_size: int) -> BaseRequest:
    """The HTTP transport behind PTB's BaseRequest; "httpx" is PTB's default, kept for comparison."""
    if transport == "aiohttp":
        return AiohttpRequest(connection_pool_size=pool_size, read_timeout=READ_TIMEOUT)
    if transport == "httpx":
        return HTTPXRequest(connection_pool_size=pool_size)
    raise ValueError(f"unknown transport {transport!r}")


def build_application(services: Services, notifier: Notifier, platform_config: PlatformConfig, *,
                      request=None, get_updates_request=None, rate_limiter: bool = True,
                      concurrent_updates: int = CONCURRENT_UPDATES, transport: str = "aiohttp",
                      worker=None, updater: bool = True) -> Application:
    """concurrent_updates=1 is PTB's one-at-a-time processing (the benchmark's baseline).
    updater=False: no Updater (no getUpdates); updates come from elsewhere (bot/cluster/worker.py)."""
    platform = PLATFORMS[platform_config.name]
    # Skips re-delivered updates, and marks each update handled together with the conversation
    # states it changed; it sits in the update processor, which only polled updates go through.
    journal = UpdateJournal(services.repos.processed_updates, platform.name, services.clock,
                            bot_id=platform_config.token.split(":", 1)[0])
    limiter = _rate_limiter(services, platform_config) if rate_limiter else None
    # Flood control decides on each update once, as early as it can: before a press is built or
    # queued (bot/messenger/flood_door.py).
    door = FloodDoor(lambda user_id, kind, can_notify: services.flood_check(platform.name, user_id, kind, can_notify))
    # One update PTB cannot read must not fail its whole getUpdates batch (bot/messenger/messenger_bot.py).
    bot = MessengerBot(platform_config.token, base_url=platform_config.base_url,
                       base_file_url=platform_config.base_file_url,
                       request=request or make_request(transport, CONNECTION_POOL),
                       get_updates_request=get_updates_request or make_request(transport, 2),
                       rate_limiter=limiter, platform=platform.name, flood=door.unread)
    builder = (
        ApplicationBuilder()
        .application_class(StatesOnlyApplication)
        .bot(bot)
        # With 1, PTB awaits each update itself: its one-at-a-time processing, journal included.
        .concurrent_updates(PerUserUpdateProcessor(concurrent_updates, around=journal.run, flood=door.verdict,
                                                   max_waiting=services.flood.most_at_once))
        .persistence(ConversationStatePersistence(services.repos.conversations, journal, platform.name))
        .post_init(_register_commands)
    )
    if not updater:
        builder.updater(None)
    application = builder.build()
    journal.application = application
    application.bot_data[KEY] = AppContext(services=services, platform=platform, notifier=notifier, worker=worker,
                                           flood_door=door)
    notifier.bots[platform.name] = application.bot

    register_handlers(application)
    return application


def _rate_limiter(services: Services, platform_config: PlatformConfig) -> AIORateLimiter:
    """Keeps groups under 20/min and waits out RetryAfter instead of failing the reply. On SQLite
    no overall cap on replies (the broadcast sender, in this process, gives way to them); on
    PostgreSQL every call that sends a message first takes a slot of the bot's budget that every
    process shares (bot/messenger/shared_rate.py), ``broadcast_rate`` a second for replies and
    broadcasts together; answers to presses and edits in place take none."""
    db = services.repos.db
    if shared_by_processes(db):
        budget = SharedBudget(RateBudgetRepository(db), budget_name(platform_config.name, platform_config.token),
                              platform_config.broadcast_rate)
        return SharedRateLimiter(budget, max_retries=3)
    return AIORateLimiter(overall_max_rate=0, max_retries=3)


async def _register_commands(application: Application) -> None:
    context = application.bot_data[KEY]
    await _set_profile(application)
    platform = context.platform
    try:
        await application.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])
    except (InvalidToken, TelegramError) as exc:
        # Bale may lack setMyCommands and answer 404, which PTB reports as InvalidToken; the
        # token already passed getMe, so this is not fatal anywhere.
        level = logging.INFO if platform.commands_optional else logging.WARNING
        log.log(level, "%s: setMyCommands not available (%s); continuing without a command menu",
                platform.name, exc.__class__.__name__)
        return
    config = context.services.config
    for person in sorted(staff_of(config, platform.name)):
        # Each staff member sees the commands of their own role(s) in their chat's menu.
        mine = [(name, text) for name, text in STAFF_COMMANDS if may(config, platform.name, person, COMMAND_ACTIONS[name])]
        menu = [BotCommand(name, text) for name, text in (*COMMANDS, *STAFF_ALWAYS, *mine)]
        try:
            await application.bot.set_my_commands(menu, scope=BotCommandScopeChat(person))
        except TelegramError as exc:  # e.g. someone who has never opened the bot
            log.info("%s: staff command menu not set for %d (%s)", platform.name, person, exc.__class__.__name__)


async def _set_profile(application: Application) -> None:
    """The description a first-time visitor reads before pressing Start, and the short one on the
    bot's profile (profile.* in the config), at every start: editing config.toml and restarting is
    all it takes. A messenger without these methods (Bale may answer 404, which PTB reports as
    InvalidToken) or that refuses them is skipped quietly: the bot serves without a description."""
    context = application.bot_data[KEY]
    profile = context.services.config.profile
    for call, text in ((application.bot.set_my_description, profile.description),
                       (application.bot.set_my_short_description, profile.short_description)):
        try:
            await call(text)
        except (InvalidToken, TelegramError) as exc:
            log.info("%s: %s not available (%s); continuing without it", context.platform.name,
                     call.__name__, exc.__class__.__name__)
