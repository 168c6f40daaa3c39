"""What is major (R-L1): the agency's versioned catalogue (重大执法决定目录清单) and the flag of a case.

A version is never changed: a change is a new version with the date it takes effect; the version in
effect on a day is the one with the latest ``effective_from`` on or before it. A case is major when the
catalogue in effect matches its facts (``match``, a pure function giving the reasons) or when it was
flagged by hand. The catalogue's part is evaluated again whenever the facts change (``update_facts``, and a
hearing record: ``hearing_recorded``) and by the gate before any decision; only a legal reviewer
lifts a flag set by hand.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.models import Agency, Case, CaseParty, MajorCatalogue
from backend.models.enums import AgencyKind, CaseStatus, CaseType, Measure, PartyKind, Role
from backend.services import audit
from backend.services.review import reviewers
from backend.services.scope import visible_one

TYPE_WORDS = {CaseType.PENALTY: "行政处罚", CaseType.PERMIT: "行政许可", CaseType.COERCION: "行政强制",
              CaseType.INSPECTION: "行政检查", CaseType.COLLECTION: "行政征收", CaseType.OTHER: "其他"}
MEASURE_WORDS = {Measure.WARNING: "警告", Measure.FINE: "罚款", Measure.CONFISCATION: "没收",
                 Measure.LICENCE_REVOCATION: "吊销许可证件", Measure.BUSINESS_SUSPENSION: "责令停产停业",
                 Measure.DETENTION: "行政拘留", Measure.SEIZURE: "查封扣押", Measure.OTHER: "其他措施"}
PARTY_WORDS = {PartyKind.PERSON: "自然人", PartyKind.ORGANIZATION: "法人或其他组织"}
# criterion -> the words of the reason it gives
FLAG_WORDS = {
    "licence_revocation": "拟吊销许可证件",
    "business_suspension": "拟责令停产停业",
    "hearing_held": "经过听证程序",
    "public_interest": "涉及重大公共利益或重大社会影响",
    "complex_case": "案件情况疑难复杂、涉及多个法律关系",
    "multi_party": "涉及多方当事人",
    "major_rights": "直接关系当事人或第三人重大权益",
}
# Statuses in which the facts may still change: after a decision they are what was decided.
FACTS_OPEN = frozenset({CaseStatus.OPEN, CaseStatus.INVESTIGATING, CaseStatus.IN_REVIEW})


@dataclass(frozen=True)
class Facts:
    """What the catalogue looks at."""

    type: CaseType
    amount: Decimal | None
    measures: frozenset[Measure]
    hearing_held: bool
    public_interest: bool
    complex_case: bool
    major_rights: bool
    party_kinds: frozenset[PartyKind]
    parties: int


def _reason(code: str, text: str) -> dict[str, str]:
    return {"code": code, "text": text}


def match(criteria: dict[str, Any], facts: Facts) -> list[dict[str, str]]:
    """The reasons a case with these facts is major under these criteria (empty: not major)."""
    reasons: list[dict[str, str]] = []
    if facts.type.value in criteria.get("case_types", []):
        reasons.append(_reason("case_type", f"案件类型为{TYPE_WORDS[facts.type]}"))
    for rule in criteria.get("amount_thresholds", []):
        if facts.amount is None or rule["case_type"] != facts.type.value:
            continue
        if rule.get("measure") and Measure(rule["measure"]) not in facts.measures:
            continue
        if rule.get("party_kind") and PartyKind(rule["party_kind"]) not in facts.party_kinds:
            continue
        threshold = Decimal(rule["min_amount"])
        if facts.amount >= threshold:
            what = MEASURE_WORDS[Measure(rule["measure"])] if rule.get("measure") else "涉案"
            whom = f"（{PARTY_WORDS[PartyKind(rule['party_kind'])]}）" if rule.get("party_kind") else ""
            reasons.append(_reason("amount", f"{what}金额{facts.amount}元，达到{threshold}元的标准{whom}"))
            break
    present = {
        "licence_revocation": Measure.LICENCE_REVOCATION in facts.measures,
        "business_suspension": Measure.BUSINESS_SUSPENSION in facts.measures,
        "hearing_held": facts.hearing_held,
        "public_interest": facts.public_interest,
        "complex_case": facts.complex_case,
        "multi_party": facts.parties > 1,
        "major_rights": facts.major_rights,
    }
    for code, words in FLAG_WORDS.items():
        if criteria.get(code) and present[code]:
            reasons.append(_reason(code, words))
    return reasons


def describe(criteria: dict[str, Any]) -> list[str]:
    """The catalogue's criteria in words, as published."""
    words = [f"{TYPE_WORDS[CaseType(t)]}案件" for t in criteria.get("case_types", [])]
    for rule in criteria.get("amount_thresholds", []):
        what = MEASURE_WORDS[Measure(rule["measure"])] if rule.get("measure") else "涉案"
        whom = f"（{PARTY_WORDS[PartyKind(rule['party_kind'])]}）" if rule.get("party_kind") else ""
        words.append(f"{TYPE_WORDS[CaseType(rule['case_type'])]}{what}金额达到{rule['min_amount']}元{whom}")
    words.extend(text for code, text in FLAG_WORDS.items() if criteria.get(code))
    return words


