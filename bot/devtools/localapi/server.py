"""aiohttp front end of the loopback Bot API: HTTP parsing, latency, faults.

All semantics live in ``state.py`` and its parts; this module only adapts HTTP to it, so the
same behaviour is reachable in-process (tests) and over the wire (benchmark).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from typing import Any

from aiohttp import web

from .errors import ApiError, ControlError
from .faults import FaultRule
from .params import Upload, coerce_params
from .state import LocalApiState

STATE = web.AppKey("state", LocalApiState)
_log = logging.getLogger(__name__)


def _reply(payload: dict, status: int = 200) -> web.Response:
    # ensure_ascii=False: Persian text would otherwise triple in size.
    body = json.dumps(payload, ensure_ascii=False).encode()
    return web.Response(body=body, status=status, content_type="application/json")


async def _read_params(request: web.Request) -> dict:
    """Telegram takes query string, JSON, urlencoded and multipart alike."""
    params: dict[str, Any] = dict(request.query)
    if request.body_exists:
        if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    value = Upload(value.filename, value.content_type, value.file.read())
                params[key] = value
        else:
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: JSON object expected")
                params.update(body)
    return coerce_params(params)


async def _latency(state: LocalApiState) -> None:
    if state.latency > 0:
        await asyncio.sleep(state.latency)


async def _inject(request: web.Request, state: LocalApiState, token: str, method: str,
                  params: dict, rule: FaultRule) -> tuple[int, web.Response]:
    """Answer with the rule's fault; `perform` runs the call first so tests can
    exercise the "did it go through?" ambiguity of real network failures."""
    result: Any = None
    if rule.perform:
        try:
            result = state.api(token, method, params)
        except ApiError as err:
            return err.code, _reply(err.payload(), err.code)
    if rule.kind == "timeout":
        # Sleep past the client's read timeout; if the client is still there
        # (long timeout), the call simply turns out to have been slow.
        await asyncio.sleep(state.timeout_seconds)
        if not rule.perform:
            result = state.api(token, method, params)
        return 200, _reply({"ok": True, "result": result})
    if rule.kind == "drop":
        if request.transport is not None:
            request.transport.abort()
        # handler_cancellation (see LocalBotApi.start) cancels us right here,
        # so aiohttp writes nothing and logs nothing.
        await asyncio.sleep(1)
        return 0, web.Response(status=500)
    code, payload = rule.answer()
    return code, _reply(payload, code)


async def _bot_api(request: web.Request) -> web.Response:
    state = request.app[STATE]
    token, raw_method = request.match_info["token"], request.match_info["method"]
    method = state.method_name(raw_method)
    state.call_log.begin()
    status, fault, params = 0, None, {}
    try:
        params = await _read_params(request)
        if method is None:
            raise ApiError(404, "Not Found")
        rule = state.pick_fault(method, params.get("chat_id"), token)
        if rule is not None:
            fault = rule.kind
            await _latency(state)
            status, response = await _inject(request, state, token, method, params, rule)
            return response
        if method == "getUpdates":
            # Latency is paid once per answer, not during the long-poll wait.
            result = await state.get_updates(token, params)
            await _latency(state)
        else:
            await _latency(state)
            result = state.api(token, method, params)
        status = 200
        return _reply({"ok": True, "result": result})
    except ApiError as err:
        status = err.code
        return _reply(err.payload(), err.code)
    except Exception as err:  # a bug here must still look like JSON to the bot
        _log.exception("loopback Bot API failed on %s", raw_method)
        status = 500
        return _reply({"ok": False, "error_code": 500, "description": f"Internal Server Error: {err!r}"}, 500)
    finally:
        # Runs on cancellation too (client gone): logged with status 0.
        state.call_log.end()
        state.record(token, method or raw_method, params, status, fault)


async def _file(request: web.Request) -> web.Response:
    state = request.app[STATE]
    data = state.file_bytes(request.match_info["token"], request.match_info["path"])
    await _latency(state)
    if data is None:
        return _reply(ApiError(404, "Not Found").payload(), 404)
    return web.Response(body=data, content_type="application/octet-stream")


# --------------------------------------------------------------- control

_CONTROL_OPS: dict[str, Any] = {
    op: getattr(LocalApiState, op) for op in (
        "send_text", "press", "press_button", "send_contact", "send_location", "send_photo",
        "send_sticker", "send_document", "send_raw_update", "forward", "forward_message", "add_user", "add_users", "add_bot", "add_group",
        "block", "unblock", "block_share", "reset", "reset_stats", "stats", "messages", "last_message",
        "reply_keyboard", "chats", "callback_answer", "commands", "pending_updates", "update_deliveries", "calls",
        "deliveries",
        "add_fault", "set_faults", "clear_faults", "watch",
    )
}
_CONTROL_OPS.update(
    config=LocalApiState.configure,
    faults=lambda state: [rule.as_dict() for rule in state.faults],
    wait=LocalApiState.watch,
)
# Query-string values are JSON-decoded for convenience (curl), except these.
_STR_ARGS = frozenset(
    "token text label data username first_name last_name phone_number caption method kind "
    "file_name mime_type emoji sender_name callback_query_id language_code title type content marker".split()
)


def _query_arg(key: str, value: str) -> Any:
    if key in _STR_ARGS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _control(request: web.Request) -> web.Response:
    state = request.app[STATE]
    op = request.match_info["op"]
    fn = _CONTROL_OPS.get(op)
    if fn is None:
        return web.json_response({"ok": False, "error": f"unknown control op {op!r}; "
                                  f"known: {sorted(_CONTROL_OPS)}"}, status=404)
    kwargs = {k: _query_arg(k, v) for k, v in request.query.items()}
    try:
        if request.body_exists and (raw := await request.read()).strip():
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ControlError("control body must be a JSON object")
            kwargs.update(body)
        result = fn(state, **kwargs)
        if inspect.isawaitable(result):
            result = await result
    except (ControlError, TypeError, ValueError) as err:
        # TypeError: wrong/missing arguments for the op, reported to the caller.
        return web.json_response({"ok": False, "error": f"{type(err).__name__}: {err}"}, status=400)
    return _reply({"ok": True, "result": result})


def make_app(state: LocalApiState) -> web.Application:
    # Uploads are in-memory; 50 MB is Telegram's own bot upload limit.
    app = web.Application(client_max_size=50 * 1024 * 1024)
    app[STATE] = state
    app.router.add_route("*", "/bot{token}/{method}", _bot_api)
    app.router.add_get("/file/bot{token}/{path:.+}", _file)
    app.router.add_route("*", "/control/{op}", _control)
    return app


class LocalBotApi:
    """The server, startable inside the caller's event loop.

    >>> async with LocalBotApi(bots={"1:T": "my_bot"}) as api:
    ...     ApplicationBuilder().token("1:T").base_url(api.bot_base_url)...
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0,
                 bots: dict[str, str] | None = None, seed: int = 0, timeout_seconds: float = 30.0,
                 call_log_size: int = 20_000):
        self.host, self.port = host, port
        self.state = LocalApiState(bots, latency=latency, seed=seed, timeout_seconds=timeout_seconds,
                                   call_log_size=call_log_size)
        self.url = self.bot_base_url = self.file_base_url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> LocalBotApi:
        self.state.closed = False
        # handler_cancellation: a client that hangs up (PTB cancelling a long
        # poll, a timed-out request) must not leave its handler running.
        self._runner = web.AppRunner(make_app(self.state), handler_cancellation=True,
                                     access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        # A deep backlog: the benchmark opens hundreds of connections at once.
        site = web.TCPSite(self._runner, self.host, self.port, backlog=2048)
        await site.start()
        self.port = self._runner.addresses[0][1]
        shown = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        self.url = f"http://{shown}:{self.port}"
        self.bot_base_url = self.url + "/bot"
        self.file_base_url = self.url + "/file/bot"
        return self

    async def stop(self) -> None:
        self.state.close()  # release long polls so shutdown does not wait for them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def client(self):
        from .client import LocalApiClient

        return LocalApiClient(self.url)

    async def __aenter__(self) -> LocalBotApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
