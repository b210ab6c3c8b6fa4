"""Loading and validating config.toml.

The operator edits one TOML file; any fault stops the program at start with one line that names
the key and what is wrong with it, e.g. ``campaign.voting_opens: "1405/13/01" is not a Jalali date``.
"""
from __future__ import annotations

import datetime as dt
import itertools
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jdatetime

from messages_fa.fit import units
from messages_fa.normalize import match_key, to_ascii_digits
from messages_fa.texts import MONEY_UNITS, PROFILE_DESCRIPTION, PROFILE_SHORT_DESCRIPTION

TELEGRAM = "telegram"
BALE = "bale"
PLATFORMS = (TELEGRAM, BALE)
EXAMPLE_SECRET = "change-me-to-a-long-random-secret"

_ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")

# What the rules need of the limits (bot/campaign/services/proposals.py applies them): (least, most), in
# UTF-16 units as the messengers count. Below the least no title or description is ever accepted;
# the most lets a proposal of the longest title and description, with its labels, fit one message
# of 4,096 units (tests/test_message_limits.py composes every message at these sizes).
TITLE_LENGTH = (3, 200)
DESCRIPTION_LENGTH = (10, 3000)
# A neighbourhood's or category's name is a button label and part of every card and overview.
NAME_MOST = 40
# Each neighbourhood or category is a button, with up to two of the list's own in the same message,
# and Telegram takes at most 100 buttons in one message (its buttons also number them in two digits).
LIST_MOST = 98
REASON_MOST = 200  # a ready reject reason: a button, and part of the author's message
# re.ASCII: a bare \d also matches fullwidth or Devanagari digits, which int() then reads; Persian and
# Arabic-Indic digits are made ASCII first, and no other script's are read (as for phones).
_JALALI_RE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2}) (\d{1,2}):(\d{2})$", re.ASCII)


class ConfigError(Exception):
    """A fault in the config file; str() is the one line shown to the operator."""

    def __init__(self, key: str, fault: str) -> None:
        super().__init__(f"{key}: {fault}")
        self.key = key


@dataclass(frozen=True)
class PlatformConfig:
    name: str
    token: str
    base_url: str
    base_file_url: str
    admins: frozenset[int]
    staff_chat_id: int | None
    # Broadcast messages per second (Telegram allows about 30 in bulk; Bale publishes no figure).
    broadcast_rate: float = 25.0
    # The review queue (approve, reject, fix the category, mark duplicates).
    moderators: frozenset[int] = frozenset()
    # Feasibility and cost of approved proposals.
    reviewers: frozenset[int] = frozenset()
    # Adaptive broadcast rate (issue 17): broadcast_rate is where a broadcast starts; with no 429s
    # it probes upwards to this, and after 429s it settles under the messenger's limit. None: no
    # higher than broadcast_rate.
    broadcast_rate_ceiling: float | None = None


@dataclass(frozen=True)
class Neighbourhood:
    id: str
    name: str


@dataclass(frozen=True)
class Category:
    id: str
    name: str


@dataclass(frozen=True)
class Calendar:
    """Phase boundaries as aware UTC datetimes (stored UTC, shown in Tehran time)."""

    proposals_opens: dt.datetime
    proposals_closes: dt.datetime
    voting_opens: dt.datetime
    voting_closes: dt.datetime
    # When results are expected: shown in the calendar and the closing notice, announced by staff.
    results_announced: dt.datetime | None = None

    BOUNDARIES = ("proposals_opens", "proposals_closes", "voting_opens", "voting_closes", "results_announced")


@dataclass(frozen=True)
class Announcements:
    # A missed announcement is still sent at start-up if it is at most this late, else reported.
    grace: dt.timedelta = dt.timedelta(hours=1)
    # The reminder to non-voters goes out this long before voting closes (zero: no reminder).
    voting_reminder: dt.timedelta = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Limits:
    proposals_per_citizen: int = 3
    title_length: int = 100
    description_length: int = 1000
    votes_per_citizen: int = 3
    show_vote_counts: bool = False
    # Proposals one citizen may submit in one calendar day of general.timezone (rejected ones count).
    proposals_per_day: int = 2
    # Flood control (bot/campaign/flood.py), per person and messenger: so many at once, then so many a minute.
    flood_messages_burst: int = 20
    flood_messages_per_minute: int = 60
    flood_buttons_burst: int = 20
    flood_buttons_per_minute: int = 120
    # The "please wait" notice is repeated only after this many seconds without excess.
    flood_quiet_seconds: int = 60


