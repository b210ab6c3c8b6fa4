"""The question a staff member's next message answers: a broadcast's content or time, a moved
boundary's time, a duplicate's tracking code, a feasibility note, a cost.

Kept in the database, so a restart loses nothing and an admin who is also a citizen never has an
ordinary message taken as an answer. One open question per person; asking another replaces it.
"""
from __future__ import annotations

import datetime as dt

from bot.campaign.clock import Clock
from bot.campaign.roles import Actor
from storage.interface import Repositories

# An unanswered question expires: an admin who walked away is not surprised by it the next day.
QUESTION_LIFETIME = dt.timedelta(minutes=30)


class StaffQuestions:
    def __init__(self, clock: Clock, repos: Repositories) -> None:
        self.clock = clock
        self.repos = repos

    async def ask(self, who: Actor, kind: str, target: str | None) -> None:
        """``kind``: what the answer is for; ``target``: which broadcast, proposal, boundary."""
        await self.repos.staff_inputs.expect(who.platform, who.user_id, kind, target, self.clock.now())

    async def open_question(self, who: Actor) -> tuple[str, str | None] | None:
        """(kind, target) of the question this person has not answered yet, unless it expired."""
        return await self.repos.staff_inputs.expected(who.platform, who.user_id, self.clock.now() - QUESTION_LIFETIME)

    async def close(self, who: Actor) -> None:
        await self.repos.staff_inputs.clear(who.platform, who.user_id)
