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
    Role,
)

S = TypeVar("S", bound=StrEnum)


# What users read: error messages name states, actions and roles in Chinese, never the stored values.
STATE_WORDS: dict[StrEnum, str] = {
    CredentialStatus.VALID: "有效", CredentialStatus.SUSPENDED: "暂扣", CredentialStatus.REVOKED: "注销",
    CredentialStatus.EXPIRED: "已过期", CredentialStatus.VOID: "已作废",
    CaseStatus.OPEN: "已立案", CaseStatus.INVESTIGATING: "调查中", CaseStatus.IN_REVIEW: "法制审核中",
    CaseStatus.DECIDED: "已决定", CaseStatus.EXECUTING: "执行中", CaseStatus.CLOSED: "已结案",
    ReviewStatus.SUBMITTED: "已提交审核", ReviewStatus.APPROVED: "审核通过",
    ReviewStatus.CORRECTION_REQUESTED: "要求补正", ReviewStatus.REFERRED: "已移送",
    ReviewStatus.DISPUTED: "有异议", ReviewStatus.HEAD_DECIDED: "负责人已决定",
    DecisionStatus.DRAFT: "草稿", DecisionStatus.PUBLISHED: "公示中", DecisionStatus.CORRECTED: "已更正",
    DecisionStatus.WITHDRAWN: "已撤回",
    ComplaintStatus.SUBMITTED: "已提交", ComplaintStatus.ACKNOWLEDGED: "已受理", ComplaintStatus.HANDLING: "办理中",
    ComplaintStatus.ANSWERED: "已答复", ComplaintStatus.ESCALATED: "已上报", ComplaintStatus.CLOSED: "已办结",
    NotificationStatus.PENDING: "待发送", NotificationStatus.SENDING: "发送中", NotificationStatus.SENT: "已发送",
    NotificationStatus.DELIVERED: "已送达", NotificationStatus.FAILED: "发送失败",
    NotificationStatus.SUPERSEDED: "已改用其他渠道",
    PublishState.DRAFT: "草稿", PublishState.PENDING_REVIEW: "待审核", PublishState.PUBLISHED: "已公开",
    PublishState.REJECTED: "已退回", PublishState.RETIRED: "已停止公开",
}
ROLE_WORDS: dict[Role, str] = {Role.ADMIN: "机构管理员", Role.OFFICER: "执法人员", Role.REVIEWER: "法制审核人员",
                               Role.HEAD: "机关负责人", Role.SUPERVISOR: "执法监督机构"}
ACTION_WORDS: dict[str, str] = {
    "suspend": "暂扣", "reinstate": "恢复", "revoke": "注销", "expire": "到期失效", "reissue": "补发换证",
    "investigate": "开始调查", "submit_review": "提交法制审核", "return_from_review": "退回补充调查",
    "decide": "作出决定", "execute": "执行", "close": "结案",
    "approve": "通过", "request_correction": "要求补正", "refer": "移送", "object": "提出异议",
    "head_decide": "由负责人决定",
    "publish": "公示", "correct": "更正", "withdraw": "撤回",
    "acknowledge": "受理", "handle": "办理", "answer": "答复", "escalate": "上报",
    "claim": "领取发送", "retry": "重试", "accepted": "标记为已发送", "delivered": "标记为已送达",
    "fail": "标记为失败", "fall_back": "改用其他渠道", "submit": "提交审核", "reject": "退回", "retire": "停止公开",
}
SUBJECT_WORDS: dict[str, str] = {"credential": "该证件", "case": "该案件", "review": "该审核", "decision": "该决定",
                                 "complaint": "该投诉", "notification": "该通知", "register": "该公开事项"}


@dataclass(frozen=True)
class Machine(Generic[S]):
    name: str
    # action -> {from state: to state}
    table: Mapping[str, Mapping[S, S]]

    def refusal(self, current: S, action: str) -> str:
        subject = SUBJECT_WORDS.get(self.name, "该事项")
        return (f"{subject}当前状态为“{STATE_WORDS.get(current, '未知')}”，"
                f"不能{ACTION_WORDS.get(action, '执行此操作')}")

    def next(self, current: S, action: str) -> S:
        moves = self.table.get(action)
        if moves is None:
            raise ValueError(f"{self.name}: unknown action {action!r}")
        target = moves.get(current)
        if target is None:
            raise IllegalTransition(
                self.refusal(current, action),
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
    "accepted": {N.SENDING: N.SENT},
    "delivered": {N.SENT: N.DELIVERED, N.SENDING: N.DELIVERED},
    "fail": {N.PENDING: N.FAILED, N.SENDING: N.FAILED, N.SENT: N.FAILED},
    "fall_back": {N.PENDING: N.SUPERSEDED, N.SENDING: N.SUPERSEDED, N.FAILED: N.SUPERSEDED},
})

Pub = PublishState
PUBLICATION = Machine[PublishState]("register", {
    "submit": {Pub.DRAFT: Pub.PENDING_REVIEW, Pub.REJECTED: Pub.PENDING_REVIEW},
    "approve": {Pub.PENDING_REVIEW: Pub.PUBLISHED},
    "reject": {Pub.PENDING_REVIEW: Pub.REJECTED},
    "retire": {Pub.PUBLISHED: Pub.RETIRED},
})

MACHINES: tuple[Machine, ...] = (CREDENTIAL, CASE, REVIEW, DECISION, COMPLAINT, NOTIFICATION, PUBLICATION)