RULES = ("greedy", "equal-shares")
# A neighbourhood's budget when results.default_budget is left out (the README's figure).
DEFAULT_BUDGET = 5_000_000_000


@dataclass(frozen=True)
class Results:
    """How each neighbourhood's budget is allocated by its votes (bot/campaign/results)."""

    rule: str = "equal-shares"
    default_budget: int = DEFAULT_BUDGET
    budgets: tuple[tuple[str, int], ...] = ()  # per neighbourhood id, overriding the default

    def budget(self, neighbourhood_id: str) -> int:
        return dict(self.budgets).get(neighbourhood_id, self.default_budget)


@dataclass(frozen=True)
class Receiver:
    """``manshahrdaram receive`` (bot/cluster/receiver.py): where it listens, the address the messengers
    post webhooks to, and the secrets that prove a post came from them."""

    listen: str = "127.0.0.1:8088"  # host:port; a TLS reverse proxy forwards public_url here
    public_url: str = ""  # https://bot.example.ir (no trailing slash): webhooks go to <public_url>/telegram …
    telegram_secret: str = ""  # Telegram's secret_token header: 1-256 of A-Z a-z 0-9 _ -
    bale_secret: str = ""  # Bale has no secret header: the path /bale/<bale_secret>, 32+ of A-Z a-z 0-9 _ -
    max_connections: int = 40  # Telegram's simultaneous webhook deliveries (1-100)

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


# -- [profile] and [site]: what the public sees outside the chat (issue 16 §5, issue 17 §3) ----------
# Telegram's limits for setMyDescription and setMyShortDescription; a support line is one short line.
DESCRIPTION_MOST, SHORT_DESCRIPTION_MOST, SUPPORT_MOST = 512, 120, 200


@dataclass(frozen=True)
class Profile:
    """The bot's profile, set at every start on each messenger, and the office's support line."""

    description: str = PROFILE_DESCRIPTION  # what a first-time visitor sees before pressing Start
    short_description: str = PROFILE_SHORT_DESCRIPTION  # on the bot's profile page and in shares
    support: str = ""  # phone, address or account: shown in /help and wherever "contact the office" is said


@dataclass(frozen=True)
class Site:
    """The public results pages (bot/outputs/site.py): written to ``dir`` when results are published,
    served by the operator's web server at ``url`` (empty: the bot's results messages carry no link)."""

    url: str = ""  # https://… (no trailing slash)
    dir: Path = Path("data/site")

    HOODS_DIR = "neighbourhoods"  # the neighbourhoods' pages, <HOODS_DIR>/<id>.html

    @property
    def index_url(self) -> str:
        """The district's page ('' when no address is configured: messages then carry no link)."""
        return f"{self.url}/" if self.url else ""

    def hood_url(self, neighbourhood_id: str) -> str:
        return f"{self.url}/{self.HOODS_DIR}/{neighbourhood_id}.html" if self.url else ""


# [voice]: a voice note as a proposal's description (issue 16, §4). Telegram's bots download at
# most 20 MB, and a copy for staff on the other messenger is a download: so that is the ceiling.
VOICE_MEGABYTES_MOST = 20
VOICE_SECONDS_MOST = 3600


@dataclass(frozen=True)
class Voice:
    max_seconds: int = 300
    max_megabytes: int = 5
    # An HTTP endpoint that takes the voice's bytes (POST, audio/ogg) and answers {"text": …}: a
    # draft for staff only, never waited for by the citizen. Empty: off.
    transcribe_url: str = ""
    transcribe_timeout_seconds: int = 20

    @property
    def max_bytes(self) -> int:
        return self.max_megabytes * 1024 * 1024


