"""Text typed at the main menu (issue 16): a proposal written straight into the chat is not lost.

In the proposals phase it is kept as the description of a new draft and the citizen is asked
whether to go on with it (category and title are then asked as usual, the description step
skipped); otherwise, or when it cannot be a description, the citizen is pointed to what can be
done now.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.campaign.phone import looks_like_phone
from bot.campaign.services.proposals import Gate, ProposalService, TextCheck, VoiceCheck
from domain import Citizen, Draft


class Offer(enum.Enum):
    OFFERED = "offered"  # kept as a new draft's description: ask whether to go on
    DRAFT_EXISTS = "draft_exists"  # an unfinished proposal of their own is never overwritten
    TOO_LONG = "too_long"
    NOT_A_PROPOSAL = "not_a_proposal"  # a greeting, a phone number, punctuation: point to the menu
    GATE = "gate"  # proposals cannot be sent now (see ``gate``)
    VOICE_REFUSED = "voice_refused"  # a voice note over [voice]'s limits (see ``voice``)


@dataclass(frozen=True)
class OfferResult:
    offer: Offer
    gate: Gate = Gate.OK
    length: int = 0
    limit: int = 0
    voice: VoiceCheck | None = None


def offered_only(draft: Draft | None) -> bool:
    """A draft that holds nothing but a description: what an offer made (the usual steps fill the
    category and the title first)."""
    return draft is not None and bool(draft.description) and not (draft.category_id or draft.title)


async def _refusal(proposals: ProposalService, citizen: Citizen) -> OfferResult | None:
    """Why nothing can be kept now (proposals closed, a draft of their own under way), or None."""
    gate = await proposals.gate(citizen)
    if gate is not Gate.OK:
        return OfferResult(Offer.GATE, gate)
    draft = await proposals.draft(citizen)
    if draft is not None and (draft.category_id or draft.title):
        return OfferResult(Offer.DRAFT_EXISTS)
    return None


async def offer_text(proposals: ProposalService, citizen: Citizen, text: str) -> OfferResult:
    if looks_like_phone(text):
        return OfferResult(Offer.NOT_A_PROPOSAL)
    if refused := await _refusal(proposals, citizen):
        return refused
    # An earlier offer's text, never taken up, gives way to the newer one.
    result = await proposals.set_description(citizen, text)
    if result.check is TextCheck.OK:
        return OfferResult(Offer.OFFERED)
    if result.check is TextCheck.TOO_LONG:
        return OfferResult(Offer.TOO_LONG, length=result.length, limit=result.limit)
    return OfferResult(Offer.NOT_A_PROPOSAL)


async def offer_voice(proposals: ProposalService, citizen: Citizen, file_id: str, seconds: int,
                      size: int | None) -> OfferResult:
    """A voice note sent at the main menu (issue 16 §4): kept as a new draft's description, as
    typed text is, under the same rules."""
    if refused := await _refusal(proposals, citizen):
        return refused
    check = await proposals.set_voice(citizen, file_id, seconds, size)
    return OfferResult(Offer.OFFERED) if check is VoiceCheck.OK else OfferResult(Offer.VOICE_REFUSED, voice=check)


async def decline(proposals: ProposalService, citizen: Citizen) -> None:
    """"No" to the offer drops the kept text, and only that: a draft the citizen has gone on
    writing (an old offer's button pressed later) stays."""
    if offered_only(await proposals.draft(citizen)):
        await proposals.discard(citizen)
