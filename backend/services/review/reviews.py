"""Reviews (R-L2..R-L5): the handling unit submits, a legal reviewer gives the opinion, a handling unit
that disagrees disputes, the head's collective discussion decides. Every round is kept.

Each step moves the REVIEW transition table (``services/states.py``), writes a LegalReviewEvent (a
leaf of the transparency log: ``leaf_content``), the case's full-process record entry (step
``legal_review``) and the audit entry, in one transaction.

The reviewer is the person the key belongs to: the key must belong to an officer (``ApiKey.officer_id``)
who is a legal reviewer (``is_legal_reviewer``), in post, of the case's agency, not in the case's
handling unit (none recorded: the lead officer's unit), not one of the case's officers and not the
person whose key submitted the round; for the government-level review, an officer of the agency's
own supervising body (``Agency.supervised_by``, the district government's legal unit) who is a legal
reviewer. Anyone else: 409
``reviewer_conflict`` (the rule: ``reviewers.check``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.models import Agency, Case, LegalReview, LegalReviewEvent
from backend.models.enums import (
    CaseType,
    LeafKind,
    Measure,
    RecordStep,
    ReviewLevel,
    ReviewOutcome,
    ReviewStatus,
)
from backend.services import audit
from backend.services.cases import get_case, move_case
from backend.services.records import entries as records
from backend.services.review import catalogue, deadlines, reviewers
from backend.services.scope import scoped, visible_one
from backend.services.states import REVIEW
from backend.services.transparency import log

# The points of R-L3, each answered in the written opinion: {point: {"ok": bool, "note": str}}.
CHECKLIST: dict[str, str] = {
    "agency_lawful": "执法主体合法",
    "officers_qualified": "执法人员具备执法资格",
    "procedure_lawful": "执法程序合法",
    "facts_clear": "案件事实清楚",
    "evidence_sufficient": "证据合法充分",
    "law_and_discretion_correct": "适用法律和裁量基准正确",
    "within_powers": "未超越本机关职权",
    "documents_complete": "执法文书完备规范",
    "rights_honoured": "当事人陈述、申辩等权利已保障",
    "crime_transfer": "是否涉嫌犯罪需要移送司法机关",
}
OUTCOME_WORDS = {ReviewOutcome.APPROVE: "同意", ReviewOutcome.CORRECT: "退回补正", ReviewOutcome.REFER: "移送有权机关"}
LEVEL_WORDS = {ReviewLevel.AGENCY: "本机关法制审核", ReviewLevel.GOVERNMENT: "区政府法制机构审核"}
# What each outcome does to the review (REVIEW table actions).
OUTCOME_ACTION = {ReviewOutcome.APPROVE: "approve", ReviewOutcome.CORRECT: "request_correction",
                  ReviewOutcome.REFER: "refer"}
WAITING = frozenset({ReviewStatus.SUBMITTED, ReviewStatus.DISPUTED})  # someone still has to act


def review_not_found() -> NotFound:
    return NotFound("未找到该法制审核", code="review_not_found")


def passed(review: LegalReview) -> bool:
    """A review lets a decision through: approved, or the head's meeting decided to approve."""
    return review.status is ReviewStatus.APPROVED or (
        review.status is ReviewStatus.HEAD_DECIDED and review.head_outcome is ReviewOutcome.APPROVE)


