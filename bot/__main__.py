"""Command line: ``python -m bot [--config FILE] [run|check-config|shell|stats|export|results|backup|
receive|worker|move-to-postgres|publish-site]`` (also ``manshahrdaram``).

With no command it serves the messengers configured in config.toml; with no token there (or no
config.toml at all) it starts the local playground instead, so a fresh checkout does something.
``stats`` and ``export`` read the configured database without any messenger, through the same
services as /stats and /export, and may run while the bot serves (SQLite's WAL lets them read);
so may ``backup``, which copies the database with SQLite's online backup (storage/backup.py).
On PostgreSQL ([database] url) they read it the same way, and ``backup`` runs pg_dump.
``move-to-postgres --to URL`` copies the SQLite campaign into an empty PostgreSQL database and
checks the copy (storage/move.py), with the bot stopped.
Every command logs through bot/logs.py: JSON lines on stderr, with secrets and citizens' data kept out.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot import logs
from bot.campaign.clock import SystemClock
from bot.campaign.config import EXAMPLE_SECRET, Config, ConfigError, load_config
from messages_fa.texts import PLAN
from storage.db import DatabaseUnusable, check_path

log = logging.getLogger(__name__)
DEFAULT_CONFIG = Path("config.toml")
EXAMPLE_CONFIG = Path("config.example.toml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="manshahrdaram", description=f"The {PLAN} bot for Telegram and Bale.")
    parser.add_argument("--config", type=Path, default=None, help="config file (default: config.toml)")
    parser.add_argument("--log-level", default=None, choices=logs.LEVELS,
                        help=f"least severe log events written to stderr (default: ${logs.LEVEL_ENV} or INFO)")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="serve the configured messengers (the default)")
    check = commands.add_parser("check-config", help="check a config file and exit")
    check.add_argument("file", nargs="?", type=Path, help="the file to check (default: --config or config.toml)")
    shell = commands.add_parser("shell", help="chat with the bot in this terminal (local playground)")
    shell.add_argument("--at", help='run the bot at this Jalali Tehran time, e.g. "1405/09/20 10:00"')
    shell.add_argument("--demo", action="store_true", help="seed sample citizens and proposals")
    commands.add_parser("stats", help="print the campaign's statistics (Persian) and exit")
    export = commands.add_parser("export", help="write the Excel workbook, and a CSV per sheet beside it, and exit")
    export.add_argument("--out", type=Path, required=True, metavar="FILE.xlsx",
                        help="the workbook to write; the CSVs are written beside it as FILE-<sheet>.csv")
    results = commands.add_parser("results", help="compute each neighbourhood's winners and print them (nothing is published)")
    results.add_argument("--rule", choices=("greedy", "equal-shares"), default=None,
                         help="the allocation rule (default: results.rule in the config)")
    results.add_argument("--pb-dir", type=Path, default=None, metavar="DIR",
                         help="also write each neighbourhood's election as DIR/<id>.pb (pabulib, voters anonymized)")
    site = commands.add_parser("publish-site", help="write the published results' public pages (HTML, charts, "
                                                    ".pb files) into DIR and exit")
    site.add_argument("--out", type=Path, required=True, metavar="DIR",
                      help="the folder to write (made if missing); serve it at site.url")
    backup = commands.add_parser("backup", help="copy the database while the bot serves (SQLite's online backup), "
                                                "check the copy, and exit")
    what = backup.add_mutually_exclusive_group(required=True)
    what.add_argument("--out", type=Path, metavar="FILE", help="the copy to write; refused if FILE exists, unless --force")
    what.add_argument("--check", type=Path, metavar="FILE",
                      help="check an existing copy (integrity, foreign keys) and print its row counts; writes nothing")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    move = commands.add_parser("move-to-postgres", help="copy the SQLite campaign (general.database; the bot stopped) "
                                                        "into an empty PostgreSQL database, check the copy, and exit")
    move.add_argument("--to", required=True, metavar="URL", help="the empty database, postgresql://user@host:5432/dbname")
    receive = commands.add_parser("receive", help="store every update in the PostgreSQL inbox for the workers "
                                                  "(webhooks, set and removed by itself; [receiver] in the config)")
    receive.add_argument("--polling", action="store_true",
                         help="fetch updates with getUpdates instead of webhooks (only one such receiver per bot)")
    worker = commands.add_parser("worker", help="handle updates from the PostgreSQL inbox (run as many as you like)")
    worker.add_argument("--concurrency", type=int, default=None, metavar="N",
                        help="updates handled at once in this process (default: as the single process)")
    worker.add_argument("--claim-seconds", type=float, default=None, metavar="S",
                        help="how long a claimed update is held for this worker; a killed worker's updates "
                             "are taken over after this (default: 30)")
    return parser


def _setup_logging(level: str | None) -> None:
    # One JSON line per event; tokens, phone numbers and payloads are filtered out (bot/logs.py).
    # At DEBUG, PTB would dump every Bot API call and update: that stays at INFO (the filter
    # would keep them safe, not readable), so --log-level DEBUG is for our own modules.
    logs.setup(level or logs.level_from_env())


def _config_path(args: argparse.Namespace) -> Path:
    if args.config is not None:
        return args.config
    if args.command == "check-config" and args.file is not None:
        return args.file
    return DEFAULT_CONFIG


def _check_production(config: Config) -> None:
    if config.enabled_platforms and config.phone_hash_secret.decode() == EXAMPLE_SECRET:
        raise ConfigError("general.phone_hash_secret", "is still the example value; set a long random secret before serving real users")


def _check_database(config: Config) -> str:
    """What `run` would refuse about the database, found without creating or changing it; for
    PostgreSQL, what the OK line adds (its address and schema version)."""
    if config.database_url:
        return _check_postgres(config.database_url)
    try:
        check_path(config.database)
    except DatabaseUnusable as exc:
        raise ConfigError("general.database", str(exc)) from None
    return ""


def _check_postgres(url: str) -> str:
    """One connection, one read: the server reachable, the database there, its schema not newer
    than this program's (a newer release wrote it). Each failure is one line naming the key."""
    import psycopg

    from storage.migrations_postgres import MIGRATIONS
    from storage.postgres import display_url, schema_version

    shown = display_url(url)
    try:
        version = schema_version(url)
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError("database.url", f"{shown}: {reason.replace(url, shown)}") from None
    latest = len(MIGRATIONS)
    if version is not None and version > latest:
        raise ConfigError("database.url", f"{shown} has schema version {version}, newer than this program's "
                                          f"{latest}: a newer release wrote it; run that release, or restore a "
                                          "backup taken before the upgrade")
    if version is None:
        return f", database: PostgreSQL {shown}, empty (the schema, version {latest}, is made at start)"
    if version < latest:
        return f", database: PostgreSQL {shown}, schema version {version} (migrated to {latest} at start)"
    return f", database: PostgreSQL {shown}, schema version {version}"


