"""bot/cluster/receiver.py: the secrets, 200 only after the commit, a re-delivery stored once, the health
endpoint, the webhooks it sets and removes, and polling that confirms only committed updates."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from telegram import Update

from bench.common import BOT_USERNAME, ROOT, TOKEN, bench_config
from bot.campaign.config import ConfigError, Receiver
from bot.cluster import receiver as rc
from bot.devtools.localapi import LocalBotApi
from storage.inbox import InboxRepository
from tests.cluster.test_inbox import message

TELEGRAM_SECRET = "tg-secret_0123456789"
BALE_SECRET = "bale-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


def config_with(tmp_path, bale: bool = True, **receiver):
    config = bench_config("http://127.0.0.1:9", tmp_path / "unused.sqlite3")
    platforms = dict(config.platforms)
    if bale:
        platforms["bale"] = dataclasses.replace(platforms["bale"], token="9000001:bale-token")
    settings = Receiver(public_url="https://bot.example.ir", telegram_secret=TELEGRAM_SECRET,
                        bale_secret=BALE_SECRET, **receiver)
    return dataclasses.replace(config, platforms=platforms, receiver=settings)


class GatedInbox(InboxRepository):
    """Commits only when the test opens the gate: shows the answer waits for the commit."""

    def __init__(self, db) -> None:
        super().__init__(db)
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def add(self, platform, updates):
        self.entered.set()
        await self.gate.wait()
        return await super().add(platform, updates)


@pytest.fixture
async def client_for(tmp_path):
    clients = []

    async def make(inbox, **config) -> TestClient:
        receiver = rc.Receiver(config_with(tmp_path, **config), inbox)
        client = TestClient(TestServer(receiver.web_app()))
        await client.start_server()
        clients.append(client)
        return client
    yield make
    for client in clients:
        await client.close()


async def test_telegram_needs_its_secret_header(pg_open, client_for):
    inbox = InboxRepository(await pg_open())
    client = await client_for(inbox)
    body = message(1, 100)
    assert (await client.post("/telegram", json=body)).status == 401
    wrong = {rc.SECRET_HEADER: TELEGRAM_SECRET[:-1] + "X"}
    assert (await client.post("/telegram", json=body, headers=wrong)).status == 401
    assert (await inbox.counts()).waiting == 0
    right = {rc.SECRET_HEADER: TELEGRAM_SECRET}
    assert (await client.post("/telegram", json=body, headers=right)).status == 200
    # Bale's path secret is not Telegram's.
    assert (await client.post(f"/bale/{TELEGRAM_SECRET}", json=message(2, 100))).status == 404
    assert (await client.post("/bale/", json=message(2, 100))).status == 404
    assert (await client.post(f"/bale/{BALE_SECRET}x", json=message(2, 100))).status == 404
    assert (await client.post(f"/bale/{BALE_SECRET}", json=message(2, 100))).status == 200
    claimed = await inbox.claim(["telegram", "bale"], 10, "w", 60)
    assert [(c.platform, c.update_id) for c in claimed] == [("telegram", 1), ("bale", 2)]
    # A post that is not an update is refused and stored nowhere.
    assert (await client.post("/telegram", data=b"{not json", headers=right)).status == 400
    assert (await client.post("/telegram", json={"message": {}}, headers=right)).status == 400


async def test_bale_path_is_404_when_bale_is_off(pg_open, client_for):
    client = await client_for(InboxRepository(await pg_open()), bale=False)
    assert (await client.post(f"/bale/{BALE_SECRET}", json=message(2, 100))).status == 404


async def test_answered_only_after_the_commit_and_a_redelivery_is_stored_once(pg_open, client_for):
    gated = GatedInbox(await pg_open())
    elsewhere = InboxRepository(await pg_open())  # another process's connections
    client = await client_for(gated)
    headers = {rc.SECRET_HEADER: TELEGRAM_SECRET}
    posting = asyncio.ensure_future(client.post("/telegram", json=message(5, 100), headers=headers))
    await gated.entered.wait()
    for _ in range(20):
        await asyncio.sleep(0)
    assert not posting.done()  # the messenger has no answer while the update is not committed
    gated.gate.set()
    response = await posting
    assert response.status == 200
    # Committed by the time the messenger hears 200: another connection sees it.
    assert [c.update_id for c in await elsewhere.claim(["telegram"], 10, "w", 60)] == [5]
    # Delivered again (Telegram did not get our 200): 200 again, still one row.
    assert (await client.post("/telegram", json=message(5, 100), headers=headers)).status == 200
    await elsewhere.finish("telegram", [5])
    counts = await elsewhere.counts()
    assert (counts.waiting, counts.claimed) == (0, 0)


async def test_database_down_is_503_and_health_says_so(pg_open, client_for, caplog):
    db = await pg_open()
    client = await client_for(InboxRepository(db))
    health = await client.get("/health")
    assert health.status == 200
    assert (await health.json())["status"] == "ok"
    assert (await client.post("/telegram", json=message(7, 100), headers={rc.SECRET_HEADER: TELEGRAM_SECRET})).status == 200
    assert (await (await client.get("/health")).json())["waiting"] == 1
    await db.close()
    caplog.set_level(logging.INFO)
    for update_id in (8, 9):
        response = await client.post("/telegram", json=message(update_id, 100), headers={rc.SECRET_HEADER: TELEGRAM_SECRET})
        assert response.status == 503  # Telegram delivers it again later
    assert (await client.get("/health")).status == 503
    errors = [r for r in caplog.records if r.name == rc.__name__ and r.levelno >= logging.ERROR]
    assert len(errors) == 1  # once per outage
    assert TELEGRAM_SECRET not in caplog.text and BALE_SECRET not in caplog.text


class RecordingBot:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    async def set_webhook(self, *args, **kwargs):
        self.calls.append(("setWebhook", args, kwargs))
        return True

    async def delete_webhook(self, *args, **kwargs):
        self.calls.append(("deleteWebhook", args, kwargs))
        return True


async def test_sets_and_deletes_the_webhooks(tmp_path):
    config = config_with(tmp_path, max_connections=17)
    receiver = rc.Receiver(config, inbox=None)
    bots = {"telegram": RecordingBot(), "bale": RecordingBot()}
    await receiver.set_webhooks(bots)
    await receiver.delete_webhooks(bots)
    [(_, args, kwargs), deleted] = bots["telegram"].calls
    assert args == ("https://bot.example.ir/telegram",)
    assert kwargs["secret_token"] == TELEGRAM_SECRET and kwargs["max_connections"] == 17
    assert kwargs["allowed_updates"] == Update.ALL_TYPES and kwargs["drop_pending_updates"] is False
    [(_, args, kwargs), _] = bots["bale"].calls
    assert args == (f"https://bot.example.ir/bale/{BALE_SECRET}",) and "secret_token" not in kwargs
    assert deleted[0] == "deleteWebhook" and deleted[2] == {"drop_pending_updates": False}


def test_webhooks_need_their_settings(tmp_path):
    config = config_with(tmp_path)
    for key, change in (("receiver.public_url", {"public_url": ""}),
                        ("receiver.telegram_secret", {"telegram_secret": ""}),
                        ("receiver.bale_secret", {"bale_secret": ""})):
        broken = dataclasses.replace(config, receiver=dataclasses.replace(config.receiver, **change))
        with pytest.raises(ConfigError) as caught:
            rc.check_webhooks(broken)
        assert caught.value.key == key


class FailingFirst(InboxRepository):
    def __init__(self, db, failures: int) -> None:
        super().__init__(db)
        self.failures = failures

    async def add(self, platform, updates):
        if self.failures:
            self.failures -= 1
            raise OSError("database away")
        return await super().add(platform, updates)


async def test_polling_confirms_only_what_is_committed(pg_open, tmp_path, monkeypatch):
    monkeypatch.setattr(rc, "RETRY_MIN", 0.01)
    async with LocalBotApi(bots={TOKEN: BOT_USERNAME}) as api:
        state = api.state
        config = bench_config(api.url, tmp_path / "unused.sqlite3")
        inbox = FailingFirst(await pg_open(), failures=3)
        [bot] = rc.make_bots(config).values()
        await bot.initialize()
        sent = [state.send_text(TOKEN, 500 + n, f"/start {n}")["update_id"] for n in range(5)]
        receiver = rc.Receiver(config, inbox)
        polling = asyncio.ensure_future(receiver.poll("telegram", bot, timeout=1))
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while inbox.failures:  # the database refused the batch: nothing confirmed meanwhile
                assert set(state.update_deliveries(TOKEN)["unconfirmed"]) <= set(sent)
                assert [u["update_id"] for u in state.pending_updates(TOKEN)] == sent
                assert loop.time() < deadline
                await asyncio.sleep(0.005)
            while state.pending_updates(TOKEN):
                assert loop.time() < deadline, "the committed batch was never confirmed"
                await asyncio.sleep(0.01)
            more = state.send_text(TOKEN, 777, "/start")["update_id"]
            while (await inbox.counts()).waiting < 6:
                assert loop.time() < deadline
                await asyncio.sleep(0.01)
        finally:
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
            await bot.shutdown()
        claimed = await inbox.claim(["telegram"], 10, "w", 60)
        assert sorted(c.update_id for c in claimed) == [*sent, more]
        assert receiver.received == 6


def test_receive_and_worker_need_postgresql(tmp_path, capsys):
    from bot.__main__ import main

    config = tmp_path / "config.toml"
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    config.write_text(example.replace('token = ""', 'token = "123:abc"', 1), encoding="utf-8")
    for command in ("receive", "worker"):
        assert main(["--config", str(config), command]) == 2
        [line] = capsys.readouterr().err.strip().splitlines()
        assert line.startswith("config error: database.url: is needed by `manshahrdaram " + command)
        assert 'postgresql://' in line


class Switch(InboxRepository):
    """The database, and a switch that takes it away."""

    down = False

    async def add(self, platform, updates):
        if self.down:
            raise OSError("database away")
        return await super().add(platform, updates)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhooks_through_the_loopback_server(pg_open, tmp_path):
    """serve_receiver sets the webhook, the server posts each update to it (oldest first, with the
    secret), an update the receiver answered 503 for is posted again until it is stored, and the
    webhook is deleted at stop."""
    async with LocalBotApi(bots={TOKEN: BOT_USERNAME}) as api:
        state = api.state
        port = free_port()
        config = bench_config(api.url, tmp_path / "unused.sqlite3")
        config = dataclasses.replace(config, receiver=Receiver(
            listen=f"127.0.0.1:{port}", public_url=f"http://127.0.0.1:{port}", telegram_secret=TELEGRAM_SECRET,
            max_connections=5))
        inbox = Switch(await pg_open())
        stop, ready = asyncio.Event(), asyncio.Event()
        serving = asyncio.ensure_future(rc.serve_receiver(config, inbox, polling=False, ready=ready.set, stop=stop))
        loop = asyncio.get_running_loop()

        async def until(predicate, what):
            deadline = loop.time() + 10
            while not predicate():
                assert not serving.done(), serving.exception() if serving.done() else None
                assert loop.time() < deadline, what
                await asyncio.sleep(0.01)
        try:
            await asyncio.wait_for(ready.wait(), 10)
            hook = state.bot(TOKEN).webhook
            assert hook["url"] == f"http://127.0.0.1:{port}/telegram" and hook["secret_token"] == TELEGRAM_SECRET
            assert hook["max_connections"] == 5
            first = [state.send_text(TOKEN, 800 + n, "/start")["update_id"] for n in range(3)]
            await until(lambda: not state.pending_updates(TOKEN), "the updates delivered")
            assert receiver_count(hook) == (3, 0)
            inbox.down = True
            later = state.send_text(TOKEN, 900, "/start")["update_id"]
            await until(lambda: hook.get("failed", 0) >= 2, "deliveries refused with 503")
            assert [u["update_id"] for u in state.pending_updates(TOKEN)] == [later]  # kept, not lost
            inbox.down = False
            await until(lambda: not state.pending_updates(TOKEN), "the update delivered once the database is back")
        finally:
            stop.set()
            await asyncio.wait_for(serving, 10)
        assert state.bot(TOKEN).webhook is None  # deleted at stop: updates wait at the messenger
        claimed = await inbox.claim(["telegram"], 10, "w", 60)
        assert [c.update_id for c in claimed] == [*first, later]


def receiver_count(hook: dict) -> tuple[int, int]:
    return hook.get("delivered", 0), hook.get("failed", 0)


def cluster_config(tmp_path, api_url: str, pg_url: str, token: str, listen: str) -> Path:
    """config.example.toml with Telegram on the loopback server, PostgreSQL, and the receiver's address."""
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = text.replace('token = ""', f'token = "{token}"\nbase_url = "{api_url}/bot"\n'
                                      f'base_file_url = "{api_url}/file/bot"', 1)
    text = text.replace('phone_hash_secret = "change-me-to-a-long-random-secret"',
                        'phone_hash_secret = "a-real-secret-for-this-test-0123"')
    text = text.replace("[database]\n", f'[database]\nurl = "{pg_url}"\n', 1)
    text += f'\n[receiver]\nlisten = "{listen}"\n'
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def manshahrdaram(*argv: str) -> tuple[int, list[str]]:
    """``python -m bot ARGV`` (its own process: it sets signal handlers); exit code and stderr lines."""
    import sys

    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *argv, cwd=ROOT,
                                                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    except TimeoutError:
        # Never left behind: a receiver that outlives its test polls a closed server for ever.
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode, err.decode().strip().splitlines()


