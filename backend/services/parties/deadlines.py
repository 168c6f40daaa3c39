"""The deadlines that matter to a party, by decision type, from the dates of the case (pure rules).

- 陈述、申辩 (statement and defence): 3 days after the 告知 (the record step ``notice_of_rights``);
  听证申请 (hearing request): 5 days after it (《行政处罚法》第六十四条), for penalties of the kinds
  第六十三条 lists (fines, confiscation, licence revocation, suspension of business). 《行政处罚法》
  第八十五条 makes its 三日/五日 working days, counted on the official calendar
  (``services/calendar.py``). Penalty cases only.
- 行政复议 (reconsideration): 60 calendar days (《行政复议法》第二十条); 行政诉讼 (litigation): 6 months
  (《行政诉讼法》第四十六条), both for the decision types that carry appeal wording
  (``notifications.templates.remedies_apply``: penalty, coercion, collection).

Periods run from the day after the start day (the start day itself is not counted). The law runs
the remedies from the day the party learns of the decision (its service); we count from the
decision date, which is never later, so the date shown is never later than the real one. A period
ending on a holiday is not extended here (no holiday calendar yet).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from backend.models.enums import CaseType, Measure
from backend.services.calendar import Calendar, add_months
from notifications.templates import remedies_apply

Kind = Literal["statement", "hearing_request", "reconsideration", "litigation"]

STATEMENT_WORKING_DAYS = 3
HEARING_WORKING_DAYS = 5
RECONSIDERATION_DAYS = 60
LITIGATION_MONTHS = 6
# 《行政处罚法》第六十三条: the penalties a party may ask a hearing for.
HEARING_MEASURES = frozenset({Measure.FINE, Measure.CONFISCATION, Measure.LICENCE_REVOCATION,
                              Measure.BUSINESS_SUSPENSION})


@dataclass(frozen=True)
class Deadline:
    kind: Kind
    label: str
    starts_on: date  # the day the period runs from (not counted)
    due_on: date  # the last day
    unit: Literal["working_days", "days", "months"]
    length: int
    law: str
    decision_id: uuid.UUID | None = None

    def days_left(self, today: date) -> int:
        return (self.due_on - today).days


def before_decision(cal: Calendar, case_type: CaseType, measures: Iterable[str], notified_on: date) -> list[Deadline]:
    """Statement and hearing request, from the day the party was told of the intended penalty."""
    if case_type is not CaseType.PENALTY:
        return []
    out = [Deadline("statement", "陈述、申辩", notified_on, cal.add(notified_on, STATEMENT_WORKING_DAYS).on,
                    "working_days", STATEMENT_WORKING_DAYS, "《中华人民共和国行政处罚法》第四十五条、第八十五条")]
    if any(m in HEARING_MEASURES for m in measures):
        out.append(Deadline("hearing_request", "申请听证", notified_on,
                            cal.add(notified_on, HEARING_WORKING_DAYS).on, "working_days",
                            HEARING_WORKING_DAYS, "《中华人民共和国行政处罚法》第六十三条、第六十四条、第八十五条"))
    return out


def after_decision(decision_type: CaseType, decided_on: date, decision_id: uuid.UUID) -> list[Deadline]:
    """Reconsideration and litigation, for decisions that can be appealed."""
    if not remedies_apply(decision_type):
        return []
    return [
        Deadline("reconsideration", "申请行政复议", decided_on, decided_on + timedelta(days=RECONSIDERATION_DAYS),
                 "days", RECONSIDERATION_DAYS, "《中华人民共和国行政复议法》第二十条", decision_id),
        Deadline("litigation", "提起行政诉讼", decided_on, add_months(decided_on, LITIGATION_MONTHS), "months",
                 LITIGATION_MONTHS, "《中华人民共和国行政诉讼法》第四十六条", decision_id),
    ]