async def _offline_report(config: Config, args: argparse.Namespace) -> int:
    """``stats`` or ``export`` on the configured database; one line on stderr when it fails."""
    import sqlite3

    from bot.campaign.services.stats import StatsService, report_text
    from bot.outputs.export import write_files
    from messages_fa.markup import PlainMarkup
    from storage.engine import is_postgres, open_database
    from storage.repositories import Repositories

    where = config.database_address
    if not is_postgres(where) and not Path(where).is_file():
        # Opening would create an empty database: say where we looked instead.
        print(f"database error: {config.database} not found (general.database in the config)", file=sys.stderr)
        return 1
    if args.command == "results":
        return await _results(config, args)
    if args.command == "publish-site":
        return await _publish_site(config, args)
    if args.command == "export" and not args.out.parent.is_dir():
        print(f"export error: folder {args.out.parent} does not exist", file=sys.stderr)
        return 1
    db = open_database(where)
    try:
        await db.open()
        service = StatsService(config, SystemClock(), Repositories(db))
        if args.command == "stats":
            report = await service.report()
            _utf8_stdout()
            print(report_text(report, PlainMarkup(), service.when(report.at), full=True))
            return 0
        data = await service.export_data()
        for path in await asyncio.to_thread(write_files, config, data, args.out):
            print(path)
        return 0
    except (sqlite3.Error, RuntimeError, *_driver_errors(where)) as exc:
        print(f"database error: {db.path}: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}",
              file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"export error: {exc.filename or args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        await db.close()


def _driver_errors(where) -> tuple[type[BaseException], ...]:
    from storage.engine import is_postgres

    if not is_postgres(where):
        return ()
    import psycopg

    return (psycopg.Error,)


async def _results(config: Config, args: argparse.Namespace) -> int:
    from bot.campaign.roles import Actor
    from bot.campaign.services import Services
    from messages_fa.markup import PlainMarkup
    from messages_fa.results import winners_block
    from storage.engine import open_database
    from storage.repositories import Repositories

    if args.pb_dir is not None and not args.pb_dir.is_dir():
        print(f"results error: folder {args.pb_dir} does not exist", file=sys.stderr)
        return 1
    db = open_database(config.database_address)
    try:
        await db.open()
        services = Services.build(config, SystemClock(), Repositories(db))
        # The operator holds the database already: their own tool, named "operator" as before.
        run = await services.results.compute(Actor.tool("operator"), args.rule, save=False)
        _utf8_stdout()
        for hood in config.neighbourhoods:
            budget, spent, voters = run.neighbourhoods[hood.id]
            winners = [(w.title, w.code, w.cost, w.votes) for w in run.winners if w.neighbourhood_id == hood.id]
            print(winners_block(PlainMarkup(), hood.name, budget, spent, voters, winners, config.money_unit), end="\n\n")
            if args.pb_dir is not None:
                (args.pb_dir / f"{hood.id}.pb").write_text(await services.results.pabulib(hood.id, run.rule),
                                                            encoding="utf-8")
        return 0
    finally:
        await db.close()


async def _publish_site(config: Config, args: argparse.Namespace) -> int:
    """The same pages /results writes when staff publish (bot/outputs/site.py), from the database."""
    from bot.campaign.services import Services
    from bot.outputs.site import publish_site
    from storage.engine import open_database
    from storage.repositories import Repositories

    db = open_database(config.database_address)
    try:
        await db.open()
        services = Services.build(config, SystemClock(), Repositories(db))
        try:
            written = await publish_site(services, args.out)
        except LookupError:
            print("publish-site error: no results are published yet (staff publish them with /results)",
                  file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"publish-site error: {exc.filename or args.out}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"wrote {len(written)} files into {args.out}" + (f" (served at {config.site.url}/)" if config.site.url
                                                               else " (site.url is not set: the bot links nowhere)"))
        return 0
    finally:
        await db.close()


