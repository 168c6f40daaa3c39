"""Complaints from the phone (R-X1): photo uploads, the SMS code of a named complaint, filing, following
a complaint with its query code, rating the answer, the inclusion proof of its receipt, and the H5
verify page's complaint form. Public routes, each with a per-client rate limit; rules live in
``services/complaints``."""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web

from backend.app_keys import CLOCK, SETTINGS, VERIFIER
from backend.errors import DomainError, NotFound
from backend.http.routing import PARTY, PUBLIC, READ_CHUNK, Call, RouteTable, read_bounded
from backend.models import Agency, Complaint
from backend.models.enums import ComplaintAbout, ComplaintKind
from backend.outbox import get_outbox
from backend.services.complaints import intake, photos
from backend.services.ratelimit import (
    COMPLAINT_LOOKUPS,
    COMPLAINT_UPLOADS,
    COMPLAINTS,
    PARTY_READS,
    PHONE_CODE_REQUESTS,
)
from backend.services.states import COMPLAINT
from backend.services.transparency import checkpoints, log
from backend.statemachine import state_word
from miniprogram_api import pages
from miniprogram_api.complaint_schemas import (
    AboutIn,
    ComplaintIn,
    ComplaintReceiptOut,
    ComplaintStatusOut,
    H5ComplaintForm,
    MyComplaintOut,
    MyComplaintPage,
    PhoneCodeIn,
    PhoneCodeOut,
    ProofOut,
    ProofQuery,
    PublicStepOut,
    RatingIn,
    UploadOut,
    UploadParts,
)

routes = RouteTable()
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/heic", "image/heif"})
H5_FORM_MAX = 32 * 1024  # 2,000 Chinese characters, percent-encoded
assert "rate" not in COMPLAINT.table  # a rating is the complainant's step, recorded beside the table's moves


class MalformedUpload(DomainError):
    status = 400
    code = "malformed_multipart"
    message = "请求体不是有效的 multipart 表单（照片字段名须为 file）"


