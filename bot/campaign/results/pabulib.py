"""Export one neighbourhood's election in the pabulib `.pb` format (https://pabulib.org/format).

Three sections, semicolon-separated, UTF-8 (Persian names are written as they are):

    META      key;value — description, country, unit, instance, num_projects, num_votes, budget,
              vote_type (approval), rule, and date_begin/date_end and any other key given;
    PROJECTS  project_id;cost;name;votes
    VOTES     voter_id;vote — one row per voter, `vote` = the approved project ids, comma-separated.

Voters are anonymous: their ids are 1..N, given after sorting the ballots (each as its sorted
project ids) — the first voter of the smallest ballot is 1, and voters with the same ballot get
consecutive ids. Nothing about the voter (account, phone, time of the vote, order of voting)
reaches the file, and the same election always gives the same file byte for byte.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from typing import TextIO

from bot.campaign.results.election import Election

# Keys this module writes itself from the election; the caller's meta may not contradict them.
_DERIVED = ("num_projects", "num_votes", "budget", "vote_type")
_ORDER = ("description", "country", "unit", "subunit", "instance", "num_projects", "num_votes",
          "budget", "vote_type", "rule", "date_begin", "date_end", "currency", "language")


def _one_line(text: str) -> str:
    # pabulib readers split the file into lines before the CSV parser sees it.
    return " ".join(str(text).split())


def ballot_order(election: Election) -> list[tuple[tuple[str, ...], int]]:
    """The grouped ballots in export order: each ballot's ids sorted, ballots sorted."""
    return sorted((tuple(sorted(approved, key=lambda i: (len(i), i))), count)
                  for approved, count in election.ballots)


def write_pb(election: Election, meta: Mapping[str, str], out: TextIO) -> None:
    """Write `election` as a pabulib file to `out` (open it with encoding="utf-8", newline="")."""
    for key in _DERIVED:
        if key in meta:
            raise ValueError(f"meta key {key!r} is derived from the election; do not pass it")
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    fields = {k: _one_line(v) for k, v in meta.items()}
    fields.update(
        num_projects=str(len(election.projects)),
        num_votes=str(election.num_voters),
        budget=str(election.budget),
        vote_type="approval",
    )
    keys = [k for k in _ORDER if k in fields] + sorted(k for k in fields if k not in _ORDER)
    writer.writerow(["META"])
    writer.writerow(["key", "value"])
    for key in keys:
        writer.writerow([key, fields[key]])

    votes = election.votes()
    writer.writerow(["PROJECTS"])
    writer.writerow(["project_id", "cost", "name", "votes"])
    for p in sorted(election.projects, key=lambda p: (len(p.id), p.id)):
        writer.writerow([p.id, p.cost, _one_line(p.name), votes[p.id]])

    writer.writerow(["VOTES"])
    writer.writerow(["voter_id", "vote"])
    voter_id = 0
    for approved, count in ballot_order(election):
        vote = ",".join(approved)
        for _ in range(count):
            voter_id += 1
            out.write(f"{voter_id};{vote}\n")
