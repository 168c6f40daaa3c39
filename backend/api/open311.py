"""Open311 GeoReport v2 at /open311/v2/ (JSON): 12345 hotline platforms pass complaints in with an
integrator key and read the status of the ones they filed. Rules: ``services/complaints/open311.py``.

Keys arrive as GeoReport's ``api_key`` (a form field of POST, a query parameter of GET) or as
``Authorization: Bearer``; errors are GeoReport's array of ``{code, description}``
(``backend.http.middleware``), with our stable codes and Chinese descriptions."""

from __future__ import annotations

import urllib.parse

from aiohttp import web

from backend.api.auth import admit, bearer
from backend.api.open311_schemas import (
    AttributeOut,
    AttributeValue,
    DiscoveryQuery,
    PostedList,
    PostedOut,
    RequestForm,
    RequestList,
    RequestOut,
    RequestQuery,
    RequestsQuery,
    ServiceDefinitionOut,
    ServiceList,
    ServiceOut,
)
from backend.app_keys import CLOCK, SETTINGS
from backend.errors import Unauthenticated, ValidationFailed
from backend.http.routing import FORM_TYPE, PUBLIC, Call, FormTooLarge, RouteTable
from backend.models.enums import Role
from backend.services.apikeys import Principal
from backend.services.complaints import open311
from backend.services.ratelimit import OPEN311_DISCOVERY, OPEN311_FILINGS, OPEN311_READS

FORM_MAX = 48 * 1024  # 4,000 Chinese characters percent-encoded, and the other fields
INTEGRATOR = {Role.INTEGRATOR}


async def _form_key(request: web.Request) -> str:
    """``api_key`` of a URL-encoded POST body (read once; the route's form parser reads it again
    from aiohttp's cache). A body that is not a readable form has no key here: the parser says why."""
    if request.method != "POST" or request.content_type != FORM_TYPE:
        return ""
    if request.content_length is not None and request.content_length > FORM_MAX:
        raise FormTooLarge()
    raw = await request.read()
    if len(raw) > FORM_MAX:
        raise FormTooLarge()
    try:
        pairs = urllib.parse.parse_qsl(raw.decode("utf-8"), encoding="utf-8", errors="strict", max_num_fields=40)
    except (UnicodeDecodeError, ValueError):
        return ""
    return next((v for k, v in pairs if k == "api_key"), "")


async def authenticate_integrator(request: web.Request, roles: frozenset[Role]) -> Principal:
    key = bearer(request) or request.query.get("api_key", "") or await _form_key(request)
    if not key.strip():
        raise Unauthenticated("缺少对接系统密钥：请在 api_key 参数或 Authorization: Bearer <密钥> 中提供",
                              code="missing_api_key")
    return await admit(request, key, roles)


routes = RouteTable("/open311/v2", authenticator=authenticate_integrator, errors_as="open311")


def _service_out(s: open311.Service) -> ServiceOut:
    return ServiceOut(service_code=s.code, service_name=s.name, description=s.description, metadata=True,
                      type="realtime", keywords=",".join(s.keywords), group=s.group)


@routes.route("GET", "/services.json", access=PUBLIC, tag="open311", query=DiscoveryQuery, response=ServiceList,
              errors=(400,), limit=OPEN311_DISCOVERY, summary="Open311：服务类型列表（投诉、举报、建议）")
async def list_services(call: Call[None, DiscoveryQuery]) -> ServiceList:
    return ServiceList([_service_out(s) for s in open311.SERVICES.values()])


@routes.route("GET", "/services/{service_code}.json", access=PUBLIC, tag="open311", query=DiscoveryQuery,
              response=ServiceDefinitionOut, errors=(400, 404), limit=OPEN311_DISCOVERY,
              summary="Open311：服务定义（属性 agency_id 必填，case_number、decision_id 可选）")