def _utc(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat(timespec="microseconds") if at is not None else None


def leaf_content(event: LegalReviewEvent, agency_id: uuid.UUID) -> dict[str, Any]:
    """What the transparency log commits to for a review event: every field it is written with
    (not the database's row id), datetimes in UTC."""
    return {"type": "legal_review_event", "agency_id": str(agency_id), "review_id": str(event.review_id),
            "case_id": str(event.case_id), "kind": event.kind, "at": _utc(event.at), "data": event.data,
            "actor": event.actor, "actor_name": event.actor_name, "actor_role": event.actor_role}


async def _event(review: LegalReview, case: Case, kind: str, data: dict[str, Any], text: str, actor: str,
                 now: datetime) -> LegalReviewEvent:
    name, role = audit.who(actor)
    event = LegalReviewEvent(review_id=review.id, case_id=case.id, kind=kind, at=now, data=data,
                             actor=actor, actor_name=name, actor_role=role)
    leaf_kind = LeafKind.REVIEW_OPINION if kind == "opinion" else LeafKind.REVIEW_EVENT
    await log.append_row(event, leaf_kind, leaf_content(event, case.agency_id), agency_id=case.agency_id,
                         ref=f"review:{review.id}")
    await records.append(case, RecordStep.LEGAL_REVIEW, text, actor, now)
    await audit.record(actor, f"review.{kind}", "legal_review", review.id, agency_id=case.agency_id,
                       data={"event": event.id, **{k: v for k, v in data.items() if k in ("round", "level",
                                                                                          "outcome", "status")}})
    return event


# -- submission --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Proposal:
    """The proposed decision and the file the handling unit submits."""

    decision_type: CaseType
    amount: Decimal | None
    measures: list[Measure]
    summary: str
    facts: str
    evidence: list[str]
    legal_basis: str
    discretion_reasons: str
    hearing_record: str
    statement_record: str
    in_government_name: bool = False

    def stored(self) -> dict[str, Any]:
        return {"decision_type": self.decision_type.value,
                "amount": str(self.amount) if self.amount is not None else None,
                "measures": sorted({m.value for m in self.measures}), "summary": self.summary,
                "facts": self.facts, "evidence": self.evidence, "legal_basis": self.legal_basis,
                "discretion_reasons": self.discretion_reasons, "hearing_record": self.hearing_record,
                "statement_record": self.statement_record}


async def submit(agency_id: uuid.UUID, case_id: uuid.UUID, proposal: Proposal, actor: str,
                 clock: Clock) -> LegalReview:
    """The handling unit submits a proposed decision: a new round, due in 5 working days. The case's
    facts take the proposal's type, amount and measures (so the flag is evaluated on them)."""
    await get_case(agency_id, case_id)
    async with in_transaction():
        case = await Case.filter(id=case_id).select_for_update().get()
        if await LegalReview.filter(case_id=case.id, status__in=list(WAITING)).exists():
            raise Conflict("本案已有待处理的法制审核，请等待审核意见或负责人决定", code="review_pending")
        rounds = await LegalReview.filter(case_id=case.id, level=ReviewLevel.AGENCY).order_by("-round")
        await move_case(case, "submit_review")
        case.type, case.amount = proposal.decision_type, proposal.amount
        case.measures = proposal.stored()["measures"]
        await case.save(update_fields=["type", "amount", "measures", "updated_at"])
        now = clock.now()
        await catalogue.evaluate(case, now.date())
        name, role = audit.who(actor)
        due = await deadlines.review_due_on(now.date())
        review = await LegalReview.create(
            case_id=case.id, agency_id=case.agency_id, round=(rounds[0].round + 1) if rounds else 1,
            level=ReviewLevel.AGENCY, in_government_name=proposal.in_government_name, proposal=proposal.stored(),
            submitted_by=actor, submitted_by_name=name, submitted_by_role=role, submitted_at=now,
            due_on=due.on, due_on_provisional=due.provisional)
        await _event(review, case, "submit", {"round": review.round, "level": review.level.value,
                                             "proposal": review.proposal,
                                             "in_government_name": review.in_government_name,
                                             "due_on": review.due_on.isoformat()},
                     f"提交法制审核（第{review.round}轮）：{proposal.summary}", actor, now)
    return review


# -- opinion -----------------------------------------------------------------------------------------

def check_checklist(outcome: ReviewOutcome, checklist: dict[str, dict[str, Any]]) -> None:
    unknown = sorted(set(checklist) - set(CHECKLIST))
    if unknown:
        raise ValidationFailed("审核要点不在法定清单内", code="checklist_unknown_point",
                               details=[{"point": p[:40]} for p in unknown])
    missing = [p for p in CHECKLIST if p not in checklist]
    if missing:
        raise ValidationFailed("审核意见须逐项回答全部审核要点，缺少：" + "、".join(CHECKLIST[p] for p in missing),
                               code="checklist_incomplete", details=[{"point": p} for p in missing])
    failed = [p for p in CHECKLIST if not checklist[p]["ok"]]
    if outcome is ReviewOutcome.APPROVE and failed:
        raise ValidationFailed("有审核要点未通过，不能作出同意的审核意见：" + "、".join(CHECKLIST[p] for p in failed),
                               code="checklist_failed", details=[{"point": p} for p in failed])


@dataclass(frozen=True)
class Referral:
    receiving_body: str
    referred_on: date


async def _lock(scope: uuid.UUID | None, review_id: uuid.UUID) -> tuple[LegalReview, Case]:
    await visible_one(LegalReview.filter(id=review_id), scope, review_not_found())
    review = await LegalReview.filter(id=review_id).select_for_update().get()
    case = await Case.filter(id=review.case_id).select_for_update().get()
    return review, case


async def _refer(case: Case, referral: Referral | None) -> None:
    if referral is None:
        raise ValidationFailed("移送须写明接收机关和移送日期", code="referral_required")
    await move_case(case, "refer")
    case.referred_to, case.referred_on = referral.receiving_body, referral.referred_on
    await case.save(update_fields=["referred_to", "referred_on", "updated_at"])


async def give_opinion(scope: uuid.UUID | None, key_id: uuid.UUID, review_id: uuid.UUID, outcome: ReviewOutcome,
                       reasons: str, checklist: dict[str, dict[str, Any]], referral: Referral | None, actor: str,
                       clock: Clock) -> LegalReview:
    """The written opinion (法制审核意见书): every point answered; approve, correct or refer, with reasons."""
    check_checklist(outcome, checklist)
    async with in_transaction():
        review, case = await _lock(scope, review_id)
        reviewer = await reviewers.check(key_id, case, review.level, submitted_by=review.submitted_by)
        review.status = REVIEW.next(review.status, OUTCOME_ACTION[outcome])
        now = clock.now()
        if outcome is ReviewOutcome.REFER:
            await _refer(case, referral)
            review.referred_to, review.referred_on = case.referred_to, case.referred_on
        elif outcome is ReviewOutcome.CORRECT and review.level is ReviewLevel.AGENCY:
            await move_case(case, "return_from_review")  # the handling unit fixes and resubmits
        review.outcome, review.reasons, review.opinion = outcome, reasons, checklist
        review.reviewer_officer_id, review.reviewer_name, review.reviewed_at = reviewer.id, reviewer.name, now
        await review.save()
        await _event(review, case, "opinion", {
            "round": review.round, "level": review.level.value, "outcome": outcome.value, "reasons": reasons,
            "checklist": checklist, "reviewer_officer_id": str(reviewer.id), "reviewer_name": reviewer.name,
            "referred_to": review.referred_to,
            "referred_on": review.referred_on.isoformat() if review.referred_on else None},
            f"{LEVEL_WORDS[review.level]}意见（第{review.round}轮）：{OUTCOME_WORDS[outcome]}。理由：{reasons}"
            + (f"；移送{review.referred_to}" if outcome is ReviewOutcome.REFER else ""), actor, now)
        if outcome is ReviewOutcome.APPROVE and review.level is ReviewLevel.AGENCY and review.in_government_name:
            await _government_round(review, case, actor, now)
    return review


async def _government_round(review: LegalReview, case: Case, actor: str, now: datetime) -> LegalReview:
    """A decision in the district government's name: the agency's approval opens the second review."""
    due = await deadlines.review_due_on(now.date())
    second = await LegalReview.create(
        case_id=case.id, agency_id=case.agency_id, round=review.round, level=ReviewLevel.GOVERNMENT,
        in_government_name=True, proposal=review.proposal, submitted_by=actor,
        submitted_by_name=review.reviewer_name, submitted_by_role="system", submitted_at=now,
        due_on=due.on, due_on_provisional=due.provisional)
    await _event(second, case, "submit", {"round": second.round, "level": second.level.value,
                                         "proposal": second.proposal, "in_government_name": True,
                                         "due_on": second.due_on.isoformat()},
                 f"以区政府名义作出的决定，报送区政府法制机构审核（第{second.round}轮）", actor, now)
    return second


# -- dispute and the head's decision ------------------------------------------------------------------

async def dispute(agency_id: uuid.UUID, review_id: uuid.UUID, reasons: str, actor: str,
                  clock: Clock) -> LegalReview:
    """The handling unit disagrees with a request for correction and states why: the head decides."""
    async with in_transaction():
        review, case = await _lock(agency_id, review_id)
        if review.level is ReviewLevel.GOVERNMENT:
            raise Conflict("区政府法制机构的审核意见不由本机关负责人讨论，请补正后重新提交",
                           code="dispute_government_review")
        review.status = REVIEW.next(review.status, "object")
        now = clock.now()
        review.handling_unit_objection = reasons
        review.disputed_by_name, review.disputed_at = audit.who(actor)[0], now
        await review.save()
        await _event(review, case, "dispute", {"round": review.round, "level": review.level.value,
                                              "reasons": reasons},
                     f"承办机构对审核意见有异议（第{review.round}轮）：{reasons}", actor, now)
    return review


async def head_decide(agency_id: uuid.UUID, review_id: uuid.UUID, decision: ReviewOutcome, minutes: str,
                      departs_from_opinion: bool, referral: Referral | None, actor: str,
                      clock: Clock) -> LegalReview:
    """The head's collective discussion of both opinions (负责人集体讨论), recorded with its minutes.
    ``departs_from_opinion`` must say truly whether the meeting decided otherwise than the reviewer."""
    async with in_transaction():
        review, case = await _lock(agency_id, review_id)
        review.status = REVIEW.next(review.status, "head_decide")
        opinion = review.outcome or ReviewOutcome.CORRECT  # a disputed review always has its opinion
        departs = decision is not opinion
        if departs != departs_from_opinion:
            raise ValidationFailed("“是否背离审核意见”与决定内容不符：审核意见为" + OUTCOME_WORDS[opinion]
                                   + "，集体讨论决定为" + OUTCOME_WORDS[decision], code="departure_mismatch")
        now = clock.now()
        if decision is ReviewOutcome.REFER:
            await _refer(case, referral)
        review.head_outcome, review.head_minutes, review.head_departed_from_opinion = decision, minutes, departs
        review.head_decision = OUTCOME_WORDS[decision]
        review.head_name, review.head_decided_at = audit.who(actor)[0], now
        await review.save()
        await _event(review, case, "head_decision", {
            "round": review.round, "level": review.level.value, "decision": decision.value, "minutes": minutes,
            "departs_from_opinion": departs,
            "referred_to": case.referred_to if decision is ReviewOutcome.REFER else ""},
            f"机关负责人集体讨论决定（第{review.round}轮）：{OUTCOME_WORDS[decision]}"
            + ("，背离审核意见" if departs else "，维持审核意见"), actor, now)
        if decision is ReviewOutcome.APPROVE and review.in_government_name:
            await _government_round(review, case, actor, now)
    return review


# -- reading -----------------------------------------------------------------------------------------

async def get(scope: uuid.UUID | None, review_id: uuid.UUID) -> LegalReview:
    return await visible_one(LegalReview.filter(id=review_id), scope, review_not_found())


async def events(review_id: uuid.UUID) -> list[LegalReviewEvent]:
    return await LegalReviewEvent.filter(review_id=review_id).order_by("id")


def colour(review: LegalReview, today: date) -> deadlines.Colour | None:
    """The clock of a review still waiting for its opinion; None once answered."""
    return deadlines.colour(review.due_on, today) if review.status is ReviewStatus.SUBMITTED else None


async def search(scope: uuid.UUID | None, *, status: ReviewStatus | None, level: ReviewLevel | None,
                 case_id: uuid.UUID | None, page: int, page_size: int) -> tuple[list[LegalReview], int]:
    query = scoped(LegalReview.all(), scope)
    if status is not None:
        query = query.filter(status=status)
    if level is not None:
        query = query.filter(level=level)
    if case_id is not None:
        query = query.filter(case_id=case_id)
    total = await query.count()
    rows = await query.order_by("due_on", "-submitted_at", "id").offset((page - 1) * page_size).limit(page_size)
    return rows, total


@dataclass(frozen=True)
class OverdueReview:
    review: LegalReview
    agency_name: str
    case_number: str
    colour: deadlines.Colour
    days_overdue: int


async def overdue(clock: Clock, *, page: int, page_size: int,
                  scope: uuid.UUID | None = None) -> tuple[list[OverdueReview], int]:
    """Reviews still waiting whose clock is red or yellow: of every agency for the supervisor
    (``scope=None``), of one agency for its own view."""
    today = clock.today()
    query = scoped(LegalReview.filter(status=ReviewStatus.SUBMITTED, due_on__lte=today + timedelta(days=1)), scope)
    total = await query.count()
    rows = await query.order_by("due_on", "id").offset((page - 1) * page_size).limit(page_size)
    names = {a["id"]: a["name"] for a in await Agency.filter(id__in={r.agency_id for r in rows}).values("id", "name")}
    numbers = {c["id"]: c["number"] for c in await Case.filter(id__in={r.case_id for r in rows}).values("id", "number")}
    return [OverdueReview(r, names.get(r.agency_id, ""), numbers.get(r.case_id, ""),
                          deadlines.colour(r.due_on, today), max(0, (today - r.due_on).days)) for r in rows], total
