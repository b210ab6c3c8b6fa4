"""Optional transcription of a proposal's voice note (config [voice] transcribe_url).

The voice's bytes are POSTed (Content-Type audio/ogg) to the configured endpoint, which answers
JSON ``{"text": "…"}``. The text is only a draft for staff, shown under the voice; it is asked for
after the citizen's submission is committed and answered, and every failure — the endpoint down,
slow past transcribe_timeout_seconds, a non-2xx answer, no text — only means no draft.
"""
from __future__ import annotations

import asyncio
import logging

import aiohttp

log = logging.getLogger(__name__)

TEXT_MOST = 4000  # characters kept of an answer: staff read it in a caption, not a book


async def transcribe(url: str, audio: bytes, timeout_seconds: float) -> str | None:
    try:
        timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
                url, data=audio, headers={"Content-Type": "audio/ogg"}) as response:
            if response.status // 100 != 2:
                log.warning("transcription endpoint answered HTTP %d: no draft", response.status)
                return None
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        log.warning("transcription endpoint failed (%s): no draft", exc.__class__.__name__)
        return None
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return None
    return " ".join(text.split())[:TEXT_MOST]
