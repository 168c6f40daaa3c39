"""The transparency log over HTTP: the public checkpoint and keys; proofs and entries for key holders."""

from __future__ import annotations

import re
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from backend.app_keys import SETTINGS
from backend.errors import NotFound
from backend.http.routing import PUBLIC, Call, RouteTable, json_response
from backend.http.schemas import Body
from backend.models import LogCheckpoint
from backend.models.enums import Role
from backend.services.ratelimit import LOG_READS
from backend.services.transparency import checkpoints, log

routes = RouteTable()
READERS = {Role.ADMIN, Role.OFFICER, Role.REVIEWER, Role.HEAD, Role.SUPERVISOR}
MAX_SIZE = 2**62
_DIGITS = re.compile(r"[0-9]{1,19}")
# A checkpoint may be cached for seconds at most (C2SP tlog-tiles); it changes when entries arrive.
CHECKPOINT_HEADERS = {"Cache-Control": "public, max-age=5"}
EXAMPLE_HASH = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def _digits_only(value: Any) -> Any:
    # "1e3", " 7", "+7", "7.0" and "0x7" are not tree sizes: plain decimal digits only.
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("应为非负十进制整数")
    return value


Count = Annotated[int, BeforeValidator(_digits_only)]


class InclusionQuery(Body):
    leaf_index: Count = Field(ge=0, lt=MAX_SIZE, description="叶序号（从 0 开始）")
    tree_size: Count = Field(ge=1, le=MAX_SIZE, description="树的大小（通常取自持有的检查点）")


class ConsistencyQuery(Body):
    first: Count = Field(ge=1, le=MAX_SIZE, description="较早的树大小（> 0）")
    second: Count = Field(ge=1, le=MAX_SIZE, description="较晚的树大小（≥ first，且不超过当前大小）")


class InclusionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "leaf_index": 5, "tree_size": 8,
        "leaf_hash": "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "root_hash": EXAMPLE_HASH,
        "audit_path": ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                       "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                       "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]}]})

    leaf_index: int
    tree_size: int
    leaf_hash: str = Field(description="SHA-256(0x00 ‖ RFC 8785 规范化的条目内容)，十六进制")
    root_hash: str = Field(description="该大小下的树根（RFC 9162 MTH），十六进制")
    audit_path: list[str] = Field(description="RFC 9162 §2.1.3 的审计路径，由内到外，十六进制")


class ConsistencyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "first": 6, "second": 8,
        "first_root": "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "second_root": EXAMPLE_HASH,
        "proof": ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                  "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]}]})

    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str] = Field(description="RFC 9162 §2.1.4 的一致性证明，十六进制；first = second 时为空")


class EntryOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "leaf_index": 17, "kind": "decision_event",
        "leaf_hash": "9c874598ac9ccdf0870946798b9f1a862eb3fff47659415997b9a8f55919284c",
        "content": {"agency_id": "dac1024f-dc36-48ce-9802-3b5c437b000b", "index": 17, "kind": "decision_event",
                    "ref": "5b0f0d3e-8f5c-4a43-9d43-2f2f6f1c9a10",
                    "data": {"event": "publish", "version": 1, "at": "2026-11-20T09:30:00.000000+08:00"}}}]})

    leaf_index: int
    kind: str = Field(description="case_record、evidence、decision_event、review_opinion、credential_change")
    leaf_hash: str
    content: dict[str, Any] = Field(description="被哈希的条目（信封：agency_id、data、index、kind、ref）；"
                                                "SHA-256(0x00 ‖ RFC 8785(content)) = leaf_hash")


class CheckpointOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "tree_size": 8, "root_hash": EXAMPLE_HASH, "timestamp": "2026-11-20T09:30:00+08:00",
        "key_name": "yangguang.local/log", "key_id": "a1b2c3d4", "signer": "yangguang log signer",
        "note": "yangguang.local/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n"
                "— yangguang.local/log oaLD1…\n"}]})

    tree_size: int
    root_hash: str = Field(description="十六进制")
    timestamp: str
    key_name: str
    key_id: str = Field(description="签名密钥哈希（4 字节，十六进制）")
    signer: str = Field(description="持有签名密钥的具名系统")
    note: str = Field(description="C2SP 签名检查点全文，与 /log/checkpoint 相同")


