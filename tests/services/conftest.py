"""The services on a temporary database with the manual clock, as bot/runtime.py assembles them,
and nothing of a messenger: no PTB Application, no Bot, no HTTP. What a rule decides is read from
what the service returns and what the repositories hold."""
from __future__ import annotations

import pytest

from storage.interface import Repositories
from tests.support.services import built


@pytest.fixture
async def services(config):
    """During registration (tests/support/services.at moves the clock)."""
    async with built(config) as services:
        yield services


@pytest.fixture
def repos(services) -> Repositories:
    return services.repos
