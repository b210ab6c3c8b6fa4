"""Results: each neighbourhood's budget allocated by its votes (bot/campaign/results has the rules)."""
from __future__ import annotations

import enum
import io

from bot.campaign.calendar import CampaignCalendar
from bot.campaign.clock import Clock
from bot.campaign.config import Config, ConfigError
from bot.campaign.results import rules
from bot.campaign.results.election import Election, Project
from bot.campaign.results.pabulib import write_pb
from bot.campaign.roles import NOT_STAFF, Actor, Refused, may_act
from domain import EVERYONE, Audience, NeighbourhoodBallots, ResultRun, Winner
from messages_fa import results as texts
from storage.interface import Repositories

ANNOUNCEMENT = "results"  # the key of messages_fa.broadcasts.ANNOUNCEMENT_NAMES

# Add1's step: each rerun raises every voter's share by 1% of the starting share (at least one
# money unit). With costs in toman a step of one toman would mean tens of thousands of reruns;
# the same step is what pabutools' voter_budget_increment must be given to recompute the result.
ADD1_STEPS = 100


class Publish(enum.Enum):
    DONE = "done"
    ALREADY = "already"  # published before (by a colleague, or a double tap)
    TOO_EARLY = "too_early"  # voting has not closed: no count is final yet
    STALE = "stale"  # computed before voting closed: votes cast after it are missing
    NOT_STAFF = "not_staff"  # the actor may not take "results"


class UnfundedNeighbourhoods(ConfigError):
    """Neighbourhoods whose budget is 0 (results.default_budget 0 and no entry in results.budgets):
    their results would fund nothing, so none are computed. Raised where results are asked for: a
    config may leave budgets open while proposals are being written."""

    SHOWN = 5  # ids named in the operator's one line

    def __init__(self, neighbourhood_ids: list[str]) -> None:
        self.neighbourhood_ids = tuple(neighbourhood_ids)
        shown = ", ".join(neighbourhood_ids[:self.SHOWN]) + (", …" if len(neighbourhood_ids) > self.SHOWN else "")
        many = len(neighbourhood_ids) > 1
        count = f"{len(neighbourhood_ids)} neighbourhoods" if many else "neighbourhood"
        super().__init__("results.default_budget", f"is 0, and {count} ({shown}) {'have' if many else 'has'} no "
                                                   f"entry in results.budgets: {'their' if many else 'its'} results "
                                                   "would fund nothing")


def _equal_shares(election: Election) -> list[str]:
    step = max(1, election.budget // max(1, election.num_voters) // ADD1_STEPS)
    return rules.equal_shares(election, per_voter_step=step)


RULES = {"greedy": rules.greedy, "equal-shares": _equal_shares}


def election_of(ballots: NeighbourhoodBallots, budget: int) -> Election:
    """Project ids are the proposals' tracking codes: what a citizen or researcher can look up."""
    code_of = {p.proposal_id: p.code for p in ballots.projects}
    return Election(
        budget=budget,
        projects=tuple(Project(p.code, p.cost, p.title) for p in ballots.projects),
        ballots=tuple((frozenset(code_of[pid] for pid in ballot), count) for ballot, count in ballots.ballots),
    )


class ResultsService:
    def __init__(self, config: Config, clock: Clock, repos: Repositories, calendar: CampaignCalendar) -> None:
        self.config, self.clock, self.repos, self.calendar = config, clock, repos, calendar

    async def compute(self, by: Actor, rule: str | None = None, save: bool = True) -> ResultRun | Refused:
        """Runs the rule for every neighbourhood and stores the outcome (not published);
        ``save=False`` only computes (the operator's ``python -m bot results``). Raises
        UnfundedNeighbourhoods (a ConfigError: the CLI's one line) if any budget is 0; NOT_STAFF
        (nothing computed) when ``by`` may not take "results"."""
        if not may_act(self.config, by, "results"):
            return NOT_STAFF
        if unfunded := [h.id for h in self.config.neighbourhoods if self.config.results.budget(h.id) <= 0]:
            raise UnfundedNeighbourhoods(unfunded)
        rule = rule or self.config.results.rule
        allocate = RULES[rule]
        hoods, winners = {}, []
        for hood in self.config.neighbourhoods:
            ballots = await self.repos.results.ballots(hood.id)
            budget = self.config.results.budget(hood.id)
            chosen = allocate(election_of(ballots, budget))
            by_code = {p.code: p for p in ballots.projects}
            for rank, code in enumerate(chosen, 1):
                p = by_code[code]
                winners.append(Winner(hood.id, rank, p.proposal_id, p.code, p.title, p.cost, p.votes))
            spent = sum(by_code[code].cost for code in chosen)
            hoods[hood.id] = (budget, spent, sum(count for _, count in ballots.ballots))
        if not save:
            return ResultRun(0, rule, self.clock.now(), by.ref, None, hoods, tuple(winners))
        result_id = await self.repos.results.save(rule, by.ref, self.clock.now(), hoods, winners)
        await self.repos.audit.record(by.ref, "results", f"results {result_id}", None, rule, self.clock.now())
        return await self.repos.results.get(result_id)

    async def get(self, result_id: int) -> ResultRun | None:
        return await self.repos.results.get(result_id)

    async def publish(self, by: Actor, result_id: int) -> Publish:
        """Once, and only a count of every vote: after voting has closed (the calendar's close, as
        admins may have moved it), of a computation made after it. Everyone is told
        through the broadcast engine, as a recorded announcement (so that too happens once); the
        caller wakes the sender."""
        if not may_act(self.config, by, "results"):
            return Publish.NOT_STAFF
        now = self.clock.now()
        voting_closes = self.calendar.current.voting_closes
        if now < voting_closes:
            return Publish.TOO_EARLY
        run = await self.repos.results.get(result_id)
        if run is not None and run.published_at is None and run.computed_at < voting_closes:
            return Publish.STALE
        if not await self.repos.results.publish(result_id, by.ref, now):
            return Publish.ALREADY
        await self.repos.audit.record(by.ref, "results", f"results {result_id}", "computed", "published", now)
        await self.repos.calendar.announce(ANNOUNCEMENT, now, now, texts.announcement(self.config.site.index_url),
                                            Audience(EVERYONE))
        return Publish.DONE

    async def published(self) -> ResultRun | None:
        return await self.repos.results.published()

    async def pabulib(self, neighbourhood_id: str, rule: str | None = None,
                      ballots: NeighbourhoodBallots | None = None) -> str:
        """One neighbourhood's election as a pabulib .pb file (voters anonymized); ``ballots`` when
        the caller has read them already (the public pages show them too)."""
        hood = self.config.neighbourhood(neighbourhood_id)
        ballots = ballots or await self.repos.results.ballots(neighbourhood_id)
        out = io.StringIO()
        write_pb(election_of(ballots, self.config.results.budget(neighbourhood_id)), {
            "description": f"Man Shahrdaram, Tehran District 1, {hood.id}",
            "country": "Iran", "unit": f"Tehran District 1 — {hood.name}", "instance": hood.id,
            "rule": rule or self.config.results.rule, "currency": self.config.money_unit,
        }, out)
        return out.getvalue()