@dataclass(frozen=True)
class Config:
    platforms: dict[str, PlatformConfig]
    database: Path
    timezone: zoneinfo.ZoneInfo
    phone_hash_secret: bytes
    neighbourhoods: tuple[Neighbourhood, ...]
    categories: tuple[Category, ...]
    calendar: Calendar
    limits: Limits
    announcements: Announcements = Announcements()
    # One of messages_fa.texts.MONEY_UNITS, said once here; every cost is shown with it.
    money_unit: str = MONEY_UNITS[0]
    # Ready reasons offered to moderators when they reject (they may also type one).
    reject_reasons: tuple[str, ...] = ()
    results: Results = Results()
    receiver: Receiver = Receiver()
    voice: Voice = Voice()
    # [database] url: a postgresql:// address selects PostgreSQL (storage/engine.py); None: the
    # SQLite file ``database``.
    database_url: str | None = None
    profile: Profile = Profile()
    site: Site = Site()
    source: Path | None = field(default=None, compare=False)

    @property
    def database_address(self) -> str | Path:
        """What the campaign lives in: ``[database] url`` when set (PostgreSQL), else the SQLite
        file general.database."""
        return self.database_url or self.database

    @property
    def enabled_platforms(self) -> list[PlatformConfig]:
        return [p for p in self.platforms.values() if p.token]

    def neighbourhood(self, neighbourhood_id: str | None) -> Neighbourhood | None:
        return next((n for n in self.neighbourhoods if n.id == neighbourhood_id), None)

    def category(self, category_id: str | None) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)


# Telegram: under its ~30 messages/s bulk limit, leaving room for replies to citizens.
# Bale publishes no bulk limit (reports from its older platform saw about 4 a second): a broadcast
# starts there and finds the rate itself, up to the ceiling (bot/messenger/broadcast/adaptive.py).
DEFAULT_BROADCAST_RATES = {TELEGRAM: 25, BALE: 4}
# Telegram's limit is documented: no probing above broadcast_rate unless asked (None).
DEFAULT_BROADCAST_CEILINGS = {TELEGRAM: None, BALE: 20}

PLATFORM_DEFAULTS = {
    TELEGRAM: ("https://api.telegram.org/bot", "https://api.telegram.org/file/bot"),
    BALE: ("https://tapi.bale.ai/bot", "https://tapi.bale.ai/file/bot"),
}


def parse_jalali(key: str, value: Any, tz: dt.tzinfo) -> dt.datetime:
    """``"1405/09/05 09:00"`` in Tehran time → aware UTC datetime."""
    if not isinstance(value, str) or not (m := _JALALI_RE.match(to_ascii_digits(value.strip()))):
        raise ConfigError(key, f'{_show(value)} is not a Jalali date and time like "1405/09/05 09:00"')
    year, month, day, hour, minute = (int(g) for g in m.groups())
    try:
        local = jdatetime.datetime(year, month, day).togregorian()
    except ValueError:
        raise ConfigError(key, f"{_show(value)} is not a Jalali date") from None
    # 24:00 is how people write "end of that day"; anything else past 23:59 is a typo.
    if not (hour < 24 and minute < 60) and not (hour == 24 and minute == 0):
        raise ConfigError(key, f"{_show(value)} has no such hour")
    moment = dt.datetime(local.year, local.month, local.day, tzinfo=tz) + dt.timedelta(hours=hour, minutes=minute)
    return moment.astimezone(dt.timezone.utc)


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


class _Section:
    """Reads one TOML table, remembering which keys were used so the rest can be reported."""

    def __init__(self, data: Any, prefix: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(prefix, "must be a table")
        self.data, self.prefix, self.seen = data, prefix, set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = ..., *, required: bool = False) -> Any:
        self.seen.add(name)
        if name not in self.data:
            if required or default is ...:
                raise ConfigError(self.key(name), "is missing")
            return default
        value = self.data[name]
        # TOML booleans are ints in Python; never accept one where a number is meant.
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise ConfigError(self.key(name), f"must be {_TYPE_WORDS.get(names, names)}, not {_show(value)}")
        return value

    def positive_int(self, name: str, default: int) -> int:
        value = self.get(name, int, default)
        if value < 1:
            raise ConfigError(self.key(name), f"must be a positive whole number, not {value}")
        return value

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ConfigError(self.key(unknown[0]), "is not a known setting (check the spelling)")


