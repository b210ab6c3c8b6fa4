"""Similar proposals: candidates from a trigram index on both engines, and the «me too»s.

What is indexed is proposals.search_key: the title's canonical words (messages_fa.normalize,
written by the same INSERT as the proposal; see submit_draft). SQLite indexes it with FTS5's
trigram tokenizer (proposals_fts, external content, kept in step by triggers: migration 10);
PostgreSQL with pg_trgm's GIN index (proposals_search, migration 7). The status and the
neighbourhood are read from proposals at the query, so a decision is in step at once.

Both engines are asked the same questions: proposals of one neighbourhood whose key holds all
the query's words, then two of them, then one rare one (a word of one or two letters as a whole
word, between the key's spaces). No ranking in SQL: the score that decides what is shown is
computed above storage, the same for both engines, on at most ``limit`` candidates.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence

from domain import APPROVED, PENDING, SimilarCandidate
from messages_fa.normalize import search_key
from storage.db import Database
from storage.rows import _ts

# Tables of one engine only: move-to-postgres leaves them (the target has its own index), and the
# schema comparison of the two engines skips them. FTS5 makes proposals_fts and its shadow tables.
SQLITE_ONLY_PREFIX = "proposals_fts"
# A word held by fewer rows of the neighbourhood than this is looked up on its own too.
RARE = 100
# Proposals sharing two words with a longer title that are enough candidates: its single rare
# words are then not looked up (each is one more query: 4 ms on PostgreSQL under load).
ENOUGH = 10
# The query's first words only (a description can bring dozens; pairs grow as their square).
MAX_WORDS = 12
# Keys filled per transaction when rows written without one are found (a tool, an older release).
FILL_BATCH = 2000
# Words shorter than this (a two-letter word such as "dog") are looked up with the spaces around
# them: a trigram index finds nothing shorter than three characters, and the key is stored with a
# space at each end for it. Longer ones are looked up inside words too ("speed" in "speed bump",
# written as one word in Persian).
BOUNDED_BELOW = 3

# rows.ON_BALLOT, with the table named (proposals_fts joins in on SQLite).
_COLUMNS = ("p.id, p.code, p.title, p.status, p.citizen_id, p.search_key, "
            "(p.status = 'approved' AND p.feasibility = 'feasible' AND p.cost IS NOT NULL) AS ballot")


def key_of(title: str, neighbourhood_id: str) -> str:
    """What proposals.search_key holds: the neighbourhood's token, then the title's canonical
    words, a space at each end. The token lets the index itself keep to one neighbourhood: without
    it FTS5 went through every neighbourhood's matches (55 ms a lookup among 40,000 in 27)."""
    return f" {_hood(neighbourhood_id)} {search_key(title)} "


def _hood(neighbourhood_id: str) -> str:
    # «~tajrish~»: no word has «~» (messages_fa.normalize splits at it), and the closing one keeps
    # «~darband~» out of «~darband-2~».
    return f"~{neighbourhood_id}~"


def _looked_up(word: str) -> str:
    return f" {word} " if len(word) < BOUNDED_BELOW else word


def _candidate(row) -> SimilarCandidate:
    return SimilarCandidate(id=row["id"], code=row["code"], title=row["title"], status=row["status"],
                            citizen_id=row["citizen_id"], on_the_ballot=bool(row["ballot"]),
                            words=tuple(w for w in (row["search_key"] or "").split() if not w.startswith("~")))


def _matching(conn: sqlite3.Connection, groups: list[tuple[str, ...]], who: str, base: tuple, limit: int) -> list:
    """At most ``limit`` rows of the neighbourhood whose key holds every word of one of ``groups``,
    in no order of relevance: ranking in SQL (FTS5's bm25) cost more than the whole lookup may."""
    hood = _hood(base[0])
    if conn.dialect == "sqlite":
        # Each word a phrase: its trigrams in a row, i.e. the word inside the key.
        query = f'"{hood}" AND (' + " OR ".join("(" + " AND ".join(f'"{w}"' for w in group) + ")"
                                                for group in groups) + ")"
        # CROSS JOIN keeps the index the outer loop: without an ORDER BY rank, SQLite's planner
        # otherwise walks the neighbourhood's proposals and runs the MATCH once for each (114 s for
        # one lookup among 40,000).
        return conn.execute(
            f"SELECT {_COLUMNS} FROM proposals_fts f CROSS JOIN proposals p ON p.id = f.rowid "
            f"WHERE proposals_fts MATCH ? AND p.neighbourhood_id = ? AND {who} AND p.id != ? LIMIT ?",
            (query, *base, limit)).fetchall()
    holds = " OR ".join("(" + " AND ".join("p.search_key LIKE ?" for _ in group) + ")" for group in groups)
    return conn.execute(
        # PostgreSQL keeps to the neighbourhood by its own index (proposals_by_neighbourhood) where
        # that is narrower than the words' trigrams; the token in the key is for FTS5.
        f"SELECT {_COLUMNS} FROM proposals p WHERE ({holds}) AND p.neighbourhood_id = ? AND {who} AND p.id != ? "
        "LIMIT ?", (*[f"%{w}%" for group in groups for w in group], *base, limit)).fetchall()


class SearchRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._filled = False

    async def candidates(self, neighbourhood_id: str, words: Sequence[str], *, citizen_id: int | None = None,
                         exclude: int | None = None, limit: int = 50) -> list[SimilarCandidate]:
        """Proposals of the neighbourhood whose key holds one of ``words``, at most ``limit``.

        With ``citizen_id``: approved proposals and that citizen's own pending ones (what a
        citizen may be shown). Without: every standing one, pending or approved (staff), less
        ``exclude``."""
        words = [_looked_up(w) for w in list(dict.fromkeys(words))[:MAX_WORDS] if w]
        if not words:
            return []
        await self._fill_once()
        if citizen_id is not None:
            # Not one staff found infeasible: a citizen would be asked to support what cannot be built.
            who = ("((p.status = ? AND (p.feasibility IS NULL OR p.feasibility <> 'not_feasible'))"
                   " OR (p.status = ? AND p.citizen_id = ?))")
            params = [APPROVED, PENDING, citizen_id]
        else:
            who, params = "p.status IN (?, ?)", [APPROVED, PENDING]

        def find(conn: sqlite3.Connection) -> list[SimilarCandidate]:
            base = (neighbourhood_id, *params, exclude or 0)
            found: dict[int, SimilarCandidate] = {}

            def add(rows) -> None:
                for row in rows:
                    found.setdefault(row["id"], _candidate(row))
            # Widening: every word; then any two of them (what a title about the same thing
            # shares); then each rare word alone (fewer than RARE rows of the neighbourhood hold it:
            # a short title, a one-word "library", shares one word only with its duplicates). Never every row
            # holding a common word ("park"): there can be thousands.
            if len(words) > 2:
                add(_matching(conn, [tuple(words)], who, base, limit))
            if len(words) > 1 and len(found) < limit:
                add(_matching(conn, [(a, b) for i, a in enumerate(words) for b in words[i + 1:]], who, base, limit))
            for word in words:
                if len(found) >= (limit if len(words) <= 2 else ENOUGH):
                    break  # a title of three words or more that shares two with enough proposals
                rows = _matching(conn, [(word,)], who, base, RARE + 1)
                if len(rows) <= RARE:
                    add(rows)
            return list(found.values())[:limit]
        return await self.db.read(find)

    async def _fill_once(self) -> None:
        """Keys for rows written without one (bench and test fills, rows from before migration
        10): once per process, in batches, each its own transaction."""
        if self._filled:
            return
        while True:
            def fill(conn: sqlite3.Connection) -> int:
                rows = conn.execute("SELECT id, title, neighbourhood_id FROM proposals WHERE search_key IS NULL "
                                    "ORDER BY id LIMIT ?", (FILL_BATCH,)).fetchall()
                conn.executemany("UPDATE proposals SET search_key = ? WHERE id = ? AND search_key IS NULL",
                                 [(key_of(r["title"], r["neighbourhood_id"]), r["id"]) for r in rows])
                return len(rows)
            if await self.db.write(fill) < FILL_BATCH:
                break
        self._filled = True

    async def support(self, proposal_id: int, citizen_id: int, now: dt.datetime) -> bool:
        """A citizen's «me too» on a standing proposal: True the first time only; False when
        recorded already or the proposal does not stand (rejected, missing)."""
        def add(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT INTO proposal_supports (proposal_id, citizen_id, created_at) "
                "SELECT id, ?, ? FROM proposals WHERE id = ? AND status IN (?, ?) "
                "ON CONFLICT (proposal_id, citizen_id) DO NOTHING",
                (citizen_id, _ts(now), proposal_id, APPROVED, PENDING))
            return cur.rowcount == 1
        return await self.db.write(add)

    async def supporters(self, proposal_ids: Sequence[int]) -> dict[int, int]:
        """How many citizens said «me too», per proposal (absent: none)."""
        ids = list(dict.fromkeys(proposal_ids))
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = await self.db.read(lambda conn: conn.execute(
            f"SELECT proposal_id, count(*) FROM proposal_supports WHERE proposal_id IN ({marks}) GROUP BY proposal_id",
            ids).fetchall())
        return {row[0]: row[1] for row in rows}
