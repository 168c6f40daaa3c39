"""Legal review of major decisions (R-L1..R-L6): the catalogue, a case's facts and major flag,
reviews and their opinions, disputes and head decisions, responsibility, and the supervisor's views.
Thin handlers over ``services/review``."""

from __future__ import annotations

import uuid
from decimal import Decimal

from backend.api import complaints, supervision
from backend.api import statistics as statistics_api
from backend.api.cases import READERS, WRITERS, read_scope
from backend.api.register_schemas import RegisterOverdueOut
from backend.api.review_schemas import (
    ApproverOut,
    CaseFactsOut,
    CaseFactsPatch,
    CatalogueOut,
    CatalogueUpdate,
    CatalogueVersionOut,
    ChecklistOut,
    Criteria,
    DecisionMakerOut,
    DisputeIn,
    HeadDecisionIn,
    LegalReviewOut,
    MajorFlag,
    MajorReasonOut,
    OpinionIn,
    OverdueItemOut,
    OverduePage,
    OverdueQuery,
    ProposedDecisionOut,
    RatioOut,
    RatioRowOut,
    ReferralIn,
    ResponsibilityOut,
    ReviewerOut,
    ReviewPage,
    ReviewQuery,
    ReviewSubmit,
    RosterFilingOut,
    RoundOut,
)
from backend.app_keys import CLOCK, SETTINGS
from backend.clock import Clock
from backend.errors import NotFound
from backend.http.routing import Call, RouteTable
from backend.models import Case, LegalReview, MajorCatalogue, ReviewerRosterFiling
from backend.models.enums import CaseType, Measure, ReviewOutcome, Role
from backend.services import cases, clocks, statistics
from backend.services.registers import versions as register_versions
from backend.services.review import catalogue, responsibility, reviews, staffing

routes = RouteTable("/api/v1")
AGENCY_STAFF = {Role.ADMIN, Role.OFFICER, Role.REVIEWER, Role.HEAD}


def catalogue_out(agency_id: uuid.UUID, agency_name: str, rows: list[MajorCatalogue],
                  current: MajorCatalogue | None) -> CatalogueOut:
    return CatalogueOut(agency_id=agency_id, agency_name=agency_name,
                        in_effect_version=current.version if current else None,
                        versions=[CatalogueVersionOut(
                            version=r.version, effective_from=r.effective_from,
                            in_effect=current is not None and r.id == current.id,
                            criteria=Criteria.model_validate(r.criteria), note=r.note, published_by=r.actor_name,
                            created_at=r.created_at) for r in rows])


@routes.route("PUT", "/major-catalogue", access={Role.ADMIN},
              summary="发布重大执法决定目录清单的新版本（注明生效日期）", tag="review", body=CatalogueUpdate,
              response=CatalogueOut, errors=(422,))
async def publish_catalogue(call: Call[CatalogueUpdate, None]) -> CatalogueOut:
    clock: Clock = call.request.app[CLOCK]
    agency_id = call.principal.agency_id
    await catalogue.publish(agency_id, call.body.effective_from, call.body.criteria.model_dump(mode="json"),
                            call.body.note, call.principal.actor, clock)
    agency = await catalogue.public_agency(agency_id)
    return catalogue_out(agency.id, agency.name, await catalogue.versions(agency_id),
                         await catalogue.in_effect(agency_id, clock.today()))


@routes.route("GET", "/major-catalogue", access=AGENCY_STAFF, summary="本机关的重大执法决定目录清单（全部版本）",
              tag="review", response=CatalogueOut, errors=(404,))
async def get_catalogue(call: Call[None, None]) -> CatalogueOut:
    agency = await catalogue.public_agency(call.principal.agency_id)
    return catalogue_out(agency.id, agency.name, await catalogue.versions(agency.id),
                         await catalogue.in_effect(agency.id, call.request.app[CLOCK].today()))