async def in_effect(agency_id: uuid.UUID, day: date) -> MajorCatalogue | None:
    return await MajorCatalogue.filter(agency_id=agency_id, effective_from__lte=day).order_by(
        "-effective_from", "-version").first()


async def versions(agency_id: uuid.UUID) -> list[MajorCatalogue]:
    return await MajorCatalogue.filter(agency_id=agency_id).order_by("-version")


async def publish(agency_id: uuid.UUID, effective_from: date, criteria: dict[str, Any], note: str, actor: str,
                  clock: Clock) -> MajorCatalogue:
    """A new version of the catalogue. It may take effect today or later, never in the past: what was
    major on a past day stays what the catalogue then said."""
    if effective_from < clock.today():
        raise ValidationFailed("目录清单的生效日期不能早于今天", code="catalogue_effective_in_past")
    async with in_transaction():
        await Agency.filter(id=agency_id).select_for_update().get()  # one version number at a time
        last = await MajorCatalogue.filter(agency_id=agency_id).order_by("-version").first()
        name, _ = audit.who(actor)
        row = await MajorCatalogue.create(agency_id=agency_id, version=(last.version + 1) if last else 1,
                                          effective_from=effective_from, criteria=criteria, note=note,
                                          actor=actor, actor_name=name)
        await audit.record(actor, "major_catalogue.publish", "major_catalogue", row.id, agency_id=agency_id,
                           data={"version": row.version, "effective_from": effective_from.isoformat()})
    return row


async def public_agency(agency_id: uuid.UUID) -> Agency:
    agency = await Agency.filter(id=agency_id).exclude(kind=AgencyKind.SUPERVISOR).first()
    if agency is None:
        raise NotFound("未找到该执法机关", code="agency_not_found")
    return agency


async def facts_of(case: Case) -> Facts:
    kinds: list[str] = await CaseParty.filter(case_id=case.id).values_list(  # type: ignore[assignment]
        "party__kind", flat=True)
    return Facts(type=case.type, amount=case.amount, measures=frozenset(Measure(m) for m in case.measures),
                 hearing_held=case.hearing_held, public_interest=case.public_interest,
                 complex_case=case.complex_case, major_rights=case.major_rights,
                 party_kinds=frozenset(PartyKind(k) for k in kinds), parties=len(kinds))


async def evaluate(case: Case, day: date) -> None:
    """Set the catalogue's part of the flag from the catalogue in effect on ``day``, then the flag.
    The caller holds the case row in its transaction; this saves the flag fields."""
    catalogue = await in_effect(case.agency_id, day)
    reasons = match(catalogue.criteria, await facts_of(case)) if catalogue is not None else []
    case.major_by_catalogue = bool(reasons)
    case.major_catalogue_version = catalogue.version if catalogue is not None and reasons else None
    if case.major_by_hand:
        reasons.append(_reason("manual", f"人工标记为重大：{case.major_hand_reason}"))
    case.is_major = case.major_by_catalogue or case.major_by_hand
    case.major_reasons = reasons
    await case.save(update_fields=["major_by_catalogue", "major_catalogue_version", "is_major", "major_reasons",
                                   "updated_at"])