async def service_definition(call: Call[None, DiscoveryQuery]) -> ServiceDefinitionOut:
    svc = open311.service(call.path["service_code"])
    choices = await open311.agencies()
    return ServiceDefinitionOut(service_code=svc.code, attributes=[
        AttributeOut(variable=True, code="agency_id", datatype="singlevaluelist", required=True,
                     datatype_description="执法机关编号", order=1, description="投诉针对的（即负责处理的）执法机关",
                     values=[AttributeValue(key=str(a.id), name=a.name) for a in choices]),
        AttributeOut(variable=True, code="case_number", datatype="string", required=False,
                     datatype_description="该机关的案件编号", order=2, description="投诉针对该机关的某一案件时填写"),
        AttributeOut(variable=True, code="decision_id", datatype="string", required=False,
                     datatype_description="已公示的执法决定编号（UUID）", order=3,
                     description="投诉针对该机关已公示的某一执法决定时填写（与 case_number 二选一）"),
    ])


@routes.route("POST", "/requests.json", access=INTEGRATOR, tag="open311", form=RequestForm, form_max_bytes=FORM_MAX,
              response=PostedList, status=201, errors=(400, 404, 409, 413, 415, 422), limit=OPEN311_FILINGS,
              summary="Open311：提交服务请求（12345 热线转来的投诉、举报、建议）→ 受理编号、查询码和日志叶序号")
async def post_request(call: Call[RequestForm, None]) -> PostedList:
    b, app = call.body, call.request.app
    if (b.lat is None) != (b.long is None):
        raise ValidationFailed("位置须同时给出 lat 和 long", code="location_invalid")
    receipt = await open311.file(app[SETTINGS], app[CLOCK], call.principal, open311.OpenFiling(
        service_code=b.service_code, description=b.description, agency_id=b.agency_id, case_number=b.case_number,
        decision_id=b.decision_id, latitude=b.lat, longitude=b.long, address=b.address_string or ""))
    c = receipt.complaint
    assert c.acknowledge_due_on is not None and c.answer_due_on is not None
    return PostedList([PostedOut(
        service_request_id=c.tracking_no, query_code=receipt.query_code, leaf_index=receipt.leaf_index,
        service_notice=f"将于 {c.acknowledge_due_on.isoformat()} 前受理、{c.answer_due_on.isoformat()} 前答复")])


def _split(value: str | None, field: str, allowed: frozenset[str] | None = None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    if allowed is not None and any(v not in allowed for v in items):
        raise ValidationFailed(f"{field} 只能是 {'、'.join(sorted(allowed))}", code="validation_error",
                               details=[{"field": field, "type": "enum"}])
    return items


def _request_out(v: open311.RequestView) -> RequestOut:
    return RequestOut(
        service_request_id=v.service_request_id, status=v.status,
        status_notes=v.status_notes, service_name=v.service_name, service_code=v.service_code,
        description=v.description, agency_responsible=v.agency_responsible,
        requested_datetime=v.requested_datetime, updated_datetime=v.updated_datetime,
        expected_datetime=v.expected_datetime, address=v.address, lat=v.lat, long=v.long, leaf_index=v.leaf_index)


@routes.route("GET", "/requests.json", access=INTEGRATOR, tag="open311", query=RequestsQuery, response=RequestList,
              errors=(400, 404), limit=OPEN311_READS,
              summary="Open311：本系统提交的服务请求及其状态（默认最近 90 天，最多 1000 条；只含本对接系统提交的）")
async def list_requests(call: Call[None, RequestsQuery]) -> RequestList:
    q = call.query
    views = await open311.search(call.principal, call.request.app[CLOCK], open311.Search(
        service_request_ids=_split(q.service_request_id, "service_request_id"),
        service_codes=_split(q.service_code, "service_code"),
        statuses=_split(q.status, "status", frozenset(open311.STATUSES)), start=q.start_date, end=q.end_date))
    return RequestList([_request_out(v) for v in views])


@routes.route("GET", "/requests/{service_request}.json", access=INTEGRATOR, tag="open311", query=RequestQuery,
              response=RequestList, errors=(400, 404), limit=OPEN311_READS,
              summary="Open311：一个服务请求的状态（只限本对接系统提交的，其他一律 404）")
async def get_request(call: Call[None, RequestQuery]) -> RequestList:
    return RequestList([_request_out(await open311.get(call.principal, call.path["service_request"]))])