def facts_out(case: Case) -> CaseFactsOut:
    return CaseFactsOut(
        case_id=case.id, status=case.status, type=case.type, amount=case.amount,
        measures=[Measure(m) for m in case.measures], hearing_held=case.hearing_held,
        public_interest=case.public_interest, complex_case=case.complex_case, major_rights=case.major_rights,
        handling_unit=case.handling_unit, is_major=case.is_major, major_by_catalogue=case.major_by_catalogue,
        major_catalogue_version=case.major_catalogue_version, major_by_hand=case.major_by_hand,
        major_reasons=[MajorReasonOut(**r) for r in case.major_reasons], referred_to=case.referred_to,
        referred_on=case.referred_on)


@routes.route("PATCH", "/cases/{case_id}", access=WRITERS,
              summary="修改案情要素（类型、金额、措施、听证等）；重新判断是否为重大执法决定", tag="review",
              body=CaseFactsPatch, response=CaseFactsOut, errors=(404, 409, 422))
async def update_case_facts(call: Call[CaseFactsPatch, None]) -> CaseFactsOut:
    changes = call.body.model_dump(exclude_unset=True)
    case = await catalogue.update_facts(call.principal.agency_id, call.path_uuid("case_id"), changes,
                                        call.principal.actor, call.request.app[CLOCK])
    return facts_out(case)


@routes.route("GET", "/cases/{case_id}/major", access=READERS, summary="案件是否为重大执法决定及理由",
              tag="review", response=CaseFactsOut, errors=(404,))
async def get_major_flag(call: Call[None, None]) -> CaseFactsOut:
    return facts_out(await cases.get_case(read_scope(call), call.path_uuid("case_id")))


@routes.route("PUT", "/cases/{case_id}/major", access={Role.ADMIN, Role.OFFICER, Role.REVIEWER},
              summary="人工标记重大执法决定（执法人员）或取消人工标记（仅法制审核人员）", tag="review",
              body=MajorFlag, response=CaseFactsOut, errors=(403, 404, 409, 422))
async def flag_major(call: Call[MajorFlag, None]) -> CaseFactsOut:
    case = await catalogue.flag_by_hand(call.principal.agency_id, call.path_uuid("case_id"), call.body.major,
                                        call.body.reason, call.principal.role, call.principal.actor,
                                        call.request.app[CLOCK], key_id=call.principal.key_id)
    return facts_out(case)


def review_out(r: LegalReview, clock: Clock) -> LegalReviewOut:
    p = r.proposal
    return LegalReviewOut(
        id=r.id, case_id=r.case_id, round=r.round, level=r.level, status=r.status,
        in_government_name=r.in_government_name,
        proposed_decision=ProposedDecisionOut(
            type=CaseType(p["decision_type"]), amount=Decimal(p["amount"]) if p.get("amount") is not None else None,
            measures=[Measure(m) for m in p.get("measures", [])], summary=p.get("summary", "")),
        submitted_by_name=r.submitted_by_name, submitted_at=r.submitted_at, due_on=r.due_on,
        due_on_provisional=r.due_on_provisional, clock=reviews.colour(r, clock.today()),
        reviewer_name=r.reviewer_name, outcome=r.outcome, reasons=r.reasons,
        checklist={k: ChecklistOut(**v) for k, v in r.opinion.items()}, reviewed_at=r.reviewed_at,
        referred_to=r.referred_to, referred_on=r.referred_on, dispute_reasons=r.handling_unit_objection,
        disputed_by_name=r.disputed_by_name, head_decision=r.head_outcome, head_minutes=r.head_minutes,
        head_departed_from_opinion=r.head_departed_from_opinion, head_name=r.head_name,
        head_decided_at=r.head_decided_at)


@routes.route("POST", "/cases/{case_id}/reviews", access=WRITERS,
              summary="承办机构提交法制审核（拟作决定、事实、证据、依据、裁量理由、听证与陈述申辩情况）",
              tag="review", body=ReviewSubmit, response=LegalReviewOut, status=201, errors=(404, 409, 422))