_TYPE_WORDS = {"str": "a string", "int": "a whole number", "bool": "true or false", "list": "a list", "dict": "a table"}


def _platform(root: dict, name: str) -> PlatformConfig:
    section = _Section(root.get(name, {}), name)
    default_url, default_file_url = PLATFORM_DEFAULTS[name]
    token = section.get("token", str, "").strip()
    if token and not re.fullmatch(r"[0-9]+:[A-Za-z0-9_-]+", token):
        raise ConfigError(section.key("token"), "does not look like a bot token (digits, a colon, then letters)")
    base_url = section.get("base_url", str, default_url).rstrip("/")
    base_file_url = section.get("base_file_url", str, default_file_url).rstrip("/")
    for key, url in (("base_url", base_url), ("base_file_url", base_file_url)):
        if not url.startswith(("https://", "http://")):
            raise ConfigError(section.key(key), f"{_show(url)} is not an http(s) URL")
    admins, moderators, reviewers = (_user_ids(section, key) for key in ("admins", "moderators", "reviewers"))
    staff_chat = section.get("staff_chat_id", int, None)
    rate = section.get("broadcast_rate", (int, float), DEFAULT_BROADCAST_RATES[name])
    if not 0 < rate <= 10_000:
        raise ConfigError(section.key("broadcast_rate"), f"must be messages per second above 0, not {rate}")
    ceiling = section.get("broadcast_rate_ceiling", (int, float), None)
    if ceiling is None and DEFAULT_BROADCAST_CEILINGS[name] is not None:
        ceiling = max(rate, DEFAULT_BROADCAST_CEILINGS[name])
    if ceiling is not None and not rate <= ceiling <= 10_000:
        raise ConfigError(section.key("broadcast_rate_ceiling"),
                          f"must be messages per second from broadcast_rate ({rate}) to 10000, not {ceiling}")
    section.finish()
    return PlatformConfig(name, token, base_url, base_file_url, admins, staff_chat, float(rate), moderators, reviewers,
                          None if ceiling is None else float(ceiling))


def _user_ids(section: _Section, key: str) -> frozenset[int]:
    values = section.get(key, list, [])
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{section.key(key)}[{index}]", f"{_show(value)} is not a user id (a positive number; /whoami shows it)")
    return frozenset(values)


def _named_list(root: dict, name: str, cls: type) -> tuple:
    items = root.get(name)
    if not isinstance(items, list) or not items:
        raise ConfigError(name, "must be a non-empty list of [[" + name + "]] tables with id and name")
    if len(items) > LIST_MOST:
        raise ConfigError(name, f"may hold at most {LIST_MOST} entries (one button each, and a message holds "
                                f"100 buttons), not {len(items)}")
    result, ids, names = [], set(), set()
    for index, raw in enumerate(items):
        section = _Section(raw, f"{name}[{index}]")
        item_id = section.get("id", str, required=True)
        item_name = section.get("name", str, required=True).strip()
        section.finish()
        if not _ID_RE.fullmatch(item_id):
            raise ConfigError(section.key("id"), f"{_show(item_id)} must be short lowercase ASCII (a-z, 0-9, - and _)")
        if item_id in ids:
            raise ConfigError(section.key("id"), f"{_show(item_id)} is used twice")
        if not item_name:
            raise ConfigError(section.key("name"), "is empty")
        if units(item_name) > NAME_MOST:
            raise ConfigError(section.key("name"), f"may be at most {NAME_MOST} characters (UTF-16 units: an emoji "
                                                   f"counts two), not {units(item_name)}")
        # Names differing only in Arabic/Persian letter forms or ZWNJ are one name to a resident.
        if match_key(item_name) in names:
            raise ConfigError(section.key("name"), f"{_show(item_name)} is used twice")
        ids.add(item_id)
        names.add(match_key(item_name))
        result.append(cls(item_id, item_name))
    return tuple(result)


