"""Similar proposals: a citizen's new title against their neighbourhood's, and a pending
proposal against the others for staff.

The storage's trigram index (SQLite FTS5 trigram, PostgreSQL pg_trgm) finds candidates that
share letters with the title; the score here decides. It is one function for both engines, so
both show the same proposals in the same order. It compares the canonical words of
messages_fa.normalize.search_words: each word weighs by how rare it is among the candidates
("park" and the street's name come back in many titles of a neighbourhood, "bin" only in those
about bins), and a word that differs by a letter or two still counts in part.
"""
from __future__ import annotations

import enum
import functools
import math
from collections.abc import Sequence

from bot.campaign.calendar import CampaignCalendar
from bot.campaign.clock import Clock
from bot.campaign.config import Config
from domain import APPROVED, PENDING, Citizen, Phase, Proposal, SimilarCandidate, SimilarProposal
from messages_fa.normalize import search_words
from storage.interface import Repositories

# What is shown: at most three, and only above this score (0..1); below it nothing is shown and
# the flow goes on without an extra message.
SHOWN = 3
THRESHOLD = 0.45
# Two different words this close (trigram Dice of the padded words) count as half the same.
NEAR_WORD = 0.6


@functools.lru_cache(maxsize=65536)
def _trigrams(word: str) -> frozenset[str]:
    padded = f"  {word} "
    return frozenset(padded[i:i + 3] for i in range(len(padded) - 2))


def _word_match(word: str, others: Sequence[str]) -> float:
    if word in others:
        return 1.0
    best = 0.0
    mine = _trigrams(word)
    for other in others:
        theirs = _trigrams(other)
        dice = 2 * len(mine & theirs) / (len(mine) + len(theirs))
        best = max(best, dice)
    return best * 0.5 if best >= NEAR_WORD else 0.0


def score(query: Sequence[str], words: Sequence[str], weight) -> float:
    """Weighted soft Dice of two word lists: 1 for the same words, 0 for none in common."""
    if not query or not words:
        return 0.0
    total = sum(weight(w) for w in query) + sum(weight(w) for w in words)
    shared = sum(weight(w) * _word_match(w, words) for w in query) + sum(weight(w) * _word_match(w, query) for w in words)
    return shared / total if total else 0.0


def rank(query: Sequence[str], candidates: Sequence[tuple[int, Sequence[str]]]) -> list[tuple[int, float]]:
    """(id, score) of the candidates at or above THRESHOLD, best first (ties: the older first)."""
    # Inverse document frequency among the candidates, smoothed so that a set of two or three
    # still weighs words (nearly) alike.
    weight = _weights([words for _, words in candidates])
    scored = [(pid, score(query, words, weight)) for pid, words in candidates]
    return sorted([s for s in scored if s[1] >= THRESHOLD], key=lambda s: (-s[1], s[0]))


# The index is asked for this many candidates; the score above ranks them. Enough for a
# neighbourhood's titles that share a word with the query, few enough to score in a millisecond.
CANDIDATES = 50
# After the description: a candidate title counts as found in it when this share of its (weighted)
# words is there, and it has two words at least (one word is found in any long text).
CONTAINED = 0.8


def contained(words: Sequence[str], text_words: Sequence[str], weight) -> float:
    """How much of a short title (``words``) a longer text holds, weighted; 0 for a one-word title."""
    if len(words) < 2:
        return 0.0
    total = sum(weight(w) for w in words)
    return sum(weight(w) * _word_match(w, text_words) for w in words) / total if total else 0.0


class Support(enum.Enum):
    DONE = "done"  # «me too» recorded
    ALREADY = "already"  # recorded before: nothing changed
    MINE = "mine"  # the citizen's own proposal: nothing to record
    GONE = "gone"  # rejected, missing, or of another neighbourhood
    CLOSED = "closed"  # not in the proposals phase


