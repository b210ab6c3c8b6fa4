"""Scheduled duties exactly once across processes (issue 15, item 5): two runtimes on one
PostgreSQL database, as two workers would be, against the loopback Bot API server.

Of the two, one holds the duties' lease (bot/runtime.py DUTIES_LEASE): only it catches up at
start, has the calendar's and the ambassador watch's jobs; when it stops, or dies and its lease
expires, the other takes them over, and a holder that lost its lease drops its jobs.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from bot.campaign.clock import ManualClock
from bot.campaign.roles import Actor
from bot.runtime import AMBASSADOR_JOB, DUTIES_TTL, Runtime
from tests.conftest import STAFF_CHAT, TELEGRAM_ADMIN, Bot, phase_moments
from tests.support.e2e import TOKENS, Harness
from tests.support.journeys import citizens

DUTY_JOBS = (AMBASSADOR_JOB, "calendar:refresh")




def duty_jobs(runtime: Runtime) -> set[str]:
    names = set()
    for application in runtime.applications.values():
        for job in application.job_queue.jobs():
            if job.name in DUTY_JOBS or job.name.startswith("announce:"):
                names.add(job.name)
    return names


def staff_notices(h: Harness) -> list[str]:
    return [m.get("text") or "" for m in h.state.messages(TOKENS["telegram"], STAFF_CHAT)]


async def test_two_runtimes_share_the_duties_one_at_a_time(tmp_path, pg_url):
    # In review: the voting-opens announcement is still to come, so the holder has its job.
    async with Harness(tmp_path, phase="review") as h:
        config = dataclasses.replace(h.config, database_url=pg_url)
        first, second = Runtime(config, h.clock, poll_timeout=1), Runtime(config, h.clock, poll_timeout=1)
        try:
            # Started together, as workers launched by one systemd command are.
            await asyncio.gather(first.start(polling=False), second.start(polling=False))
            holders = [r for r in (first, second) if r.duties_held]
            assert len(holders) == 1, "exactly one runtime runs the duties"
            holder, other = (first, second) if first.duties_held else (second, first)
            assert AMBASSADOR_JOB in duty_jobs(holder) and any(n.startswith("announce:") for n in duty_jobs(holder))
            assert duty_jobs(other) == set()

            # The other renews: still not its turn.
            await other.renew_duties()
            assert not other.duties_held and duty_jobs(other) == set()

            # The holder stops (a restart, a deploy): its lease is released, the other takes over at
            # its next renewal, catching up on what was left.
            await holder.stop()
            await other.renew_duties()
            assert other.duties_held
            assert AMBASSADOR_JOB in duty_jobs(other)

            # A third process; the holder dies (it stops renewing, its lease is not released): the
            # third takes over once the lease has expired, not before.
            third = Runtime(config, h.clock, poll_timeout=1)
            try:
                await third.start(polling=False)
                assert not third.duties_held and duty_jobs(third) == set()
                h.clock.advance(seconds=DUTIES_TTL.total_seconds() / 2)
                await third.renew_duties()
                assert not third.duties_held
                h.clock.advance(seconds=DUTIES_TTL.total_seconds())
                await third.renew_duties()
                assert third.duties_held and AMBASSADOR_JOB in duty_jobs(third)
                # The old holder comes back to life: it finds its lease gone and drops its jobs.
                await other.renew_duties()
                assert not other.duties_held and duty_jobs(other) == set()
            finally:
                await third.stop()
        finally:
            await first.stop()
            await second.stop()


async def test_catch_up_at_start_runs_in_one_runtime(tmp_path, pg_url):
    """Voting opened an hour ago with its announcement never made (no process ran): of two
    runtimes started together, one reports it missed to the staff, once."""
    async with Harness(tmp_path, phase="voting") as h:
        config = dataclasses.replace(h.config, database_url=pg_url)
        runtimes = [Runtime(config, h.clock, poll_timeout=1) for _ in range(2)]
        try:
            await asyncio.gather(*(r.start(polling=False) for r in runtimes))
            assert sum(r.duties_held for r in runtimes) == 1
            notices = staff_notices(h)
            assert notices, "the staff heard about the announcement"
            assert len(notices) == len(set(notices)), f"a notice told twice: {notices}"
        finally:
            for runtime in runtimes:
                await runtime.stop()


async def test_a_reminder_that_another_process_moves_into_the_past_goes_out_at_the_refresh(config):
    """The holder of the duties learns of a move made in another process at its refresh; a
    reminder the move put in the past goes out then, as it does when the move is made here."""
    moments = phase_moments(config)
    clock = ManualClock(moments["voting"] + dt.timedelta(days=2))
    holder, elsewhere = await Bot(config, clock).start(), await Bot(config, clock).start()
    try:
        await citizens(holder, "telegram", [11])
        await holder.announcer.start()
        soon = clock.now() + dt.timedelta(hours=12)  # close brought forward: the 24 h reminder is past
        assert await elsewhere.services.calendar.move("voting_closes", soon,
                                                      Actor.person("telegram", TELEGRAM_ADMIN)) is None
        assert "voting_reminder" not in await holder.services.repos.calendar.announcements()
        await holder.announcer._refresh(None)
        for _ in range(50):
            if "voting_reminder" in await holder.services.repos.calendar.announcements():
                break
            await asyncio.sleep(0.02)  # the JobQueue runs it at once
        assert (await holder.services.repos.calendar.announcements())["voting_reminder"].outcome == "sent"
    finally:
        await holder.stop()
        await elsewhere.stop()
