"""The full-process record (R-R1..R-R5): case officers, steps, the supervisor's full record and the
log of who retrieved it. Thin handlers over ``services/records``."""

from __future__ import annotations

import uuid

from backend.api.cases import READERS, WRITERS, read_scope
from backend.api.record_schemas import (
    AccessOut,
    AccessPage,
    AccessQuery,
    CaseOfficerOut,
    CaseOfficersAssign,
    CaseTeamOut,
    DecisionVersionOut,
    EvidenceOut,
    FullDecisionOut,
    FullNotificationOut,
    FullPartyOut,
    FullRecordOut,
    RecordCreate,
    RecordCreated,
    RecordList,
    RecordOfficerOut,
    RecordOut,
    ReviewEventOut,
    ReviewOut,
)
from backend.app_keys import CLOCK
from backend.http.routing import Call, RouteTable
from backend.models import Evidence, Officer
from backend.models.enums import CaseOfficerRole, RecordStep, ServiceMethod
from backend.services import cases
from backend.services.masking import mask_recipient
from backend.services.records import case_officers, entries, full_record
from backend.services.transparency import log

routes = RouteTable("/api/v1")


def _team_out(case_id: uuid.UUID, team: list[tuple[Officer, CaseOfficerRole]]) -> CaseTeamOut:
    return CaseTeamOut(case_id=case_id, officers=[
        CaseOfficerOut(officer_id=o.id, name=o.name, kind=o.kind, certificate_no=o.certificate_no, role=role)
        for o, role in team])


def _record_out(entry: entries.TimelineEntry) -> RecordOut:
    r = entry.record
    return RecordOut(
        id=r.id, seq=r.seq, step=r.step, occurred_at=r.occurred_at, place=r.place,
        officers=[RecordOfficerOut(officer_id=o["officer_id"], name=o["name"], certificate_no=o.get("certificate_no"),
                                   credential_valid=bool(o.get("credential_valid")),
                                   credential_shown=bool(o.get("credential_shown"))) for o in r.officers],
        text=r.text, party_signature=r.signature, refusal_note=r.signature_note, service_method=r.service_method,
        evidence_ids=r.evidence_ids, corrects=r.corrects_id, corrected_by=entry.corrected_by,
        av_recommended_missing=entry.av_recommended_missing, actor_name=r.actor_name, actor_role=r.actor_role,
        recorded_at=r.recorded_at, leaf_index=r.leaf_index)


def evidence_out(e: Evidence) -> EvidenceOut:
    return EvidenceOut(id=e.id, number=e.number, kind=e.kind, captured_at=e.captured_at, place=e.place,
                       collector_officer_id=e.collector_officer_id, proves=e.proves, content_type=e.content_type,
                       sha256=e.sha256, size=e.size_bytes, actor_name=e.actor_name, leaf_index=e.leaf_index)


@routes.route("POST", "/cases/{case_id}/officers", access=WRITERS, summary="指派办案人员（主办人、协办人员）",
              tag="records", body=CaseOfficersAssign, response=CaseTeamOut, errors=(404, 409, 422))
async def assign_case_officers(call: Call[CaseOfficersAssign, None]) -> CaseTeamOut:
    case = await cases.get_case(call.principal.agency_id, call.path_uuid("case_id"))
    await case_officers.assign(case, call.body.lead_officer_id, call.body.assistant_officer_ids,
                               call.principal.actor)
    return _team_out(case.id, await case_officers.team(case.id))


@routes.route("GET", "/cases/{case_id}/officers", access=READERS, summary="本案办案人员", tag="records",
              response=CaseTeamOut, errors=(404,))
async def list_case_officers(call: Call[None, None]) -> CaseTeamOut:
    case = await cases.get_case(read_scope(call), call.path_uuid("case_id"))
    return _team_out(case.id, await case_officers.team(case.id))


@routes.route("POST", "/cases/{case_id}/records", access=WRITERS,
              summary="追加执法环节记录（只增不改；更正以新记录引用原记录）", tag="records", body=RecordCreate,
              response=RecordCreated, status=201, errors=(404, 409, 422))
