"""Tortoise models, one module per aggregate. Tortoise discovers the classes re-exported here."""

from backend.models.agency import Agency, ApiKey
from backend.models.audit import AuditEvent
from backend.models.calendar import CalendarDay, CalendarLoad
from backend.models.case import (
    Case,
    CaseOfficer,
    CaseParty,
    CaseRecord,
    Evidence,
    Party,
    RecordAccess,
)
from backend.models.complaint import (
    Complaint,
    ComplaintEvent,
    ComplaintUpload,
    PhoneVerification,
    Rectification,
    RectificationEvent,
)
from backend.models.decision import (
    Decision,
    DecisionRevocation,
    DecisionSearch,
    DecisionSearchGram,
    DecisionVersion,
)
from backend.models.mini_program import BindingSmsCode, MpSession, PartyBinding
from backend.models.notification import DeliveryReceipt, Notification, SubscriptionGrant, WechatPushNonce
from backend.models.officer import Credential, CredentialEvent, Officer, Rating, Scan
from backend.models.register import RegisterEvent, RegisterItem, RegisterVersion
from backend.models.remedy import CaseRemedy
from backend.models.review import LegalReview, LegalReviewEvent, MajorCatalogue, ReviewerRosterFiling
from backend.models.statistics import StatisticsReport, StatisticsVersion
from backend.models.transparency import LogCheckpoint, LogLeaf

__all__ = [
    "Agency",
    "ApiKey",
    "AuditEvent",
    "BindingSmsCode",
    "CalendarDay",
    "CalendarLoad",
    "Case",
    "CaseOfficer",
    "CaseParty",
    "CaseRecord",
    "CaseRemedy",
    "Complaint",
    "ComplaintEvent",
    "ComplaintUpload",
    "Credential",
    "CredentialEvent",
    "Decision",
    "DecisionRevocation",
    "DecisionSearch",
    "DecisionSearchGram",
    "DecisionVersion",
    "DeliveryReceipt",
    "Evidence",
    "LegalReview",
    "LegalReviewEvent",
    "LogCheckpoint",
    "LogLeaf",
    "MajorCatalogue",
    "MpSession",
    "Notification",
    "Officer",
    "Party",
    "PartyBinding",
    "PhoneVerification",
    "Rating",
    "RecordAccess",
    "Rectification",
    "RectificationEvent",
    "RegisterEvent",
    "RegisterItem",
    "RegisterVersion",
    "ReviewerRosterFiling",
    "Scan",
    "StatisticsReport",
    "StatisticsVersion",
    "SubscriptionGrant",
    "WechatPushNonce",
]
