"""The `yangguang` command: serve, worker, migrate, demo, agency, key."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import errno
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from backend.settings import Settings, SettingsError

if TYPE_CHECKING:
    from datetime import date

    from backend.services.transparency.verify import LeafSources

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
    from tortoise.exceptions import DBConnectionError, OperationalError

    from backend.db import DatabaseNotReady
    from backend.errors import DomainError

    try:
        return int(args.func(settings, args) or 0)
    except (OperationalError, DBConnectionError) as exc:
        # An expected failure (database down, or not migrated): one line, never a traceback.
        print(f"错误: 数据库不可用或结构不是最新（{type(exc).__name__}）；请检查 YANGGUANG_DATABASE_URL"
              f"并运行 yangguang migrate", file=sys.stderr)
        return 1
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
    create.add_argument("--person", default="", help="第一个密钥的持有人姓名（不填则属于具名系统“机构初始密钥”）")
    create.add_argument("--supervised-by", default="", help="其执法监督机构（司法局）的统一社会信用代码")
    create.set_defaults(func=cmd_agency_create)
    supervise = agency.add_parser("supervise", help="登记机关的执法监督机构（政府层级的法制审核、责令整改及其督办）")
    supervise.add_argument("--code", required=True, help="机关的统一社会信用代码")
    supervise.add_argument("--by", required=True, help="执法监督机构的统一社会信用代码")
    supervise.set_defaults(func=cmd_agency_supervise)

    supervisor = sub.add_parser("supervisor", help="监督机构（司法局）").add_subparsers(dest="supervisor_command")
    screate = supervisor.add_parser("create", help="创建监督机构及其监督密钥（最后一行为密钥；监督密钥只能由此创建）")
    screate.add_argument("--name", required=True)
    screate.add_argument("--code", required=True, help="统一社会信用代码")
    screate.add_argument("--person", required=True, help="监督密钥的持有人姓名")
    screate.set_defaults(func=cmd_agency_create, supervisor=True)

    key = sub.add_parser("key", help="API 密钥管理").add_subparsers(dest="key_command")
    kcreate = key.add_parser("create", help="为机构创建密钥（最后一行为密钥）")
    kcreate.add_argument("--code", required=True, help="机构统一社会信用代码")
    kcreate.add_argument("--role", required=True, choices=["admin", "officer", "reviewer", "head", "supervisor",
                                                                     "integrator"],
                         help="integrator：Open311 对接系统（如 12345 热线平台），须用 --system")
    kcreate.add_argument("--name", default="", help="标签，如“执法一队平板”")
    holder = kcreate.add_mutually_exclusive_group(required=True)
    holder.add_argument("--person", default="", help="持有人姓名")
    holder.add_argument("--officer-id", default=None, help="持有人（本机构执法人员）的 id")
    holder.add_argument("--system", default="", help="具名系统，如“区执法办案系统”")
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

    audit = sub.add_parser("audit", help="透明日志审计").add_subparsers(dest="audit_command")
    verify = audit.add_parser("verify", help="重算整个透明日志并核对检查点；发现问题时逐行列出并以 3 退出")
    verify.add_argument("--checkpoint", default=None, help="另行核对的检查点文件（/log/checkpoint 的内容）")
    verify.add_argument("--log-only", action="store_true",
                        help="只核对日志本身（哈希、树、检查点），不与业务数据和证据文件比对")
    verify.set_defaults(func=cmd_audit_verify)
    acp = audit.add_parser("checkpoint", help="签发最新检查点（有新条目时）并写入文件")
    acp.add_argument("--out", required=True, help="输出文件")
    acp.set_defaults(func=cmd_audit_checkpoint)

    backup = sub.add_parser("backup", help="备份与恢复").add_subparsers(dest="backup_command")
    bcreate = backup.add_parser("create", help="写入一致的备份（数据库快照、证据文件、照片、日志与二维码密钥、"
                                               "SHA-256 清单）；服务运行时也可执行")
    bcreate.add_argument("--out", required=True, help="输出目录（不存在或为空）")
    bcreate.add_argument("--passphrase-file", default=None, help="口令文件：有则加密备份（scrypt + AES-256-GCM）")
    bcreate.set_defaults(func=cmd_backup_create)
    brestore = backup.add_parser("restore", help="恢复到空的数据目录和空数据库，并核验整个透明日志")
    brestore.add_argument("dir", help="备份目录")
    brestore.add_argument("--passphrase-file", default=None, help="加密备份的口令文件")
    brestore.add_argument("--checkpoint", default=None, help="另行保存的检查点文件，一并核对")
    brestore.set_defaults(func=cmd_backup_restore)
    cal = sub.add_parser("calendar", help="官方工作日历（国务院节假日安排）").add_subparsers(dest="calendar_command")
    cload = cal.add_parser("load", help="载入国务院办公厅公布的某年放假与调休安排（CSV 或 JSON：date,kind,name；"
                                        "kind 为 holiday 或 workday），并重算已存的期限")
    cload.add_argument("file", help="安排文件（.csv 或 .json）")
    cload.add_argument("--by", default="", help="载入人姓名（默认为当前系统用户）")
    cload.set_defaults(func=cmd_calendar_load)
    cshow = cal.add_parser("show", help="列出某年的放假日与调休上班日及其来源")
    cshow.add_argument("year")
    cshow.set_defaults(func=cmd_calendar_show)
    work = sub.add_parser("workdays", help="按官方工作日历计算").add_subparsers(dest="workdays_command")
    wadd = work.add_parser("add", help="DATE 之后第 N 个工作日（输出一行：日期，未覆盖年份后加 provisional）")
    wadd.add_argument("date")
    wadd.add_argument("n")
    wadd.set_defaults(func=cmd_workdays_add)
    wday = work.add_parser("day", help="DATE 是否为工作日（输出一行：日期 workday|holiday 名称 来源）")
    wday.add_argument("date")
    wday.set_defaults(func=cmd_workdays_day)

    logcmd = sub.add_parser("log", help="透明日志").add_subparsers(dest="log_command")
    lrotate = logcmd.add_parser("rotate-key", help="轮换日志签名密钥（旧公钥保留，旧检查点继续可验证）")
    lrotate.set_defaults(func=cmd_log_rotate_key)
    return p


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from backend.db import migrate

    asyncio.run(migrate(settings.database_url))
    print("数据库已是最新结构")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    if args.workers < 1 or args.workers > 64:
        raise _UserError("--workers 必须在 1 到 64 之间")
    # Bind first: a busy port is a one-line error before anything else happens.
    sock = _listen(args.host, args.port)
    metrics_sock = _listen(*settings.metrics_listen) if settings.metrics_listen else None
    host, port = sock.getsockname()[:2]
    if "YANGGUANG_PUBLIC_BASE_URL" not in os.environ or not os.environ["YANGGUANG_PUBLIC_BASE_URL"]:
        # QR codes, verify links and SMS links point at where this server actually listens.
        settings = dataclasses.replace(settings, public_base_url=_listening_url(args.host, port))
    from backend.server import prepare_metrics_dir, remove_metrics_dir

    # Before anything imports prometheus-client, and before forking: one folder for every process.
    metrics_dir = prepare_metrics_dir(args.workers)
    try:
        return _serve(settings, args, sock, metrics_sock, host, port)
    finally:
        remove_metrics_dir(metrics_dir)


def _serve(settings: Settings, args: argparse.Namespace, sock: socket.socket, metrics_sock: socket.socket | None,
           host: str, port: int) -> int:
    from backend.db import prepare_database

    # Embedded default: bring the SQLite file up to date so one command runs the service;
    # PostgreSQL: refuse to start on an old schema and say which command to run.
    asyncio.run(prepare_database(settings))
    if settings.database_is_sqlite:
        if args.workers > 1:
            print("提示: SQLite 只适合单进程；多进程请使用 PostgreSQL", file=sys.stderr)
    if metrics_sock is not None:
        mhost, mport = metrics_sock.getsockname()[:2]
        print(f"metrics on http://{_url_host(mhost)}:{mport}/metrics", flush=True)
    if args.workers == 1:
        print(f"阳光执法 listening on http://{_url_host(host)}:{port}; links use {settings.public_base_url}",
              flush=True)
        _serve_one(settings, sock, metrics_sock)
        return 0
    # One listening socket, inherited by every process: the kernel spreads connections.
    sock.set_inheritable(True)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_serve_child, args=(settings, sock, metrics_sock), daemon=False)
             for _ in range(args.workers)]
    for proc in procs:
        proc.start()
    print(f"阳光执法 listening on http://{_url_host(host)}:{port} with {args.workers} processes; "
          f"links use {settings.public_base_url}", flush=True)

    deadline: list[float] = []

    def stop(signum: int, _frame: object) -> None:
        if not deadline:
            deadline.append(time.monotonic() + _CHILD_GRACE)
        for proc in procs:
            if proc.is_alive():
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while any(proc.is_alive() for proc in procs):
        for proc in procs:
            proc.join(0.2)
        if deadline and time.monotonic() > deadline[0]:
            # A child stuck past its own graceful bound must not outlive the command.
            for proc in procs:
                if proc.is_alive():
                    proc.kill()
    return 0


# A child's own shutdown is bounded (open requests 30 s, jobs and deliveries 5 s each); past this the
# parent kills it rather than leave a process serving after `serve` has exited.
_CHILD_GRACE = 50.0


def _die_with_parent() -> None:
    """A worker process gets SIGTERM if `serve` itself is killed (Linux), instead of serving on orphaned."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _listen(host: str, port: int) -> socket.socket:
    if not 0 <= port <= 65535:
        raise _UserError(f"端口必须在 0 到 65535 之间 / port must be 0-65535, got {port}")
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise _UserError(f"无法解析监听地址 {host} / cannot resolve listen address {host}") from exc
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        where = f"{_url_host(host)}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise _UserError(f"端口已被占用 {where}，请换一个 --port / address already in use: {where}") from exc
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise _UserError(f"无权监听 {where} / permission denied: {where}") from exc
        raise _UserError(f"无法监听 {where} / cannot listen on {where}: {exc.strerror}") from exc
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _listening_url(host: str, port: int) -> str:
    """The origin clients reach this server at: the given host, or for a wildcard host this
    machine's outward address (the one its default route uses; no packet is sent)."""
    if host in ("", "0.0.0.0", "::"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routing lookup only
                host = probe.getsockname()[0]
        except OSError:
            host = "127.0.0.1"
    return f"http://{_url_host(host)}:{port}"


def _serve_child(settings: Settings, sock: socket.socket, metrics_sock: socket.socket | None) -> None:
    _die_with_parent()
    _serve_one(settings, sock, metrics_sock)


def _serve_one(settings: Settings, sock: socket.socket, metrics_sock: socket.socket | None = None) -> None:
    from backend.app import create_app
    from backend.server import run

    run(create_app(settings), sock, header_timeout=settings.header_timeout, body_timeout=settings.body_timeout,
        body_min_rate=settings.body_min_rate, uvloop=settings.uvloop, metrics_sock=metrics_sock)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.redis_url:
        raise _UserError("yangguang worker 需要 YANGGUANG_REDIS_URL；未配置 Redis 时通知由服务进程内的 worker 投递")
    from backend.server import prepare_metrics_dir

    prepare_metrics_dir(1)  # PROMETHEUS_MULTIPROC_DIR set: count into the folder `serve` reads
    from backend.db import prepare_database
    from backend.worker import run_worker

    asyncio.run(prepare_database(settings))
    run_worker(settings)
    return 0


def cmd_agency_create(settings: Settings, args: argparse.Namespace) -> int:
    from backend.errors import DomainError
    from backend.models import Agency
    from backend.models.enums import AgencyKind
    from backend.services.agencies import create_agency, set_supervising_body
    from backend.services.apikeys import KeyHolder

    async def run() -> tuple[str, str, str]:
        async with _db(settings):
            kind = AgencyKind.SUPERVISOR if args.supervisor else AgencyKind.AGENCY
            holder = KeyHolder(person_name=args.person) if args.person.strip() else None
            body = None
            if getattr(args, "supervised_by", ""):
                body = await Agency.filter(credit_code=args.supervised_by.strip().upper()).first()
                if body is None or body.kind is not AgencyKind.SUPERVISOR:
                    raise _UserError(f"未找到统一社会信用代码为 {args.supervised_by} 的监督机构")
            agency, row, key = await create_agency(args.name, args.code, kind=kind, holder=holder)
            if body is not None:
                await set_supervising_body(agency, body)
            return str(agency.id), row.role.value, key

    try:
        agency_id, role, key = asyncio.run(run())
    except DomainError as exc:
        raise _UserError(f"{exc.message} ({exc.code})") from exc
    print(f"已创建机构 {args.name}（{args.code}），id {agency_id}")
    print(f"以下为其 {role} 角色的 API 密钥，只显示这一次，请妥善保存：")
    print(key)
    return 0


def cmd_agency_supervise(settings: Settings, args: argparse.Namespace) -> int:
    from backend.models import Agency
    from backend.services.agencies import set_supervising_body

    async def action(agency):
        body = await Agency.filter(credit_code=args.by.strip().upper()).first()
        if body is None:
            raise _UserError(f"未找到统一社会信用代码为 {args.by} 的监督机构")
        await set_supervising_body(agency, body)
        return agency.name, body.name

    name, body = _find_agency_sync(settings, args.code, action)
    print(f"已登记：{name} 的执法监督机构为 {body}")
    return 0


def _find_agency_sync(settings: Settings, code: str, action):
    from backend.errors import DomainError
    from backend.models import Agency

    async def run():
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
    from backend.services.apikeys import KeyHolder, create_key

    try:
        officer_id = uuid.UUID(args.officer_id) if args.officer_id else None
    except ValueError as exc:
        raise _UserError("--officer-id 不是有效的 id") from exc
    if args.role == "supervisor" and not args.person:
        raise _UserError("监督密钥必须属于一名人员：请用 --person")
    if args.role == "integrator" and not args.system:
        raise _UserError("对接系统密钥必须属于一个具名系统：请用 --system，如 --system 市12345政务服务便民热线")

    async def action(agency):
        return await create_key(agency, Role(args.role), args.name, "cli",
                                KeyHolder(officer_id, args.person, args.system))

    row, key = _find_agency_sync(settings, args.code, action)
    print(f"已创建 {row.role.value} 密钥 {row.id}，只显示这一次：")
    print(key)
    return 0


def cmd_key_list(settings: Settings, args: argparse.Namespace) -> int:
    from backend.services.apikeys import list_keys

    async def action(agency):
        return await list_keys(agency.id)

    for row in _find_agency_sync(settings, args.code, action):
        state = f"已吊销 {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "有效"
        who = row.person_name or (f"系统：{row.system_name}" if row.system_name else f"执法人员 {row.officer_id}")
        print(f"{row.id}  {row.prefix}…  {row.role.value:<10} {state}  {who}  {row.name}")
    return 0


def cmd_key_revoke(settings: Settings, args: argparse.Namespace) -> int:
    import uuid

    from backend.clock import Clock
    from backend.services.apikeys import revoke_key

    try:
        key_id = uuid.UUID(args.id)
    except ValueError as exc:
        raise _UserError("密钥 id 格式不正确") from exc

    async def action(agency):
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

    from backend.clock import Clock
    from backend.services.disclosure.printing import write_print_sheet
    from backend.services.disclosure.verification import KeyStore

    async def action(agency):
        return await write_print_sheet(agency.id, Path(args.out), settings.public_base_url,
                                       KeyStore(settings.data_dir), Clock().today(),
                                       lambda d, t: _progress(d, t, "生成证卡"))

    written = _find_agency_sync(settings, args.agency, action)
    if not written:
        raise _UserError("该机构没有在用的执法证件")
    for path in written:
        print(path)
    return 0


def cmd_credentials_expire(settings: Settings, args: argparse.Namespace) -> int:
    from backend.clock import Clock
    from backend.services.disclosure.credentials import expire_due
    from backend.services.disclosure.verification import VerifyCache

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


def leaf_sources(settings: Settings) -> LeafSources:
    """Domain checks of ``audit verify``, per leaf kind: the functions that recompute a leaf's content
    from its source rows and evidence files (backend/services/leaf_sources.py)."""
    from backend.services.leaf_sources import registry

    return registry(settings.data_dir)


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.services.transparency.checkpoints import LogKeys
    from backend.services.transparency.verify import audit

    given = None
    if args.checkpoint is not None:
        try:
            given = Path(args.checkpoint).read_bytes()
        except OSError as exc:
            raise _UserError(f"无法读取检查点文件 {args.checkpoint}：{exc.strerror}") from exc

    async def run():
        async with _db(settings):
            from backend.services.leaf_sources import rows_against_log

            if args.log_only:
                return await audit(LogKeys(settings.data_dir).verifiers(), given=given)
            report = await audit(LogKeys(settings.data_dir).verifiers(), given=given, sources=leaf_sources(settings))
            report.problems.extend(await rows_against_log())
            return report

    report = asyncio.run(run())
    if report.ok:
        print(f"日志完好：{report.size} 条，根哈希 {report.root.hex()}，检查点 {report.checkpoints} 个"
              + ("，给定检查点一致" if given is not None else ""))
        return 0
    for problem in report.problems:
        print(problem.line())
    print(f"发现 {len(report.problems)} 个问题（{report.size} 条，重算的根哈希 {report.root.hex()}）", file=sys.stderr)
    return 3


def cmd_audit_checkpoint(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.clock import Clock
    from backend.services.transparency.checkpoints import make_checkpoint

    async def run():
        async with _db(settings):
            return await make_checkpoint(settings, Clock())

    row = asyncio.run(run())
    try:
        Path(args.out).write_text(row.note, encoding="utf-8")
    except OSError as exc:
        raise _UserError(f"无法写入 {args.out}：{exc.strerror}") from exc
    print(f"检查点：{row.tree_size} 条，根哈希 {row.root_hash}，已写入 {args.out}")
    return 0


def _passphrase(path: str | None) -> bytes | None:
    from pathlib import Path

    if path is None:
        return None
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise _UserError(f"无法读取口令文件 {path}：{exc.strerror}") from exc
    phrase = raw.rstrip(b"\r\n")
    if len(phrase) < 12:
        raise _UserError("口令太短：至少 12 个字节")
    return phrase


def cmd_backup_create(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.clock import Clock
    from backend.services import backup

    passphrase = _passphrase(args.passphrase_file)

    async def run() -> backup.Created:
        async with _db(settings):
            return await backup.create(settings, Clock(), Path(args.out), passphrase)

    try:
        made = asyncio.run(run())
    except backup.BackupError as exc:
        raise _UserError(exc.message) from exc
    print(f"备份已写入 {made.path}：{made.files} 个文件，日志 {made.log_size} 条，根哈希 {made.root_hash}"
          + ("（已加密）" if passphrase is not None else ""))
    return 0


def cmd_backup_restore(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.services import backup

    passphrase = _passphrase(args.passphrase_file)
    extra = None
    if args.checkpoint is not None:
        try:
            extra = Path(args.checkpoint).read_bytes()
        except OSError as exc:
            raise _UserError(f"无法读取检查点文件 {args.checkpoint}：{exc.strerror}") from exc
    try:
        result = asyncio.run(backup.restore(settings, Path(args.dir), passphrase, extra))
    except backup.BackupError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise _UserError(exc.message) from exc
    if not result.ok:
        for line in result.problems:
            print(line)
        print(f"恢复的数据未通过日志核验（{len(result.problems)} 个问题）：不要投入使用", file=sys.stderr)
        return 3
    print(f"已恢复并核验：日志 {result.log_size} 条，根哈希 {result.root_hash}，"
          f"与备份的检查点（{result.checkpoint_size} 条）一致")
    return 0


def _date_arg(raw: str) -> date:
    from datetime import date

    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise _UserError(f"日期 {raw[:20]!r} 无效，须为 YYYY-MM-DD") from None


def cmd_workdays_add(settings: Settings, args: argparse.Namespace) -> int:
    from backend.services import calendar

    start = _date_arg(args.date)
    if not args.n.isascii() or not args.n.isdigit():
        raise _UserError(f"工作日数 {args.n[:20]!r} 无效，须为 0 到 {calendar.MAX_WORKING_DAYS} 的整数")

    async def run() -> calendar.Deadline:
        async with _db(settings):
            return await calendar.add_working_days(start, int(args.n))

    due = asyncio.run(run())
    print(due.on.isoformat() + (" provisional" if due.provisional else ""))
    return 0


def cmd_workdays_day(settings: Settings, args: argparse.Namespace) -> int:
    from backend.services import calendar

    on = _date_arg(args.date)

    async def run() -> calendar.Day:
        async with _db(settings):
            return await calendar.day(on)

    day = asyncio.run(run())
    print(" ".join(x for x in (on.isoformat(), "workday" if day.working else "holiday", day.name, day.source) if x))
    return 0


def cmd_calendar_load(settings: Settings, args: argparse.Namespace) -> int:
    import getpass
    import hashlib
    from pathlib import Path

    from backend.clock import Clock
    from backend.services import calendar, clocks

    path = Path(args.file)
    try:
        if path.stat().st_size > calendar.MAX_FILE_BYTES:
            raise _UserError(f"{args.file} 超过 {calendar.MAX_FILE_BYTES // 1024} KiB，不像节假日安排文件")
        data = path.read_bytes()
    except OSError as exc:
        raise _UserError(f"无法读取 {args.file}：{exc.strerror}") from exc
    entries = calendar.parse(data)
    person = (args.by.strip() or getpass.getuser())[:50]

    async def run() -> clocks.LoadResult:
        async with _db(settings):
            return await clocks.load(entries, source_name=path.name, sha256=hashlib.sha256(data).hexdigest(),
                                     actor=f"operator:{person}", clock=Clock())

    result = asyncio.run(run())
    changed = "，".join(f"{clocks.STORED_WORDS[k]} {v} 个" for k, v in result.recomputed.items())
    confirmed = sum(result.confirmed.values())
    print(f"已载入 {'、'.join(map(str, result.years))} 年的安排（{len(entries)} 天，载入编号 {result.load.id}）；"
          f"重算期限：{changed}；另有 {confirmed} 个暂定期限已按官方安排确认")
    return 0


def cmd_calendar_show(settings: Settings, args: argparse.Namespace) -> int:
    from backend.services import calendar

    if (not args.year.isascii() or not args.year.isdigit()
            or not calendar.FIRST_YEAR <= int(args.year) <= calendar.LAST_YEAR):
        raise _UserError(f"年份 {args.year[:20]!r} 无效，须为 {calendar.FIRST_YEAR} 到 {calendar.LAST_YEAR}")
    year = int(args.year)

    async def run() -> calendar.Calendar:
        async with _db(settings):
            return await calendar.current()

    cal = asyncio.run(run())
    source = cal.source_of(year)
    first, last = calendar.library_range()
    if source == "loaded":
        print(f"{year} 年：官方安排（由 yangguang calendar load 载入）")
    elif source == "chinese_calendar":
        print(f"{year} 年：官方安排（chinese-calendar 数据，覆盖 {first}–{last} 年）")
    else:
        print(f"{year} 年：未载入官方安排（chinese-calendar 覆盖 {first}–{last} 年，数据库中也没有）；"
              f"暂按周末和固定日期节日计算，结果标记为 provisional；{calendar.LUNAR_NOTE}")
    for day in cal.special_days(year):
        print(f"{day.on.isoformat()}\t{'workday' if day.working else 'holiday'}\t{day.name}\t{day.source}")
    print(f"全年工作日 {cal.working_days_in(year)} 天")
    return 0


def cmd_log_rotate_key(settings: Settings, args: argparse.Namespace) -> int:
    from backend.services.transparency.checkpoints import LogKeys

    key = LogKeys(settings.data_dir).rotate(settings.log_origin)
    print(f"新的日志签名密钥 {key.key_id.hex()}（{key.name}）；旧公钥保留用于验证。公钥：")
    print(key.vkey)
    return 0


def cmd_notifications_list(settings: Settings, args: argparse.Namespace) -> int:
    import uuid

    from backend.services.masking import mask_recipient
    from backend.services.notifications_log import recent

    try:
        case_id = uuid.UUID(args.case) if args.case else None
    except ValueError as exc:
        raise _UserError("案件 id 格式不正确") from exc

    async def run():
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
