"""The mechanism of every transition table: a machine of states and actions, applied in one place.

An action that the table does not allow from the current state is an ``IllegalTransition`` with a
stable code, never an if-chain in a handler. The tables live with what they govern:
``backend.services.states`` (credentials, cases, reviews, decisions, complaints, rectifications, register
items)
and ``notifications.states`` (delivery).
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
    RectificationStatus,
    RemedyState,
    ReviewStatus,
    Role,
    StatisticsStatus,
)

S = TypeVar("S", bound=StrEnum)

# What users read: error messages name states, actions and roles in Chinese, never the stored values.
# Keyed by the enum and its value: members of different enums share values ("draft", "pending",
# "published"), and StrEnum members with equal values are one dict key.
_STATE_WORD_LIST: tuple[tuple[StrEnum, str], ...] = (
    (CredentialStatus.VALID, "有效"), (CredentialStatus.SUSPENDED, "暂扣"), (CredentialStatus.REVOKED, "注销"),
    (CredentialStatus.EXPIRED, "已过期"), (CredentialStatus.VOID, "已作废"),
    (CredentialStatus.NOT_YET_VALID, "未生效"), (CaseStatus.OPEN, "已立案"), (CaseStatus.INVESTIGATING, "调查中"),
    (CaseStatus.IN_REVIEW, "法制审核中"), (CaseStatus.DECIDED, "已决定"), (CaseStatus.EXECUTING, "执行中"),
    (CaseStatus.CLOSED, "已结案"), (CaseStatus.REFERRED, "已移送"), (ReviewStatus.SUBMITTED, "已提交审核"),
    (ReviewStatus.APPROVED, "审核通过"), (ReviewStatus.CORRECTION_REQUESTED, "要求补正"),
    (ReviewStatus.REFERRED, "已移送"), (ReviewStatus.DISPUTED, "有异议"), (ReviewStatus.HEAD_DECIDED, "负责人已决定"),
    (DecisionStatus.DRAFT, "草稿"), (DecisionStatus.PUBLISHED, "公示中"), (DecisionStatus.CORRECTED, "已更正"),
    (DecisionStatus.WITHDRAWN, "已撤回"), (DecisionStatus.ENDED, "公示期已结束"),
    (ComplaintStatus.SUBMITTED, "已提交"), (ComplaintStatus.ACKNOWLEDGED, "已受理"),
    (ComplaintStatus.HANDLING, "办理中"), (ComplaintStatus.ANSWERED, "已答复"), (ComplaintStatus.ESCALATED, "已上报"),
    (ComplaintStatus.CLOSED, "已办结"), (NotificationStatus.PENDING, "待发送"),
    (NotificationStatus.SENDING, "发送中"), (NotificationStatus.SENT, "已发送"),
    (NotificationStatus.DELIVERED, "已送达"), (NotificationStatus.FAILED, "发送失败"),
    (NotificationStatus.SUPERSEDED, "已改用其他渠道"), (PublishState.DRAFT, "草稿"),
    (PublishState.PENDING_REVIEW, "待审核"), (PublishState.APPROVED, "审核通过待公开"),
    (PublishState.PUBLISHED, "已公开"), (PublishState.REJECTED, "已退回"),
    (PublishState.SUPERSEDED, "已被新版本取代"), (PublishState.RETIRED, "已停止公开"),
    (RectificationStatus.ORDERED, "待整改"), (RectificationStatus.ANSWERED, "已书面答复"),
    (RectificationStatus.RETURNED, "答复被退回"), (RectificationStatus.ESCALATED, "已提请政府督办"),
    (RectificationStatus.ACCEPTED, "整改已认可"), (RemedyState.PENDING, "审理中"),
    (RemedyState.DECIDED, "已作出结果"), (StatisticsStatus.DRAFT, "未报送"), (StatisticsStatus.SUBMITTED, "已报送"),
    (StatisticsStatus.PUBLISHED, "已公开"),
)
STATE_WORDS: dict[tuple[type, str], str] = {(type(state), state.value): word for state, word in _STATE_WORD_LIST}


def state_word(state: StrEnum) -> str:
    """What users read for a stored state."""
    return STATE_WORDS.get((type(state), state.value), "未知")


ROLE_WORDS: dict[Role, str] = {Role.ADMIN: "机构管理员", Role.OFFICER: "执法人员", Role.REVIEWER: "法制审核人员",
                               Role.HEAD: "机关负责人", Role.SUPERVISOR: "执法监督机构",
                               Role.INTEGRATOR: "对接系统（Open311）"}
ACTION_WORDS: dict[str, str] = {
    "suspend": "暂扣", "reinstate": "恢复", "revoke": "注销", "expire": "到期失效", "reissue": "补发换证",
    "investigate": "开始调查", "submit_review": "提交法制审核", "return_from_review": "退回补充调查",
    "decide": "作出决定", "execute": "执行", "close": "结案",
    "approve": "通过", "request_correction": "要求补正", "refer": "移送", "object": "提出异议",
    "head_decide": "由负责人决定",
    "publish": "公示", "correct": "更正", "withdraw": "撤回", "end": "公示期满结束", "credit_repair": "信用修复",
    "acknowledge": "受理", "handle": "办理", "answer": "答复", "escalate": "上报",
    "claim": "领取发送", "retry": "重试", "defer": "推迟发送", "officer_departed": "因持证人离岗作废",
    "accepted": "标记为已发送", "delivered": "标记为已送达",
    "fail": "标记为失败", "fall_back": "改用其他渠道", "submit": "提交审核", "return": "退回",
    "supersede": "由新版本取代", "accept": "认可整改",
    # Where an action reads differently for one machine: "<machine>.<action>".
    "remedy.decide": "登记结果", "remedy.reopen": "登记上诉或再审",
    "statistics.submit": "报送", "statistics.publish": "公开",
}
SUBJECT_WORDS: dict[str, str] = {"credential": "该证件", "case": "该案件", "review": "该审核", "decision": "该决定",
                                 "complaint": "该投诉", "notification": "该通知", "register_item": "该公开事项",
                                 "rectification": "该整改", "remedy": "该复议或诉讼", "statistics": "该统计年报"}




@dataclass(frozen=True)
class Machine(Generic[S]):
    name: str
    # action -> {from state: to state}
    table: Mapping[str, Mapping[S, S]]

    def refusal(self, current: S, action: str) -> str:
        subject = SUBJECT_WORDS.get(self.name, "该事项")
        return (f"{subject}当前状态为“{state_word(current)}”，"
                f"不能{ACTION_WORDS.get(f'{self.name}.{action}', ACTION_WORDS.get(action, '执行此操作'))}")

    def next(self, current: S, action: str) -> S:
        moves = self.table.get(action)
        if moves is None:
            raise ValueError(f"{self.name}: unknown action {action!r}")
        target = moves.get(current)
        if target is None:
            raise IllegalTransition(self.refusal(current, action), code=f"{self.name}_{action}_not_allowed")
        return target

    def allowed(self, current: S) -> list[str]:
        return [action for action, moves in self.table.items() if current in moves]