async def submit_review(call: Call[ReviewSubmit, None]) -> LegalReviewOut:
    b, clock = call.body, call.request.app[CLOCK]
    d = b.proposed_decision
    review = await reviews.submit(call.principal.agency_id, call.path_uuid("case_id"), reviews.Proposal(
        decision_type=d.type, amount=d.amount, measures=d.measures, summary=d.summary, facts=b.facts,
        evidence=b.evidence, legal_basis=b.legal_basis, discretion_reasons=b.discretion_reasons,
        hearing_record=b.hearing_record, statement_record=b.statement_record,
        in_government_name=b.in_government_name), call.principal.actor, clock)
    return review_out(review, clock)


@routes.route("GET", "/reviews", access=READERS,
              summary="法制审核列表（待审核的标注时限：明天到期黄色、已超期红色；监督机构可看全部）",
              tag="review", query=ReviewQuery, response=ReviewPage)
async def list_reviews(call: Call[None, ReviewQuery]) -> ReviewPage:
    q = call.query
    rows, total = await reviews.search(read_scope(call), status=q.status, level=q.level, case_id=q.case_id,
                                       page=q.page, page_size=q.page_size)
    clock = call.request.app[CLOCK]
    return ReviewPage(items=[review_out(r, clock) for r in rows], page=q.page, page_size=q.page_size, total=total)


@routes.route("GET", "/reviews/{review_id}", access=READERS, summary="查看法制审核（含审核意见、异议、负责人决定）",
              tag="review", response=LegalReviewOut, errors=(404,))
async def get_review(call: Call[None, None]) -> LegalReviewOut:
    return review_out(await reviews.get(read_scope(call), call.path_uuid("review_id")), call.request.app[CLOCK])


def _referral(r: ReferralIn | None) -> reviews.Referral | None:
    return reviews.Referral(r.receiving_body, r.referred_on) if r is not None else None


@routes.route("POST", "/reviews/{review_id}/opinion", access={Role.REVIEWER, Role.SUPERVISOR},
              summary="法制审核意见（逐项回答审核要点；同意、退回补正或移送）；审核人即密钥持有人",
              tag="review", body=OpinionIn, response=LegalReviewOut, errors=(404, 409, 422))
async def give_opinion(call: Call[OpinionIn, None]) -> LegalReviewOut:
    b, clock = call.body, call.request.app[CLOCK]
    review = await reviews.give_opinion(
        read_scope(call), call.principal.key_id, call.path_uuid("review_id"), ReviewOutcome(b.outcome), b.reasons,
        {k: v.model_dump() for k, v in b.checklist.items()}, _referral(b.referral), call.principal.actor, clock)
    return review_out(review, clock)


@routes.route("POST", "/reviews/{review_id}/dispute", access=WRITERS,
              summary="承办机构对补正意见提出异议并说明理由（提交负责人集体讨论）", tag="review",
              body=DisputeIn, response=LegalReviewOut, errors=(404, 409, 422))
async def dispute_review(call: Call[DisputeIn, None]) -> LegalReviewOut:
    clock = call.request.app[CLOCK]
    review = await reviews.dispute(call.principal.agency_id, call.path_uuid("review_id"), call.body.reasons,
                                   call.principal.actor, clock)
    return review_out(review, clock)


@routes.route("POST", "/reviews/{review_id}/head-decision", access={Role.HEAD},
              summary="机关负责人集体讨论决定（决定、纪要、是否背离审核意见）", tag="review",
              body=HeadDecisionIn, response=LegalReviewOut, errors=(404, 409, 422))
async def head_decision(call: Call[HeadDecisionIn, None]) -> LegalReviewOut:
    b, clock = call.body, call.request.app[CLOCK]
    review = await reviews.head_decide(call.principal.agency_id, call.path_uuid("review_id"),
                                       ReviewOutcome(b.decision), b.minutes, b.departs_from_opinion,
                                       _referral(b.referral), call.principal.actor, clock)
    return review_out(review, clock)


@routes.route("GET", "/cases/{case_id}/responsibility", access=READERS,
              summary="责任追溯：谁提交、谁审核（每一轮）、谁批准、是否背离审核意见", tag="review",
              response=ResponsibilityOut, errors=(404,))
