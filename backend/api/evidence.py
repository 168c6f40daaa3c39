"""Evidence files (R-R2): the multipart upload, streamed part by part past the JSON body limit; the
case's list; the file itself, with Range requests, each read logged. Rules in
``services/records/evidence.py``; this module only reads the request and answers."""

from __future__ import annotations

import re
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from aiohttp import BodyPartReader, web
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from backend.api.cases import READERS, WRITERS, read_scope
from backend.api.record_schemas import EvidenceOut, Place
from backend.api.records import evidence_out
from backend.app_keys import CLOCK, SETTINGS
from backend.errors import DomainError, ValidationFailed
from backend.http.routing import Call, RouteTable, UnsupportedMediaType
from backend.http.schemas import Body, EventTime, stripped_nonempty
from backend.models.enums import EvidenceKind, RecordAccessKind
from backend.services import cases
from backend.services.records import evidence, full_record

routes = RouteTable("/api/v1")

READ_CHUNK = 64 * 1024
FIELD_MAX_BYTES = 8 * 1024  # a text field: 2,000 characters of Chinese fit
# Content-Length may exceed the file by the form's own bytes: boundaries, part headers, fields.
FORM_OVERHEAD = 64 * 1024
TEXT_FIELDS = ("kind", "captured_at", "place", "collector_officer_id", "proves")


class MalformedMultipart(DomainError):
    status = 400
    code = "malformed_multipart"
    message = "请求体不是有效的 multipart 表单"


_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _iso_datetime(value: Any) -> Any:
    # A form value is text: ISO 8601 only (pydantic alone would read "0" as a Unix timestamp).
    if isinstance(value, str) and not _ISO_DATETIME.match(value):
        raise ValueError("时间格式应为 ISO 8601，例如 2026-11-20T10:15:00+08:00")
    return value


FormTime = Annotated[EventTime, BeforeValidator(_iso_datetime)]
Proves = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(stripped_nonempty)]


class EvidenceFields(Body):
    """The upload's text fields."""

    kind: EvidenceKind = Field(description="audio_video 音像；photo 照片；"
                                           "document 书证（PDF，或纸质文书的照片/扫描件）")
    captured_at: FormTime = Field(description="采集时间，ISO 8601，须带时区")
    place: Place = Field("", description="采集地点")
    collector_officer_id: uuid.UUID | None = Field(None, description="采集人（本机构执法人员），可不填")
    proves: Proves = Field(description="证明对象：该证据证明什么")


class EvidenceUpload(EvidenceFields):
    """multipart/form-data: the file part ``file`` and the text fields, each once, in any order."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "file": "(视频文件本身)", "kind": "audio_video", "captured_at": "2026-11-20T10:15:00+08:00",
        "place": "杭州市西湖区某路1号", "collector_officer_id": "6f0c1a52-6a4e-4f43-9d8e-0d3c1b7f9a10",
        "proves": "当事人在店内销售过期食品的过程"}]})

    file: bytes = Field(description="证据文件：类型按文件内容识别（不看文件名和声明的类型）；"
                                    "音像 mp4/mov/3gp、webm/mkv、avi、mp3、m4a/aac、wav、amr 等；"
                                    "照片 JPEG/PNG/HEIC/WebP；书证 PDF、JPEG/PNG")


class EvidenceCreated(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "3c9e7b1a-2d4f-4a6b-9c8d-0e1f2a3b4c5d", "number": "2026-3F2A91C0-音像-001", "kind": "audio_video",
        "content_type": "video/mp4", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "size": 734003200}]})

    id: uuid.UUID
    number: str = Field(description="案件编号-种类-序号（每案每类单独编号）")
    kind: EvidenceKind
    content_type: str = Field(description="按文件内容识别的类型")
    sha256: str
    size: int


class EvidenceList(BaseModel):
    case_id: uuid.UUID
    items: list[EvidenceOut]


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(READ_CHUNK):
        yield chunk


async def _text(part: BodyPartReader, name: str) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(READ_CHUNK):
        data += chunk
        if len(data) > FIELD_MAX_BYTES:
            raise ValidationFailed(f"表单字段 {name} 过长", code="evidence_field_too_long",
                                   details=[{"field": name}])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"表单字段 {name} 不是有效的 UTF-8 文本", code="evidence_field_encoding",
                               details=[{"field": name}]) from exc


def _fields(values: dict[str, str]) -> EvidenceFields:
    try:
        return EvidenceFields.model_validate(values)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e["loc"]), "type": e["type"]}
                   for e in exc.errors(include_input=False, include_url=False)][:20]
        missing = [d["field"] for d in details if d["type"] == "missing"]
        if missing:
            raise ValidationFailed("缺少表单字段：" + "、".join(missing), code="evidence_field_missing",
                                   details=details) from exc
        raise ValidationFailed(details=details) from exc


def _known_kind(values: dict[str, str]) -> EvidenceKind | None:
    try:
        return EvidenceKind(values["kind"]) if "kind" in values else None
    except ValueError:
        return None


async def _read_upload(request: web.Request, max_bytes: int) -> tuple[dict[str, str], evidence.Received]:
    """The form's parts in order; the file streamed to a temporary file as it arrives."""
    values: dict[str, str] = {}
    received: evidence.Received | None = None
    data_dir = request.app[SETTINGS].data_dir
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise ValidationFailed("表单不能嵌套 multipart", code="evidence_form_nested")
            name = part.name or ""
            if name in values or (name == "file" and received is not None):
                raise ValidationFailed(f"表单字段 {name[:20]} 只能出现一次", code="evidence_field_repeated",
                                       details=[{"field": name[:20]}])
            if name == "file":
                received = await evidence.receive(_chunks(part), data_dir, max_bytes, _known_kind(values))
            elif name in TEXT_FIELDS:
                values[name] = await _text(part, name)
            else:
                raise ValidationFailed(f"未知的表单字段 {name[:20]}", code="evidence_field_unknown",
                                       details=[{"field": name[:20]}])
    except BaseException as exc:
        evidence.discard(received)
        if isinstance(exc, (ValueError, AssertionError, RuntimeError, TypeError, LookupError)):
            # aiohttp's multipart reader on a body that is not what it says (no boundary, bad framing)
            raise MalformedMultipart() from exc
        raise
    if received is None:
        raise ValidationFailed("缺少证据文件（表单字段 file）", code="evidence_file_missing")
    return values, received