async def reasons_for_decision(case: Case, type_: CaseType, amount: Decimal | None, measures: frozenset[str],
                               day: date) -> list[dict[str, str]]:
    """The catalogue's reasons a decision of this type, amount and measures on the case is major, on
    ``day``: the gate judges what is decided, not only the facts the case was given (a case whose own
    amount was left small must not carry a large fine past the review)."""
    catalogue = await in_effect(case.agency_id, day)
    if catalogue is None:
        return []
    facts = replace(await facts_of(case), type=type_, amount=amount,
                    measures=frozenset(Measure(m) for m in measures))
    return match(catalogue.criteria, facts)


async def _case(agency_id: uuid.UUID, case_id: uuid.UUID) -> Case:
    # The agency's own case (services.cases.get_case, without importing it: records import this module).
    return await visible_one(Case.filter(id=case_id), agency_id, NotFound("未找到该案件", code="case_not_found"))


FACT_FIELDS = ("type", "amount", "measures", "hearing_held", "public_interest", "complex_case", "major_rights",
               "handling_unit")


async def update_facts(agency_id: uuid.UUID, case_id: uuid.UUID, changes: dict[str, Any], actor: str,
                       clock: Clock) -> Case:
    """Change what the catalogue and the gate look at (type, amount, measures, hearing, …) and
    evaluate the flag again in the same transaction."""
    unknown = set(changes) - set(FACT_FIELDS)
    if unknown:
        raise ValueError(f"not case facts: {sorted(unknown)}")
    await _case(agency_id, case_id)
    async with in_transaction():
        case = await Case.filter(id=case_id).select_for_update().get()
        if case.status not in FACTS_OPEN:
            raise Conflict("案件已作出决定、已移送或已结案，案情要素不能再修改", code="case_facts_locked")
        before = {f: _plain(getattr(case, f)) for f in changes}
        for name, value in changes.items():
            if name == "measures":
                value = sorted({Measure(m).value for m in value})
            setattr(case, name, value)
        await case.save(update_fields=[*changes, "updated_at"])
        await evaluate(case, clock.today())
        await audit.record(actor, "case.update_facts", "case", case.id, agency_id=agency_id,
                           data={"before": before, "after": {f: _plain(getattr(case, f)) for f in changes},
                                 "is_major": case.is_major})
    return case


async def hearing_recorded(case: Case, day: date) -> None:
    """A hearing step was recorded (听证): the case has had a hearing; evaluate the flag again. The
    caller holds the case row in its transaction."""
    if not case.hearing_held:
        case.hearing_held = True
        await case.save(update_fields=["hearing_held", "updated_at"])
        await evaluate(case, day)


async def flag_by_hand(agency_id: uuid.UUID, case_id: uuid.UUID, major: bool, reason: str, role: Role,
                       actor: str, clock: Clock, *, key_id: uuid.UUID | None = None) -> Case:
    """An officer flags a case major by hand; only a legal reviewer lifts that flag, one who may review
    the case (``reviewers.check`` on the key ``key_id``: not its officers, not its handling unit). A
    flag the catalogue set cannot be lifted by anyone: change the facts or the catalogue instead."""
    await _case(agency_id, case_id)
    async with in_transaction():
        case = await Case.filter(id=case_id).select_for_update().get()
        if major:
            case.major_by_hand, case.major_hand_reason = True, reason
        else:
            if role is not Role.REVIEWER:
                raise Forbidden("只有法制审核人员可以取消人工标记的重大案件", code="major_lift_reviewer_only")
            await reviewers.check(key_id, case)
            if not case.major_by_hand:
                if case.major_by_catalogue:
                    raise Conflict("该案件依目录清单认定为重大，不能人工取消", code="major_set_by_catalogue")
                raise Conflict("该案件没有人工标记", code="major_not_flagged")
            case.major_by_hand, case.major_hand_reason = False, ""
        await case.save(update_fields=["major_by_hand", "major_hand_reason", "updated_at"])
        await evaluate(case, clock.today())
        await audit.record(actor, "case.flag_major" if major else "case.lift_major", "case", case.id,
                           agency_id=agency_id, data={"reason": reason, "is_major": case.is_major})
    return case


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, CaseType):
        return value.value
    return value