async def get_responsibility(call: Call[None, None]) -> ResponsibilityOut:
    r = await responsibility.of_case(read_scope(call), call.path_uuid("case_id"))
    return ResponsibilityOut(
        case_id=r.case.id, is_major=r.case.is_major,
        rounds=[RoundOut(review_id=x.id, round=x.round, level=x.level, status=x.status,
                         submitted_by_name=x.submitted_by_name, submitted_by_role=x.submitted_by_role,
                         submitted_at=x.submitted_at, reviewer_name=x.reviewer_name,
                         reviewer_officer_id=x.reviewer_officer_id, outcome=x.outcome, reviewed_at=x.reviewed_at,
                         disputed_by_name=x.disputed_by_name, head_name=x.head_name, head_decision=x.head_outcome,
                         head_departed_from_opinion=x.head_departed_from_opinion) for x in r.rounds],
        approved_by=[ApproverOut(name=a.name, via=a.via, level=a.level, at=a.at)
                     for a in r.approved_by],
        departed_from_opinion=r.departed_from_opinion,
        decisions=[DecisionMakerOut(decision_id=d.decision_id, document_no=d.document_no,
                                    registered_by_name=d.registered_by_name, review_id=d.review_id)
                   for d in r.decisions])


@routes.route("GET", "/supervision/reviewer-ratio", access={Role.SUPERVISOR},
              summary="各机关法制审核人员配备比例（执法人员数、审核人员数、是否达标、审核人员名册）",
              tag="supervision", response=RatioOut)
async def reviewer_ratio(call: Call[None, None]) -> RatioOut:
    rows = await staffing.reviewer_ratio(call.request.app[SETTINGS])
    return RatioOut(items=[RatioRowOut(
        agency_id=r.agency_id, agency_name=r.agency_name, enforcement_officers=r.enforcement_officers,
        legal_reviewers=r.legal_reviewers, ratio_percent=r.ratio_percent, required_percent=r.required_percent,
        required_reviewers=r.required_reviewers, meets=r.meets,
        reviewers=[ReviewerOut(officer_id=v.officer_id, name=v.name, unit=v.unit) for v in r.reviewers],
        roster_filed_at=r.filing.filed_at if r.filing else None,
        roster_filed_by=r.filing.actor_name if r.filing else None,
        roster_filed_reviewers=len(r.filing.reviewers) if r.filing else None, roster_current=r.filing_current)
        for r in rows], short=sum(1 for r in rows if not r.meets))


def _filing_out(f: ReviewerRosterFiling) -> RosterFilingOut:
    return RosterFilingOut(id=f.id, agency_id=f.agency_id, filed_at=f.filed_at,
                           enforcement_officers=f.enforcement_officers, filed_by=f.actor_name,
                           reviewers=[ReviewerOut(**r) for r in f.reviewers])


@routes.route("POST", "/reviewer-roster", access={Role.ADMIN}, status=201, response=RosterFilingOut,
              summary="向监督机构报备法制审核人员名册（按当前在岗的法制审核人员生成，报备后不可更改）",
              tag="supervision")
async def file_roster(call: Call[None, None]) -> RosterFilingOut:
    filing = await staffing.file_roster(call.principal.agency_id, call.principal.actor, call.request.app[CLOCK])
    return _filing_out(filing)


@routes.route("GET", "/reviewer-roster", access={Role.ADMIN, Role.HEAD, Role.REVIEWER},
              summary="本机关最近一次报备的法制审核人员名册", tag="supervision", response=RosterFilingOut,
              errors=(404,))
async def latest_roster(call: Call[None, None]) -> RosterFilingOut:
    filing = await staffing.latest_filing(call.principal.agency_id)
    if filing is None:
        raise NotFound("本机关尚未报备法制审核人员名册", code="roster_not_filed")
    return _filing_out(filing)


