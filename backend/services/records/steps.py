"""What each step of a case demands, as one table (R-R1..R-R3), and the check of a step against it.

Pure rules, no database: ``entries.add_step`` gathers the facts (officers and their cards at the
moment of the step, the evidence) and calls ``check``; every refusal is a stable 4xx code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from backend.errors import ValidationFailed
from backend.models.enums import CaseType, EvidenceKind, RecordStep, ServiceMethod, SignatureState

S = RecordStep


class AV(Enum):
    REQUIRED = "required"  # R-R2: seizure, forced execution, acts touching personal liberty
    RECOMMENDED = "recommended"  # on-site enforcement, evidence collection, hearings, …


@dataclass(frozen=True)
class StepRule:
    words: str
    by_agency: bool = True  # False: written by the service itself (publication, notices)
    field_work: bool = False  # done facing the party: two officers in penalty and coercion cases
    always_two: bool = False  # a coercive measure: two officers whatever the case type
    signature: bool = False  # touches the party's rights: signed, or the refusal noted (R-R3)
    av: AV | None = None


STEPS: dict[RecordStep, StepRule] = {
    S.START: StepRule("受理/立案"),
    S.INVESTIGATION: StepRule("调查", field_work=True),
    S.EVIDENCE: StepRule("取证", field_work=True, av=AV.RECOMMENDED),
    S.ON_SITE: StepRule("现场检查", field_work=True, signature=True, av=AV.RECOMMENDED),
    S.INTERVIEW: StepRule("询问", field_work=True, signature=True),
    S.NOTICE_OF_RIGHTS: StepRule("告知", field_work=True),
    S.STATEMENT: StepRule("陈述申辩", field_work=True),
    S.HEARING: StepRule("听证", field_work=True, signature=True, av=AV.RECOMMENDED),
    S.SEIZURE: StepRule("查封扣押", field_work=True, always_two=True, signature=True, av=AV.REQUIRED),
    S.LIBERTY_RESTRICTION: StepRule("限制人身自由", field_work=True, always_two=True, signature=True,
                                    av=AV.REQUIRED),
    S.LEGAL_REVIEW: StepRule("法制审核"),
    S.DECISION: StepRule("作出决定"),
    S.SERVICE: StepRule("送达", field_work=True),
    S.EXECUTION: StepRule("执行", field_work=True),
    S.FORCED_EXECUTION: StepRule("强制执行", field_work=True, always_two=True, av=AV.REQUIRED),
    S.CLOSURE: StepRule("结案"),
    S.PUBLICATION: StepRule("公示", by_agency=False),
    S.NOTICE: StepRule("机构通知", by_agency=False),
}
assert set(STEPS) == set(RecordStep), "every step has its rule"

AGENCY_STEPS = tuple(step for step, rule in STEPS.items() if rule.by_agency)
# 行政处罚法第四十二条、行政强制法第十八条: 执法人员不得少于两人.
TWO_OFFICER_CASES = frozenset({CaseType.PENALTY, CaseType.COERCION})
# Service that leaves the party no chance to sign is recommended on video (R-R2).
AV_RECOMMENDED_SERVICE = frozenset({ServiceMethod.LIEN, ServiceMethod.PUBLIC_NOTICE})


@dataclass(frozen=True)
class OfficerAtStep:
    """An officer named on a step, as they were at that moment."""

    name: str
    enforcement: bool  # a 执法人员 (auxiliary staff never count towards the two)
    credential_valid: bool  # held a card in force at the moment of the step


def needs_two_officers(step: RecordStep, case_type: CaseType) -> bool:
    rule = STEPS[step]
    return rule.always_two or (rule.field_work and case_type in TWO_OFFICER_CASES)


def av_expected(step: RecordStep, service_method: ServiceMethod | None) -> AV | None:
    rule = STEPS[step]
    if step is S.SERVICE and service_method in AV_RECOMMENDED_SERVICE:
        return AV.RECOMMENDED
    return rule.av


def check(step: RecordStep, case_type: CaseType, officers: list[OfficerAtStep], signature: SignatureState,
          refusal_note: str, evidence_kinds: list[EvidenceKind], service_method: ServiceMethod | None) -> None:
    """Refuse a step that breaks a rule; each refusal names the rule in Chinese and a stable code."""
    rule = STEPS[step]
    if not rule.by_agency:
        raise ValidationFailed(f"“{rule.words}”记录由系统自动生成，不能手工添加", code="step_not_allowed")
    if service_method is not None and step is not S.SERVICE:
        raise ValidationFailed("只有送达记录可以填写送达方式", code="service_method_not_allowed")
    if needs_two_officers(step, case_type):
        lapsed = [o.name for o in officers if o.enforcement and not o.credential_valid]
        if lapsed:
            raise ValidationFailed(f"以下执法人员在该时间没有有效的执法证件：{'、'.join(lapsed)}",
                                   code="credential_not_valid")
        if sum(1 for o in officers if o.enforcement) < 2:
            raise ValidationFailed(f"“{rule.words}”须由两名以上持有有效执法证件的执法人员实施",
                                   code="officers_insufficient")
    if rule.signature and signature is SignatureState.NOT_REQUIRED:
        raise ValidationFailed(f"“{rule.words}”记录须由当事人签名，或由执法人员注明当事人拒绝签名",
                               code="signature_required")
    if signature is SignatureState.REFUSED and not refusal_note.strip():
        raise ValidationFailed("当事人拒绝签名的，执法人员须注明情况", code="refusal_note_required")
    if signature is not SignatureState.REFUSED and refusal_note.strip():
        raise ValidationFailed("只有当事人拒绝签名时才填写拒签说明", code="refusal_note_not_allowed")
    if rule.av is AV.REQUIRED and EvidenceKind.AUDIO_VIDEO not in evidence_kinds:
        raise ValidationFailed(f"“{rule.words}”必须有音像记录（请先上传音像证据并在记录中引用）",
                               code="av_required")