def parse_config(root: dict, source: Path | None = None) -> Config:
    root = dict(root)
    known_tables = {"telegram", "bale", "general", "campaign", "limits", "review", "results", "neighbourhoods",
                    "categories", "receiver", "database", "profile", "site",
                    "voice"}
    for key in root:
        if key not in known_tables:
            raise ConfigError(key, "is not a known setting (check the spelling)")

    general = _Section(root.get("general", {}), "general")
    tz_name = general.get("timezone", str, "Asia/Tehran")
    try:
        tz = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a folder, not a zone
        raise ConfigError(general.key("timezone"), f"{_show(tz_name)} is not a known time zone") from None
    database = Path(general.get("database", str, "data/manshahrdaram.sqlite3"))
    if source is not None and not database.is_absolute():
        database = source.parent / database
    money_unit = general.get("money_unit", str, MONEY_UNITS[0]).strip()
    if money_unit not in MONEY_UNITS:
        raise ConfigError(general.key("money_unit"), f"{_show(money_unit)} must be one of {', '.join(MONEY_UNITS)}")
    secret = general.get("phone_hash_secret", str, required=True)
    if len(secret) < 16:
        raise ConfigError(general.key("phone_hash_secret"), "must be at least 16 characters of random text")
    general.finish()

    platforms = {name: _platform(root, name) for name in PLATFORMS}

    campaign = _Section(root.get("campaign", {}), "campaign")
    names = ("proposals_opens", "proposals_closes", "voting_opens", "voting_closes")
    moments = [parse_jalali(campaign.key(n), campaign.get(n, str, required=True), tz) for n in names]
    results = campaign.get("results_announced", str, None)
    results_at = None if results is None else parse_jalali(campaign.key("results_announced"), results, tz)
    if results_at is not None and results_at < moments[-1]:
        raise ConfigError(campaign.key("results_announced"), "is before campaign.voting_closes")
    reminder_hours = campaign.get("voting_reminder_hours", int, 24)
    if reminder_hours < 0:
        raise ConfigError(campaign.key("voting_reminder_hours"), f"must be 0 (no reminder) or more, not {reminder_hours}")
    announcements = Announcements(
        grace=dt.timedelta(minutes=campaign.positive_int("announcement_grace_minutes", 60)),
        voting_reminder=dt.timedelta(hours=reminder_hours),
    )
    campaign.finish()
    for (earlier, a), (later, b) in itertools.pairwise(zip(names, moments, strict=True)):
        if b < a:
            raise ConfigError(campaign.key(later), f"is before {campaign.key(earlier)}: the phases overlap")
        if b == a and later != "voting_opens":
            # Review between proposals and voting may be skipped; no other phase may be empty.
            raise ConfigError(campaign.key(later), f"is the same moment as {campaign.key(earlier)}: the phase would be empty")
    voting_hours = (moments[3] - moments[2]).total_seconds() / 3600
    if reminder_hours and reminder_hours >= voting_hours:
        # The calendar skips a reminder that would fall before voting opens.
        raise ConfigError(campaign.key("voting_reminder_hours"),
                          f"{reminder_hours} hours is not shorter than voting ({voting_hours:g} hours): "
                          "the reminder would never be sent (0 for no reminder)")

    limits_section = _Section(root.get("limits", {}), "limits")
    limits = Limits(
        proposals_per_citizen=limits_section.positive_int("proposals_per_citizen", 3),
        title_length=limits_section.positive_int("title_length", 100),
        description_length=limits_section.positive_int("description_length", 1000),
        votes_per_citizen=limits_section.positive_int("votes_per_citizen", 3),
        show_vote_counts=limits_section.get("show_vote_counts", bool, False),
        proposals_per_day=limits_section.positive_int("proposals_per_day", 2),
        **_flood_limits(limits_section),
    )
    limits_section.finish()

    review = _Section(root.get("review", {}), "review")
    reasons = review.get("reject_reasons", list, [])
    review.finish()
    for index, reason in enumerate(reasons):
        if not isinstance(reason, str) or not 1 <= units(reason.strip()) <= REASON_MOST:
            raise ConfigError(f"review.reject_reasons[{index}]", f"must be a text of 1 to {REASON_MOST} characters")
    if len(reasons) > 8:
        raise ConfigError("review.reject_reasons", f"may hold at most 8 reasons (buttons), not {len(reasons)}")
    for key, value, (least, most), what in (("title_length", limits.title_length, TITLE_LENGTH, "title"),
                                            ("description_length", limits.description_length, DESCRIPTION_LENGTH,
                                             "description")):
        if value < least:
            raise ConfigError(limits_section.key(key),
                              f"must be at least {least} (no shorter {what} is ever accepted), not {value}")
        if value > most:
            raise ConfigError(limits_section.key(key), f"may be at most {most}, not {value}")

    neighbourhoods = _named_list(root, "neighbourhoods", Neighbourhood)
    results = _results(root, {n.id for n in neighbourhoods})
    return Config(
        platforms=platforms,
        database=database,
        timezone=tz,
        phone_hash_secret=secret.encode(),
        neighbourhoods=neighbourhoods,
        categories=_named_list(root, "categories", Category),
        calendar=Calendar(*moments, results_announced=results_at),
        limits=limits,
        announcements=announcements,
        money_unit=money_unit,
        reject_reasons=tuple(r.strip() for r in reasons),
        results=results,
        receiver=_receiver(root),
        voice=_voice(root),
        database_url=_database_url(root),
        profile=_profile(root),
        site=_site(root, source),
        source=source,
    )