async def add_record(call: Call[RecordCreate, None]) -> RecordCreated:
    case = await cases.get_case(call.principal.agency_id, call.path_uuid("case_id"))
    b = call.body
    row = await entries.add_step(case, entries.StepInput(
        step=RecordStep(b.step.value), occurred_at=b.occurred_at, place=b.place, officer_ids=b.officer_ids,
        credential_shown=b.credential_shown, text=b.text, party_signature=b.party_signature,
        refusal_note=b.refusal_note, evidence_ids=b.evidence_ids,
        service_method=ServiceMethod(b.service_method) if b.service_method else None, corrects=b.corrects),
        call.principal.actor, call.request.app[CLOCK])
    assert row.leaf_index is not None  # entries.append writes the leaf first
    leaf = await log.entry(row.leaf_index, None)
    return RecordCreated(id=row.id, seq=row.seq, leaf_index=row.leaf_index, leaf_hash=leaf.leaf_hash)


@routes.route("GET", "/cases/{case_id}/records", access=READERS, summary="案件全过程记录时间线", tag="records",
              response=RecordList, errors=(404,))
async def list_records(call: Call[None, None]) -> RecordList:
    case = await cases.get_case(read_scope(call), call.path_uuid("case_id"))
    return RecordList(case_id=case.id, items=[_record_out(e) for e in await entries.timeline(case.id)])


@routes.route("GET", "/cases/{case_id}/full-record", access=READERS,
              summary="调阅案件全过程记录（监督机构可调阅任一机构；每次调阅均留痕）", tag="records",
              response=FullRecordOut, errors=(404,))
async def get_full_record(call: Call[None, None]) -> FullRecordOut:
    scope = read_scope(call)
    case = await cases.get_case(scope, call.path_uuid("case_id"))
    full = await full_record.retrieve(case, call.principal.actor, scope)
    return FullRecordOut(
        case_id=case.id, agency_id=case.agency_id, number=case.number, title=case.title, type=case.type,
        status=case.status, parties=[FullPartyOut(name=n, kind=k) for n, k in full.parties],
        officers=_team_out(case.id, full.officers).officers, steps=[_record_out(e) for e in full.steps],
        evidence=[evidence_out(e) for e in full.evidence],
        decisions=[FullDecisionOut(id=d.id, document_no=d.document_no, status=d.status, summary=d.summary, versions=[
            DecisionVersionOut(version=v.version, kind=v.kind, public_text=v.public_text, reason=v.reason,
                               actor_name=v.actor_name, created_at=v.created_at, leaf_index=v.leaf_index)
            for v in versions]) for d, versions in full.decisions],
        reviews=[ReviewOut(id=r.id, round=r.round, level=r.level, status=r.status, submitted_at=r.submitted_at,
                           reviewed_at=r.reviewed_at, leaf_index=events[0].leaf_index if events else None,
                           events=[ReviewEventOut(kind=e.kind, at=e.at, actor_name=e.actor_name,
                                                  actor_role=e.actor_role, leaf_index=e.leaf_index) for e in events])
                 for r, events in full.reviews],
        notifications=[FullNotificationOut(id=n.id, event=n.event, channel=n.channel, status=n.status,
                                           recipient=mask_recipient(n.recipient), created_at=n.created_at)
                       for n in full.notifications],
        retrieved_at=call.request.app[CLOCK].now())


@routes.route("GET", "/record-accesses", access=READERS, summary="全过程记录的调阅与证据查看日志",
              tag="records", query=AccessQuery, response=AccessPage, errors=(404,))
async def list_accesses(call: Call[None, AccessQuery]) -> AccessPage:
    q, scope = call.query, read_scope(call)
    if q.case_id is not None:
        await cases.get_case(scope, q.case_id)  # another agency's case: 404
    rows, total = await full_record.accesses(scope, q.case_id, page=q.page, page_size=q.page_size)
    return AccessPage(items=[AccessOut(id=r.id, case_id=r.case_id, kind=r.kind, evidence_id=r.evidence_id,
                                       actor_name=r.actor_name, actor_role=r.actor_role, accessed_at=r.accessed_at)
                             for r in rows], page=q.page, page_size=q.page_size, total=total)
