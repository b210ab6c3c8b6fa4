"""The calendar's announcements on PTB's JobQueue (APScheduler), in the campaign's time zone.

JobQueue jobs live in memory only, so the database decides: at start-up every announcement whose
moment has passed unrecorded is made now (or reported missed), and jobs are put on the queue for
the rest. When an admin moves a boundary, the jobs are put on the queue again.
"""
from __future__ import annotations

import logging

from telegram.ext import CallbackContext, JobQueue

from bot.campaign.calendar import CampaignCalendar, Fired
from messages_fa import broadcasts as t

log = logging.getLogger(__name__)

JOB_PREFIX = "announce:"
RETRY_AFTER = 30  # seconds, when making an announcement failed (a locked database)
REFRESH_EVERY = 60  # seconds between looks at moves made by another process
REFRESH_JOB = "calendar:refresh"


class Announcer:
    def __init__(self, calendar: CampaignCalendar, worker, notifier, job_queue: JobQueue) -> None:
        self.calendar, self.worker, self.notifier, self.job_queue = calendar, worker, notifier, job_queue
        self._scheduled_dues: dict = {}

    async def start(self) -> None:
        await self.catch_up()
        self.schedule()
        self.calendar.on_change.append(self._moved)
        self.job_queue.run_repeating(self._refresh, interval=REFRESH_EVERY, first=REFRESH_EVERY, name=REFRESH_JOB)

    def _moved(self) -> None:
        """A boundary moved here: jobs follow, and an announcement the move put in the past
        (a reminder before a close brought forward) goes out now rather than never."""
        before = self._scheduled_dues
        self.schedule()
        now = self.calendar.clock.now()
        moved_into_past = [p.key for p in self.calendar.planned() if p.due <= now and before.get(p.key) != p.due]
        if moved_into_past:
            self.job_queue.run_once(self._fire_now, when=0, name=JOB_PREFIX + "moved", data=moved_into_past)

    async def _fire_now(self, context: CallbackContext) -> None:
        for key in context.job.data:
            await self.fire(key, late_ok=True)

    async def _refresh(self, context: CallbackContext) -> None:
        """Moves made in another process on the same database: phase gating and jobs follow."""
        if await self.calendar.load():
            # As for a move made here: one the move put in the past goes out now.
            self._moved()

    def stop(self) -> None:
        """Another process runs the scheduled duties now (bot/runtime.py): this one's jobs go,
        and a move made here is left to that process's refresh."""
        for job in self.job_queue.jobs():
            if job.name and (job.name.startswith(JOB_PREFIX) or job.name == REFRESH_JOB):
                job.schedule_removal()
        if self._moved in self.calendar.on_change:
            self.calendar.on_change.remove(self._moved)

    async def catch_up(self) -> None:
        for planned in await self.calendar.due_unrecorded():
            await self.fire(planned.key)

    def schedule(self) -> None:
        for job in self.job_queue.jobs():
            if job.name and job.name.startswith(JOB_PREFIX):
                job.schedule_removal()
        now = self.calendar.clock.now()
        tz = self.calendar.config.timezone
        self._scheduled_dues = {p.key: p.due for p in self.calendar.planned()}
        for planned in self.calendar.planned():
            if planned.due > now:
                # Given in Tehran time: APScheduler keeps the zone, and the job reads 09:00+03:30.
                when = self.calendar.clock.system_time(planned.due).astimezone(tz)
                self.job_queue.run_once(self._job, when=when, name=JOB_PREFIX + planned.key, data=planned.key)

    async def _job(self, context: CallbackContext) -> None:
        key = context.job.data
        try:
            await self.fire(key)
        except Exception:  # noqa: BLE001 — the job is gone once it returns: try again soon
            log.exception("announcement %s failed; trying again in %d s", key, RETRY_AFTER)
            self.job_queue.run_once(self._job, when=RETRY_AFTER, name=JOB_PREFIX + key, data=key)

    async def fire(self, key: str, late_ok: bool = False) -> Fired:
        outcome, planned = await self.calendar.fire(key, late_ok)
        if outcome is Fired.SENT and self.worker is not None:
            self.worker.wake()
        elif outcome is Fired.MISSED:
            grace = int(self.calendar.config.announcements.grace.total_seconds() // 60)
            await self.notifier.tell_staff(t.missed_announcement(key, self.calendar.when(planned.due), grace))
        return outcome