class SimilarService:
    def __init__(self, config: Config, clock: Clock, repos: Repositories, calendar: CampaignCalendar) -> None:
        self.config, self.clock, self.repos, self.calendar = config, clock, repos, calendar

    async def _ranked(self, neighbourhood_id: str, words: list[str], citizen_id: int | None,
                      exclude: int | None) -> tuple[list[SimilarCandidate], list[tuple[int, float]]]:
        found = await self.repos.search.candidates(neighbourhood_id, words, citizen_id=citizen_id,
                                                   exclude=exclude, limit=CANDIDATES)
        return found, rank(words, [(c.id, c.words) for c in found])

    async def for_title(self, citizen: Citizen, title: str) -> list[SimilarProposal]:
        """Up to three proposals of the citizen's neighbourhood like this title: approved ones and
        the citizen's own pending ones, the likeliest first; [] when none is close enough."""
        if not citizen.neighbourhood_id:
            return []
        words = search_words(title)
        found, ranked = await self._ranked(citizen.neighbourhood_id, words, citizen.id, None)
        return _shown(found, ranked, citizen.id)

    async def for_description(self, citizen: Citizen, title: str, description: str) -> list[SimilarProposal]:
        """After the description: proposals whose title the description (with the title) holds,
        or that are like the title and the description together — less those shown for the title
        alone (the citizen has answered about them already)."""
        if not citizen.neighbourhood_id:
            return []
        title_words = search_words(title)
        text_words = list(dict.fromkeys(title_words + search_words(description)))
        found = await self.repos.search.candidates(citizen.neighbourhood_id, text_words, citizen_id=citizen.id,
                                                   limit=CANDIDATES)
        if not found:
            return []
        weight = _weights([c.words for c in found])
        before = {pid for pid, _ in rank(title_words, [(c.id, c.words) for c in found])[:SHOWN]}
        scored = []
        for c in found:
            if c.id in before:
                continue
            best = max(score(text_words, c.words, weight), contained(c.words, text_words, weight) * 0.9)
            if best >= THRESHOLD:
                scored.append((c.id, best))
        scored.sort(key=lambda s: (-s[1], s[0]))
        return _shown(found, scored, citizen.id)

    async def for_staff(self, proposal: Proposal) -> list[SimilarProposal]:
        """The likely duplicates of a proposal among the standing ones of its neighbourhood, with
        their «me too» counts, for /review."""
        words = search_words(proposal.title)
        found, ranked = await self._ranked(proposal.neighbourhood_id, words, None, proposal.id)
        shown = _shown(found, ranked, None)
        counts = await self.repos.search.supporters([s.id for s in shown])
        return [_with(s, counts.get(s.id, 0)) for s in shown]

    async def supporters(self, proposal_ids: Sequence[int]) -> dict[int, int]:
        return await self.repos.search.supporters(proposal_ids)

    async def support(self, citizen: Citizen, proposal_id: int) -> tuple[Support, Proposal | None]:
        """The ❤ «me too» of a citizen on a proposal of their neighbourhood, once. Re-checked here:
        the phase, the neighbourhood, that it stands and is not their own."""
        proposal = await self.repos.proposals.get(proposal_id)
        if proposal is None or proposal.neighbourhood_id != citizen.neighbourhood_id or proposal.status not in (
                APPROVED, PENDING) or (proposal.status == PENDING and proposal.citizen_id != citizen.id):
            return Support.GONE, None
        if proposal.citizen_id == citizen.id:
            return Support.MINE, proposal
        if self.calendar.phase().phase is not Phase.PROPOSALS:
            return Support.CLOSED, proposal
        done = await self.repos.search.support(proposal_id, citizen.id, self.clock.now())
        return (Support.DONE if done else Support.ALREADY), proposal


def _weights(word_lists: Sequence[Sequence[str]]):
    n = len(word_lists)
    df: dict[str, int] = {}
    for words in word_lists:
        for word in set(words):
            df[word] = df.get(word, 0) + 1
    return lambda word: math.log(1 + (n + 1) / (df.get(word, 0) + 1))


def _shown(found: Sequence[SimilarCandidate], ranked: Sequence[tuple[int, float]],
           citizen_id: int | None) -> list[SimilarProposal]:
    by_id = {c.id: c for c in found}
    return [SimilarProposal(id=c.id, code=c.code, title=c.title, status=c.status, mine=c.citizen_id == citizen_id,
                            on_the_ballot=c.on_the_ballot, score=round(s, 2))
            for c, s in ((by_id[pid], s) for pid, s in ranked[:SHOWN])]


def _with(shown: SimilarProposal, supporters: int) -> SimilarProposal:
    return SimilarProposal(**{**shown.__dict__, "supporters": supporters})
