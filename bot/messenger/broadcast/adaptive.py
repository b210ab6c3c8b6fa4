"""The broadcast's rate found from the messenger's own answers (issue 17: Bale publishes no bulk
rate; reports from its older platform saw about 4 messages a second).

AIMD-like, judged a window of outcomes at a time (at least WINDOW seconds and MIN_OUTCOMES):
- the sender starts at the configured rate;
- a window whose 429s show the bot over the messenger's limit (at least CONGESTED_LEAST of them
  and CONGESTED_SHARE of the outcomes; one or two are a chat's own limit, or chance) lowers the
  rate to BACKOFF of the limit it shows: how many messages got through in the second before each
  refused one (a per-second limit refuses the N+1st), their upper quartile (the times are ours,
  not the messenger's: a message that waited on its way leaves the count short). That lands just under the
  limit in one step, rather than halving again and again; one step never lowers the rate by more
  than MOST_DROP (a bot refused everything for a while shows no limit at all). For SETTLE seconds
  after a drop the messenger still counts the faster sending before it: those outcomes are not
  judged;
- a clean window (at most CLEAN_SHARE of 429s) in which the rate was really used (not held back
  by the database, the shared budget or the replies) probes upwards: PROBE_STEP, and only
  PROBE_NEAR once within reach of the last rate that was too much, so the overshoots that find
  the limit again stay small;
- never above the ceiling (the config's broadcast_rate_ceiling, and on PostgreSQL the bot's shared
  budget), never under FLOOR.

Outcomes of requests sent before the last change say nothing about the new rate: they are left
out of the window (each send carries the epoch it was made in), though what got through still
counts towards the limit shown. Times are the event loop's, passed in, so a test can drive it
with made-up ones.
"""
from __future__ import annotations

import bisect
import statistics
from dataclasses import dataclass

WINDOW = 1.0  # seconds of sending judged together, at least (a messenger's limit is per second)
MIN_OUTCOMES = 20  # and at least this many outcomes (at 4/s: 5 s)
CONGESTED_SHARE = 0.02
CONGESTED_LEAST = 3
CLEAN_SHARE = 0.01  # at most this share of 429s (chance, one chat's own limit) still probes upwards
UNDECIDED_MOST = 10 * MIN_OUTCOMES  # a window with a few 429s is judged on at most this many outcomes
BACKOFF = 0.95
MOST_DROP = 0.5  # one step lowers the rate to no less than this share of it
SETTLE = 1.0  # seconds after a drop whose outcomes are not judged
PROBE_STEP = 0.05
PROBE_NEAR = 0.01
NEAR = 0.97  # "within reach": above this share of the last rate that was too much
USED = 0.8  # a window probes upwards only if it sent at least this share of the rate
FLOOR = 0.5  # messages a second
PER = 1.0  # the messenger's limit is over this many seconds
KEPT = 2.0  # seconds of messages that got through kept, beyond the window's (counting the limit)


@dataclass(frozen=True)
class Send:
    """What the controller needs back with a request's outcome."""

    epoch: int
    at: float


class AdaptiveRate:
    def __init__(self, start: float, ceiling: float) -> None:
        self.ceiling = max(FLOOR, ceiling)
        self.start = min(max(FLOOR, start), self.ceiling)
        self.rate = self.start
        self.too_much: float | None = None  # the last rate that drew a window of 429s
        self.decreases = self.increases = 0
        self._epoch = 0
        self._settle_until = -1.0
        self._through: list[float] = []  # send times of messages that got through, ascending
        self._reset_window()

    def _reset_window(self) -> None:
        self._first_send: float | None = None
        self._last_send = 0.0
        self._busy = 0.0  # seconds between the window's sends, gaps (nothing due) left out
        self._sent = self._outcomes = self._429s = 0
        self._refused_at: list[float] = []

    def cap(self, ceiling: float) -> None:
        """A lower bound from elsewhere (the shared budget's rate)."""
        self.ceiling = max(FLOOR, min(self.ceiling, ceiling))
        if self.rate > self.ceiling:
            self._set(self.ceiling)

    def restart_window(self) -> None:
        """After a long pause (a refused token): what comes after is judged afresh. (The short
        pause for a flood of 429s is not one: the window goes on, the gap left out of its rate.)"""
        self._epoch += 1
        self._reset_window()

    def sent(self, now: float) -> Send:
        if now < self._settle_until:
            return Send(-1, now)  # in no window
        if self._first_send is None:
            self._first_send = now
        else:
            self._busy += min(now - self._last_send, 2 / self.rate)
        self._last_send = now
        self._sent += 1
        return Send(self._epoch, now)

    def outcome(self, send: Send, is_429: bool, now: float, others: float = 0.0) -> bool:
        """One request's outcome; True when the rate changed. ``others``: messages a second the
        bot sends besides this broadcast (the citizens' replies), which the limit also counts."""
        if not is_429:
            bisect.insort(self._through, send.at)
            # Kept for the window's refused ones: from a second before its start. Trimmed a second
            # at a time, not a few entries per outcome (each trim moves the whole list).
            oldest = min(now - KEPT, self._first_send if self._first_send is not None else now) - PER
            if self._through[0] < oldest - 1.0:
                del self._through[:bisect.bisect_left(self._through, oldest)]
        if send.epoch != self._epoch or self._first_send is None:
            return False
        self._outcomes += 1
        if is_429:
            self._429s += 1
            self._refused_at.append(send.at)
        if self._outcomes < MIN_OUTCOMES or now - self._first_send < WINDOW:
            return False
        if self._429s >= CONGESTED_LEAST and self._429s >= CONGESTED_SHARE * self._outcomes:
            return self._back_off(now, others)
        if self._429s > CLEAN_SHARE * self._outcomes:
            # A few 429s: a chat's own limit, chance, or the start of being over. Judged on more
            # outcomes, and no step up on them.
            if self._outcomes >= UNDECIDED_MOST:
                self._reset_window()
            return False
        if self._used() + others < USED * self.rate or self.rate >= self.ceiling:
            self._reset_window()  # no evidence about a higher rate; judge the next window
            return False
        near = self.too_much is not None and self.rate >= NEAR * self.too_much
        self.increases += 1
        return self._set(min(self.ceiling, self.rate * (1 + (PROBE_NEAR if near else PROBE_STEP))))

    def limit_shown(self) -> float:
        """Messages that got through in the second before each refused one, their upper quartile."""
        through = self._through
        counts = [bisect.bisect_left(through, at) - bisect.bisect_right(through, at - PER) for at in self._refused_at]
        return (statistics.quantiles(counts, n=4, method="inclusive")[2] if len(counts) > 1 else counts[0]) / PER

    def _used(self) -> float:
        """Messages a second the window sent (the rate may have been held back elsewhere)."""
        return (self._sent - 1) / self._busy if self._busy > 0 and self._sent > 1 else self.rate

    def _back_off(self, now: float, others: float) -> bool:
        shown = self.limit_shown() + others
        self.too_much = self.rate
        self.decreases += 1
        self._settle_until = now + SETTLE
        return self._set(max(FLOOR, MOST_DROP * self.rate, BACKOFF * min(self.rate, shown)))

    def _set(self, rate: float) -> bool:
        changed = rate != self.rate
        self.rate = rate
        self._epoch += 1
        self._reset_window()
        return changed
