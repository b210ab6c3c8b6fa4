"""Callback data: one codec per family of buttons, each packing and parsing its own data.

A keyboard packs (``Vote(12, 0).pack()`` → ``"v:12:0"``), the handlers are registered with the
family's ``PATTERN`` and read the press with ``parse``. Data that no family parses reaches no
handler but the one refusal (handlers/start.on_unknown_button, «this button has expired»).

Data is short ASCII and must stay byte-identical: buttons already sent to people keep working
across releases (tests/test_buttons.py holds today's strings). Every value in it is re-checked on
the server at the press — who presses, in which phase, for which proposal — never trusted.

  n:<neighbourhood id>                choose a neighbourhood
  nm:<neighbourhood id>|-             move to that neighbourhood (after "you are in X; move to Y?");  nm:-  stay
  nl:all                              show all the neighbourhoods (on a "not found" answer)
  ft:y|n                              a text typed at the main menu: start a proposal with it, or not
  c:<category id>                     the category of the proposal being written
  pv:ok|edit|cancel                   the preview;   pe:cat|title|desc|media|back  the field to edit
  v:<proposal id>:<page>[:d]         vote, on ballot page <page> (:d  pressed on its details view);  w:…  withdraw
  i:<proposal id>                     a ballot proposal's details (its page is found on the server)
  p:<page>                            a ballot page
  m:a|r:<proposal id>                 a staff card: approve, reject…
  rv:a|r|c|d|n|rt:<proposal id>       /review: approve, reject…, category…, duplicate…, next, type a reason
  rv:rr|cc:<proposal id>:<i>          reject with ready reason i;  set category i
  fz:y|n:<proposal id>:<u|f|n>        /feasibility: feasible…, not feasible… (and what the card showed:
                                      unjudged, feasible, not feasible — two reviewers never overwrite each other)
  fz:c|s:<proposal id>                type the cost…, skip
  au:<offset>[:<only>]  au:m:p|a|d     older audit entries (of one person, action or day); the choice of one
  cal:mv:<i>                          move calendar boundary i (bot/campaign/calendar.MOVABLE)
  st:h  st:h:<i>                      /stats: choose a neighbourhood; neighbourhood i's chart over the days
  an:<neighbourhood id>|-             the ambassador form's neighbourhood;  an:-  back to the name
  ap:links|card|poster|stats|new      an ambassador's own panel
  amb:a|r|s|u|x|k|v:<citizen id>      staff: approve, reject, suspend, reinstate, remove, revoke the link, view
  amb:p:<page>                        the staff list of ambassadors, a page
  rs:v:<result id>:<i>  rs:p:<result id>  rs:c    /results: view neighbourhood i, publish, compute again
  rs:h:<i>                            a citizen views neighbourhood i of the published results
  bc:<action>:<broadcast id>[:<arg>]  a broadcast draft (bot/messenger/keyboards/broadcasts.py)
  sm:s:<proposal id>  sm:c            similar proposals: «this is what I meant», «mine is different»
  dup:<proposal id>:<original id>     /review: mark as a duplicate of a listed likely duplicate
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from bot.campaign.config import _ID_RE

B = TypeVar("B", bound="ButtonData")

_ID = _ID_RE.pattern  # neighbourhood and category ids, as the config admits them


class ButtonData:
    """A family of callback data. ``PATTERN`` matches exactly the data ``parse`` accepts, so a
    handler registered with it never sees data it cannot read."""

    PREFIX: ClassVar[str]
    PATTERN: ClassVar[re.Pattern[str]]

    def pack(self) -> str:
        raise NotImplementedError

    @classmethod
    def parse(cls: type[B], data: object) -> B | None:
        """The press's data as this family, or None for anything else (another family's data,
        forged, truncated, from a version that no longer exists)."""
        if not isinstance(data, str):
            return None
        match = cls.PATTERN.fullmatch(data)
        return None if match is None else cls._read(match)

    @classmethod
    def _read(cls: type[B], match: re.Match[str]) -> B:
        raise NotImplementedError


def _pattern(prefix: str, *shapes: str) -> re.Pattern[str]:
    # \Z, not $: "$" also matches before a final newline, and PTB matches with re.match. ASCII: \d
    # would take any script's digits.
    return re.compile(rf"^{re.escape(prefix)}:(?:{'|'.join(shapes)})\Z", re.ASCII)


def exactly(data: ButtonData) -> re.Pattern[str]:
    """A pattern for this one button's data (a step that takes only one button of a family)."""
    return re.compile(rf"^{re.escape(data.pack())}\Z")


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


# -- citizens -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Neighbourhood(ButtonData):
    neighbourhood_id: str

    PREFIX: ClassVar[str] = "n"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, rf"(?P<id>{_ID})")

    def pack(self) -> str:
        return f"n:{self.neighbourhood_id}"

    @classmethod
    def _read(cls, match):
        return cls(match["id"])


