"""The calendar's announcements on PTB's JobQueue (APScheduler), in the campaign's time zone.

JobQueue jobs live in memory only, so the database decides: at start-up every announcement whose
moment has passed unrecorded is made now (or reported missed), and jobs are put on the queue for
the rest. When an admin moves a boundary, the jobs are put on the queue again.
"""
from __future__ import annotations

import logging

from telegram.ext import CallbackContext, JobQueue

from bot.campaign_calendar import CampaignCalendar, Fired
from messages_fa import broadcasts as t

log = logging.getLogger(__name__)

JOB_PREFIX = "announce:"


class Announcer:
    def __init__(self, calendar: CampaignCalendar, worker, notifier, job_queue: JobQueue) -> None:
        self.calendar, self.worker, self.notifier, self.job_queue = calendar, worker, notifier, job_queue

    async def start(self) -> None:
        await self.catch_up()
        self.schedule()
        self.calendar.on_change.append(self.schedule)

    async def catch_up(self) -> None:
        for planned in await self.calendar.due_unrecorded():
            await self.fire(planned.key)

    def schedule(self) -> None:
        for job in self.job_queue.jobs():
            if job.name and job.name.startswith(JOB_PREFIX):
                job.schedule_removal()
        now = self.calendar.clock.now()
        tz = self.calendar.config.timezone
        for planned in self.calendar.planned():
            if planned.due > now:
                # Given in Tehran time: APScheduler keeps the zone, and the job reads 09:00+03:30.
                when = self.calendar.clock.system_time(planned.due).astimezone(tz)
                self.job_queue.run_once(self._job, when=when, name=JOB_PREFIX + planned.key, data=planned.key)

    async def _job(self, context: CallbackContext) -> None:
        await self.fire(context.job.data)

    async def fire(self, key: str) -> Fired:
        outcome, planned = await self.calendar.fire(key)
        if outcome is Fired.SENT and self.worker is not None:
            self.worker.wake()
        elif outcome is Fired.MISSED:
            grace = int(self.calendar.config.announcements.grace.total_seconds() // 60)
            await self.notifier.tell_staff(t.missed_announcement(key, self.calendar.when(planned.due), grace))
        return outcome
