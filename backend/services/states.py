"""Explicit transition tables for the domain's state fields (mechanism: ``backend.statemachine``).

An action that the table does not allow from the current state is an ``IllegalTransition`` with a
stable code, never an if-chain in a handler.
"""

from __future__ import annotations

from backend.models.enums import (
    CaseStatus,
    ComplaintStatus,
    CredentialStatus,
    DecisionStatus,
    PublishState,
    RectificationStatus,
    RemedyState,
    ReviewStatus,
    StatisticsStatus,
)
from backend.statemachine import Machine
from notifications.states import NOTIFICATION

C = CredentialStatus
CREDENTIAL = Machine[CredentialStatus]("credential", {
    "suspend": {C.VALID: C.SUSPENDED},
    "reinstate": {C.SUSPENDED: C.VALID},
    "revoke": {C.VALID: C.REVOKED, C.SUSPENDED: C.REVOKED, C.EXPIRED: C.REVOKED},
    "expire": {C.VALID: C.EXPIRED, C.SUSPENDED: C.EXPIRED},
    # Reissue voids the old card; its successor is a new credential row.
    "reissue": {C.VALID: C.VOID, C.SUSPENDED: C.VOID},
    # The holder left the agency (officer status departed): every card of theirs is void at once.
    "officer_departed": {C.VALID: C.VOID, C.SUSPENDED: C.VOID, C.EXPIRED: C.VOID},
})

K = CaseStatus
CASE = Machine[CaseStatus]("case", {
    "investigate": {K.OPEN: K.INVESTIGATING},
    # A new round (a correction, or a proposal changed after approval) is submitted from review too.
    "submit_review": {K.OPEN: K.IN_REVIEW, K.INVESTIGATING: K.IN_REVIEW, K.IN_REVIEW: K.IN_REVIEW},
    "return_from_review": {K.IN_REVIEW: K.INVESTIGATING},
    # 移送 after a review (or the head's decision): this agency decides nothing more on the case.
    "refer": {K.IN_REVIEW: K.REFERRED, K.INVESTIGATING: K.REFERRED},
    "decide": {K.OPEN: K.DECIDED, K.INVESTIGATING: K.DECIDED, K.IN_REVIEW: K.DECIDED},
    "execute": {K.DECIDED: K.EXECUTING},
    "close": {K.OPEN: K.CLOSED, K.INVESTIGATING: K.CLOSED, K.DECIDED: K.CLOSED, K.EXECUTING: K.CLOSED,
              K.REFERRED: K.CLOSED},
})

R = ReviewStatus
REVIEW = Machine[ReviewStatus]("review", {
    "approve": {R.SUBMITTED: R.APPROVED},
    "request_correction": {R.SUBMITTED: R.CORRECTION_REQUESTED},
    "refer": {R.SUBMITTED: R.REFERRED},
    # The handling unit disagrees with a request for correction; a referral is final for this agency.
    "object": {R.CORRECTION_REQUESTED: R.DISPUTED},
    "head_decide": {R.DISPUTED: R.HEAD_DECIDED},
})

D = DecisionStatus
DECISION = Machine[DecisionStatus]("decision", {
    "publish": {D.DRAFT: D.PUBLISHED},
    "correct": {D.PUBLISHED: D.CORRECTED, D.CORRECTED: D.CORRECTED},
    "withdraw": {D.PUBLISHED: D.WITHDRAWN, D.CORRECTED: D.WITHDRAWN},
    # The publication period is over: by itself at its maximum, or early by a credit repair (信用修复).
    "end": {D.PUBLISHED: D.ENDED, D.CORRECTED: D.ENDED},
    "credit_repair": {D.PUBLISHED: D.ENDED, D.CORRECTED: D.ENDED},
})

P = ComplaintStatus
COMPLAINT = Machine[ComplaintStatus]("complaint", {
    "acknowledge": {P.SUBMITTED: P.ACKNOWLEDGED},
    "handle": {P.ACKNOWLEDGED: P.HANDLING, P.SUBMITTED: P.HANDLING},
    "answer": {P.HANDLING: P.ANSWERED, P.ACKNOWLEDGED: P.ANSWERED, P.ESCALATED: P.ANSWERED},
    "escalate": {P.SUBMITTED: P.ESCALATED, P.ACKNOWLEDGED: P.ESCALATED, P.HANDLING: P.ESCALATED,
                 P.ANSWERED: P.ESCALATED},
    "close": {P.ANSWERED: P.CLOSED},
})

X = RectificationStatus
# An order to rectify (R-X3). "order" is the creation; the agency answers (again after a return, and
# late after the escalation); the supervisor accepts or returns an answer; the periodic job
# escalates an unanswered order past its date to the government level, once (escalated_at).
RECTIFICATION = Machine[RectificationStatus]("rectification", {
    "answer": {X.ORDERED: X.ANSWERED, X.RETURNED: X.ANSWERED, X.ESCALATED: X.ANSWERED},
    "accept": {X.ANSWERED: X.ACCEPTED},
    "return": {X.ANSWERED: X.RETURNED},
    "escalate": {X.ORDERED: X.ESCALATED, X.RETURNED: X.ESCALATED},
})

Pub = PublishState
# A version of a register item (R-D4: 未经审查不得发布): reviewed before it is public. Its content never
# changes: a returned version stays returned and a new version carries the fix; a newer version made
# before this one was public supersedes it (services/registers).
REGISTER_ITEM = Machine[PublishState]("register_item", {
    "submit": {Pub.DRAFT: Pub.PENDING_REVIEW},
    "approve": {Pub.PENDING_REVIEW: Pub.APPROVED},
    "return": {Pub.PENDING_REVIEW: Pub.REJECTED},
    "publish": {Pub.APPROVED: Pub.PUBLISHED},
    "supersede": {Pub.DRAFT: Pub.SUPERSEDED, Pub.PENDING_REVIEW: Pub.SUPERSEDED, Pub.APPROVED: Pub.SUPERSEDED,
                  Pub.REJECTED: Pub.SUPERSEDED},
})

Rm = RemedyState
# A reconsideration or lawsuit (services/remedies.py): an outcome decides it; an appeal or a retrial
# (上诉、再审) reopens a decided one. The proceeding's first entry (its filing) starts it, pending or decided.
REMEDY = Machine[RemedyState]("remedy", {
    "decide": {Rm.PENDING: Rm.DECIDED, Rm.DECIDED: Rm.DECIDED},
    "reopen": {Rm.DECIDED: Rm.PENDING},
})

St = StatisticsStatus
# The annual report (services/statistics.py): each submission freezes a new version for the
# supervisor; publishing makes the latest submitted version public. A published report is corrected by
# submitting again (the public keeps seeing the last published version until the correction is published).
STATISTICS = Machine[StatisticsStatus]("statistics", {
    "submit": {St.DRAFT: St.SUBMITTED, St.SUBMITTED: St.SUBMITTED, St.PUBLISHED: St.SUBMITTED},
    "publish": {St.SUBMITTED: St.PUBLISHED},
})

MACHINES: tuple[Machine, ...] = (CREDENTIAL, CASE, REVIEW, DECISION, COMPLAINT, RECTIFICATION, NOTIFICATION,
                                 REGISTER_ITEM, REMEDY, STATISTICS)
