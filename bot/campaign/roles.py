"""Who may do what: roles come from config.toml, per messenger, and are checked at every press.

An admin may do everything; a moderator works the review queue; a reviewer judges feasibility
and cost. Every staff command and button names its action here; the authorization table test
(tests/test_roles.py) runs each against each role.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.campaign.config import Config


class Role(enum.Enum):
    ADMIN = "admin"
    MODERATOR = "moderator"
    REVIEWER = "reviewer"


ADMIN, MODERATOR, REVIEWER = Role.ADMIN, Role.MODERATOR, Role.REVIEWER

# action → the roles allowed to take it
ACTIONS: dict[str, frozenset[Role]] = {
    "moderate": frozenset({ADMIN, MODERATOR}),  # /review, approve / reject / category / duplicate
    "review": frozenset({ADMIN, REVIEWER}),  # /feasibility: feasible or not, the cost
    "stats": frozenset({ADMIN, MODERATOR, REVIEWER}),  # /stats
    "export": frozenset({ADMIN}),  # /export (every proposal, per neighbourhood, ambassadors)
    "audit": frozenset({ADMIN}),  # /audit
    "broadcast": frozenset({ADMIN}),  # /broadcast, /broadcasts and their buttons
    "schedule": frozenset({ADMIN}),  # /schedule and moving a boundary
    "ambassadors": frozenset({ADMIN}),  # /ambassadors, approve / suspend / remove / revoke
    "results": frozenset({ADMIN}),  # /results: compute, preview, publish
}


# The action behind each staff command (for the per-person command menu).
COMMAND_ACTIONS = {
    "broadcast": "broadcast", "broadcasts": "broadcast", "schedule": "schedule", "ambassadors": "ambassadors",
    "review": "moderate", "feasibility": "review", "stats": "stats", "export": "export", "audit": "audit",
    "results": "results",
    "title": "moderate",  # a title the author left to staff (issue 16, §4)
}


def actor(platform: str, user_id: int) -> str:
    """How a staff member is named in the audit log and on decisions: "<platform>:<user id>"."""
    return f"{platform}:{user_id}"


def staff_of(config: Config, platform: str) -> frozenset[int]:
    platform_config = config.platforms[platform]
    return platform_config.admins | platform_config.moderators | platform_config.reviewers


def roles_of(config: Config, platform: str, user_id: int) -> frozenset[Role]:
    platform_config = config.platforms.get(platform)
    if platform_config is None:
        return frozenset()
    found = set()
    if user_id in platform_config.admins:
        found.add(ADMIN)
    if user_id in platform_config.moderators:
        found.add(MODERATOR)
    if user_id in platform_config.reviewers:
        found.add(REVIEWER)
    return frozenset(found)


def may(config: Config, platform: str, user_id: int, action: str) -> bool:
    """Unknown actions are refused: a button without an entry here is nobody's."""
    return bool(roles_of(config, platform, user_id) & ACTIONS.get(action, frozenset()))


@dataclass(frozen=True)
class Actor:
    """Who takes a staff action, as a service receives it: the service itself decides whether they
    may (``may_act``), from the config of now, so no caller can vouch for anyone.

    A person (``Actor.person``) has the rights config.toml gives their id on their messenger. The
    operator's own tools on the machine — the playground's demo data, the benchmarks' seeding — act
    as ``Actor.tool(name)`` with every right: whoever runs them holds the database already. Nothing
    a messenger sends makes a tool."""
    ref: str  # how the audit log and decisions name them ("telegram:900", or the tool's name)
    platform: str | None = None
    user_id: int | None = None
    is_tool: bool = False

    @classmethod
    def person(cls, platform: str, user_id: int) -> "Actor":
        return cls(actor(platform, user_id), platform, user_id)

    @classmethod
    def tool(cls, name: str) -> "Actor":
        return cls(name, is_tool=True)


class Refused(enum.Enum):
    """What a service returns, in place of its usual value, to an actor who may not take the action
    (``may_act``): an ordinary answer for the caller to give, not an error. Falsy, so a caller that
    tests ``if not done`` reads it as what it is — nothing changed. Services whose outcome is already
    an enum add a NOT_STAFF member to it instead (proposals' Decision, results' Publish)."""
    NOT_STAFF = "not_staff"

    def __bool__(self) -> bool:
        return False


NOT_STAFF = Refused.NOT_STAFF


def may_act(config: Config, who: Actor, action: str) -> bool:
    if who.is_tool:
        return True  # the operator's own (see Actor)
    return who.platform is not None and who.user_id is not None and may(config, who.platform, who.user_id, action)
