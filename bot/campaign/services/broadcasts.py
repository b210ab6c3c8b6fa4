"""The staff side of broadcasts: drafts, audiences and their counts, sending now or later, cancel.

Every method that changes a broadcast takes the acting ``Actor`` and checks the "broadcast" right
itself (roles.may_act, the config of now): without it, it returns ``roles.NOT_STAFF`` and changes
nothing, whatever its caller checked before."""
from __future__ import annotations

import datetime as dt
import enum
import json

from bot.campaign.calendar import CampaignCalendar
from bot.campaign.clock import Clock
from bot.campaign.config import Config
from bot.campaign.roles import NOT_STAFF, Actor, Refused, may_act
from domain import (
    AMBASSADORS,
    EVERYONE,
    NON_VOTERS,
    SUBSCRIBERS,
    Audience,
    Broadcast,
    Phase,
    Progress,
    Watcher,
)
from messages_fa.fit import CAPTION_LIMIT, TEXT_LIMIT, units
from storage.interface import Repositories

KINDS = ("text", "photo", "video", "document")
RECENT = 10


def too_long(kind: str, text: str | None) -> tuple[int, int] | None:
    """(limit, length) when a broadcast's text or caption is over what one message can carry
    (in UTF-16 units, as the messengers count). Longer would fail for every recipient, so it is
    refused before the draft exists."""
    length = units(text or "")
    limit = TEXT_LIMIT if kind == "text" else CAPTION_LIMIT
    return (limit, length) if length > limit else None


class ScheduleResult(enum.Enum):
    OK = "ok"
    INVALID = "invalid"
    PAST = "past"
    NOT_DRAFT = "not_draft"
    NOT_STAFF = "not_staff"  # the actor may not broadcast


class BroadcastService:
    def __init__(self, config: Config, clock: Clock, repos: Repositories, calendar: CampaignCalendar) -> None:
        self.config, self.clock, self.repos, self.calendar = config, clock, repos, calendar

    def _may(self, by: Actor) -> bool:
        return may_act(self.config, by, "broadcast")

    async def draft(self, by: Actor, kind: str, text: str | None, entities: list[dict] | None,
                    file_id: str | None) -> Broadcast | Refused:
        """A new draft by ``by`` (their earlier drafts are cancelled); ``file_id`` is on their messenger."""
        if kind not in KINDS or too_long(kind, text):
            raise ValueError(kind)  # the handler checks both first: reaching here is a bug
        if not self._may(by):
            return NOT_STAFF
        staff = by.ref
        broadcast = await self.repos.broadcasts.create(
            staff, kind, text, self.clock.now(),
            entities=json.dumps(entities, ensure_ascii=False) if entities else None,
            source_platform=by.platform, file_id=file_id,
        )
        await self.repos.broadcasts.cancel_drafts(staff, broadcast.id, staff, self.clock.now())
        return broadcast

    def voting(self) -> bool:
        return self.calendar.phase().phase is Phase.VOTING

    def enabled_platforms(self) -> list[str]:
        return [p.name for p in self.config.enabled_platforms]

    async def menu_counts(self, platform: str | None) -> dict[str, int]:
        """Recipients of each audience on the menu, as of now (blocked people not counted)."""
        counts = {}
        for kind in (EVERYONE, SUBSCRIBERS, AMBASSADORS, NON_VOTERS):
            counts[kind] = sum((await self.repos.broadcasts.count_audience(Audience(kind, (), platform))).values())
        return counts

    async def neighbourhood_counts(self, platform: str | None) -> dict[str, int]:
        return await self.repos.broadcasts.count_by_neighbourhood(platform)

    async def count(self, audience: Audience) -> dict[str, int]:
        return await self.repos.broadcasts.count_audience(audience)

    async def choose(self, by: Actor, broadcast_id: int, audience: Audience) -> bool | Refused:
        """False when the broadcast is no longer a draft."""
        if not self._may(by):
            return NOT_STAFF
        return await self.repos.broadcasts.set_audience(broadcast_id, audience)

    async def send_now(self, by: Actor, broadcast_id: int, watcher_platform: str, watcher_chat: int) -> bool | Refused:
        """False when the broadcast is no longer a draft. The watcher's chat gets the progress."""
        if not self._may(by):
            return NOT_STAFF
        return await self._schedule(by, broadcast_id, self.clock.now(), watcher_platform, watcher_chat)

    async def schedule(self, by: Actor, broadcast_id: int, typed: str, watcher_platform: str,
                       watcher_chat: int) -> tuple[ScheduleResult, dt.datetime | None]:
        if not self._may(by):
            return ScheduleResult.NOT_STAFF, None
        moment = self.calendar.parse_time(typed)
        if moment is None:
            return ScheduleResult.INVALID, None
        if moment <= self.clock.now():
            return ScheduleResult.PAST, moment
        if not await self._schedule(by, broadcast_id, moment, watcher_platform, watcher_chat):
            return ScheduleResult.NOT_DRAFT, moment
        return ScheduleResult.OK, moment

    async def _schedule(self, by: Actor, broadcast_id: int, moment: dt.datetime, platform: str, chat_id: int) -> bool:
        done = await self.repos.broadcasts.schedule(broadcast_id, moment, Watcher(broadcast_id, platform, chat_id, None))
        if done:
            await self.repos.audit.record(by.ref, "broadcast", f"broadcast {broadcast_id}", "draft",
                                          f"scheduled for {moment.isoformat()}", self.clock.now())
        return done

    async def cancel(self, by: Actor, broadcast_id: int) -> str | Refused | None:
        """The status the broadcast had; None when there was nothing to stop (done, cancelled, gone)."""
        if not self._may(by):
            return NOT_STAFF
        staff = by.ref
        was = await self.repos.broadcasts.cancel(broadcast_id, staff, self.clock.now())
        if was is not None and was != "draft":
            await self.repos.audit.record(staff, "broadcast", f"broadcast {broadcast_id}", was, "cancelled",
                                          self.clock.now())
        return was

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self.repos.broadcasts.get(broadcast_id)

    @staticmethod
    def may_shape(broadcast: Broadcast, staff: str) -> bool:
        """Only its author shapes a draft (audience, preview, send): its buttons went to them alone,
        and another messenger's photo could not even be previewed elsewhere. Any admin may cancel."""
        return broadcast.created_by == staff

    # A broadcast's media as uploaded to the other messenger (its file id there), for the preview's
    # bot/messenger/broadcast/content.Content: the very sender citizens get, so the admin sees what they will.
    async def file_id(self, broadcast_id: int, platform: str) -> str | None:
        return await self.repos.broadcasts.file_id(broadcast_id, platform)

    async def set_file_id(self, broadcast_id: int, platform: str, file_id: str) -> None:
        await self.repos.broadcasts.set_file_id(broadcast_id, platform, file_id)

    async def recent(self) -> list[tuple[Broadcast, Progress | None]]:
        items = []
        for broadcast in await self.repos.broadcasts.recent(RECENT):
            by_platform = await self.repos.broadcasts.progress(broadcast.id)
            sent = sum(p.sent for p in by_platform.values())
            items.append((broadcast, Progress(total=broadcast.total, sent=sent) if broadcast.total is not None else None))
        return items