def _profile(root: dict) -> Profile:
    section = _Section(root.get("profile", {}), "profile")
    values = {}
    for key, default, most in (("description", PROFILE_DESCRIPTION, DESCRIPTION_MOST),
                               ("short_description", PROFILE_SHORT_DESCRIPTION, SHORT_DESCRIPTION_MOST),
                               ("support", "", SUPPORT_MOST)):
        value = section.get(key, str, default).strip()
        if units(value) > most:
            raise ConfigError(section.key(key), f"is {units(value)} characters; the messengers take at most {most}")
        if not value and key != "support":
            raise ConfigError(section.key(key), "is empty (leave the key out for the default text)")
        values[key] = value
    section.finish()
    return Profile(**values)


def _site(root: dict, source: Path | None) -> Site:
    section = _Section(root.get("site", {}), "site")
    url = section.get("url", str, "").strip().rstrip("/")
    if url and (not re.fullmatch(r"https?://[^\s/?#&<>\"']+(/[^\s?#&<>\"']*)?", url)):
        raise ConfigError(section.key("url"), f"{_show(url)} is not a web address like https://example.ir/results")
    folder = Path(section.get("dir", str, str(Site.dir)))
    if source is not None and not folder.is_absolute():
        folder = source.parent / folder
    section.finish()
    return Site(url, folder)


def _database_url(root: dict) -> str | None:
    section = _Section(root.get("database", {}), "database")
    url = section.get("url", str, "").strip()
    section.finish()
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(section.key("url"), "must be a PostgreSQL address, postgresql://user@host:5432/dbname "
                                              "(leave it out for the SQLite file general.database)")
    return url


_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]+$")
BALE_SECRET_LEAST = 32


def _receiver(root: dict) -> Receiver:
    section = _Section(root.get("receiver", {}), "receiver")
    listen = section.get("listen", str, Receiver.listen).strip()
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(section.key("listen"), f"must be host:port (e.g. 127.0.0.1:8088), not {_show(listen)}")
    public_url = section.get("public_url", str, "").strip().rstrip("/")
    if public_url and not public_url.startswith("https://"):
        raise ConfigError(section.key("public_url"), "must start with https:// (the messengers post webhooks over TLS only)")
    telegram_secret = section.get("telegram_secret", str, "").strip()
    if telegram_secret and (len(telegram_secret) > 256 or not _SECRET_RE.match(telegram_secret)):
        raise ConfigError(section.key("telegram_secret"), "must be 1 to 256 of the characters A-Z a-z 0-9 _ -")
    bale_secret = section.get("bale_secret", str, "").strip()
    if bale_secret and (len(bale_secret) < BALE_SECRET_LEAST or not _SECRET_RE.match(bale_secret)):
        raise ConfigError(section.key("bale_secret"),
                          f"must be at least {BALE_SECRET_LEAST} of the characters A-Z a-z 0-9 _ - (it is the only proof "
                          "that a post came from Bale)")
    max_connections = section.get("max_connections", int, Receiver.max_connections)
    if not 1 <= max_connections <= 100:
        raise ConfigError(section.key("max_connections"), f"must be 1 to 100, not {max_connections}")
    section.finish()
    return Receiver(listen=listen, public_url=public_url, telegram_secret=telegram_secret, bale_secret=bale_secret,
                    max_connections=max_connections)


