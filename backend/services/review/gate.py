"""The hard gate (R-L2): no decision on a major case is registered or published without a passing
review of exactly that decision.

``check`` is called by ``services/decisions.py`` inside the transaction that registers, publishes or
corrects a decision, holding the case row. It evaluates the case's flag again against the catalogue
in effect today (so a catalogue change cannot be slipped past), then for a major case requires:

- the latest agency-level round passed (approved, or approved by the head's collective discussion);
- for a decision in the district government's name, the government-level review of that round too;
- the decision and the case's facts still what was reviewed: type, amount, measures (``review_stale``).

A case whose facts are not major is still refused when the decision itself (its type, amount and
measures with the case's other facts) matches the catalogue: what is decided is what is judged.

A referred case (移送) is decided by no one here: ``case_referred``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from backend.errors import Conflict
from backend.models import Case, LegalReview
from backend.models.enums import CaseStatus, CaseType, ReviewLevel
from backend.services.review import catalogue
from backend.services.review.reviews import passed

FIELD_WORDS = {"type": "决定类型", "amount": "金额", "measures": "处理措施"}


@dataclass(frozen=True)
class Proposed:
    """What a decision imposes: compared with what the review approved."""

    type: CaseType
    amount: Decimal | None
    measures: frozenset[str]
    in_government_name: bool = False


def _differences(reviewed: dict[str, Any], what: Proposed) -> list[str]:
    amount = reviewed.get("amount")
    diffs = []
    if reviewed.get("decision_type") != what.type.value:
        diffs.append("type")
    if (Decimal(str(amount)) if amount is not None else None) != what.amount:
        diffs.append("amount")
    if frozenset(reviewed.get("measures") or []) != what.measures:
        diffs.append("measures")
    return diffs


async def check(case: Case, decision: Proposed, today: date) -> LegalReview | None:
    """Refuse the decision unless the law lets it through; the passing review when one was needed."""
    if case.status is CaseStatus.REFERRED:
        raise Conflict(f"该案件已移送{case.referred_to}，本机关不能作出决定", code="case_referred")
    await catalogue.evaluate(case, today)
    if not case.is_major:
        decided = await catalogue.reasons_for_decision(case, decision.type, decision.amount, decision.measures, today)
        if not decided:
            return None
        # The case's own facts are below the catalogue but the decision is not: it needs the review too.
        raise Conflict("拟作出的决定属于重大执法决定（" + "；".join(r["text"] for r in decided)
                       + "），须经法制审核通过后方可作出和公示", code="review_required",
                       details=[{"level": ReviewLevel.AGENCY.value}])
    review = await LegalReview.filter(case_id=case.id, level=ReviewLevel.AGENCY).order_by("-round").first()
    if review is None or not passed(review):
        raise Conflict("重大执法决定须经法制审核通过后方可作出和公示", code="review_required",
                       details=[{"level": ReviewLevel.AGENCY.value}])
    if review.in_government_name or decision.in_government_name:
        second = await LegalReview.filter(case_id=case.id, level=ReviewLevel.GOVERNMENT, round=review.round).first()
        if second is None or not passed(second):
            raise Conflict("以区政府名义作出的重大执法决定，还须经区政府法制机构审核通过",
                           code="review_required", details=[{"level": ReviewLevel.GOVERNMENT.value}])
    facts = Proposed(case.type, case.amount, frozenset(case.measures))
    diffs = sorted(set(_differences(review.proposal, decision)) | set(_differences(review.proposal, facts)))
    if diffs:
        raise Conflict("决定与法制审核通过的内容不一致（" + "、".join(FIELD_WORDS[d] for d in diffs)
                       + "），须重新提交审核", code="review_stale", details=[{"field": d} for d in diffs])
    return review
