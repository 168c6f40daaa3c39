"""API key management for an agency's administrator."""

from __future__ import annotations

from backend.api.schemas import KeyCreate, KeyCreated, KeyList, KeyOut
from backend.app_keys import CLOCK
from backend.errors import Forbidden
from backend.http.routing import Call, RouteTable
from backend.models import Agency
from backend.models.enums import Role
from backend.services import apikeys

routes = RouteTable("/api/v1")
KEY_ADMINS = {Role.ADMIN, Role.SUPERVISOR}


@routes.route("POST", "/keys", access=KEY_ADMINS, summary="创建访问密钥（密钥只返回一次；必须指明持有人）",
              tag="keys", body=KeyCreate, response=KeyCreated, status=201, errors=(403, 404, 409, 422))
async def create_key(call: Call[KeyCreate, None]) -> KeyCreated:
    if call.body.role is Role.SUPERVISOR:
        raise Forbidden("监督密钥只能由运维人员用 yangguang supervisor create 创建",
                        code="supervisor_key_by_operator_only")
    agency = await Agency.get(id=call.principal.agency_id)
    holder = apikeys.KeyHolder(call.body.officer_id, call.body.person_name, call.body.system_name)
    row, key = await apikeys.create_key(agency, call.body.role, call.body.name, call.principal.actor, holder)
    return KeyCreated(**KeyOut.model_validate(row).model_dump(), key=key)


@routes.route("GET", "/keys", access=KEY_ADMINS, summary="本机构的访问密钥", tag="keys",
              response=KeyList)
async def list_keys(call: Call[None, None]) -> KeyList:
    rows = await apikeys.list_keys(call.principal.agency_id)
    return KeyList(items=[KeyOut.model_validate(r) for r in rows])


@routes.route("POST", "/keys/{key_id}/revoke", access=KEY_ADMINS, summary="吊销访问密钥",
              tag="keys", response=KeyOut, errors=(404, 409))
async def revoke_key(call: Call[None, None]) -> KeyOut:
    clock = call.request.app[CLOCK]
    row = await apikeys.revoke_key(call.principal.agency_id, call.path_uuid("key_id"),
                                   call.principal.actor, clock)
    return KeyOut.model_validate(row)

