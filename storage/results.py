"""The inputs of the allocation (each neighbourhood's ballot and its grouped votes) and its outputs."""
from __future__ import annotations

import collections
import datetime as dt
import sqlite3

from domain import BallotProject, NeighbourhoodBallots, ResultRun, Winner
from storage.db import Database
from storage.rows import ON_BALLOT, _dt, _one, _ts


class ResultsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ballots(self, neighbourhood_id: str) -> NeighbourhoodBallots:
        """What was put to the vote in one neighbourhood, and how its voters voted (grouped)."""
        def read(conn: sqlite3.Connection) -> NeighbourhoodBallots:
            projects = tuple(BallotProject(row[0], row[1], row[2], row[3], row[4]) for row in conn.execute(
                f"SELECT p.id, p.code, p.title, p.cost, (SELECT COUNT(*) FROM votes v WHERE v.proposal_id = p.id) "
                f"FROM proposals p WHERE p.neighbourhood_id = ? AND {ON_BALLOT} ORDER BY p.id", (neighbourhood_id,)))
            per_voter: dict[int, set[int]] = collections.defaultdict(set)
            for citizen_id, proposal_id in conn.execute(
                    f"SELECT v.citizen_id, v.proposal_id FROM votes v JOIN proposals p ON p.id = v.proposal_id "
                    f"WHERE p.neighbourhood_id = ? AND {ON_BALLOT.replace('status', 'p.status')}",
                    (neighbourhood_id,)):
                per_voter[citizen_id].add(proposal_id)
            grouped = collections.Counter(frozenset(ballot) for ballot in per_voter.values())
            return NeighbourhoodBallots(neighbourhood_id, projects,
                                        tuple(sorted(grouped.items(), key=lambda item: sorted(item[0]))))
        # A neighbourhood's votes at 500,000 citizens take ~50 ms to read: on a connection of their
        # own, where they hold up no citizen's update.
        return await self.db.read_apart(read)

    async def save(self, rule: str, by: str, now: dt.datetime, neighbourhoods: dict[str, tuple[int, int, int]],
                   winners: list[Winner]) -> int:
        def save(conn: sqlite3.Connection) -> int:
            result_id = conn.execute("INSERT INTO results (rule, computed_at, computed_by) VALUES (?, ?, ?) RETURNING id",
                                     (rule, _ts(now), by)).fetchone()[0]
            if neighbourhoods:
                conn.executemany("INSERT INTO result_neighbourhoods VALUES (?, ?, ?, ?, ?)",
                                 [(result_id, hood, *figures) for hood, figures in neighbourhoods.items()])
            if winners:
                conn.executemany("INSERT INTO result_winners VALUES (?, ?, ?, ?, ?, ?)",
                                 [(result_id, w.neighbourhood_id, w.rank, w.proposal_id, w.cost, w.votes)
                                  for w in winners])
            return result_id
        return await self.db.write(save)

    async def publish(self, result_id: int, by: str, now: dt.datetime) -> bool:
        """Once: a second press, or another run already published, changes nothing."""
        def publish(conn: sqlite3.Connection) -> bool:
            if _one(conn, "SELECT 1 FROM results WHERE published_at IS NOT NULL"):
                return False
            # Two staff publishing two runs at once on PostgreSQL: the partial UNIQUE index
            # results_one_published lets one of them through.
            return conn.unless_duplicate("UPDATE results SET published_at = ?, published_by = ? WHERE id = ? "
                                         "AND published_at IS NULL", (_ts(now), by, result_id)) == 1
        return await self.db.write(publish)

    async def get(self, result_id: int) -> ResultRun | None:
        return await self.db.read(_run, result_id)

    async def published(self) -> ResultRun | None:
        row = await self.db.read(_one, "SELECT id FROM results WHERE published_at IS NOT NULL ORDER BY id LIMIT 1")
        return None if row is None else await self.get(row[0])


def _run(conn: sqlite3.Connection, result_id: int) -> ResultRun | None:
    row = _one(conn, "SELECT * FROM results WHERE id = ?", (result_id,))
    if row is None:
        return None
    hoods = {r[0]: (r[1], r[2], r[3]) for r in conn.execute(
        "SELECT neighbourhood_id, budget, spent, voters FROM result_neighbourhoods WHERE result_id = ?", (result_id,))}
    winners = tuple(Winner(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in conn.execute(
        "SELECT w.neighbourhood_id, w.rank, w.proposal_id, p.code, p.title, w.cost, w.votes FROM result_winners w "
        "JOIN proposals p ON p.id = w.proposal_id WHERE w.result_id = ? ORDER BY w.neighbourhood_id, w.rank",
        (result_id,)))
    return ResultRun(row["id"], row["rule"], _dt(row["computed_at"]), row["computed_by"], _dt(row["published_at"]),
                     hoods, winners)