@dataclass(frozen=True)
class MoveNeighbourhood(ButtonData):
    """Confirms a move to ``neighbourhood_id``; None: stay where one is ("-", which no config id is)."""
    neighbourhood_id: str | None

    PREFIX: ClassVar[str] = "nm"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, rf"(?P<id>{_ID}|-)")

    def pack(self) -> str:
        return f"nm:{self.neighbourhood_id or '-'}"

    @classmethod
    def _read(cls, match):
        return cls(None if match["id"] == "-" else match["id"])


@dataclass(frozen=True)
class AllNeighbourhoods(ButtonData):
    PREFIX: ClassVar[str] = "nl"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, "all")

    def pack(self) -> str:
        return "nl:all"

    @classmethod
    def _read(cls, match):
        return cls()


@dataclass(frozen=True)
class FromText(ButtonData):
    """The offer to start a proposal with a text typed at the main menu: accepted or not."""
    accept: bool

    PREFIX: ClassVar[str] = "ft"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, "(?P<answer>[yn])")

    def pack(self) -> str:
        return f"ft:{'y' if self.accept else 'n'}"

    @classmethod
    def _read(cls, match):
        return cls(match["answer"] == "y")


@dataclass(frozen=True)
class Category(ButtonData):
    category_id: str

    PREFIX: ClassVar[str] = "c"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, rf"(?P<id>{_ID})")

    def pack(self) -> str:
        return f"c:{self.category_id}"

    @classmethod
    def _read(cls, match):
        return cls(match["id"])


@dataclass(frozen=True)
class Preview(ButtonData):
    action: str  # OK, EDIT, CANCEL

    OK: ClassVar[str] = "ok"
    EDIT: ClassVar[str] = "edit"
    CANCEL: ClassVar[str] = "cancel"
    PREFIX: ClassVar[str] = "pv"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, "(?P<action>ok|edit|cancel)")

    def pack(self) -> str:
        return f"pv:{self.action}"

    @classmethod
    def _read(cls, match):
        return cls(match["action"])


@dataclass(frozen=True)
class EditField(ButtonData):
    field: str  # "cat", "title", "desc", "media", or "back" to the preview

    PREFIX: ClassVar[str] = "pe"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, "(?P<field>cat|title|desc|media|back)")

    def pack(self) -> str:
        return f"pe:{self.field}"

    @classmethod
    def _read(cls, match):
        return cls(match["field"])


@dataclass(frozen=True)
class Vote(ButtonData):
    """The button says what it does (vote or withdraw), so a double tap cannot undo itself."""
    proposal_id: int
    page: int
    withdraw: bool = False
    details: bool = False  # pressed on the proposal's details view, which is then shown again

    PREFIX: ClassVar[str] = "v"  # "w" when withdrawing
    PATTERN: ClassVar[re.Pattern[str]] = re.compile(
        r"^[vw]:(?P<id>\d{1,12}):(?P<page>\d{1,6})(?P<details>:d)?\Z", re.ASCII)

    def pack(self) -> str:
        return f"{'w' if self.withdraw else 'v'}:{self.proposal_id}:{self.page}{':d' if self.details else ''}"

    @classmethod
    def _read(cls, match):
        return cls(int(match["id"]), int(match["page"]), withdraw=match.string[0] == "w",
                   details=match["details"] is not None)


@dataclass(frozen=True)
class Details(ButtonData):
    proposal_id: int

    PREFIX: ClassVar[str] = "i"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, r"(?P<id>\d{1,12})")

    def pack(self) -> str:
        return f"i:{self.proposal_id}"

    @classmethod
    def _read(cls, match):
        return cls(int(match["id"]))


@dataclass(frozen=True)
class BallotPage(ButtonData):
    page: int

    PREFIX: ClassVar[str] = "p"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, r"(?P<page>\d{1,6})")

    def pack(self) -> str:
        return f"p:{self.page}"

    @classmethod
    def _read(cls, match):
        return cls(int(match["page"]))


@dataclass(frozen=True)
class Results(ButtonData):
    """``action``: VIEW (result_id, index), PUBLISH (result_id), COMPUTE, or HOOD (index: a
    citizen's view of the published results)."""
    action: str
    result_id: int | None = None
    index: int | None = None

    VIEW: ClassVar[str] = "v"
    PUBLISH: ClassVar[str] = "p"
    COMPUTE: ClassVar[str] = "c"
    HOOD: ClassVar[str] = "h"
    PREFIX: ClassVar[str] = "rs"
    PATTERN: ClassVar[re.Pattern[str]] = re.compile(
        r"^rs:(?:(?P<view>v):(?P<vid>\d{1,9}):(?P<vi>\d{1,2})|(?P<publish>p):(?P<pid>\d{1,9})|(?P<compute>c)"
        r"|(?P<hood>h):(?P<hi>\d{1,2}))\Z", re.ASCII)

    def pack(self) -> str:
        return ":".join(str(part) for part in ("rs", self.action, self.result_id, self.index) if part is not None)

    @classmethod
    def _read(cls, match):
        if match["view"]:
            return cls(cls.VIEW, int(match["vid"]), int(match["vi"]))
        if match["publish"]:
            return cls(cls.PUBLISH, int(match["pid"]))
        if match["hood"]:
            return cls(cls.HOOD, index=int(match["hi"]))
        return cls(cls.COMPUTE)