@routes.route("GET", "/log/checkpoint", access=PUBLIC, tag="transparency", produces="text/plain",
              summary="最新的签名检查点（C2SP tlog-checkpoint 签名文本）；尚无检查点时 404 no_checkpoint",
              errors=(404,), limit=LOG_READS)
async def checkpoint_note(call: Call[None, None]) -> web.Response:
    row = await checkpoints.latest_or_404()
    return web.Response(text=row.note, content_type="text/plain", charset="utf-8", headers=CHECKPOINT_HEADERS)


@routes.route("GET", "/log/checkpoint.json", access=PUBLIC, tag="transparency", response=CheckpointOut,
              summary="最新的签名检查点（JSON，含签名文本）", errors=(404,), limit=LOG_READS)
async def checkpoint_json(call: Call[None, None]) -> web.Response:
    row = await checkpoints.latest_or_404()
    return json_response(_checkpoint_out(row).model_dump(mode="json"), headers=CHECKPOINT_HEADERS)


def _checkpoint_out(row: LogCheckpoint) -> CheckpointOut:
    return CheckpointOut(tree_size=row.tree_size, root_hash=row.root_hash, timestamp=row.timestamp.isoformat(),
                         key_name=row.key_name, key_id=row.key_id, signer=row.signer, note=row.note)


@routes.route("GET", "/log/keys", access=PUBLIC, tag="transparency", produces="text/plain",
              summary="日志签名公钥（signed-note 验证密钥格式，每行一个，含已轮换的旧密钥）", errors=(404,),
              limit=LOG_READS)
async def log_keys(call: Call[None, None]) -> web.Response:
    keys = checkpoints.LogKeys(call.request.app[SETTINGS].data_dir).verifiers()
    if not keys:
        raise NotFound("日志尚无签名密钥", code="no_checkpoint")
    return web.Response(text="".join(k.vkey + "\n" for k in keys), content_type="text/plain", charset="utf-8")


@routes.route("GET", "/api/v1/log/proof/inclusion", access=READERS, tag="transparency", query=InclusionQuery,
              response=InclusionOut, summary="包含证明：某条目在给定大小的树中（RFC 9162 §2.1.3）", errors=(422,))
async def inclusion_proof(call: Call[None, InclusionQuery]) -> InclusionOut:
    p = await log.inclusion_proof(call.query.leaf_index, call.query.tree_size)
    return InclusionOut(leaf_index=p.leaf_index, tree_size=p.tree_size, leaf_hash=p.leaf_hash,
                        root_hash=p.root_hash, audit_path=p.audit_path)


@routes.route("GET", "/api/v1/log/proof/consistency", access=READERS, tag="transparency", query=ConsistencyQuery,
              response=ConsistencyOut, summary="一致性证明：较早的树是较晚的树的前缀（RFC 9162 §2.1.4）",
              errors=(422,))
async def consistency_proof(call: Call[None, ConsistencyQuery]) -> ConsistencyOut:
    p = await log.consistency_proof(call.query.first, call.query.second)
    return ConsistencyOut(first=p.first, second=p.second, first_root=p.first_root, second_root=p.second_root,
                          proof=p.proof)


@routes.route("GET", "/api/v1/log/entries/{leaf_index}", access=READERS, tag="transparency", response=EntryOut,
              summary="一条日志条目（机构只能看本机构的条目；无机构的条目和所有条目仅监督机构可看）", errors=(404,))
async def log_entry(call: Call[None, None]) -> EntryOut:
    raw = call.path.get("leaf_index", "")
    if not _DIGITS.fullmatch(raw) or int(raw) >= MAX_SIZE:
        raise NotFound("未找到该日志条目", code="log_entry_not_found")
    scope = None if call.principal.is_supervisor else call.principal.agency_id
    e = await log.entry(int(raw), scope)
    return EntryOut(leaf_index=e.leaf_index, kind=e.kind, leaf_hash=e.leaf_hash, content=e.content)