@routes.route("GET", "/supervision/overdue", access={Role.SUPERVISOR},
              summary="超期与临期事项（红色已超期、黄色今天或明天到期）：kind=review 法制审核、"
                      "publication 执法决定公示、"
                      "withdrawal 撤销后撤回公示、complaint 超期未受理或未答复的投诉、"
                      "rectification 逾期未书面答复的责令整改、"
                      "register 执法公开清单变更（20个工作日内公开）、"
                      "statistics 统计年报报送与公开；每个机关",
              tag="supervision", query=OverdueQuery, response=OverduePage)
async def overdue(call: Call[None, OverdueQuery]) -> OverduePage:
    return await _overdue(call, scope=None)


@routes.route("GET", "/overdue", access=READERS - {Role.SUPERVISOR},
              summary="本机关的超期与临期事项（与 /supervision/overdue 相同的 kind 与字段，只含本机关）",
              tag="supervision", query=OverdueQuery, response=OverduePage)
async def own_overdue(call: Call[None, OverdueQuery]) -> OverduePage:
    return await _overdue(call, scope=call.principal.agency_id)


async def _overdue(call: Call[None, OverdueQuery], scope: uuid.UUID | None) -> OverduePage:
    q, clock = call.query, call.request.app[CLOCK]
    warning = await clocks.calendar_warning(clock)
    if q.kind == "complaint":
        found_complaints, count = await complaints.overdue_items(call, q.page, q.page_size, scope=scope)
        return OverduePage(items=list(found_complaints), page=q.page, page_size=q.page_size, total=count,
                           calendar_warning=warning)
    if q.kind == "rectification":
        found_orders, count = await supervision.overdue_items(call, q.page, q.page_size, scope=scope)
        return OverduePage(items=list(found_orders), page=q.page, page_size=q.page_size, total=count,
                           calendar_warning=warning)
    if q.kind == "register":
        changes, count = await register_versions.overdue(clock, page=q.page, page_size=q.page_size, scope=scope)
        return OverduePage(items=[RegisterOverdueOut(
            version_id=o.version.id, agency_id=o.version.agency_id, agency_name=o.agency_name,
            register_kind=o.version.kind, code=o.code, title=o.version.title, version=o.version.version,
            state=o.version.state, changed_on=o.version.changed_on, due_on=o.version.publish_due_on,
            due_on_provisional=o.version.publish_due_on_provisional, clock=o.colour, days_overdue=o.days_overdue)
            for o in changes], page=q.page, page_size=q.page_size, total=count, calendar_warning=warning)
    if q.kind == "statistics":
        late = await statistics.overdue(clock, scope=scope)
        start = (q.page - 1) * q.page_size
        return OverduePage(items=list(statistics_api.overdue_items(late[start:start + q.page_size])), page=q.page,
                           page_size=q.page_size, total=len(late), calendar_warning=warning)
    if q.kind == "review":
        rows, total = await reviews.overdue(clock, page=q.page, page_size=q.page_size, scope=scope)
        items = [OverdueItemOut(
            kind="review", review_id=o.review.id, agency_id=o.review.agency_id, agency_name=o.agency_name,
            case_id=o.review.case_id, case_number=o.case_number, level=o.review.level, round=o.review.round,
            due_on=o.review.due_on, due_on_provisional=o.review.due_on_provisional, clock=o.colour,
            days_overdue=o.days_overdue) for o in rows]
    else:
        found, total = await clocks.overdue_decisions(q.kind, clock, page=q.page, page_size=q.page_size, scope=scope)
        items = [OverdueItemOut(
            kind=q.kind, decision_id=o.decision.id, agency_id=o.decision.agency_id, agency_name=o.agency_name,
            case_id=o.decision.case_id, case_number=o.case_number, document_no=o.decision.document_no,
            decision_type=o.decision.type, decided_at=o.decision.decided_at, due_on=o.due_on,
            due_on_provisional=o.provisional, clock=o.colour, days_overdue=o.days_overdue,
            revocation_reason=o.revocation.reason if o.revocation else None,
            revoked_on=o.revocation.revoked_on if o.revocation else None) for o in found]
    return OverduePage(items=items, page=q.page, page_size=q.page_size, total=total, calendar_warning=warning)
