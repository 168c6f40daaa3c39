"""The `yangguang` command: serve, worker, migrate, demo, agency, key."""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import signal
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from backend.settings import Settings, SettingsError

log = logging.getLogger("yangguang.cli")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"配置错误: {exc}", file=sys.stderr)
        return 2
    from backend.logging_setup import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    from backend.db import DatabaseNotReady
    from backend.errors import DomainError

    try:
        return int(args.func(settings, args) or 0)
    except KeyboardInterrupt:
        return 130
    except DatabaseNotReady as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 1
    except _UserError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 1
    except DomainError as exc:
        print(f"错误: {exc.message} ({exc.code})", file=sys.stderr)
        return 1


class _UserError(Exception):
    pass


@asynccontextmanager
async def _db(settings: Settings) -> AsyncIterator[None]:
    """Every command that reads or writes data opens the database through here: SQLite is brought
    up to date on the spot, PostgreSQL must already be (``DatabaseNotReady`` names the command)."""
    from backend.db import orm, prepare_database

    await prepare_database(settings)
    async with orm(settings):
        yield


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="yangguang", description="阳光执法 — 行政执法三项制度后端")
    sub = p.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="运行 HTTP 服务")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, help="进程数（共享同一端口）")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="运行通知投递 worker（arq，需要 YANGGUANG_REDIS_URL）")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="把数据库迁移到当前结构（可重复执行）")
    migrate.set_defaults(func=cmd_migrate)

    demo = sub.add_parser("demo", help="载入演示数据并说明如何试用")
    demo.set_defaults(func=cmd_demo)

    agency = sub.add_parser("agency", help="执法机关管理").add_subparsers(dest="agency_command")
    create = agency.add_parser("create", help="创建机构并打印其第一个 API 密钥（最后一行）")
    create.add_argument("--name", required=True)
    create.add_argument("--code", required=True, help="统一社会信用代码")
    create.add_argument("--supervisor", action="store_true", help="创建监督机构（司法局），密钥角色为 supervisor")
    create.set_defaults(func=cmd_agency_create)

    key = sub.add_parser("key", help="API 密钥管理").add_subparsers(dest="key_command")
    kcreate = key.add_parser("create", help="为机构创建密钥（最后一行为密钥）")
    kcreate.add_argument("--code", required=True, help="机构统一社会信用代码")
    kcreate.add_argument("--role", required=True, choices=["admin", "officer", "reviewer", "head", "supervisor"])
    kcreate.add_argument("--name", default="")
    kcreate.set_defaults(func=cmd_key_create)
    klist = key.add_parser("list", help="列出机构的密钥")
    klist.add_argument("--code", required=True)
    klist.set_defaults(func=cmd_key_list)
    krevoke = key.add_parser("revoke", help="吊销密钥")
    krevoke.add_argument("--code", required=True)
    krevoke.add_argument("--id", required=True)
    krevoke.set_defaults(func=cmd_key_revoke)

    notes = sub.add_parser("notifications", help="通知投递记录").add_subparsers(dest="notifications_command")
    nlist = notes.add_parser("list", help="最近的通知（沙箱模式下即“已发送”的消息内容）")
    nlist.add_argument("--case", help="只看该案件（案件 id）")
    nlist.add_argument("--limit", type=int, default=20)
    nlist.set_defaults(func=cmd_notifications_list)

    creds = sub.add_parser("credentials", help="执法证件与二维码").add_subparsers(dest="credentials_command")
    sheet = creds.add_parser("print-sheet", help="批量生成证卡打印页（A4，每页 10 张）")
    sheet.add_argument("--agency", required=True, help="机构统一社会信用代码")
    sheet.add_argument("--out", required=True, help="输出目录（写入 PNG 页面和 PDF）")
    sheet.set_defaults(func=cmd_credentials_print_sheet)
    expire = creds.add_parser("expire", help="把已过有效期的证件标记为已过期（供定时任务调用，可重复执行）")
    expire.set_defaults(func=cmd_credentials_expire)
    rotate = creds.add_parser("rotate-key", help="轮换二维码签名密钥（已印制的证件继续有效）")
    rotate.set_defaults(func=cmd_credentials_rotate_key)
    return p


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from backend.db import migrate

    asyncio.run(migrate(settings.database_url))
    print("数据库已是最新结构")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    if args.workers < 1 or args.workers > 64:
        raise _UserError("--workers 必须在 1 到 64 之间")
    from backend.db import prepare_database

    # Embedded default: bring the SQLite file up to date so one command runs the service;
    # PostgreSQL: refuse to start on an old schema and say which command to run.
    asyncio.run(prepare_database(settings))
    if settings.database_is_sqlite:
        if args.workers > 1:
            print("提示: SQLite 只适合单进程；多进程请使用 PostgreSQL", file=sys.stderr)
    if args.workers == 1:
        _serve_one(settings, args.host, args.port, None)
        return 0
    # One listening socket, inherited by every process: the kernel spreads connections.
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(1024)
    sock.set_inheritable(True)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_serve_one, args=(settings, args.host, args.port, sock), daemon=False)
             for _ in range(args.workers)]
    for proc in procs:
        proc.start()
    print(f"阳光执法 listening on http://{args.host}:{args.port} with {args.workers} processes", flush=True)

    def stop(signum: int, _frame: object) -> None:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for proc in procs:
        proc.join()
    return 0


