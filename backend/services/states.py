"""Explicit transition tables for every state field; one function applies them.

An action that the table does not allow from the current state is an ``IllegalTransition`` with a
stable code, never an if-chain in a handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from backend.errors import IllegalTransition
from backend.models.enums import (
    CaseStatus,
    ComplaintStatus,
    CredentialStatus,
    DecisionStatus,
    NotificationStatus,
    PublishState,
    ReviewStatus,
)

S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class Machine(Generic[S]):
    name: str
    # action -> {from state: to state}
    table: Mapping[str, Mapping[S, S]]

    def next(self, current: S, action: str) -> S:
        moves = self.table.get(action)
        if moves is None:
            raise ValueError(f"{self.name}: unknown action {action!r}")
        target = moves.get(current)
        if target is None:
            raise IllegalTransition(
                f"当前状态（{current.value}）不允许执行“{action}”操作",
                code=f"{self.name}_{action}_not_allowed",
            )
        return target

    def allowed(self, current: S) -> list[str]:
        return [action for action, moves in self.table.items() if current in moves]


C = CredentialStatus
CREDENTIAL = Machine[CredentialStatus]("credential", {
    "suspend": {C.VALID: C.SUSPENDED},
    "reinstate": {C.SUSPENDED: C.VALID},
    "revoke": {C.VALID: C.REVOKED, C.SUSPENDED: C.REVOKED, C.EXPIRED: C.REVOKED},
    "expire": {C.VALID: C.EXPIRED, C.SUSPENDED: C.EXPIRED},
    # Reissue voids the old card; its successor is a new credential row.
    "reissue": {C.VALID: C.VOID, C.SUSPENDED: C.VOID},
})

K = CaseStatus
CASE = Machine[CaseStatus]("case", {
    "investigate": {K.OPEN: K.INVESTIGATING},
    "submit_review": {K.OPEN: K.IN_REVIEW, K.INVESTIGATING: K.IN_REVIEW},
    "return_from_review": {K.IN_REVIEW: K.INVESTIGATING},
    "decide": {K.OPEN: K.DECIDED, K.INVESTIGATING: K.DECIDED, K.IN_REVIEW: K.DECIDED},
    "execute": {K.DECIDED: K.EXECUTING},
    "close": {K.OPEN: K.CLOSED, K.INVESTIGATING: K.CLOSED, K.DECIDED: K.CLOSED, K.EXECUTING: K.CLOSED},
})

R = ReviewStatus
REVIEW = Machine[ReviewStatus]("review", {
    "approve": {R.SUBMITTED: R.APPROVED},
    "request_correction": {R.SUBMITTED: R.CORRECTION_REQUESTED},
    "refer": {R.SUBMITTED: R.REFERRED},
    "object": {R.CORRECTION_REQUESTED: R.DISPUTED, R.REFERRED: R.DISPUTED},
    "head_decide": {R.DISPUTED: R.HEAD_DECIDED},
})

D = DecisionStatus
DECISION = Machine[DecisionStatus]("decision", {
    "publish": {D.DRAFT: D.PUBLISHED},
    "correct": {D.PUBLISHED: D.CORRECTED, D.CORRECTED: D.CORRECTED},
    "withdraw": {D.PUBLISHED: D.WITHDRAWN, D.CORRECTED: D.WITHDRAWN},
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

N = NotificationStatus
NOTIFICATION = Machine[NotificationStatus]("notification", {
    "claim": {N.PENDING: N.SENDING},
    # Back to pending for a retry after a retryable failure (or a crash found by the sweeper).
    "retry": {N.SENDING: N.PENDING},
    # Back to pending until a later time without it counting as an attempt (the daily cap).
    "defer": {N.SENDING: N.PENDING},
    "accepted": {N.SENDING: N.SENT},
    "delivered": {N.SENT: N.DELIVERED, N.SENDING: N.DELIVERED},
    "fail": {N.PENDING: N.FAILED, N.SENDING: N.FAILED, N.SENT: N.FAILED},
    "fall_back": {N.PENDING: N.SUPERSEDED, N.SENDING: N.SUPERSEDED, N.FAILED: N.SUPERSEDED},
})

Pub = PublishState
# The review-before-publication of register items (R-D4): power lists, guides, agency facts.
REGISTER_ITEM = Machine[PublishState]("register_item", {
    "submit": {Pub.DRAFT: Pub.PENDING_REVIEW, Pub.REJECTED: Pub.PENDING_REVIEW},
    "approve": {Pub.PENDING_REVIEW: Pub.PUBLISHED},
    "reject": {Pub.PENDING_REVIEW: Pub.REJECTED},
    "retire": {Pub.PUBLISHED: Pub.RETIRED},
})

MACHINES: tuple[Machine, ...] = (CREDENTIAL, CASE, REVIEW, DECISION, COMPLAINT, NOTIFICATION, REGISTER_ITEM)
