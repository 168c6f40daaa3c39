"""Every enumerated value stored in the database, in one place.

The transition tables that govern the state enums live in ``backend.services.states``.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # agency administrator: officers, keys, registers
    OFFICER = "officer"  # case handling: records, decisions, notices
    REVIEWER = "reviewer"  # legal-review unit (法制审核)
    HEAD = "head"  # agency head / head's meeting (负责人集体讨论)
    SUPERVISOR = "supervisor"  # 司法局 / 执法监督机构: sees every agency
    # A named system passing complaints in through Open311 (a 12345 hotline platform): it files
    # requests and reads its own, and reaches nothing of the agency API.
    INTEGRATOR = "integrator"


class AgencyKind(StrEnum):
    AGENCY = "agency"  # 执法机关
    ENTRUSTED = "entrusted"  # 受委托组织
    SUPERVISOR = "supervisor"  # supervising body that holds supervisor keys


class PublishState(StrEnum):
    """A register version (services/registers): nothing is public until an internal review approved
    it (R-D4). Table: REGISTER_ITEM in services/states.py."""

    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"  # the review passed; public once the agency publishes it
    PUBLISHED = "published"
    REJECTED = "rejected"  # returned by the review (退回); its content never changes: a new version follows
    SUPERSEDED = "superseded"  # a newer version of the item was made before this one was public
    RETIRED = "retired"


class RegisterKind(StrEnum):
    """The disclosure registers of an agency (事前公开, R-D1 and R-D3); one model, one kind each."""

    AGENCY = "agency"  # 行政执法主体资格: the agency itself (one item)
    ENTRUSTED_ORG = "entrusted_org"  # 受委托组织, with the entrustment agreement and the announcement
    POWER = "power"  # 权责清单
    INSPECTION_ITEM = "inspection_item"  # 随机抽查事项清单
    SERVICE_GUIDE = "service_guide"  # 服务指南
    FLOWCHART = "flowchart"  # 执法流程图 (structured steps)


class RegisterReviewOutcome(StrEnum):
    APPROVED = "approved"  # 审核通过
    RETURNED = "returned"  # 退回修改


class OfficerKind(StrEnum):
    ENFORCEMENT = "enforcement"  # 执法人员, may hold a credential
    AUXILIARY = "auxiliary"  # 辅助人员, never holds an enforcement credential


class OfficerStatus(StrEnum):
    ACTIVE = "active"
    DEPARTED = "departed"


class CredentialStatus(StrEnum):
    VALID = "valid"
    SUSPENDED = "suspended"  # 暂扣
    REVOKED = "revoked"  # 注销
    EXPIRED = "expired"
    VOID = "void"  # replaced by a reissued card, or its holder left the agency (已作废)
    NOT_YET_VALID = "not_yet_valid"  # shown, never stored: valid_from is still ahead (未生效)


class ScanChannel(StrEnum):
    H5 = "h5"
    MINIPROGRAM = "miniprogram"


class PartyKind(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"


class ChannelPreference(StrEnum):
    SMS = "sms"
    WECHAT = "wechat"
    BOTH = "both"
    NONE = "none"


class BindingMethod(StrEnum):
    """How a WeChat user became bound to a party of a case (mini-program)."""

    CODE = "code"  # the one-time binding code printed on the paperwork
    SMS = "sms"  # a code sent to the phone the agency recorded


class BindingEnd(StrEnum):
    """Why a binding ended."""

    REISSUED = "reissued"  # the agency issued a new binding code for the party
    REPLACED = "replaced"  # another WeChat user bound the party (by SMS code to the phone on file)
    UNBOUND = "unbound"  # the signed-in person ended it (DELETE /mp/v1/me/cases/{id})


class CaseType(StrEnum):
    PENALTY = "penalty"  # 行政处罚
    PERMIT = "permit"  # 行政许可
    COERCION = "coercion"  # 行政强制
    INSPECTION = "inspection"  # 行政检查
    COLLECTION = "collection"  # 行政征收
    OTHER = "other"


class CaseStatus(StrEnum):
    OPEN = "open"  # 受理/立案
    INVESTIGATING = "investigating"
    IN_REVIEW = "in_review"  # 法制审核中
    DECIDED = "decided"
    EXECUTING = "executing"
    CLOSED = "closed"
    REFERRED = "referred"  # transferred to the competent authority after legal review: not decided here


class CaseOfficerRole(StrEnum):
    LEAD = "lead"
    ASSISTANT = "assistant"


class RecordStep(StrEnum):
    """Steps of a case (R-R1)."""

    START = "start"  # 受理/立案
    INVESTIGATION = "investigation"  # 调查
    EVIDENCE = "evidence"  # 取证
    ON_SITE = "on_site"  # 现场检查（勘验）
    INTERVIEW = "interview"  # 询问
    NOTICE_OF_RIGHTS = "notice_of_rights"  # 告知
    STATEMENT = "statement"  # 陈述申辩
    HEARING = "hearing"  # 听证
    SEIZURE = "seizure"  # 查封扣押
    LIBERTY_RESTRICTION = "liberty_restriction"  # 限制人身自由的措施
    LEGAL_REVIEW = "legal_review"  # 法制审核
    DECISION = "decision"  # 决定
    SERVICE = "service"  # 送达
    EXECUTION = "execution"  # 执行
    FORCED_EXECUTION = "forced_execution"  # 强制执行
    CLOSURE = "closure"  # 结案
    PUBLICATION = "publication"  # written by the service when a decision is published, corrected, withdrawn
    NOTICE = "notice"  # an agency's own update to the parties


class ServiceMethod(StrEnum):
    """How a document was served (送达方式)."""

    DIRECT = "direct"  # 直接送达
    LIEN = "lien"  # 留置送达
    MAIL = "mail"  # 邮寄送达
    ELECTRONIC = "electronic"  # 电子送达
    PUBLIC_NOTICE = "public_notice"  # 公告送达


class RecordAccessKind(StrEnum):
    FULL_RECORD = "full_record"  # GET /api/v1/cases/{id}/full-record
    EVIDENCE = "evidence"  # GET /api/v1/evidence/{id}/content


class SignatureState(StrEnum):
    NOT_REQUIRED = "not_required"
    SIGNED = "signed"
    REFUSED = "refused"  # officer notes that the party refused to sign (R-R3)


class EvidenceKind(StrEnum):
    AUDIO_VIDEO = "audio_video"
    PHOTO = "photo"
    DOCUMENT = "document"


class Measure(StrEnum):
    """What a decision imposes or grants; the catalogue and the review gate compare them (R-L1, R-L2)."""

    WARNING = "warning"  # 警告、通报批评
    FINE = "fine"  # 罚款
    CONFISCATION = "confiscation"  # 没收违法所得、没收非法财物
    LICENCE_REVOCATION = "licence_revocation"  # 吊销许可证件、降低资质等级
    BUSINESS_SUSPENSION = "business_suspension"  # 责令停产停业、责令关闭、限制从业
    DETENTION = "detention"  # 行政拘留
    SEIZURE = "seizure"  # 查封、扣押
    OTHER = "other"


class ReviewLevel(StrEnum):
    AGENCY = "agency"  # the agency's own legal-review unit
    GOVERNMENT = "government"  # the district government's legal unit, for decisions in the government's name


class ReviewOutcome(StrEnum):
    APPROVE = "approve"  # 同意
    CORRECT = "correct"  # 补正后重新提交
    REFER = "refer"  # 移送有权机关（含涉嫌犯罪移送司法机关）


class ReviewStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    CORRECTION_REQUESTED = "correction_requested"
    REFERRED = "referred"  # to the competent authority (移送)
    DISPUTED = "disputed"  # handling unit disagrees; goes to the head's meeting
    HEAD_DECIDED = "head_decided"


class DecisionStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CORRECTED = "corrected"  # published, with at least one correction
    WITHDRAWN = "withdrawn"
    ENDED = "ended"  # its publication period is over (by itself, or early by a credit repair)


class DecisionVersionKind(StrEnum):
    PUBLISH = "publish"
    CORRECT = "correct"
    WITHDRAW = "withdraw"
    END = "end"  # the publication period ran out
    CREDIT_REPAIR = "credit_repair"  # 信用修复: ended before the maximum period


class ComplaintKind(StrEnum):
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    SUGGESTION = "suggestion"


class ComplaintAbout(StrEnum):
    """What a complaint is about, besides the agency that handles it."""

    OFFICER = "officer"  # an officer, named by the credential token of a scan
    AGENCY = "agency"
    CASE = "case"  # a case, by its number
    DECISION = "decision"  # a published decision, by its id


class ComplaintStatus(StrEnum):
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    HANDLING = "handling"
    ANSWERED = "answered"
    ESCALATED = "escalated"
    CLOSED = "closed"


class RectificationStatus(StrEnum):
    """An order to rectify (责令整改, R-X3); the RECTIFICATION table governs it."""

    ORDERED = "ordered"  # the supervisor ordered it; the agency must answer in writing by due_on
    ANSWERED = "answered"  # the agency answered; the supervisor accepts or returns it
    RETURNED = "returned"  # the answer was not enough: answer again (by the same or a new date)
    ESCALATED = "escalated"  # past due_on unanswered: before the government level (政府督办)
    ACCEPTED = "accepted"  # the supervisor accepted the rectification: closed


class NotificationEvent(StrEnum):
    DECISION_PUBLISHED = "decision_published"
    DECISION_CORRECTED = "decision_corrected"
    DECISION_WITHDRAWN = "decision_withdrawn"
    AGENCY_NOTICE = "agency_notice"
    COMPLAINT_UPDATE = "complaint_update"  # a step of a complaint, to the complainant's verified phone
    COMPLAINT_PHONE_CODE = "complaint_phone_code"  # the code that verifies a complainant's phone
    BINDING_SMS_CODE = "binding_sms_code"  # the code that binds a party's WeChat to their case (to the phone on file)
    BINDING_CHANGED = "binding_changed"  # the party's messages now go to a newly bound WeChat account
    BINDING_ENDED = "binding_ended"  # the bound WeChat account unbound itself: messages go back to SMS


class NotificationChannel(StrEnum):
    SMS = "sms"
    WECHAT = "wechat"


class NotificationStatus(StrEnum):
    PENDING = "pending"  # written with its event, waiting for a worker
    SENDING = "sending"  # claimed by a worker; the provider may have accepted it
    SENT = "sent"  # provider accepted; waiting for a receipt
    DELIVERED = "delivered"
    FAILED = "failed"  # terminal: retries exhausted or a permanent error
    SUPERSEDED = "superseded"  # fell back to another channel


class LeafKind(StrEnum):
    """What a leaf of the transparency log records. Stored as text (no migration to add one);
    ``backend.services.transparency.log`` refuses any other value."""

    CASE_RECORD = "case_record"
    EVIDENCE = "evidence"
    DECISION_EVENT = "decision_event"
    REVIEW_OPINION = "review_opinion"
    REVIEW_EVENT = "review_event"  # a review's submission, dispute or head decision (the opinion has its own)
    CREDENTIAL_CHANGE = "credential_change"
    COMPLAINT = "complaint"  # a complaint as received (its receipt carries this leaf's index)
    COMPLAINT_EVENT = "complaint_event"  # each later step: acknowledge, handle, answer, rating, escalation
    RECTIFICATION_EVENT = "rectification_event"  # an order to rectify and each of its steps (R-X3)
    REMEDY = "remedy"  # an entry of a reconsideration or litigation against a case (its filing, each outcome)
    STATISTICS_VERSION = "statistics_version"  # a frozen version of an annual report, as submitted
    REGISTER_EVENT = "register_event"  # a step of a register version: proposed, submitted, reviewed, published…


class RevocationReason(StrEnum):
    """Why a published decision must leave public view within 3 working days (R-P3)."""

    REVOKED = "revoked"  # 被撤销
    CONFIRMED_ILLEGAL = "confirmed_illegal"  # 被确认违法
    CONFIRMED_INVALID = "confirmed_invalid"  # 被确认无效 (a court's 确认无效, 行政诉讼法第七十五条)
    ORDERED_REMADE = "ordered_remade"  # 被责令重新作出


class CalendarDayKind(StrEnum):
    """A day of the official schedule that differs from the plain week."""

    HOLIDAY = "holiday"  # 放假
    WORKDAY = "workday"  # 调休上班


class RemedyKind(StrEnum):
    """The legal remedy a party took against a case or its decision (救济途径)."""

    RECONSIDERATION = "reconsideration"  # 行政复议
    LITIGATION = "litigation"  # 行政诉讼


class RemedyOutcome(StrEnum):
    """Where a reconsideration or a lawsuit stands. ``pending`` until decided; the rest are the
    results the 行政复议法 (Art. 63-69) and 行政诉讼法 (Art. 69-78) provide for, as 统计年报 count them."""

    PENDING = "pending"  # 审理中
    UPHELD = "upheld"  # 维持 (复议维持；判决驳回原告诉讼请求)
    REVOKED = "revoked"  # 撤销 (含部分撤销、撤销并责令重作)
    CHANGED = "changed"  # 变更
    CONFIRMED_ILLEGAL = "confirmed_illegal"  # 确认违法
    CONFIRMED_INVALID = "confirmed_invalid"  # 确认无效
    ORDERED_TO_PERFORM = "ordered_to_perform"  # 责令履行 / 判决履行
    DISMISSED = "dismissed"  # 驳回复议申请 / 裁定驳回起诉 (not heard on the merits)
    WITHDRAWN = "withdrawn"  # 申请人撤回申请 / 原告撤诉 (复议终止)
    MEDIATED = "mediated"  # 调解、和解结案
    OTHER = "other"  # 其他


class RemedyState(StrEnum):
    """Never stored: what a proceeding's last outcome means for the next entry (REMEDY table)."""

    PENDING = "pending"
    DECIDED = "decided"


class StatisticsStatus(StrEnum):
    """An agency's annual report for one year (统计年报)."""

    DRAFT = "draft"  # never submitted: the figures are computed live from the records
    SUBMITTED = "submitted"  # a version frozen and reported to the supervisor (by 15 January)
    PUBLISHED = "published"  # the submitted version is public (by 31 January)
