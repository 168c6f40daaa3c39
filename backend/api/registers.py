"""The agency's disclosure registers (R-D1, R-D3, R-D4): propose a version or a retirement, submit it,
review it, publish it; list and read. Thin handlers over ``services/registers``.

Per kind (``agency``, ``entrusted_org``, ``power``, ``inspection_item``, ``service_guide``,
``flowchart``) the paths are literal, so each has its own body schema in the OpenAPI description.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from backend.api.register_schemas import (
    VERSION_IN,
    RegisterItemHistory,
    RegisterItemOut,
    RegisterItemPage,
    RegisterItemQuery,
    RegisterReviewOut,
    RegisterStepOut,
    RegisterVersionOut,
    RetirementIn,
    ReviewIn,
)
from backend.app_keys import CLOCK, VERIFIER
from backend.http.register_content import KIND_WORDS
from backend.http.routing import Call, Handler, RouteTable
from backend.models import RegisterEvent, RegisterVersion
from backend.models.enums import RegisterKind, Role
from backend.services.registers import versions
from backend.services.states import REGISTER_ITEM

routes = RouteTable("/api/v1")
STAFF = {Role.ADMIN, Role.OFFICER, Role.REVIEWER, Role.HEAD}  # an agency's own people
EDITORS = {Role.ADMIN}  # who drafts, submits and publishes the registers
REVIEWERS = {Role.REVIEWER}  # the legal-review unit (法制审核机构) reviews before publication


def version_out(v: RegisterVersion, code: str, steps: list[RegisterEvent]) -> RegisterVersionOut:
    return RegisterVersionOut(
        id=v.id, kind=v.kind, code=code, version=v.version, title=v.title, effective_from=v.effective_from,
        state=v.state, retirement=v.retirement, retirement_reason=v.retirement_reason, content=v.content,
        changed_on=v.changed_on, publish_due_on=v.publish_due_on,
        publish_due_on_provisional=v.publish_due_on_provisional, author_name=v.author_name, created_at=v.created_at,
        submitted_at=v.submitted_at, submitted_by_name=v.submitted_by_name, published_at=v.published_at,
        published_by_name=v.published_by_name,
        reviews=[RegisterReviewOut(outcome=versions.REVIEW_ACTIONS[e.action], opinion=e.note,
                                   reviewer_name=e.actor_name, reviewer_role=e.actor_role, reviewed_at=e.at,
                                   leaf_index=e.leaf_index)
                 for e in steps if e.action in versions.REVIEW_ACTIONS],
        steps=[RegisterStepOut(action=e.action, state=e.state, at=e.at, actor_name=e.actor_name,
                               actor_role=e.actor_role, leaf_index=e.leaf_index) for e in steps],
        allowed_actions=REGISTER_ITEM.allowed(v.state))


async def _out(v: RegisterVersion) -> RegisterVersionOut:
    item = await v.item
    return version_out(v, item.code, (await versions.steps_of([v.id]))[v.id])


def _today(call: Call[Any, Any]) -> date:
    return call.request.app[CLOCK].today()


def _per_kind(kind: RegisterKind) -> None:
    words = KIND_WORDS[kind]
    body = VERSION_IN[kind]

    async def propose(call: Call[Any, None]) -> RegisterVersionOut:
        b = call.body
        row = await versions.propose(call.principal.agency_id, kind, getattr(b, "code", None),
                                     b.content.model_dump(mode="json"), b.effective_from,
                                     call.principal.actor, call.request.app[CLOCK])
        return await _out(row)

    async def listing(call: Call[None, RegisterItemQuery]) -> RegisterItemPage:
        q = call.query
        views, total = await versions.items(call.principal.agency_id, kind, _today(call), page=q.page,
                                            page_size=q.page_size)
        steps = await versions.steps_of([v.latest.id for v in views])
        return RegisterItemPage(items=[RegisterItemOut(
            kind=kind, code=v.item.code, latest=version_out(v.latest, v.item.code, steps[v.latest.id]),
            in_effect_version=v.in_effect.version if v.in_effect else None,
            retired=v.in_effect is not None and v.in_effect.retirement) for v in views],
            page=q.page, page_size=q.page_size, total=total)

    async def history(call: Call[None, None]) -> RegisterItemHistory:
        item, rows = await versions.item_versions(call.principal.agency_id, kind, call.path["code"])
        steps = await versions.steps_of([r.id for r in rows])
        current = versions.in_effect_of(rows, _today(call))
        return RegisterItemHistory(kind=kind, code=item.code, in_effect_version=current.version if current else None,
                                   retired=current is not None and current.retirement,
                                   versions=[version_out(r, item.code, steps[r.id]) for r in rows])

    async def retire(call: Call[RetirementIn, None]) -> RegisterVersionOut:
        row = await versions.retire(call.principal.agency_id, kind, call.path["code"], call.body.effective_from,
                                    call.body.reason, call.principal.actor, call.request.app[CLOCK])
        return await _out(row)

    for handler, name in ((propose, "propose"), (listing, "list"), (history, "history"), (retire, "retire")):
        handler.__name__ = f"{name}_{kind.value}_register"
    path = f"/registers/{kind.value}"
    routes.route("POST", path, access=EDITORS, status=201, tag="registers", body=body, response=RegisterVersionOut,
                 errors=(409, 422),
                 summary=f"提出{words}的新版本（草稿；首个版本即建立该事项）；须经审核后公开，"
                         "变更之日起20个工作日内公开")(_handler(propose))
    routes.route("GET", path, access=STAFF, tag="registers", query=RegisterItemQuery, response=RegisterItemPage,
                 summary=f"本机关的{words}（每项的最新版本与今天生效的版本）")(_handler(listing))
    routes.route("GET", path + "/items/{code}", access=STAFF, tag="registers", response=RegisterItemHistory,
                 errors=(404,), summary=f"{words}中一项的全部版本及审核记录")(_handler(history))
    not_retirable = "；本机关的主体资格不能停止公开（409 register_agency_not_retirable）" \
        if kind is RegisterKind.AGENCY else ""
    routes.route("POST", path + "/items/{code}/retirements", access=EDITORS, status=201, tag="registers",
                 body=RetirementIn, response=RegisterVersionOut, errors=(404, 409, 422),
                 summary=f"提出停止公开{words}中的一项（废止、协议终止、停止办理）：一个标明停止公开的新版本，"
                         "与其他变更一样经他人审核后公开，自生效日期起公众不再看到该项，历史版本保留"
                         + not_retirable)(_handler(retire))


def _handler(fn: object) -> Handler:
    return fn  # type: ignore[return-value]


for _kind in RegisterKind:
    _per_kind(_kind)


@routes.route("GET", "/registers/versions/{version_id}", access=STAFF, tag="registers",
              response=RegisterVersionOut, errors=(404,), summary="查看公开事项的一个版本（含审核记录）")
async def get_version(call: Call[None, None]) -> RegisterVersionOut:
    return await _out(await versions.version(call.principal.agency_id, call.path_uuid("version_id")))


@routes.route("POST", "/registers/versions/{version_id}/submit", access=EDITORS, tag="registers",
              response=RegisterVersionOut, errors=(404, 409), summary="将草稿提交法制审核机构审核")
async def submit_version(call: Call[None, None]) -> RegisterVersionOut:
    return await _out(await versions.submit(call.principal.agency_id, call.path_uuid("version_id"),
                                            call.principal.actor, call.request.app[CLOCK]))


@routes.route("POST", "/registers/versions/{version_id}/review", access=REVIEWERS, tag="registers", body=ReviewIn,
              response=RegisterVersionOut, errors=(404, 409),
              summary="审核公开事项的版本（未经审查不得发布）：通过或退回，记录审核人、时间和意见；起草人不能审核")
async def review_version(call: Call[ReviewIn, None]) -> RegisterVersionOut:
    version_id: uuid.UUID = call.path_uuid("version_id")
    await versions.review(call.principal.agency_id, version_id, call.body.outcome, call.body.opinion,
                          call.principal.actor, call.request.app[CLOCK])
    return await _out(await versions.version(call.principal.agency_id, version_id))


@routes.route("POST", "/registers/versions/{version_id}/publish", access=EDITORS, tag="registers",
              response=RegisterVersionOut, errors=(404, 409), summary="公开审核通过的版本")
async def publish_version(call: Call[None, None]) -> RegisterVersionOut:
    row = await versions.publish(call.principal.agency_id, call.path_uuid("version_id"), call.principal.actor,
                                 call.request.app[CLOCK])
    if row.kind is RegisterKind.AGENCY:  # the scan page shows its complaint phone: the next scan, the new one
        await call.request.app[VERIFIER].cache.invalidate()
    return await _out(row)
