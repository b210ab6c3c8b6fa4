"""Per-user flood control: a token bucket per (messenger, user) for messages and one for buttons.

A person gets ``burst`` updates at once and ``per_minute`` after that, refilled continuously.
Over the limit, the first update is answered with one notice (Verdict.NOTICE) and the rest are
dropped (Verdict.DROP); the notice is given again only after ``quiet`` seconds without an update
over the limit, so a flooder hears it once, not fifty times a second.

Pure logic on the injected clock. Memory is bounded by the people active recently, not by
everyone who ever wrote: an entry untouched for ``horizon`` seconds holds full buckets and no
pending notice, which is exactly what a missing entry means, so it is dropped. Entries are kept
in the order they were last touched, and each check drops the stale ones from the front, so the
sweep costs O(1) amortized and 500,000 people who wrote once leave nothing behind.

Where each update meets it: bot/messenger/flood_door.py.
"""
from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass

from bot.campaign.clock import Clock


class Kind(enum.Enum):
    MESSAGE = "message"  # anything a person sends or edits (text, photo, contact, command …)
    BUTTON = "button"  # an inline button pressed (callback query)


class Verdict(enum.Enum):
    PASS = "pass"
    NOTICE = "notice"  # over the limit for the first time since they calmed down: tell them once
    DROP = "drop"  # over the limit, already told


@dataclass(frozen=True)
class Allowance:
    burst: int  # updates at once, from a standing start
    per_minute: int  # sustained, refilled continuously

    @property
    def per_second(self) -> float:
        return self.per_minute / 60

    @property
    def refill_seconds(self) -> float:
        """From empty to full: after this long without updates, the bucket is as good as new."""
        return self.burst / self.per_second


class _Entry:
    __slots__ = ("last_excess", "tokens", "touched")

    def __init__(self, now: float, bursts: tuple[int, int]) -> None:
        self.tokens = list(bursts)  # [messages, buttons]
        self.touched = now
        self.last_excess: float | None = None  # when the last update over the limit came


_INDEX = {Kind.MESSAGE: 0, Kind.BUTTON: 1}

class FloodControl:
    def __init__(self, clock: Clock, messages: Allowance, buttons: Allowance, quiet_seconds: float) -> None:
        self.clock = clock
        self.allowances = (messages, buttons)
        self.quiet = float(quiet_seconds)
        # An entry untouched this long is indistinguishable from no entry at all.
        self.horizon = max(messages.refill_seconds, buttons.refill_seconds, self.quiet)
        self._entries: OrderedDict[tuple[str, int], _Entry] = OrderedDict()

    @classmethod
    def from_limits(cls, clock: Clock, limits) -> FloodControl:
        """From config.Limits (its flood_* settings)."""
        return cls(clock, Allowance(limits.flood_messages_burst, limits.flood_messages_per_minute),
                   Allowance(limits.flood_buttons_burst, limits.flood_buttons_per_minute), limits.flood_quiet_seconds)

    def __len__(self) -> int:
        """People with a live entry (for tests and metrics)."""
        return len(self._entries)

    @property
    def most_at_once(self) -> int:
        """The most updates one person can be let through at one moment (both buckets full): the
        bound of a sender's queue (bot/messenger/update_processor.py), which no one within the limits meets."""
        return sum(allowance.burst for allowance in self.allowances)

    def check(self, platform: str, user_id: int, kind: Kind, can_notify: bool = True) -> Verdict:
        """Take one update of ``kind`` from this person. ``can_notify``: whether the caller can tell
        them (an update without a chat cannot); if not, the notice stays owed for a later update."""
        now = self.clock.now().timestamp()
        self._sweep(now)
        key = (platform, user_id)
        entry = self._entries.pop(key, None)
        if entry is None:
            entry = _Entry(now, (self.allowances[0].burst, self.allowances[1].burst))
        self._entries[key] = entry  # to the end: the most recently touched
        return self._take(entry, now, kind, can_notify)

    def decide(self, buckets: tuple[float, float, float, float | None] | None, now: float, kind: Kind,
               can_notify: bool) -> tuple[tuple[float, float, float, float | None], Verdict]:
        """check() on buckets kept elsewhere (storage/flood_buckets.py: shared by worker processes):
        (messages, buttons, touched, last_excess) as stored (None: full), ``now`` in epoch seconds of
        the clock; the buckets after this update, and its verdict."""
        entry = _Entry(now, (self.allowances[0].burst, self.allowances[1].burst))
        if buckets is not None:
            entry.tokens[0], entry.tokens[1], entry.touched, entry.last_excess = buckets
        verdict = self._take(entry, now, kind, can_notify)
        return (entry.tokens[0], entry.tokens[1], entry.touched, entry.last_excess), verdict

    def _take(self, entry: _Entry, now: float, kind: Kind, can_notify: bool) -> Verdict:
        # max(): a system clock stepped backwards must not drain anyone's bucket.
        elapsed = max(0.0, now - entry.touched)
        for i, allowance in enumerate(self.allowances):
            entry.tokens[i] = min(allowance.burst, entry.tokens[i] + elapsed * allowance.per_second)
        entry.touched = now
        i = _INDEX[kind]
        if entry.tokens[i] >= 1:
            entry.tokens[i] -= 1
            return Verdict.PASS
        told = entry.last_excess is not None and now - entry.last_excess < self.quiet
        if told or not can_notify:
            if told:
                entry.last_excess = now
            return Verdict.DROP
        entry.last_excess = now
        return Verdict.NOTICE

    def _sweep(self, now: float) -> None:
        entries = self._entries
        while entries:
            key, oldest = next(iter(entries.items()))
            if now - oldest.touched < self.horizon:
                return
            del entries[key]