async def _photo_bytes(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > photos.MAX_BYTES + READ_CHUNK:
        raise photos.PhotoTooLarge()
    if request.content_type in IMAGE_TYPES:
        return await read_bounded(request, photos.MAX_BYTES, photos.PhotoTooLarge)
    if request.content_type != "multipart/form-data":
        raise photos.PhotoFormat("请以 multipart/form-data（字段名 file）或图片本身（image/jpeg、image/png、"
                                 "image/heic）上传照片")
    try:
        reader = await request.multipart()
        found: bytes | None = None
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name != "file" or found is not None:
                raise MalformedUpload()
            found = await read_bounded(part, photos.MAX_BYTES, photos.PhotoTooLarge)
    except (ValueError, AssertionError, RuntimeError) as exc:  # aiohttp's words for a broken form
        raise MalformedUpload() from exc
    if not found:
        raise MalformedUpload()
    return found


@routes.route("POST", "/mp/v1/uploads", access=PUBLIC, tag="complaints", response=UploadOut, status=201,
              upload=UploadParts, errors=(400, 413, 415, 422), limit=COMPLAINT_UPLOADS,
              summary="上传一张投诉照片（JPEG、PNG、HEIC；在后台进程中解码并重新编码，去除 EXIF 与 GPS）→ 照片编号")
async def upload(call: Call[None, None]) -> UploadOut:
    app = call.request.app
    data = await _photo_bytes(call.request)
    row = await photos.receive(data, data_dir=app[SETTINGS].data_dir, clock=app[CLOCK])
    return UploadOut(upload_id=row.id, width=row.width, height=row.height, bytes=row.size_bytes,
                     expires_in=int(photos.UPLOAD_TTL.total_seconds()))


async def _about(call: Call[Any, Any] | web.Request, about: AboutIn) -> intake.About:
    request = call if isinstance(call, web.Request) else call.request
    if about.type is ComplaintAbout.OFFICER:
        found = await request.app[VERIFIER].verify(about.officer_token or "")
        if found is None:
            raise intake.subject_not_found()
        return intake.About(ComplaintAbout.OFFICER, credential_id=found.credential_id)
    return intake.About(about.type, agency_id=about.agency_id, case_number=about.case_number,
                        decision_id=about.decision_id)


@routes.route("POST", "/mp/v1/phone-codes", access=PUBLIC, tag="complaints", body=PhoneCodeIn,
              response=PhoneCodeOut, status=202, errors=(404, 422), limit=PHONE_CODE_REQUESTS,
              summary="实名投诉：向手机发送 6 位验证码（每个号码每分钟 1 条、每小时 5 条、每天 10 条）")
async def phone_code(call: Call[PhoneCodeIn, None]) -> PhoneCodeOut:
    app = call.request.app
    sent = await intake.request_code(app[SETTINGS], app[CLOCK], call.body.phone, await _about(call, call.body.about))
    await get_outbox(app).dispatch(sent.notification_ids)
    return PhoneCodeOut(verification_id=sent.verification.id, expires_in=int(intake.CODE_TTL.total_seconds()),
                        resend_after=60)


def _receipt(r: intake.Receipt) -> ComplaintReceiptOut:
    c = r.complaint
    assert c.acknowledge_due_on is not None and c.answer_due_on is not None
    return ComplaintReceiptOut(tracking_no=c.tracking_no, query_code=r.query_code, leaf_index=r.leaf_index,
                               status=c.status, acknowledge_due_on=c.acknowledge_due_on,
                               answer_due_on=c.answer_due_on, anonymous=c.anonymous)


@routes.route("POST", "/mp/v1/complaints", access=PUBLIC, session_optional=True, tag="complaints",
              body=ComplaintIn, response=ComplaintReceiptOut, status=201, errors=(404, 409, 422), limit=COMPLAINTS,
              summary="提交投诉、举报或建议（实名：短信验证码，或带小程序会话令牌以登录的微信用户本人实名；否则匿名）"
                      "→ 受理编号、查询码和收件记录的日志叶序号")
async def file_complaint(call: Call[ComplaintIn, None]) -> ComplaintReceiptOut:
    b, app = call.body, call.request.app
    loc = b.location
    named = intake.Named(b.named.phone, b.named.verification_id, b.named.code) if b.named else None
    session = call.principal  # a PartySession when signed in to the mini-program, else None
    receipt = await intake.file(app[SETTINGS], app[CLOCK], intake.Filing(
        kind=b.kind, about=await _about(call, b.about), text=b.text, upload_ids=b.upload_ids,
        latitude=loc.latitude if loc else None, longitude=loc.longitude if loc else None,
        address=loc.address if loc else "", named=named,
        signed_in=session.openid if session is not None else None))
    return _receipt(receipt)


@routes.route("GET", "/mp/v1/me/complaints", access=PARTY, tag="complaints", response=MyComplaintPage,
              limit=PARTY_READS, summary="我以小程序登录身份提交的投诉（最新的在前，最多 100 件）")
async def my_complaints(call: Call[None, None]) -> MyComplaintPage:
    rows = await intake.mine(call.principal.openid)
    names = {a.id: a.name for a in await Agency.filter(id__in={c.agency_id for c in rows}).only("id", "name")}
    return MyComplaintPage(items=[MyComplaintOut(
        tracking_no=c.tracking_no, kind=c.kind, status=c.status, status_text=state_word(c.status),
        agency_name=names[c.agency_id], submitted_at=c.submitted_at or c.created_at,
        answer_due_on=c.answer_due_on, can_rate=c.status.value == "answered") for c in rows])


@routes.route("GET", "/mp/v1/me/complaints/{tracking_no}", access=PARTY, tag="complaints",
              response=ComplaintStatusOut, errors=(404,), limit=PARTY_READS,
              summary="我以小程序登录身份提交的一件投诉的进度和答复（无需查询码；他人的投诉一律 404）")
async def my_complaint(call: Call[None, None]) -> ComplaintStatusOut:
    return await _status(await intake.one_of_mine(call.principal.openid, call.path["tracking_no"]))


def _code(call: Call[Any, Any]) -> str:
    return call.request.headers.get("X-Query-Code", "")


@routes.route("GET", "/mp/v1/complaints/{tracking_no}", access=PUBLIC, tag="complaints",
              response=ComplaintStatusOut, errors=(404,), limit=COMPLAINT_LOOKUPS,
              summary="凭受理编号和查询码（请求头 X-Query-Code）查看投诉进度和答复；不匹配一律 404")
async def complaint_status(call: Call[None, None]) -> ComplaintStatusOut:
    return await _status(await intake.find(call.path["tracking_no"], _code(call)))


async def _status(c: Complaint) -> ComplaintStatusOut:
    agency = await Agency.get(id=c.agency_id)
    steps = await intake.public_steps(c)
    return ComplaintStatusOut(
        tracking_no=c.tracking_no, kind=c.kind, status=c.status, status_text=state_word(c.status),
        agency_name=agency.name, submitted_at=c.submitted_at or c.created_at, acknowledge_due_on=c.acknowledge_due_on,
        answer_due_on=c.answer_due_on, answer=c.answer, can_rate=c.status.value == "answered",
        satisfaction=c.satisfaction,
        steps=[PublicStepOut(action=s.action, text=s.words, at=s.at, leaf_index=s.leaf_index, answer=s.note)
               for s in steps])


@routes.route("POST", "/mp/v1/complaints/{tracking_no}/rating", access=PUBLIC, tag="complaints", body=RatingIn,
              response=ComplaintStatusOut, errors=(404, 409, 422), limit=COMPLAINT_LOOKUPS,
              summary="评价答复（请求头 X-Query-Code；每次答复评价一次；≤ 2 分立即转执法监督机构督办）")
async def rate(call: Call[RatingIn, None]) -> ComplaintStatusOut:
    app = call.request.app
    c, ids = await intake.rate(app[SETTINGS], app[CLOCK], call.path["tracking_no"], _code(call), call.body.score,
                               call.body.comment)
    await get_outbox(app).dispatch(ids)
    return await _status(c)


@routes.route("GET", "/mp/v1/complaints/{tracking_no}/proof", access=PUBLIC, tag="complaints", query=ProofQuery,
              response=ProofOut, errors=(404, 422), limit=COMPLAINT_LOOKUPS,
              summary="投诉收件记录（或某一环节）在透明日志中的包含证明（请求头 X-Query-Code），"
                      "可对照公开的签名检查点 /log/checkpoint 验证")
async def proof(call: Call[None, ProofQuery]) -> ProofOut:
    c = await intake.find(call.path["tracking_no"], _code(call))
    mine = {s.leaf_index for s in await intake.public_steps(c) if s.leaf_index is not None}
    index = c.leaf_index if call.query.leaf_index is None else call.query.leaf_index
    if index is None or index not in mine:
        raise NotFound("该投诉没有这个日志叶", code="log_entry_not_found")
    latest = await checkpoints.latest()
    signed = latest is not None and latest.tree_size > index
    size = latest.tree_size if signed and latest is not None else await log.tree_size()
    p = await log.inclusion_proof(index, size)
    entry = await log.entry(index, c.agency_id)
    return ProofOut(leaf_index=index, tree_size=size, signed=signed, leaf_hash=p.leaf_hash, root_hash=p.root_hash,
                    audit_path=p.audit_path, entry=entry.content, salt=c.salt)


@routes.route("POST", "/v/{token}/complaint", access=PUBLIC, tag="public", form=H5ComplaintForm,
              form_max_bytes=H5_FORM_MAX, produces="text/html", errors=(400, 404, 413, 415, 422), limit=COMPLAINTS,
              summary="H5 核验页的投诉表单（无需 JavaScript；匿名）→ 带受理编号和查询码的回执页")
async def h5_complaint(call: Call[H5ComplaintForm, None]) -> web.Response:
    app, token = call.request.app, call.path["token"]
    found = await app[VERIFIER].verify(token)
    if found is None:
        raise NotFound("无效二维码", code="invalid_qr")
    receipt = await intake.file(app[SETTINGS], app[CLOCK], intake.Filing(
        kind=ComplaintKind(call.body.kind),
        about=intake.About(ComplaintAbout.OFFICER, credential_id=found.credential_id),
        text=call.body.text, address=call.body.address, channel="h5"))
    c = receipt.complaint
    return web.Response(text=pages.complaint_receipt(
        c.tracking_no, receipt.query_code, receipt.leaf_index, c.acknowledge_due_on, c.answer_due_on,
        found.view["agency"]["name"], back=f"/v/{token}"), content_type="text/html", charset="utf-8",
        headers=pages.HEADERS)
