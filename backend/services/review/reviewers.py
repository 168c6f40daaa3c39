"""Who may act as the legal reviewer of a case (R-L2): the person the key belongs to, a legal reviewer
(``is_legal_reviewer``) in post, of the case's agency, not in its handling unit, not one of its
officers and not the one who submitted the round; at the government level, a legal reviewer of the
agency's own supervising body (``Agency.supervised_by``, the district government's legal unit; none
recorded: 409 ``supervising_body_unknown``). Anyone else: 409 ``reviewer_conflict``.

One rule for every act that only a reviewer may do: the opinion (``reviews.give_opinion``) and
lifting a hand-set major flag (``catalogue.flag_by_hand``).
"""

from __future__ import annotations

import uuid

from backend.errors import Conflict
from backend.models import Agency, ApiKey, Case, CaseOfficer, Officer
from backend.models.enums import AgencyKind, CaseOfficerRole, OfficerStatus, ReviewLevel


async def handling_unit(case: Case) -> str:
    """The unit that handles the case: as recorded on it, else the unit of its lead officer (主办人), so
    a case whose unit was never recorded does not let the handling unit's own reviewer through."""
    if case.handling_unit:
        return case.handling_unit
    lead = await CaseOfficer.filter(case_id=case.id, role=CaseOfficerRole.LEAD).prefetch_related("officer").first()
    return lead.officer.unit if lead is not None else ""


async def key_holder_officer(actor: str) -> uuid.UUID | None:
    """The officer who holds the key behind an actor (``key:<id>``), if it is an officer's key."""
    if not actor.startswith("key:"):
        return None
    try:
        key_id = uuid.UUID(actor[4:])
    except ValueError:
        return None
    key = await ApiKey.filter(id=key_id).first().values("officer_id")
    return key["officer_id"] if key else None


async def check(key_id: uuid.UUID | None, case: Case, level: ReviewLevel = ReviewLevel.AGENCY, *,
                submitted_by: str = "") -> Officer:
    """The person behind the key, if they may review this case at this level; else reviewer_conflict."""
    key = await ApiKey.filter(id=key_id).first() if key_id is not None else None
    officer = await Officer.filter(id=key.officer_id).first() if key is not None and key.officer_id else None
    if officer is None or not officer.is_legal_reviewer or officer.status is not OfficerStatus.ACTIVE:
        raise Conflict("审核人须为登记在册、在岗的法制审核人员（密钥须属于该人员）", code="reviewer_conflict")
    if level is ReviewLevel.GOVERNMENT:
        body = await Agency.get(id=officer.agency_id)
        if body.kind is not AgencyKind.SUPERVISOR:
            raise Conflict("政府名义的决定须由区政府法制机构的审核人员进行第二级审核", code="reviewer_conflict")
        # The government level is the agency's own supervising body, not any supervising body.
        own = await Agency.filter(id=case.agency_id).first().values_list("supervised_by_id", flat=True)
        if own is None:
            raise Conflict("本机关尚未登记其执法监督机构（请系统运维人员登记），无法进行政府层级审核",
                           code="supervising_body_unknown")
        if own != body.id:
            raise Conflict("政府层级审核须由本机关的执法监督机构的审核人员进行", code="reviewer_conflict")
        return officer
    if officer.agency_id != case.agency_id:
        raise Conflict("审核人须为本机关的法制审核人员", code="reviewer_conflict")
    if officer.unit and officer.unit == await handling_unit(case):
        raise Conflict("审核人不能是本案承办机构的人员", code="reviewer_conflict")
    if await CaseOfficer.filter(case_id=case.id, officer_id=officer.id).exists():
        raise Conflict("审核人不能是本案的办案人员", code="reviewer_conflict")
    if submitted_by and officer.id == await key_holder_officer(submitted_by):
        raise Conflict("审核人不能审核自己提交的审核申请", code="reviewer_conflict")
    return officer