async def test_receive_says_in_one_line_what_keeps_it_from_starting(pg_url, tmp_path):
    async with LocalBotApi(bots={TOKEN: BOT_USERNAME}) as api:
        with socket_in_use() as busy:
            config = cluster_config(tmp_path, api.url, pg_url, TOKEN, f"127.0.0.1:{busy}")
            code, lines = await manshahrdaram("--config", str(config), "receive", "--polling")
            assert code == 1 and f"receiver.listen 127.0.0.1:{busy}: cannot listen there" in lines[-1], lines
            assert "Traceback" not in "\n".join(lines)
        # A token the server does not know (Telegram answers getMe with 404, PTB's InvalidToken).
        api.state.add_fault(method="getMe", kind="404", token="123:not-this-servers-bot")
        config = cluster_config(tmp_path, api.url, pg_url, "123:not-this-servers-bot", f"127.0.0.1:{free_port()}")
        code, lines = await manshahrdaram("--config", str(config), "receive", "--polling")
        assert code == 2 and lines[-1].startswith("config error: telegram.token: was rejected"), lines
        # Webhooks need the public address.
        config = cluster_config(tmp_path, api.url, pg_url, TOKEN, f"127.0.0.1:{free_port()}")
        code, lines = await manshahrdaram("--config", str(config), "receive")
        assert code == 2 and lines[-1].startswith("config error: receiver.public_url: is needed by "), lines