# -- ambassadors ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AmbassadorHood(ButtonData):
    """The form's neighbourhood; None: back to the name ("-", which no config id is)."""
    neighbourhood_id: str | None

    PREFIX: ClassVar[str] = "an"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, rf"(?P<id>{_ID}|-)")

    def pack(self) -> str:
        return f"an:{self.neighbourhood_id or '-'}"

    @classmethod
    def _read(cls, match):
        return cls(None if match["id"] == "-" else match["id"])


@dataclass(frozen=True)
class Panel(ButtonData):
    action: str  # "links", "card", "poster", "stats", "new"

    PREFIX: ClassVar[str] = "ap"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, "(?P<action>links|card|poster|stats|new)")

    def pack(self) -> str:
        return f"ap:{self.action}"

    @classmethod
    def _read(cls, match):
        return cls(match["action"])


@dataclass(frozen=True)
class AmbassadorStaff(ButtonData):
    """``action`` on the ambassador ``number`` (their citizen id), one of "arsuxkv"; or PAGE, and
    ``number`` is the page of the staff list."""
    action: str
    number: int

    PAGE: ClassVar[str] = "p"
    PREFIX: ClassVar[str] = "amb"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(
        PREFIX, r"(?P<action>[arsuxkv]):(?P<id>\d{1,12})", r"(?P<page>p):(?P<n>\d{1,4})")

    def pack(self) -> str:
        return f"amb:{self.action}:{self.number}"

    @classmethod
    def _read(cls, match):
        if match["page"]:
            return cls(cls.PAGE, int(match["n"]))
        return cls(match["action"], int(match["id"]))


# -- staff ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Moderation(ButtonData):
    proposal_id: int
    approve: bool

    PREFIX: ClassVar[str] = "m"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, r"(?P<verb>[ar]):(?P<id>\d{1,12})")

    def pack(self) -> str:
        return f"m:{'a' if self.approve else 'r'}:{self.proposal_id}"

    @classmethod
    def _read(cls, match):
        return cls(int(match["id"]), match["verb"] == "a")


@dataclass(frozen=True)
class Review(ButtonData):
    """/review: ``action`` on ``proposal_id``; READY_REASON and SET_CATEGORY carry ``index``."""
    action: str
    proposal_id: int
    index: int | None = None

    APPROVE: ClassVar[str] = "a"
    REJECT: ClassVar[str] = "r"
    CATEGORY: ClassVar[str] = "c"
    DUPLICATE: ClassVar[str] = "d"
    NEXT: ClassVar[str] = "n"
    TYPE_REASON: ClassVar[str] = "rt"
    READY_REASON: ClassVar[str] = "rr"
    SET_CATEGORY: ClassVar[str] = "cc"
    PREFIX: ClassVar[str] = "rv"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(
        PREFIX, r"(?P<action>a|r|c|d|n|rt):(?P<id>\d{1,12})", r"(?P<indexed>rr|cc):(?P<iid>\d{1,12}):(?P<i>\d{1,2})")

    def pack(self) -> str:
        return ":".join(str(part) for part in ("rv", self.action, self.proposal_id, self.index) if part is not None)

    @classmethod
    def _read(cls, match):
        if match["indexed"]:
            return cls(match["indexed"], int(match["iid"]), int(match["i"]))
        return cls(match["action"], int(match["id"]))


@dataclass(frozen=True)
class Feasibility(ButtonData):
    """/feasibility: FEASIBLE and NOT_FEASIBLE carry ``seen``, what the card showed ("u"
    unjudged, "f" feasible, "n" not feasible); COST and SKIP do not."""
    action: str
    proposal_id: int
    seen: str | None = None

    FEASIBLE: ClassVar[str] = "y"
    NOT_FEASIBLE: ClassVar[str] = "n"
    COST: ClassVar[str] = "c"
    SKIP: ClassVar[str] = "s"
    PREFIX: ClassVar[str] = "fz"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(
        PREFIX, r"(?P<verdict>[yn]):(?P<vid>\d{1,12}):(?P<seen>[ufn])", r"(?P<action>[cs]):(?P<id>\d{1,12})")

    def pack(self) -> str:
        return ":".join(str(part) for part in ("fz", self.action, self.proposal_id, self.seen) if part is not None)

    @classmethod
    def _read(cls, match):
        if match["verdict"]:
            return cls(match["verdict"], int(match["vid"]), match["seen"])
        return cls(match["action"], int(match["id"]))


