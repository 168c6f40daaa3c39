"""Decisions: register, read, publish, correct, withdraw (R-P3, R-P4). Thin handlers over
``services/decisions.py``; the outbox gets the event's messages after commit."""

from __future__ import annotations

from typing import Any

from backend.api.case_schemas import (
    CorrectionPreview,
    CreditRepairIn,
    DecisionCorrect,
    DecisionCreate,
    DecisionOut,
    DecisionPublish,
    DecisionWithdraw,
    MaskedOut,
    PreviewOut,
    RevocationIn,
    RevocationOut,
)
from backend.api.cases import READERS, WRITERS, read_scope, unreachable_out
from backend.app_keys import CLOCK, SETTINGS
from backend.http.routing import Call, RouteTable
from backend.models import DecisionRevocation
from backend.outbox import get_outbox
from backend.services import decisions

routes = RouteTable("/api/v1")


@routes.route("POST", "/cases/{case_id}/decisions", access=WRITERS, summary="登记执法决定",
              tag="decisions", body=DecisionCreate, response=DecisionOut, status=201, errors=(404, 409, 422))
async def create_decision(call: Call[DecisionCreate, None]) -> DecisionOut:
    decision = await decisions.create(call.principal.agency_id, call.path_uuid("case_id"),
                                      call.body.model_dump(), call.principal.actor, call.request.app[CLOCK])
    return DecisionOut.model_validate(decision)


@routes.route("GET", "/decisions/{decision_id}", access=READERS, summary="查看执法决定（含内部全文与公示状态）",
              tag="decisions", response=DecisionOut, errors=(404,))
async def get_decision(call: Call[None, None]) -> DecisionOut:
    return DecisionOut.model_validate(await decisions.get(read_scope(call), call.path_uuid("decision_id")))


def _preview_out(p: decisions.Preview) -> PreviewOut:
    return PreviewOut(decision_id=p.decision_id, document_no=p.document_no, party=p.party,
                      public_text=p.public_text, public_reason=p.public_reason, preview_hash=p.preview_hash,
                      masked=[MaskedOut.model_validate(m, from_attributes=True) for m in p.masked])


@routes.route("GET", "/decisions/{decision_id}/preview", access=READERS, summary="预览公示内容（公示前核对脱敏）",
              tag="decisions", response=PreviewOut, errors=(404,))
async def preview_decision(call: Call[None, None]) -> PreviewOut:
    return _preview_out(await decisions.preview(read_scope(call), call.path_uuid("decision_id")))


@routes.route("POST", "/decisions/{decision_id}/preview", access=READERS, summary="预览更正后的公示内容",
              tag="decisions", body=CorrectionPreview, response=PreviewOut, errors=(404, 422))
async def preview_correction(call: Call[CorrectionPreview, None]) -> PreviewOut:
    return _preview_out(await decisions.preview(read_scope(call), call.path_uuid("decision_id"),
                                                summary=call.body.summary, reason=call.body.reason))


async def _change(call: Call, action: str, summary: str | None = None, reason: str = "",
                  preview_hash: str | None = None) -> DecisionOut:
    app = call.request.app
    result = await decisions.change(app[SETTINGS], app[CLOCK], call.principal.agency_id,
                                    call.path_uuid("decision_id"), action, call.principal.actor,
                                    summary=summary, reason=reason, preview_hash=preview_hash)
    await get_outbox(app).dispatch(result.notification_ids)  # after commit; the relay covers failures
    out = DecisionOut.model_validate(result.decision)
    out.notifications = len(result.notification_ids)
    out.unreachable_parties = unreachable_out(result.unreachable)
    return out


@routes.route("POST", "/decisions/{decision_id}/publish", access=WRITERS, summary="公示执法决定并通知当事人",
              tag="decisions", body=DecisionPublish, response=DecisionOut, errors=(404, 409, 422))
async def publish_decision(call: Call[DecisionPublish, None]) -> DecisionOut:
    return await _change(call, "publish", preview_hash=call.body.preview_hash)


@routes.route("POST", "/decisions/{decision_id}/correct", access=WRITERS, summary="更正公示内容并通知当事人",
              tag="decisions", body=DecisionCorrect, response=DecisionOut, errors=(404, 409, 422))
async def correct_decision(call: Call[DecisionCorrect, None]) -> DecisionOut:
    return await _change(call, "correct", summary=call.body.summary, reason=call.body.reason,
                         preview_hash=call.body.preview_hash)


@routes.route("POST", "/decisions/{decision_id}/withdraw", access=WRITERS, summary="撤回公示并通知当事人",
              tag="decisions", body=DecisionWithdraw, response=DecisionOut, errors=(404, 409, 422))
async def withdraw_decision(call: Call[DecisionWithdraw, None]) -> DecisionOut:
    return await _change(call, "withdraw", reason=call.body.reason)


@routes.route("POST", "/decisions/{decision_id}/revocations", access=WRITERS, status=201,
              summary="登记公示中的执法决定被撤销、确认违法或责令重作（自该日期起3个工作日内须撤回公示）",
              tag="decisions", body=RevocationIn, response=RevocationOut, errors=(404, 409, 422))
async def revoke_decision(call: Call[RevocationIn, None]) -> RevocationOut:
    b = call.body
    revocation = await decisions.revoke(call.principal.agency_id, call.path_uuid("decision_id"), b.reason, b.date,
                                        b.basis, call.principal.actor, call.request.app[CLOCK])
    return await revocation_out(call, revocation)


async def revocation_out(call: Call[Any, Any], r: DecisionRevocation) -> RevocationOut:
    decision = await decisions.get(call.principal.agency_id, r.decision_id)
    assert decision.withdraw_due_on is not None  # set with the revocation
    return RevocationOut(id=r.id, decision_id=r.decision_id, reason=r.reason, date=r.revoked_on, basis=r.basis,
                         recorded_by=r.actor_name, recorded_at=r.created_at, withdraw_due_on=decision.withdraw_due_on,
                         withdraw_due_on_provisional=decision.withdraw_due_on_provisional)


@routes.route("POST", "/decisions/{decision_id}/credit-repair", access=WRITERS,
              summary="信用修复：提前结束公示期（不早于该类决定的最短公示期；留存版本，不删除）",
              tag="decisions", body=CreditRepairIn, response=DecisionOut, errors=(404, 409, 422))
async def credit_repair(call: Call[CreditRepairIn, None]) -> DecisionOut:
    app = call.request.app
    decision = await decisions.end_publication(app[SETTINGS], app[CLOCK], call.path_uuid("decision_id"),
                                               "credit_repair", call.principal.actor,
                                               agency_id=call.principal.agency_id, reason=call.body.reason)
    return DecisionOut.model_validate(decision)
