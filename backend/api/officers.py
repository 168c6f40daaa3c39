"""Officer register handlers: parse -> service -> serialise."""

from __future__ import annotations

import uuid

from backend.api.auth import Principal
from backend.api.schemas import OfficerCreate, OfficerOut, OfficerPatch, OfficerPrivate, OfficerQuery
from backend.app_keys import CLOCK, SETTINGS, VERIFIER
from backend.errors import Forbidden, ValidationFailed
from backend.http.routing import Call, RouteTable, read_bounded
from backend.http.schemas import Page
from backend.models import Officer
from backend.models.enums import Role
from backend.services import officers, photos

routes = RouteTable("/api/v1")
READERS = {Role.ADMIN, Role.OFFICER, Role.REVIEWER, Role.HEAD, Role.SUPERVISOR}


def officer_out(officer: Officer, principal: Principal) -> OfficerOut:
    out = OfficerOut.model_validate(officer)
    if principal.role is Role.ADMIN:
        out.private = OfficerPrivate.model_validate(officer)
    return out


@routes.route("POST", "/officers", access={Role.ADMIN}, summary="登记执法人员", tag="officers",
              body=OfficerCreate, response=OfficerOut, status=201, errors=(409, 422))
async def create_officer(call: Call[OfficerCreate, None]) -> OfficerOut:
    officer = await officers.create_officer(
        call.principal.agency_id, call.body.model_dump(), call.principal.actor
    )
    return officer_out(officer, call.principal)


@routes.route("GET", "/officers", access=READERS, summary="执法人员列表（分页）", tag="officers",
              query=OfficerQuery, response=Page[OfficerOut])
async def list_officers(call: Call[None, OfficerQuery]) -> Page[OfficerOut]:
    q = call.query
    scope: uuid.UUID | None = call.principal.agency_id
    if call.principal.is_supervisor:
        scope = q.agency_id
    elif q.agency_id is not None and q.agency_id != call.principal.agency_id:
        raise Forbidden("只能查看本机构的执法人员", code="other_agency")
    rows, total = await officers.list_officers(scope, page=q.page, page_size=q.page_size, q=q.q)
    return Page[OfficerOut](items=[officer_out(o, call.principal) for o in rows],
                            page=q.page, page_size=q.page_size, total=total)


@routes.route("GET", "/officers/{officer_id}", access=READERS, summary="查看执法人员",
              tag="officers", response=OfficerOut, errors=(404,))
async def get_officer(call: Call[None, None]) -> OfficerOut:
    scope = None if call.principal.is_supervisor else call.principal.agency_id
    officer = await officers.get_officer(scope, call.path_uuid("officer_id"))
    return officer_out(officer, call.principal)


@routes.route("PATCH", "/officers/{officer_id}", access={Role.ADMIN}, summary="修改执法人员信息",
              tag="officers", body=OfficerPatch, response=OfficerOut, errors=(404, 409, 422))
async def patch_officer(call: Call[OfficerPatch, None]) -> OfficerOut:
    changes = call.body.model_dump(exclude_unset=True)
    officer, voided = await officers.update_officer(
        call.principal.agency_id, call.path_uuid("officer_id"), changes, call.principal.actor,
        call.request.app[CLOCK])
    if voided:  # the very next scan, in every process, shows 已作废
        await call.request.app[VERIFIER].cache.invalidate()
    return officer_out(officer, call.principal)


@routes.route("PUT", "/officers/{officer_id}/photo", access={Role.ADMIN}, tag="officers", response=OfficerOut,
              summary="上传执法人员照片（请求体为 JPEG 或 PNG 图片本身，不超过 2 MiB；重新编码并去除 EXIF）",
              errors=(404, 413, 422))
async def put_photo(call: Call[None, None]) -> OfficerOut:
    request = call.request
    if request.content_type not in ("image/jpeg", "image/png"):
        raise ValidationFailed("照片只能是 JPEG 或 PNG 格式（Content-Type: image/jpeg 或 image/png）",
                               code="photo_format")
    # Read past the app's JSON body limit, but never more than the photo limit.
    data = await read_bounded(request, photos.MAX_BYTES, photos.PhotoTooLarge)
    officer = await photos.set_photo(call.principal.agency_id, call.path_uuid("officer_id"), data,
                                     data_dir=request.app[SETTINGS].data_dir, actor=call.principal.actor,
                                     cache=request.app[VERIFIER].cache)
    return officer_out(officer, call.principal)
