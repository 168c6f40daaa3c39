"""What a signed-in party sees of their own cases (R-X*), and the settings they control.

A case is theirs while one of their bindings to a party of it is active; any other case id, real or
not, is the same ``404 case_not_found``. What is shown:

- **Steps** of the full-process record, by step kind (``VISIBILITY``): case milestones always; acts
  done to a person (inspection, notice of rights, statement, hearing, seizure, restriction of
  liberty, service, execution) only when the case has one party, because a record entry does not say
  which party it concerns; internal work (investigation, evidence, interviews that may be of
  witnesses, legal review) never. Only the step, its time, the officers (names and certificate
  numbers, as their credentials show them publicly) and the service method: never the free text,
  the place, signatures or evidence, which can carry internal notes or other parties' data.
- **Decisions** with every version's masked public text (the text the public page shows).
- **Notices** sent to this party, each with its delivery status (the readable content only: a
  verification code is never in it).
- **Deadlines** (``deadlines.py``), computed from the case's dates and today's date of the clock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from tortoise.transactions import in_transaction

from backend.clock import SHANGHAI, Clock
from backend.errors import NotFound
from backend.models import Agency, Case, CaseParty, CaseRecord, Decision, DecisionVersion, Notification, Party
from backend.models.enums import (
    CaseStatus,
    CaseType,
    ChannelPreference,
    DecisionStatus,
    DecisionVersionKind,
    NotificationChannel,
    NotificationEvent,
    NotificationStatus,
    PartyKind,
    RecordStep,
    ServiceMethod,
)
from backend.models.mini_program import PartyBinding
from backend.services import audit, calendar, masking
from backend.services.parties import deadlines
from backend.services.parties.bindings import PARTY_ROLE
from backend.services.parties.sessions import PartySession
from backend.services.records.steps import STEPS

S = RecordStep


class Visibility(Enum):
    ALWAYS = "always"  # a milestone of the whole case
    SOLE_PARTY = "sole_party"  # done to a person: shown when the case has one party
    NEVER = "never"  # internal work


VISIBILITY: dict[RecordStep, Visibility] = {
    S.START: Visibility.ALWAYS,
    S.INVESTIGATION: Visibility.NEVER,
    S.EVIDENCE: Visibility.NEVER,
    S.ON_SITE: Visibility.SOLE_PARTY,
    S.INTERVIEW: Visibility.NEVER,  # may be a witness's
    S.NOTICE_OF_RIGHTS: Visibility.SOLE_PARTY,
    S.STATEMENT: Visibility.SOLE_PARTY,
    S.HEARING: Visibility.SOLE_PARTY,
    S.SEIZURE: Visibility.SOLE_PARTY,
    S.LIBERTY_RESTRICTION: Visibility.SOLE_PARTY,
    S.LEGAL_REVIEW: Visibility.NEVER,
    S.DECISION: Visibility.ALWAYS,
    S.SERVICE: Visibility.SOLE_PARTY,
    S.EXECUTION: Visibility.SOLE_PARTY,
    S.FORCED_EXECUTION: Visibility.SOLE_PARTY,
    S.CLOSURE: Visibility.ALWAYS,
    S.PUBLICATION: Visibility.ALWAYS,
    S.NOTICE: Visibility.ALWAYS,
}
assert set(VISIBILITY) == set(RecordStep), "every step kind says whether a party sees it"


def case_not_found() -> NotFound:
    return NotFound("未找到该案件", code="case_not_found")


@dataclass(frozen=True)
class MyCase:
    id: uuid.UUID
    number: str
    title: str
    type: CaseType
    status: CaseStatus
    agency_name: str
    bound_at: datetime


@dataclass(frozen=True)
class MyParty:
    id: uuid.UUID
    kind: PartyKind
    name: str
    has_phone: bool
    channel_preference: ChannelPreference
    wechat_consent: bool


@dataclass(frozen=True)
class Step:
    seq: int
    step: RecordStep
    label: str
    occurred_at: datetime
    officers: list[dict[str, str]]
    service_method: ServiceMethod | None
    corrects_seq: int | None


@dataclass(frozen=True)
class Version:
    version: int
    kind: DecisionVersionKind
    at: datetime
    public_text: str
    reason: str


@dataclass(frozen=True)
class MyDecision:
    id: uuid.UUID
    document_no: str
    type: CaseType
    decided_at: date
    status: DecisionStatus
    versions: list[Version]


@dataclass(frozen=True)
class Notice:
    id: uuid.UUID
    event: NotificationEvent
    channel: NotificationChannel
    content: str
    status: NotificationStatus
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class DeadlineView:
    deadline: deadlines.Deadline
    days_left: int


@dataclass(frozen=True)
class CaseView:
    case: MyCase
    parties: list[MyParty]  # the signed-in person's own parties of this case (usually one)
    steps: list[Step]
    decisions: list[MyDecision]
    notices: list[Notice]
    deadlines: list[DeadlineView]


async def my_cases(session: PartySession) -> list[MyCase]:
    bindings = await PartyBinding.filter(openid=session.openid, ended_at__isnull=True).order_by("-bound_at")
    if not bindings:
        return []
    cases = {c.id: c for c in await Case.filter(id__in={b.case_id for b in bindings})}
    out: dict[uuid.UUID, MyCase] = {}
    for b in bindings:
        if b.case_id not in out:
            out[b.case_id] = await _summary(cases[b.case_id], b.bound_at, [b.party_id])
    return list(out.values())


async def _summary(case: Case, bound_at: datetime, own: list[uuid.UUID]) -> MyCase:
    agency = await Agency.get(id=case.agency_id).values("name")
    others = await Party.filter(case_links__case_id=case.id).exclude(id__in=own)
    # The title may name other parties: they are masked as on a public page.
    return MyCase(case.id, case.number, masking.mask_text(case.title, others), case.type, case.status,
                  agency["name"], bound_at)


async def _own_parties(session: PartySession, case_id: uuid.UUID) -> list[PartyBinding]:
    bindings = await PartyBinding.filter(openid=session.openid, case_id=case_id, ended_at__isnull=True)
    if not bindings:
        raise case_not_found()
    return bindings


async def case_view(session: PartySession, case_id: uuid.UUID, clock: Clock) -> CaseView:
    bindings = await _own_parties(session, case_id)
    own = [b.party_id for b in bindings]
    case = await Case.get(id=case_id)
    summary = await _summary(case, min(b.bound_at for b in bindings), own)
    parties = await Party.filter(id__in=own).order_by("created_at")
    party_count = await CaseParty.filter(case_id=case.id).count()
    records = await CaseRecord.filter(case_id=case.id).order_by("seq")
    today = clock.today()
    decisions = await Decision.filter(case_id=case.id).order_by("created_at", "id")
    versions: dict[uuid.UUID, list[Version]] = {d.id: [] for d in decisions}
    if decisions:
        for v in await DecisionVersion.filter(decision_id__in=list(versions)).order_by("decision_id", "version"):
            versions[v.decision_id].append(Version(v.version, v.kind, v.created_at, v.public_text, v.reason))
    notices = await Notification.filter(party_id__in=own).order_by("created_at", "id")
    due: list[deadlines.Deadline] = []
    notified = _last_notice_of_rights(records)
    if notified is not None:
        due += deadlines.before_decision(await calendar.current(), case.type, case.measures, notified)
    for d in decisions:
        due += deadlines.after_decision(d.type, d.decided_at, d.id)
    return CaseView(
        case=summary,
        parties=[MyParty(p.id, p.kind, p.name, bool(p.phone), p.channel_preference, p.wechat_consent)
                 for p in parties],
        steps=_visible_steps(records, party_count),
        decisions=[MyDecision(d.id, d.document_no, d.type, d.decided_at, d.status, versions[d.id])
                   for d in decisions],
        notices=[Notice(n.id, n.event, n.channel, n.content, n.status, n.created_at, n.sent_at, n.delivered_at)
                 for n in notices],
        deadlines=[DeadlineView(d, d.days_left(today)) for d in due],
    )


def _visible_steps(records: list[CaseRecord], party_count: int) -> list[Step]:
    seq_of = {r.id: r.seq for r in records}
    out = []
    for r in records:
        seen = VISIBILITY[r.step]
        if seen is Visibility.NEVER or (seen is Visibility.SOLE_PARTY and party_count != 1):
            continue
        out.append(Step(r.seq, r.step, STEPS[r.step].words, r.occurred_at, _officers(r.officers),
                        r.service_method, seq_of.get(r.corrects_id) if r.corrects_id else None))
    return out


def _officers(raw: list[Any]) -> list[dict[str, str]]:
    return [{"name": str(o.get("name", "")), "certificate_no": str(o.get("certificate_no") or "")}
            for o in raw if isinstance(o, dict)]


def _last_notice_of_rights(records: list[CaseRecord]) -> date | None:
    """The day of the latest 告知 still standing (a corrected one gives way to its correction)."""
    corrected = {r.corrects_id for r in records if r.corrects_id}
    told = [r for r in records if r.step is S.NOTICE_OF_RIGHTS and r.id not in corrected]
    return told[-1].occurred_at.astimezone(SHANGHAI).date() if told else None


async def set_preferences(session: PartySession, case_id: uuid.UUID, *, channel: ChannelPreference | None,
                          wechat_consent: bool | None) -> list[MyParty]:
    """The party's own channel preference and WeChat consent for this case's messages."""
    bindings = await _own_parties(session, case_id)
    changes: dict[str, Any] = {}
    if channel is not None:
        changes["channel_preference"] = channel
    if wechat_consent is not None:
        changes["wechat_consent"] = wechat_consent
    own = [b.party_id for b in bindings]
    async with in_transaction():
        if changes:
            await Party.filter(id__in=own).update(**changes)
            case = await Case.get(id=case_id).values("agency_id")
            await audit.record(session.actor, "party.preferences", "case", case_id, agency_id=case["agency_id"],
                               role=PARTY_ROLE, data={k: str(v).lower() if isinstance(v, bool) else str(v)
                                                      for k, v in changes.items()})
        parties = await Party.filter(id__in=own).order_by("created_at")
    return [MyParty(p.id, p.kind, p.name, bool(p.phone), p.channel_preference, p.wechat_consent) for p in parties]
