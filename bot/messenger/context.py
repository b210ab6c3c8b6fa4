"""What every handler of one platform's Application reaches through ``context.bot_data``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram.ext import CallbackContext

from bot.campaign.services import Services
from bot.messenger.platforms import Platform

if TYPE_CHECKING:
    from bot.messenger.broadcast.worker import BroadcastWorker
    from bot.messenger.flood_door import FloodDoor
    from bot.messenger.notices import Notifier

KEY = "app"


@dataclass
class AppContext:
    services: Services
    platform: Platform
    notifier: Notifier
    # Woken when staff confirm a broadcast; None where nothing sends (some tests).
    worker: BroadcastWorker | None = None
    # Where updates meet flood control (a cluster worker hands it the verdicts of the shared buckets).
    flood_door: FloodDoor | None = None


def app_context(context: CallbackContext) -> AppContext:
    return context.application.bot_data[KEY]