def socket_in_use():
    import contextlib
    import socket

    @contextlib.contextmanager
    def listening():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            yield s.getsockname()[1]
    return listening()


async def test_the_commands_serve_a_citizen_and_stop_on_sigterm(pg_url, tmp_path):
    """``manshahrdaram receive --polling`` and ``manshahrdaram worker`` as an operator runs them."""
    import signal
    import sys

    async with LocalBotApi(bots={TOKEN: BOT_USERNAME}) as api:
        config = cluster_config(tmp_path, api.url, pg_url, TOKEN, f"127.0.0.1:{free_port()}")
        procs = []
        try:
            for command in (["receive", "--polling"], ["worker", "--claim-seconds", "5"]):
                procs.append(await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "--config", str(config), *command, cwd=ROOT,
                    stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE))
            api.state.send_text(TOKEN, 4_300_001, "/start")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while not api.state.messages(TOKEN, 4_300_001):
                assert all(p.returncode is None for p in procs), [p.returncode for p in procs]
                assert loop.time() < deadline, "no answer"
                await asyncio.sleep(0.05)
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
            outcomes = [await asyncio.wait_for(proc.communicate(), 30) for proc in procs]
        for proc, (_, err) in zip(procs, outcomes, strict=True):
            assert proc.returncode == 0, err.decode()[-2000:]
            assert b"Traceback" not in err and TOKEN.split(":")[1].encode() not in err
