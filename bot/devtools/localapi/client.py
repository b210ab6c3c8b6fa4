"""Async client for the loopback server's control API.

For drivers that do not share the server's process (playground, benchmark).
Methods mirror ``LocalApiState`` one-to-one, with the same defaults, so code
can switch between in-process and over-the-wire use.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from .errors import ControlError
from .users import DEFAULT_LOCATION
from .waiting import ChatWaits


class LocalApiClient(ChatWaits):
    def __init__(self, base_url: str, session: aiohttp.ClientSession | None = None):
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._own_session = session is None

    def _http(self) -> aiohttp.ClientSession:
        # Created lazily: a ClientSession must be born inside the running loop.
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        return self._session

    async def call(self, op: str, _wait: float = 0.0, **kwargs: Any) -> Any:
        """POST /control/{op} with kwargs as JSON; returns the result or raises ControlError."""
        timeout = aiohttp.ClientTimeout(total=_wait + 30)
        async with self._http().post(f"{self.base_url}/control/{op}", json=kwargs, timeout=timeout) as resp:
            body = await resp.json()
        if not body.get("ok"):
            raise ControlError(body.get("error") or body)
        return body["result"]

    async def bot_api(self, token: str, method: str, **params: Any) -> dict:
        """Call the Bot API side directly; returns Telegram's whole JSON answer."""
        async with self._http().post(f"{self.base_url}/bot{token}/{method}", json=params) as resp:
            return await resp.json()

    async def download(self, token: str, file_path: str) -> bytes:
        async with self._http().get(f"{self.base_url}/file/bot{token}/{file_path}") as resp:
            resp.raise_for_status()
            return await resp.read()

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> LocalApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------ identities

    async def add_user(self, user_id: int, first_name: str | None = None, username: str | None = None,
                       last_name: str | None = None, phone_number: str | None = None,
                       language_code: str | None = None) -> dict:
        return await self.call("add_user", user_id=user_id, first_name=first_name, username=username,
                               last_name=last_name, phone_number=phone_number, language_code=language_code)

    async def add_users(self, token: str, first_user_id: int, count: int) -> dict:
        return await self.call("add_users", token=token, first_user_id=first_user_id, count=count)

    async def add_bot(self, token: str, username: str | None = None, first_name: str | None = None) -> dict:
        return await self.call("add_bot", token=token, username=username, first_name=first_name)

    async def add_group(self, chat_id: int, title: str | None = None, type: str | None = None) -> dict:
        return await self.call("add_group", chat_id=chat_id, title=title, type=type)

    # ---------------------------------------------------- user actions

    async def send_text(self, token: str, user_id: int, text: str, chat_id: int | None = None,
                        reply_to_message_id: int | None = None) -> dict:
        return await self.call("send_text", token=token, user_id=user_id, text=text, chat_id=chat_id,
                               reply_to_message_id=reply_to_message_id)

    async def send_raw_update(self, token: str, update: dict) -> dict:
        return await self.call("send_raw_update", token=token, update=update)

    async def press(self, token: str, user_id: int, message_id: int, data: str,
                    chat_id: int | None = None, forge: bool = False) -> dict:
        return await self.call("press", token=token, user_id=user_id, message_id=message_id,
                               data=data, chat_id=chat_id, forge=forge)

    async def press_button(self, token: str, user_id: int, label: str, chat_id: int | None = None,
                           message_id: int | None = None) -> dict:
        return await self.call("press_button", token=token, user_id=user_id, label=label,
                               chat_id=chat_id, message_id=message_id)

    async def send_contact(self, token: str, user_id: int, phone_number: str | None = None,
                           contact_user_id: int | None = -1, first_name: str | None = None,
                           chat_id: int | None = None) -> dict:
        return await self.call("send_contact", token=token, user_id=user_id, phone_number=phone_number,
                               contact_user_id=contact_user_id, first_name=first_name, chat_id=chat_id)

    async def send_location(self, token: str, user_id: int, latitude: float = DEFAULT_LOCATION[0],
                            longitude: float = DEFAULT_LOCATION[1], chat_id: int | None = None) -> dict:
        return await self.call("send_location", token=token, user_id=user_id, latitude=latitude,
                               longitude=longitude, chat_id=chat_id)

    async def send_photo(self, token: str, user_id: int, caption: str | None = None,
                         chat_id: int | None = None, content: str | None = None) -> dict:
        return await self.call("send_photo", token=token, user_id=user_id, caption=caption,
                               chat_id=chat_id, content=content)

    async def send_sticker(self, token: str, user_id: int, emoji: str = "👍", chat_id: int | None = None) -> dict:
        return await self.call("send_sticker", token=token, user_id=user_id, emoji=emoji, chat_id=chat_id)

    async def send_document(self, token: str, user_id: int, file_name: str = "document.pdf",
                            content: str | None = None, mime_type: str = "application/pdf",
                            caption: str | None = None, chat_id: int | None = None) -> dict:
        return await self.call("send_document", token=token, user_id=user_id, file_name=file_name,
                               content=content, mime_type=mime_type, caption=caption, chat_id=chat_id)

    async def forward(self, token: str, user_id: int, text: str, from_user_id: int | None = None,
                      sender_name: str = "Hidden User", chat_id: int | None = None) -> dict:
        return await self.call("forward", token=token, user_id=user_id, text=text,
                               from_user_id=from_user_id, sender_name=sender_name, chat_id=chat_id)

    async def forward_message(self, token: str, user_id: int, message_id: int, to_chat_id: int) -> dict:
        return await self.call("forward_message", token=token, user_id=user_id, message_id=message_id,
                               to_chat_id=to_chat_id)

    # --------------------------------------------------------- reading

    async def messages(self, token: str, chat_id: int, include_deleted: bool = True,
                       include_user: bool = False) -> list[dict]:
        return await self.call("messages", token=token, chat_id=chat_id,
                               include_deleted=include_deleted, include_user=include_user)

    async def last_message(self, token: str, chat_id: int) -> dict | None:
        return await self.call("last_message", token=token, chat_id=chat_id)

    async def reply_keyboard(self, token: str, chat_id: int) -> dict | None:
        return await self.call("reply_keyboard", token=token, chat_id=chat_id)

    async def chats(self, token: str) -> list[dict]:
        return await self.call("chats", token=token)

    async def callback_answer(self, token: str, callback_query_id: str) -> dict | None:
        return await self.call("callback_answer", token=token, callback_query_id=callback_query_id)

    async def commands(self, token: str, scope: dict | None = None, language_code: str = "") -> list:
        return await self.call("commands", token=token, scope=scope, language_code=language_code)

    async def pending_updates(self, token: str) -> list[dict]:
        return await self.call("pending_updates", token=token)

    async def update_deliveries(self, token: str) -> dict:
        return await self.call("update_deliveries", token=token)

    async def calls(self, token: str | None = None, method: str | None = None,
                    chat_id: int | None = None, since: int = 0) -> list[dict]:
        return await self.call("calls", token=token, method=method, chat_id=chat_id, since=since)

    async def deliveries(self, token: str, marker: str | None = None, with_chat_ids: bool = False,
                         max_duplicates: int = 100) -> dict:
        return await self.call("deliveries", token=token, marker=marker, with_chat_ids=with_chat_ids,
                               max_duplicates=max_duplicates)

    async def stats(self) -> dict:
        return await self.call("stats")

    # ------------------------------------------------- faults & config

    async def configure(self, latency: float | None = None, timeout_seconds: float | None = None,
                        seed: int | None = None) -> dict:
        return await self.call("config", latency=latency, timeout_seconds=timeout_seconds, seed=seed)

    async def faults(self) -> list[dict]:
        return await self.call("faults")

    async def add_fault(self, method: str | None = None, kind: str = "500", rate: float = 1.0,
                        count: int | None = None, retry_after: int = 1, chat_id: int | None = None,
                        perform: bool = False, token: str | None = None, per_second: float = 0.0) -> dict:
        return await self.call("add_fault", method=method, kind=kind, rate=rate, count=count,
                               retry_after=retry_after, chat_id=chat_id, perform=perform, token=token,
                               per_second=per_second)

    async def set_faults(self, rules: list[dict]) -> list[dict]:
        return await self.call("set_faults", rules=rules)

    async def clear_faults(self) -> bool:
        return await self.call("clear_faults")

    async def block(self, token: str, chat_id: int) -> bool:
        return await self.call("block", token=token, chat_id=chat_id)

    async def unblock(self, token: str, chat_id: int) -> bool:
        return await self.call("unblock", token=token, chat_id=chat_id)

    async def block_share(self, token: str, first_user_id: int, count: int, share: float,
                          seed: int = 0) -> dict:
        return await self.call("block_share", token=token, first_user_id=first_user_id, count=count,
                               share=share, seed=seed)

    async def reset(self) -> bool:
        return await self.call("reset")

    async def reset_stats(self) -> bool:
        return await self.call("reset_stats")

    # --------------------------------------------------------- waiting

    async def watch(self, token: str, chat_id: int, after_call: int = -1, timeout: float = 10.0) -> dict:
        """Long-poll until a bot call newer than after_call touches the chat."""
        return await self.call("wait", _wait=timeout, token=token, chat_id=chat_id,
                               after_call=after_call, timeout=timeout)