def _serve_one(settings: Settings, host: str, port: int, sock: socket.socket | None) -> None:
    from aiohttp import web

    from backend.app import create_app

    app = create_app(settings)
    if sock is None:
        print(f"阳光执法 listening on http://{host}:{port}", flush=True)
        web.run_app(app, host=host, port=port, print=None, access_log=None)
    else:
        web.run_app(app, sock=sock, print=None, access_log=None, handle_signals=True)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.redis_url:
        raise _UserError("yangguang worker 需要 YANGGUANG_REDIS_URL；未配置 Redis 时通知由服务进程内的 worker 投递")
    from backend.db import prepare_database
    from backend.worker import run_worker

    asyncio.run(prepare_database(settings))
    run_worker(settings)
    return 0


def cmd_agency_create(settings: Settings, args: argparse.Namespace) -> int:
    from backend.errors import DomainError
    from backend.models.enums import AgencyKind
    from backend.services.agencies import create_agency

    async def run() -> tuple[str, str, str]:
        async with _db(settings):
            kind = AgencyKind.SUPERVISOR if args.supervisor else AgencyKind.AGENCY
            agency, row, key = await create_agency(args.name, args.code, kind=kind)
            return str(agency.id), row.role.value, key

    try:
        agency_id, role, key = asyncio.run(run())
    except DomainError as exc:
        raise _UserError(f"{exc.message} ({exc.code})") from exc
    print(f"已创建机构 {args.name}（{args.code}），id {agency_id}")
    print(f"以下为其 {role} 角色的 API 密钥，只显示这一次，请妥善保存：")
    print(key)
    return 0


def _find_agency_sync(settings: Settings, code: str, action):  # type: ignore[no-untyped-def]
    from backend.errors import DomainError
    from backend.models import Agency

    async def run():  # type: ignore[no-untyped-def]
        async with _db(settings):
            agency = await Agency.filter(credit_code=code.upper()).first()
            if agency is None:
                raise _UserError(f"未找到统一社会信用代码为 {code} 的机构")
            return await action(agency)

    try:
        return asyncio.run(run())
    except DomainError as exc:
        raise _UserError(f"{exc.message} ({exc.code})") from exc


def cmd_key_create(settings: Settings, args: argparse.Namespace) -> int:
    from backend.models.enums import Role
    from backend.services.apikeys import create_key

    async def action(agency):  # type: ignore[no-untyped-def]
        return await create_key(agency, Role(args.role), args.name, "cli")

    row, key = _find_agency_sync(settings, args.code, action)
    print(f"已创建 {row.role.value} 密钥 {row.id}，只显示这一次：")
    print(key)
    return 0


def cmd_key_list(settings: Settings, args: argparse.Namespace) -> int:
    from backend.services.apikeys import list_keys

    async def action(agency):  # type: ignore[no-untyped-def]
        return await list_keys(agency.id)

    for row in _find_agency_sync(settings, args.code, action):
        state = f"已吊销 {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "有效"
        print(f"{row.id}  {row.prefix}…  {row.role.value:<10} {state}  {row.name}")
    return 0


def cmd_key_revoke(settings: Settings, args: argparse.Namespace) -> int:
    import uuid

    from backend.clock import Clock
    from backend.services.apikeys import revoke_key

    try:
        key_id = uuid.UUID(args.id)
    except ValueError as exc:
        raise _UserError("密钥 id 格式不正确") from exc

    async def action(agency):  # type: ignore[no-untyped-def]
        return await revoke_key(agency.id, key_id, "cli", Clock())

    _find_agency_sync(settings, args.code, action)
    print("密钥已吊销")
    return 0


def _progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end, file=sys.stderr, flush=True)


def cmd_credentials_print_sheet(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.services.credentials import KeyStore, write_print_sheet

    async def action(agency):  # type: ignore[no-untyped-def]
        return await write_print_sheet(agency.id, Path(args.out), settings.public_base_url,
                                       KeyStore(settings.data_dir), lambda d, t: _progress(d, t, "生成证卡"))

    written = _find_agency_sync(settings, args.agency, action)
    if not written:
        raise _UserError("该机构没有在用的执法证件")
    for path in written:
        print(path)
    return 0


def cmd_credentials_expire(settings: Settings, args: argparse.Namespace) -> int:
    from backend.clock import Clock
    from backend.services.credentials import VerifyCache, expire_due

    async def run() -> int:
        redis = None
        if settings.redis_url:
            from redis.asyncio import Redis

            redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
        try:
            async with _db(settings):
                return await expire_due(Clock(), VerifyCache(redis))
        finally:
            if redis is not None:
                await redis.aclose()

    print(f"已将 {asyncio.run(run())} 张证件标记为已过期")
    return 0


def cmd_credentials_rotate_key(settings: Settings, args: argparse.Namespace) -> int:
    from qr.keys import rotate

    ring = rotate(settings.data_dir)
    print(f"新的二维码签名密钥编号 {ring.current}；已有证件继续有效。多进程部署请重启服务以加载新密钥。")
    return 0


def cmd_notifications_list(settings: Settings, args: argparse.Namespace) -> int:
    import uuid

    from backend.api.case_schemas import mask_recipient
    from backend.services.notifications_log import recent

    try:
        case_id = uuid.UUID(args.case) if args.case else None
    except ValueError as exc:
        raise _UserError("案件 id 格式不正确") from exc

    async def run():  # type: ignore[no-untyped-def]
        async with _db(settings):
            return await recent(max(1, min(args.limit, 500)), case_id)

    rows = asyncio.run(run())
    for n in rows:
        print(f"{n.created_at:%Y-%m-%d %H:%M:%S}  {n.status.value:<10} {n.channel.value:<6} "
              f"{mask_recipient(n.recipient):<14} 尝试 {n.attempts}  {n.provider_id or '-'}")
        print(f"    {n.content}")
    if not rows:
        print("暂无通知")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from backend.demo import load_demo

    for line in asyncio.run(load_demo(settings)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