def _backup(config: Config | None, args: argparse.Namespace) -> int:
    from storage.backup import BackupError, backup, check, is_pg_dump, pg_backup, pg_check
    from storage.engine import is_postgres

    try:
        if args.check is not None and is_pg_dump(args.check):
            report = pg_check(args.check)
            print(f"checked {report.path}: {report.size:,} bytes, a pg_dump archive (custom format) that pg_restore "
                  f"reads: {len(report.tables):,} table(s) with data")
        elif args.check is not None:
            report = check(args.check)
            print(f"checked {report.path}: {report.size:,} bytes, {report.pages:,} pages; "
                  "integrity and foreign keys ok")
        elif is_postgres(where := config.database_address):
            report = pg_backup(str(where), args.out, force=args.force)
            print(f"wrote {report.path}: {report.size:,} bytes in {report.seconds:.1f} s with pg_dump (custom format, "
                  "one snapshot); pg_restore reads it back. Rows in that snapshot:")
        else:
            report = backup(config.database, args.out, force=args.force)
            print(f"wrote {report.path}: {report.size:,} bytes, {report.pages:,} pages in {report.seconds:.1f} s; "
                  "integrity and foreign keys ok")
    except BackupError as exc:
        print(f"backup error: {exc}", file=sys.stderr)
        return 1
    width = max(map(len, report.tables), default=0)
    for table, rows in report.tables.items():
        print(f"  {table:<{width}}  {rows:>10,}" if rows >= 0 else f"  {table}")  # an archive's: no count
    return 0


