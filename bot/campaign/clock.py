"""The injected clock: nothing in bot/ or handlers/ reads the system time by itself.

Tests use ManualClock and move it across phase boundaries; the playground's ``--at`` uses
ShiftedClock so a whole campaign can be tried on any day.
"""
from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current moment as an aware UTC datetime."""

    def system_time(self, moment: dt.datetime) -> dt.datetime:
        """When the system clock (which the JobQueue runs on) will read what this clock reads
        at ``moment``."""


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    def system_time(self, moment: dt.datetime) -> dt.datetime:
        return moment


class ShiftedClock:
    """Real time that started at ``start``: minutes still pass, so reminders and timeouts behave."""

    def __init__(self, start: dt.datetime) -> None:
        self._offset = start - dt.datetime.now(dt.timezone.utc)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc) + self._offset

    def system_time(self, moment: dt.datetime) -> dt.datetime:
        return moment - self._offset


class ManualClock:
    def __init__(self, start: dt.datetime) -> None:
        self._now = start

    def now(self) -> dt.datetime:
        return self._now

    def system_time(self, moment: dt.datetime) -> dt.datetime:
        # Tests read the job's time and run its callback after moving this clock.
        return moment

    def set(self, moment: dt.datetime) -> None:
        self._now = moment

    def advance(self, **delta: float) -> None:
        self._now += dt.timedelta(**delta)