@dataclass(frozen=True)
class AuditPage(ButtonData):
    """/audit: the page from ``offset`` of the entries ``only`` selects — t<id> / b<id> a person on
    Telegram / Bale, x<name> one of the operator's tools, a<action> one kind of action, d<yyyymmdd>
    one day in Tehran — or, with ``menu`` (p, a, d), the choice of a person, an action, a day."""
    offset: int = 0
    only: str | None = None
    menu: str | None = None

    PERSON: ClassVar[str] = "p"
    ACTION: ClassVar[str] = "a"
    DAY: ClassVar[str] = "d"
    PREFIX: ClassVar[str] = "au"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(
        PREFIX, r"(?P<offset>\d{1,6})(?::(?P<only>[tb]\d{1,15}|[xa][a-z0-9_-]{1,24}|d\d{8}))?", r"m:(?P<menu>[pad])")

    def pack(self) -> str:
        if self.menu is not None:
            return f"au:m:{self.menu}"
        return f"au:{self.offset}" + (f":{self.only}" if self.only else "")

    @classmethod
    def _read(cls, match):
        if match["menu"]:
            return cls(menu=match["menu"])
        return cls(int(match["offset"]), match["only"])


@dataclass(frozen=True)
class StatsChart(ButtonData):
    """/stats: choose a neighbourhood (``index`` None), or neighbourhood ``index``'s chart (config order)."""
    index: int | None = None

    PREFIX: ClassVar[str] = "st"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, r"h(?::(?P<i>\d{1,3}))?")

    def pack(self) -> str:
        return "st:h" + (f":{self.index}" if self.index is not None else "")

    @classmethod
    def _read(cls, match):
        return cls(_int(match["i"]))


@dataclass(frozen=True)
class MoveBoundary(ButtonData):
    index: int  # into bot/campaign/calendar.MOVABLE

    PREFIX: ClassVar[str] = "cal"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, r"mv:(?P<index>\d)")

    def pack(self) -> str:
        return f"cal:mv:{self.index}"

    @classmethod
    def _read(cls, match):
        return cls(int(match["index"]))


@dataclass(frozen=True)
class Broadcast(ButtonData):
    """A broadcast draft's step (bot/messenger/keyboards/broadcasts.py says which ``action`` takes which ``arg``)."""
    action: str
    broadcast_id: int
    arg: str | None = None

    PREFIX: ClassVar[str] = "bc"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(
        PREFIX, r"(?P<action>a|n|t|d|p|go|at|back|x):(?P<id>\d{1,12})(?::(?P<arg>[a-z0-9]{1,3}))?")

    def pack(self) -> str:
        return ":".join(str(part) for part in ("bc", self.action, self.broadcast_id, self.arg) if part is not None)

    @classmethod
    def _read(cls, match):
        return cls(match["action"], int(match["id"]), match["arg"])


# -- similar proposals (bot/campaign/services/similar.py) ---------------------------------------

@dataclass(frozen=True)
class Similar(ButtonData):
    """Under the similar proposals a citizen is shown: «this is what I meant» (``proposal_id``)
    or «mine is different — continue» (None)."""
    proposal_id: int | None

    PREFIX: ClassVar[str] = "sm"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, r"s:(?P<id>\d{1,12})", "c")

    def pack(self) -> str:
        return "sm:c" if self.proposal_id is None else f"sm:s:{self.proposal_id}"

    @classmethod
    def _read(cls, match):
        return cls(_int(match["id"]))


@dataclass(frozen=True)
class DuplicateOf(ButtonData):
    """/review's «duplicate…» list: mark ``proposal_id`` as a duplicate of ``original_id``."""
    proposal_id: int
    original_id: int

    PREFIX: ClassVar[str] = "dup"
    PATTERN: ClassVar[re.Pattern[str]] = _pattern(PREFIX, r"(?P<id>\d{1,12}):(?P<of>\d{1,12})")

    def pack(self) -> str:
        return f"dup:{self.proposal_id}:{self.original_id}"

    @classmethod
    def _read(cls, match):
        return cls(int(match["id"]), int(match["of"]))


FAMILIES: tuple[type[ButtonData], ...] = (
    Neighbourhood, MoveNeighbourhood, AllNeighbourhoods, FromText, Category, Preview, EditField, Vote, Details,
    BallotPage, Results, AmbassadorHood, Panel, AmbassadorStaff, Moderation, Review, Feasibility, AuditPage,
    MoveBoundary, Broadcast, Similar, DuplicateOf,
)