async def _move_to_postgres(config: Config, args: argparse.Namespace) -> int:
    """The SQLite file general.database, copied into the empty database --to, and checked."""
    from storage.engine import is_postgres
    from storage.move import MoveError, move_to_postgres

    if not is_postgres(args.to):
        print("move-to-postgres error: --to must be a PostgreSQL address, postgresql://user@host:5432/dbname",
              file=sys.stderr)
        return 2
    seen: dict[str, int] = {}

    def progress(table: str, rows: int) -> None:
        if rows - seen.get(table, 0) >= 100_000:
            seen[table] = rows
            log.info("move-to-postgres: %s: %d rows copied", table, rows)
    try:
        report = await move_to_postgres(config.database, args.to, progress=progress)
    except MoveError as exc:
        print(f"move-to-postgres error: {exc}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def _utf8_stdout() -> None:
    """Persian on a console or pipe whose encoding is not UTF-8 (Windows) would raise."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None and (sys.stdout.encoding or "").lower().replace("-", "") != "utf8":
        reconfigure(encoding="utf-8")


def _config_to_load(args: argparse.Namespace) -> Path:
    """config.toml; without one, the playground (plain start or `shell`) runs on the example file,
    as it uses its own database and serves no messenger."""
    path = _config_path(args)
    if args.command in (None, "shell") and args.config is None and not path.exists() and EXAMPLE_CONFIG.exists():
        print(f"{path} not found: starting the local playground with {EXAMPLE_CONFIG} "
              "(copy it to config.toml and add a token to serve Telegram or Bale)", file=sys.stderr)
        return EXAMPLE_CONFIG
    return path


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.log_level)
    try:
        return _main(args)
    finally:
        logs.teardown()  # main() called in-process (tests) leaves logging as it found it


def _main(args: argparse.Namespace) -> int:
    if args.command == "backup" and args.check is not None:
        return _backup(None, args)  # checking a copy needs no config
    path = _config_to_load(args)
    try:
        config = load_config(path)
        logs.add_secrets(config.phone_hash_secret, *(platform.token for platform in config.platforms.values()))
        if args.command == "check-config":
            _check_production(config)
            database = _check_database(config)
            platforms = ", ".join(p.name for p in config.enabled_platforms) or "none (playground only)"
            print(f"{path}: OK — {len(config.neighbourhoods)} neighbourhoods, {len(config.categories)} categories, "
                  f"messengers: {platforms}{database}")
            return 0
        if args.command == "backup":
            return _backup(config, args)
        if args.command == "move-to-postgres":
            return asyncio.run(_move_to_postgres(config, args))
        if args.command in ("stats", "export", "results", "publish-site"):
            return asyncio.run(_offline_report(config, args))
        if args.command in ("receive", "worker"):
            return _cluster(config, args)
        if args.command == "shell" or not config.enabled_platforms:
            from bot.devtools.playground import run_playground

            return asyncio.run(run_playground(config, at=getattr(args, "at", None), demo=getattr(args, "demo", False)))
        _check_production(config)
        from bot.runtime import Runtime, StartupError, serve_forever

        try:
            asyncio.run(serve_forever(Runtime(config, SystemClock())))
        except StartupError as exc:
            return _cannot_start(exc)
        return 0
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnusable as exc:
        return _cannot_start(exc)
    except KeyboardInterrupt:
        return 130


def _cluster(config: Config, args: argparse.Namespace) -> int:
    """``receive`` and ``worker`` (bot/cluster/): PostgreSQL only."""
    from bot.cluster import require_postgres

    url = require_postgres(config, args.command)
    if args.command == "worker":
        _check_production(config)
        if not config.enabled_platforms:
            raise ConfigError("telegram.token", "no messenger has a token: a worker has nothing to serve")
        from bot.app import CONCURRENT_UPDATES
        from bot.cluster.worker import CLAIM_SECONDS, serve_worker
        from bot.runtime import Runtime, StartupError

        concurrency = args.concurrency or CONCURRENT_UPDATES
        runtime = Runtime(config, SystemClock(), updater=False, concurrent_updates=concurrency)
        try:
            asyncio.run(serve_worker(runtime, concurrency=concurrency,
                                     claim_seconds=args.claim_seconds or CLAIM_SECONDS))
        except StartupError as exc:
            return _cannot_start(exc)
        return 0
    from bot.cluster.receiver import serve_receiver
    from bot.runtime import StartupError
    from storage.engine import open_database
    from storage.inbox import InboxRepository

    async def receive() -> None:
        db = open_database(url)
        await db.open()
        try:
            await serve_receiver(config, InboxRepository(db), polling=args.polling)
        finally:
            await db.close()
    try:
        asyncio.run(receive())
    except StartupError as exc:
        return _cannot_start(exc)
    return 0


def _cannot_start(exc: Exception) -> int:
    # One line naming the file or URL, in the log's format; a traceback would only bury it.
    log.error("%s", str(exc))
    return 1


if __name__ == "__main__":
    sys.exit(main())
