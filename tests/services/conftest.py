"""The services on a temporary database with the manual clock, as bot/runtime.py assembles them,
and nothing of a messenger: no PTB Application, no Bot, no HTTP. What a rule decides is read from
what the service returns and what the repositories hold."""
from __future__ import annotations

import pytest

from bot.campaign.clock import ManualClock
from bot.campaign.services import Services
from storage.db import Database
from storage.repositories import Repositories
from tests.conftest import phase_moments


@pytest.fixture
async def services(config):
    """During registration (tests/support/services.at moves the clock)."""
    database = Database(config.database)
    await database.open()
    services = Services.build(config, ManualClock(phase_moments(config)["proposals"]), Repositories(database))
    await services.calendar.load()
    yield services
    await database.close()


@pytest.fixture
def repos(services) -> Repositories:
    return services.repos
