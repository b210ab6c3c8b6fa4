"""Messages the bot starts itself: moderation cards to staff, outcomes to authors.

They may cross messengers (a Bale citizen's proposal is moderated by Telegram staff too), so the
notifier holds every platform's Bot.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from telegram import Bot, InputFile
from telegram.error import Forbidden, TelegramError

from bot.campaign.services import Services
from bot.messenger import keyboards, render
from bot.messenger.keyboards import ambassadors as amb_keyboards
from bot.messenger.markup_dicts import NO_LINK_PREVIEW
from bot.messenger.platforms import PLATFORMS, Platform
from bot.messenger.transcription import transcribe
from domain import APPROVED, FEASIBLE, Ambassador, AmbassadorCard, Proposal, StaffCard
from messages_fa import ambassadors as amb_texts
from messages_fa import staff as staff_texts
from messages_fa import texts

log = logging.getLogger(__name__)


_SENDERS = {"voice": "send_voice", "photo": "send_photo"}
_FILE_NAMES = {"voice": "voice.ogg", "photo": "photo.jpg"}


def _media_of(kind: str, proposal: Proposal) -> tuple[str | None, str | None]:
    """(the messenger the file was sent on, its file id there)."""
    if kind == "voice":
        return proposal.voice_platform, proposal.voice_file_id
    return proposal.platform, proposal.photo_file_id


class Notifier:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.bots: dict[str, Bot] = {}

    def staff_targets(self, platform: str) -> list[int]:
        config = self.services.config.platforms[platform]
        if config.staff_chat_id is not None:
            return [config.staff_chat_id]
        return sorted(config.admins)

    async def post_staff_cards(self, proposal: Proposal) -> None:
        config = self.services.config
        downloaded: dict[tuple[str, int], bytes] = {}  # the voice, downloaded at most once for all the copies
        if proposal.voice_file_id and config.voice.transcribe_url and not proposal.voice_transcript:
            proposal = await self._transcribed(proposal, downloaded)
        for name, bot in self.bots.items():
            platform = PLATFORMS[name]
            text = render.staff_card(platform, config, proposal)
            for chat_id in self.staff_targets(name):
                if proposal.voice_file_id:
                    await self.send_staff_voice(name, chat_id, proposal, downloaded)
                try:
                    if proposal.photo_file_id and proposal.platform == name:
                        await bot.send_photo(chat_id, proposal.photo_file_id, caption=texts.staff_photo_caption(proposal.code))
                    message = await bot.send_message(
                        chat_id, text, parse_mode=platform.markup.parse_mode,
                        reply_markup=keyboards.review(proposal.id), link_preview_options=NO_LINK_PREVIEW,
                    )
                except TelegramError as exc:
                    log.warning("staff card for proposal %d not delivered on %s: %s", proposal.id, name, exc.__class__.__name__)
                    continue
                await self.services.repos.proposals.add_staff_card(StaffCard(proposal.id, name, chat_id, message.message_id))

    async def send_staff_voice(self, platform: str, chat_id: int, proposal: Proposal,
                               downloaded: dict[tuple[str, int], bytes] | None = None) -> None:
        """The proposal's voice note, with its length, the transcription draft and whether staff
        must write the title, sent before its card (a copy on the other messenger: send_media).
        If no copy can be made, a line says where the voice is."""
        caption = texts.staff_voice_caption(proposal.code, proposal.voice_duration or 0, proposal.voice_transcript,
                                            proposal.title == texts.title_by_staff())
        try:
            await self.send_media("voice", platform, chat_id, proposal, caption, downloaded)
        except (TelegramError, LookupError) as exc:
            log.warning("voice of proposal %d not sent on %s: %s", proposal.id, platform, exc.__class__.__name__)
            elsewhere = PLATFORMS[proposal.voice_platform].persian_name if proposal.voice_platform in PLATFORMS else "—"
            with contextlib.suppress(TelegramError):
                await self.bots[platform].send_message(chat_id, texts.staff_voice_elsewhere(elsewhere))

    async def send_media(self, kind: str, platform: str, chat_id: int, proposal: Proposal, caption: str | None,
                         downloaded: dict[tuple[str, int], bytes] | None = None) -> None:
        """The proposal's "voice" note or "photo" to a chat of ``platform``. A file id is valid
        on its own messenger only: for the other one the file is downloaded and uploaded once,
        as broadcasts do (bot/messenger/broadcast/content.py), and the copy's file id kept
        (voice_copies, photo_copies). Raises TelegramError, or LookupError when the file's
        messenger is not served."""
        source, file_id = _media_of(kind, proposal)
        if source != platform:
            file_id = await self.services.repos.proposals.media_copy(kind, proposal.id, platform)
        send = getattr(self.bots[platform], _SENDERS[kind])
        if file_id is not None:
            await send(chat_id, file_id, caption=caption)
            return
        data = await self._media_bytes(kind, proposal, downloaded if downloaded is not None else {})
        message = await send(chat_id, InputFile(data, filename=_FILE_NAMES[kind]), caption=caption)
        attachment = message.voice if kind == "voice" else (message.photo[-1] if message.photo else None)
        if attachment is not None:
            await self.services.repos.proposals.set_media_copy(kind, proposal.id, platform, attachment.file_id)

    async def _media_bytes(self, kind: str, proposal: Proposal, downloaded: dict[tuple[str, int], bytes]) -> bytes:
        """The file's bytes from its own messenger (LookupError when that one is not served)."""
        key = (kind, proposal.id)
        if key not in downloaded:
            platform, file_id = _media_of(kind, proposal)
            source = self.bots.get(platform or "")
            if source is None:
                raise LookupError(f"messenger {platform} is not served")
            file = await source.get_file(file_id)
            downloaded[key] = bytes(await file.download_as_bytearray())
        return downloaded[key]

    async def _transcribed(self, proposal: Proposal, downloaded: dict[tuple[str, int], bytes]) -> Proposal:
        """The proposal with a transcription draft when the endpoint gives one (never raises)."""
        voice = self.services.config.voice
        try:
            audio = await self._media_bytes("voice", proposal, downloaded)
        except (TelegramError, LookupError) as exc:
            log.warning("voice of proposal %d not downloaded for transcription: %s", proposal.id,
                        exc.__class__.__name__)
            return proposal
        text = await transcribe(voice.transcribe_url, audio, voice.transcribe_timeout_seconds)
        if not text:
            return proposal
        return await self.services.repos.proposals.set_voice_transcript(proposal.id, text) or proposal

    async def post_missing_staff_cards(self) -> int:
        """At start-up: cards never posted (the process stopped right after a submit, or no staff
        were configured yet) go out now. Returns how many proposals were sent."""
        missing = await self.services.proposals.pending_without_staff_cards()
        for proposal in missing:
            await self.post_staff_cards(proposal)
        return len(missing)

    def unmoderated_platforms(self) -> list[str]:
        return [name for name in self.bots if not self.staff_targets(name)]

    async def close_staff_cards(self, proposal: Proposal, by: str) -> None:
        """Every copy of the card shows the outcome and loses its buttons, so nobody acts twice."""
        def outcome(platform: Platform) -> str:
            m = platform.markup
            return (texts.staff_decided_approved(m.esc(by)) if proposal.status == APPROVED
                    else texts.staff_decided_rejected(m, m.esc(by), proposal.reject_reason or ""))
        await self._edit_staff_cards(proposal, outcome, None)

    async def refresh_staff_cards(self, proposal: Proposal) -> None:
        """Every copy of a pending card shows the proposal as it is now (its category fixed), with
        its buttons: the staff chat keeps one card per proposal."""
        await self._edit_staff_cards(proposal, lambda platform: "", keyboards.review(proposal.id))

    async def _edit_staff_cards(self, proposal: Proposal, footer: Callable[[Platform], str], reply_markup) -> None:
        config = self.services.config
        for card in await self.services.repos.proposals.staff_cards(proposal.id):
            bot = self.bots.get(card.platform)
            if bot is None:
                continue
            platform = PLATFORMS[card.platform]
            try:
                await bot.edit_message_text(
                    render.staff_card(platform, config, proposal, footer=footer(platform)), chat_id=card.chat_id,
                    message_id=card.message_id, parse_mode=platform.markup.parse_mode, reply_markup=reply_markup,
                    link_preview_options=NO_LINK_PREVIEW)
            except TelegramError as exc:
                log.warning("staff card %d/%s not updated: %s", proposal.id, card.platform, exc.__class__.__name__)

    async def tell_author(self, proposal: Proposal) -> None:
        author = await self.services.repos.citizens.get(proposal.citizen_id)
        bot = self.bots.get(proposal.platform)
        if author is None or bot is None:
            return
        markup = PLATFORMS[proposal.platform].markup
        if proposal.status == APPROVED:
            text = texts.author_approved(markup, proposal.title, proposal.code)
        else:
            text = texts.author_rejected(markup, proposal.title, proposal.code, proposal.reject_reason or "")
        try:
            await bot.send_message(author.chat_id, text, parse_mode=markup.parse_mode)
        except Forbidden:
            log.info("author of proposal %d has blocked the bot; not told", proposal.id)
        except TelegramError as exc:
            # Left unmarked: the next start-up tries again (tell_untold_authors).
            log.warning("author of proposal %d not told: %s", proposal.id, exc.__class__.__name__)
            return
        await self.services.repos.proposals.mark_author_told(proposal.id, self.services.clock.now())

    async def tell_untold_authors(self) -> int:
        """At start-up: outcomes decided but not delivered (a crash or a messenger error)."""
        untold = await self.services.repos.proposals.decided_but_author_not_told()
        for proposal in untold:
            await self.tell_author(proposal)
        return len(untold)

    async def tell_staff(self, text: str) -> None:
        """A plain notice to every messenger's staff chat (or its admins)."""
        for name, bot in self.bots.items():
            for chat_id in self.staff_targets(name):
                try:
                    await bot.send_message(chat_id, text)
                except TelegramError as exc:
                    log.warning("staff notice not delivered on %s: %s", name, exc.__class__.__name__)

    # -- the ambassador programme -----------------------------------------------------------------

    async def post_ambassador_application(self, ambassador: Ambassador, only: tuple[str, int] | None = None) -> None:
        """To every messenger's staff, with approve / reject buttons. The phone number stays in
        Latin digits, like a link: that is what the messengers make tappable for a call."""
        config = self.services.config
        hood = render.neighbourhood_name(config, ambassador.neighbourhood_id)
        for name, bot in self.bots.items():
            if only is not None and only[0] != name:
                continue
            markup = PLATFORMS[name].markup
            text = amb_texts.application(markup, ambassador.full_name or "", hood, ambassador.groups or "",
                                         ambassador.phone or "", ambassador.platform)
            # ``only``: one chat (a staff member's /ambassadors), instead of every staff chat.
            for chat_id in [only[1]] if only is not None else self.staff_targets(name):
                try:
                    message = await bot.send_message(chat_id, text, parse_mode=markup.parse_mode,
                                                     reply_markup=amb_keyboards.application(ambassador.citizen_id),
                                                     link_preview_options=NO_LINK_PREVIEW)
                except TelegramError as exc:
                    log.warning("ambassador application not delivered on %s: %s", name, exc.__class__.__name__)
                    continue
                await self.services.repos.ambassadors.add_card(
                    AmbassadorCard(ambassador.citizen_id, name, chat_id, message.message_id))

    async def close_ambassador_cards(self, ambassador: Ambassador, by: str) -> None:
        """Every copy of the application shows the decision and loses its buttons."""
        config = self.services.config
        hood = render.neighbourhood_name(config, ambassador.neighbourhood_id)
        for card in await self.services.repos.ambassadors.cards(ambassador.citizen_id):
            bot = self.bots.get(card.platform)
            if bot is None:
                continue
            markup = PLATFORMS[card.platform].markup
            text = amb_texts.application(markup, ambassador.full_name or "", hood, ambassador.groups or "",
                                         ambassador.phone or "", ambassador.platform)
            try:
                await bot.edit_message_text(f"{text}\n\n{amb_texts.decided(markup.esc(by), ambassador.status)}",
                                            chat_id=card.chat_id, message_id=card.message_id,
                                            parse_mode=markup.parse_mode, link_preview_options=NO_LINK_PREVIEW)
            except TelegramError as exc:
                log.info("ambassador card %d/%s not updated: %s", ambassador.citizen_id, card.platform,
                         exc.__class__.__name__)

    async def tell_decision(self, ambassador: Ambassador, reinstated: bool = False) -> None:
        """The applicant or ambassador hears staff's last decision; marked told once delivered,
        so that start-up tells whoever did not hear it (tell_untold_ambassadors)."""
        hood = render.neighbourhood_name(self.services.config, ambassador.neighbourhood_id)
        support = PLATFORMS[ambassador.platform].markup.esc(self.services.config.profile.support)
        texts_by_status = {"approved": amb_texts.reinstated(hood) if reinstated else amb_texts.approved(hood),
                           "rejected": amb_texts.rejected(support), "suspended": amb_texts.suspended(support),
                           "removed": amb_texts.removed()}
        text = texts_by_status.get(ambassador.status)
        if text is None:
            return
        markup = amb_keyboards.panel() if ambassador.status == "approved" else None
        bot = self.bots.get(ambassador.platform)
        if bot is None:
            return
        try:
            await bot.send_message(ambassador.chat_id, text, reply_markup=markup)
        except Forbidden:
            pass  # blocked the bot: nothing more to try
        except TelegramError as exc:
            log.info("ambassador %d not told: %s", ambassador.citizen_id, exc.__class__.__name__)
            return
        await self.services.repos.ambassadors.mark_told(ambassador.citizen_id, ambassador.decided_at,
                                                        self.services.clock.now())

    async def catch_up_ambassadors(self) -> tuple[int, int]:
        """At start-up: applications whose staff cards were never posted, decisions never heard."""
        repo = self.services.repos.ambassadors
        missing = await repo.pending_without_cards()
        for ambassador in missing:
            await self.post_ambassador_application(ambassador)
        untold = await repo.untold()
        for ambassador in untold:
            await self.tell_decision(ambassador)
        return len(missing), len(untold)

    async def tell_review(self, proposal: Proposal) -> None:
        """The author hears the reviewers' judgement (feasible with its cost, or not and why);
        marked once delivered, so that start-up retells it otherwise."""
        author = await self.services.repos.citizens.get(proposal.citizen_id)
        if author is None:
            return
        markup = PLATFORMS[proposal.platform].markup
        if proposal.feasibility == FEASIBLE:
            text = staff_texts.told_feasible(markup, proposal.title, proposal.code,
                                             texts.money(proposal.cost, self.services.config.money_unit),
                                             proposal.feasibility_note or "")
        else:
            text = staff_texts.told_not_feasible(markup, proposal.title, proposal.code, proposal.feasibility_note or "")
        if await self.tell(proposal.platform, author.chat_id, text, parse_mode=markup.parse_mode):
            await self.services.repos.proposals.mark_review_told(proposal.id, self.services.clock.now())

    async def tell_untold_reviews(self) -> int:
        untold = await self.services.repos.proposals.reviewed_but_not_told()
        for proposal in untold:
            await self.tell_review(proposal)
        return len(untold)

    async def tell(self, platform: str, chat_id: int, text: str, reply_markup=None, parse_mode: str | None = None) -> bool:
        """One message to one person on their messenger; False if it could not be delivered."""
        bot = self.bots.get(platform)
        if bot is None:
            return False
        try:
            await bot.send_message(chat_id, text, reply_markup=reply_markup, parse_mode=parse_mode)
        except TelegramError as exc:
            log.info("message to a person on %s not delivered: %s", platform, exc.__class__.__name__)
            return False
        return True