def _voice(root: dict) -> Voice:
    section = _Section(root.get("voice", {}), "voice")
    max_seconds = section.positive_int("max_seconds", Voice.max_seconds)
    if max_seconds > VOICE_SECONDS_MOST:
        raise ConfigError(section.key("max_seconds"), f"may be at most {VOICE_SECONDS_MOST} (an hour), not {max_seconds}")
    max_megabytes = section.positive_int("max_megabytes", Voice.max_megabytes)
    if max_megabytes > VOICE_MEGABYTES_MOST:
        raise ConfigError(section.key("max_megabytes"), f"may be at most {VOICE_MEGABYTES_MOST} (Telegram's bots "
                                                        f"download no bigger file), not {max_megabytes}")
    url = section.get("transcribe_url", str, "").strip()
    if url and not url.startswith(("https://", "http://")):
        raise ConfigError(section.key("transcribe_url"), f"{_show(url)} is not an http(s) URL")
    timeout = section.positive_int("transcribe_timeout_seconds", Voice.transcribe_timeout_seconds)
    if timeout > 300:
        raise ConfigError(section.key("transcribe_timeout_seconds"), f"may be at most 300, not {timeout}")
    section.finish()
    return Voice(max_seconds, max_megabytes, url, timeout)


# key: (default, least). Below the least a real person would be slowed down: a forwarded album is
# 10 messages at once, and someone paging through a ballot presses a button every second or two.
FLOOD_SETTINGS = {
    "flood_messages_burst": (20, 10), "flood_messages_per_minute": (60, 20),
    "flood_buttons_burst": (20, 10), "flood_buttons_per_minute": (120, 30),
}


def _flood_limits(section: _Section) -> dict[str, int]:
    values = {}
    for key, (default, least) in FLOOD_SETTINGS.items():
        value = section.positive_int(key, default)
        if value < least:
            raise ConfigError(section.key(key), f"must be at least {least} (or real people are slowed down), not {value}")
        values[key] = value
    quiet = section.positive_int("flood_quiet_seconds", 60)
    if quiet > 3600:
        raise ConfigError(section.key("flood_quiet_seconds"), f"may be at most 3600 (an hour), not {quiet}")
    values["flood_quiet_seconds"] = quiet
    return values


def _results(root: dict, neighbourhood_ids: set[str]) -> Results:
    section = _Section(root.get("results", {}), "results")
    rule = section.get("rule", str, "equal-shares")
    if rule not in RULES:
        raise ConfigError(section.key("rule"), f"{_show(rule)} must be one of {', '.join(RULES)}")
    default_budget = section.get("default_budget", int, DEFAULT_BUDGET)
    if default_budget < 0:
        raise ConfigError(section.key("default_budget"), f"must be 0 or more, not {default_budget}")
    budgets = section.get("budgets", dict, {})
    section.finish()
    for hood, budget in budgets.items():
        key = f"results.budgets.{hood}"
        if hood not in neighbourhood_ids:
            raise ConfigError(key, "is not the id of a neighbourhood in [[neighbourhoods]]")
        if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
            raise ConfigError(key, f"must be a positive whole amount in general.money_unit, not {_show(budget)}")
    return Results(rule, default_budget, tuple(sorted(budgets.items())))


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found (copy config.example.toml to config.toml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot be read: {exc}") from None
    try:
        root = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"is not valid TOML: {exc}") from None
    return parse_config(root, source=path)