@routes.route("POST", "/cases/{case_id}/evidence", access=WRITERS, tag="records", upload=EvidenceUpload,
              summary="上传证据文件（multipart/form-data；流式写入，按内容识别类型；编号为 案件编号-种类-序号）",
              response=EvidenceCreated, status=201, errors=(404,))
async def upload_evidence(call: Call[None, None]) -> EvidenceCreated:
    request = call.request
    settings = request.app[SETTINGS]
    case = await cases.get_case(call.principal.agency_id, call.path_uuid("case_id"))
    if request.content_type != "multipart/form-data":
        raise UnsupportedMediaType("请求体必须是 multipart 表单")
    max_bytes = settings.evidence_max_bytes
    if request.content_length is not None and request.content_length > max_bytes + FORM_OVERHEAD:
        raise evidence.EvidenceTooLarge(details=[{"max_bytes": str(max_bytes)}])
    values, received = await _read_upload(request, max_bytes)
    try:
        fields = _fields(values)
    except BaseException:
        evidence.discard(received)
        raise
    row = await evidence.register(case, evidence.EvidenceInput(
        kind=fields.kind, captured_at=fields.captured_at, place=fields.place,
        collector_officer_id=fields.collector_officer_id, proves=fields.proves),
        received, call.principal.actor, request.app[CLOCK], settings.data_dir)
    return EvidenceCreated(id=row.id, number=row.number, kind=row.kind, content_type=row.content_type,
                           sha256=row.sha256, size=row.size_bytes)


@routes.route("GET", "/cases/{case_id}/evidence", access=READERS, summary="本案证据清单", tag="records",
              response=EvidenceList, errors=(404,))
async def list_evidence(call: Call[None, None]) -> EvidenceList:
    case = await cases.get_case(read_scope(call), call.path_uuid("case_id"))
    return EvidenceList(case_id=case.id, items=[evidence_out(e) for e in await evidence.listing(case.id)])


def _disposition(number: str, content_type: str) -> str:
    name = f"{number}.{evidence.EXTENSIONS.get(content_type, 'bin')}"
    ascii_name = f"evidence.{evidence.EXTENSIONS.get(content_type, 'bin')}"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(name)}"


@routes.route("GET", "/evidence/{evidence_id}/content", access=READERS, tag="records",
              produces=evidence.SERVED_TYPES, errors=(404, 409),
              summary="下载证据文件（支持 Range 断点续传：206/416；每次查看均留痕；文件缺失或哈希不符时 409 "
                      "evidence_file_damaged）")
async def get_evidence_content(call: Call[None, None]) -> web.StreamResponse:
    scope = read_scope(call)
    row, case = await evidence.get(scope, call.path_uuid("evidence_id"))
    path = await evidence.verified_path(row, call.request.app[SETTINGS].data_dir)
    await full_record.log_access(case, RecordAccessKind.EVIDENCE, call.principal.actor, scope, evidence_id=row.id)
    return web.FileResponse(path, headers={
        "Content-Type": row.content_type, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": _disposition(row.number, row.content_type)})
