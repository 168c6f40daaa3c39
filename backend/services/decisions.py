"""The life of an enforcement decision, in one place (R-P3, R-P4, R-N2).

Registered on a case (``create``), then published, corrected and withdrawn through the DECISION
transition table (``services/states.py``). Every event moves the machine, writes a DecisionVersion
holding only masked text, appends the case record entry and writes one notification row per
reachable party -- all in one transaction, so a committed event always has its messages waiting in
the outbox and a rolled-back one has none. The words of the messages are rendered in
``notifications/``; what the public may see of a decision is ``public_view``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.clock import SHANGHAI, Clock
from backend.errors import Conflict, IllegalTransition, NotFound, ValidationFailed
from backend.models import Agency, Case, Decision, DecisionRevocation, DecisionVersion, Party
from backend.models.enums import (
    CaseType,
    DecisionStatus,
    DecisionVersionKind,
    LeafKind,
    NotificationEvent,
    RecordStep,
    RevocationReason,
)
from backend.services import audit, clocks, masking, search
from backend.services.cases import case_parties, get_case, move_case
from backend.services.records import entries as records
from backend.services.review import gate
from backend.services.scope import visible_one
from backend.services.states import DECISION
from backend.services.transparency import checkpoints, log
from backend.settings import Settings
from notifications import outgoing
from notifications.outgoing import EventResult

E = NotificationEvent
# action -> (the parties' message, the version written, the words of the case record entry)
EVENTS = {
    "publish": (E.DECISION_PUBLISHED, DecisionVersionKind.PUBLISH, "公示执法决定"),
    "correct": (E.DECISION_CORRECTED, DecisionVersionKind.CORRECT, "更正执法决定公示"),
    "withdraw": (E.DECISION_WITHDRAWN, DecisionVersionKind.WITHDRAW, "撤回执法决定公示"),
}
# The end of a publication period: by itself, or early by a credit repair (end_publication; the
# public text leaves view, no message is sent).
ENDINGS = {
    "end": (DecisionVersionKind.END, "公示期满，停止公示"),
    "credit_repair": (DecisionVersionKind.CREDIT_REPAIR, "信用修复，提前停止公示"),
}
assert set(EVENTS) | set(ENDINGS) == set(DECISION.table), "every DECISION action has its event"
# The status each kind of version leaves, from the transition table (each action has one target):
# what `audit verify` holds a decision's status to (leaf_sources.states_off_log).
STATUS_AFTER: dict[DecisionVersionKind, DecisionStatus] = {
    kind: next(iter(set(DECISION.table[action].values())))
    for action, kind in [*((a, e[1]) for a, e in EVENTS.items()), *((a, e[0]) for a, e in ENDINGS.items())]}
assert all(len(set(DECISION.table[a].values())) == 1 for a in DECISION.table), "one status after each action"
# The actions that put a decision's text before the public: each passes the review gate first.
GATED = frozenset({"publish", "correct"})


def leaf_content(version: DecisionVersion, decision: Decision) -> dict[str, Any]:
    """What the transparency log commits to for a decision event (publish, correct, withdraw): the
    version's own fields, known before it is written (the log's leaf carries the time)."""
    return {"type": "decision_event", "id": str(version.id), "agency_id": str(decision.agency_id),
            "case_id": str(decision.case_id), "decision_id": str(decision.id), "document_no": decision.document_no,
            "version": version.version, "kind": version.kind.value, "public_text": version.public_text,
            "reason": version.reason, "actor": version.actor, "actor_name": version.actor_name,
            "actor_role": version.actor_role}


def url(settings: Settings, decision_id: uuid.UUID) -> str:
    """The public page of a decision, as printed in messages."""
    return f"{settings.public_base_url}/d/{decision_id}"


def _proposed(decision: Decision, in_government_name: bool = False) -> gate.Proposed:
    return gate.Proposed(decision.type, decision.amount, frozenset(decision.measures), in_government_name)


async def create(agency_id: uuid.UUID, case_id: uuid.UUID, data: dict[str, Any], actor: str,
                 clock: Clock) -> Decision:
    """Register the decision of a case (a draft, not public); the case moves to ``decided``. A major
    case needs a passing legal review of exactly this decision first (``review/gate.py``). The amount
    and measures default to the case's."""
    case = await get_case(agency_id, case_id)
    parties = await case_parties(case.id)
    try:
        async with in_transaction():
            case = await Case.filter(id=case.id).select_for_update().get()
            amount = data["amount"] if data.get("amount") is not None else case.amount
            measures = sorted(set(data["measures"])) if data.get("measures") is not None else list(case.measures)
            review = await gate.check(case, gate.Proposed(case.type, amount, frozenset(measures),
                                                          bool(data.get("in_government_name"))), clock.today())
            await move_case(case, "decide")
            due = await clocks.publish_due(case.type, data["decided_at"])  # R-P1: 7 or 20 working days
            decision = await Decision.create(
                case=case, agency_id=agency_id, type=case.type, document_no=data["document_no"],
                summary=data["summary"], decided_at=data["decided_at"], amount=amount, measures=measures,
                review_id=review.id if review is not None else None,
                publish_due_on=due.on, publish_due_on_provisional=due.provisional,
                public_party_name=masking.joined_public_names(parties))
            await audit.record(actor, "decision.create", "decision", decision.id, agency_id=agency_id,
                               data={"document_no": decision.document_no})
    except IntegrityError as exc:
        raise Conflict("该文书编号已存在", code="document_no_taken") from exc
    return decision


async def get(agency_id: uuid.UUID | None, decision_id: uuid.UUID) -> Decision:
    """The agency's own decision, whole (the supervisor's scope is every agency: ``agency_id=None``)."""
    return await visible_one(Decision.filter(id=decision_id), agency_id,
                             NotFound("未找到该执法决定", code="decision_not_found"))


@dataclass(frozen=True)
class MaskedItem:
    """One thing the public will not see: in which field, what it was, what stands instead, why."""

    field: str  # "summary" (the decision text) or "reason" (a correction's reason)
    kind: str  # masking.Span.kind
    rule: str  # masking.Span.rule
    start: int
    end: int
    original: str
    replacement: str


@dataclass(frozen=True)
class Preview:
    """Exactly what publishing (or this correction) puts before the public, what was masked, and the
    hash the publish or correct call must carry back (``preview_stale`` if anything moved since)."""

    decision_id: uuid.UUID
    document_no: str
    party: str
    public_text: str
    public_reason: str
    masked: list[MaskedItem]
    preview_hash: str


def _preview(decision: Decision, parties: list[Party], summary: str, reason: str) -> Preview:
    text, why = masking.analyse(summary, parties), masking.analyse(reason, parties)
    party = masking.joined_public_names(parties)
    masked = [MaskedItem(name, s.kind, s.rule, s.start, s.end, raw[s.start:s.end], s.replacement)
              for name, raw, result in (("summary", summary, text), ("reason", reason, why)) for s in result.spans]
    digest = masking.preview_hash({
        "decision_id": str(decision.id), "document_no": decision.document_no, "summary": summary,
        "reason": reason, "party": party, "public_text": text.text, "public_reason": why.text,
        "masked": [[m.field, m.kind, m.start, m.end, m.replacement] for m in masked]})
    return Preview(decision.id, decision.document_no, party, text.text, why.text, masked, digest)


async def preview(agency_id: uuid.UUID | None, decision_id: uuid.UUID, *, summary: str | None = None,
                  reason: str = "") -> Preview:
    """What the public would see if the decision were published now (``summary=None``), or corrected
    to ``summary`` for ``reason``: computed exactly as ``change`` computes it."""
    decision = await get(agency_id, decision_id)
    parties = await case_parties(decision.case_id)
    return _preview(decision, parties, decision.summary if summary is None else summary, reason)


async def change(settings: Settings, clock: Clock, agency_id: uuid.UUID, decision_id: uuid.UUID,
                 action: str, actor: str, *, summary: str | None = None, reason: str = "",
                 preview_hash: str | None = None) -> EventResult:
    """Publish, correct or withdraw: one DECISION transition with its version, record and messages.
    Publish and correct carry the ``preview_hash`` of the preview the person reviewed."""
    event, kind, label = EVENTS[action]
    async with in_transaction():
        decision = await Decision.filter(id=decision_id, agency_id=agency_id).select_for_update().first()
        if decision is None:
            raise NotFound("未找到该执法决定", code="decision_not_found")
        decision.status = DECISION.next(decision.status, action)
        now = clock.now()
        case = await Case.filter(id=decision.case_id).select_for_update().get()
        if action in GATED:  # what reaches the public passed the legal review it needed (R-L2)
            await gate.check(case, _proposed(decision), clock.today())
        parties = await case_parties(case.id)
        if action == "withdraw":
            revocation = await DecisionRevocation.filter(decision_id=decision.id).first()
            if revocation is not None:  # the public and the parties read what the authority found
                reason = withdrawal_reason(revocation.reason, reason)
        new_summary = summary if action == "correct" and summary is not None else decision.summary
        # Only the masked text is stored in a version: the public never sees the raw summary (R-P2);
        # and for publish and correct it is exactly the text the person previewed.
        shown = _preview(decision, parties, new_summary, reason)
        if action in GATED and not preview_hash:
            raise ValidationFailed("请先预览公示内容，并提交预览返回的 preview_hash", code="preview_hash_required")
        if action in GATED and shown.preview_hash != preview_hash:
            raise Conflict("公示内容自预览后已变化，请重新预览后再提交", code="preview_stale")
        decision.summary = new_summary
        if action == "publish":
            decision.published_at = now
            decision.publication_ends_on = clocks.publication_ends_on(settings, decision.type, now.date())
        decision.current_version += 1
        if action == "publish":
            await move_case(case, "execute")  # the case status follows its events (services/cases.py)
        decision.public_party_name = shown.party
        public_reason = shown.public_reason
        who = audit.who(actor)
        version = DecisionVersion(
            decision=decision, version=decision.current_version, kind=kind,
            public_text=shown.public_text, reason=public_reason, actor=actor,
            actor_name=who[0], actor_role=who[1])
        await log.append_row(version, LeafKind.DECISION_EVENT, leaf_content(version, decision),
                             agency_id=agency_id, ref=str(version.id), clock=clock)
        # Every party gets the same message: only the masked text, never another party's data.
        change_text = ""
        if action == "correct" and summary is not None:
            change_text = f"{public_reason}（更正后：{version.public_text}）" if reason else version.public_text
        await decision.save()
        await search.sync(decision, parties, version)  # the public search says what public_view says
        unreachable = outgoing.unreachable_parties(parties)
        text = f"{label}：{decision.document_no}" + (f"，理由：{reason}" if reason else "")
        await records.append(case, RecordStep.PUBLICATION, text + outgoing.unreachable_note(unreachable),
                             actor, now)
        ctx = {"doc": decision.document_no, "url": url(settings, decision.id), "change": change_text,
               "reason": public_reason, "decision_id": str(decision.id), "date": now.strftime("%Y-%m-%d %H:%M")}
        ids = await outgoing.write(outgoing.plan(settings, event, str(version.id), agency_id, case, parties,
                                                 ctx, now))
        await audit.record(actor, f"decision.{action}", "decision", decision.id, agency_id=agency_id,
                           data={"version": version.version, "notifications": len(ids),
                                 "unreachable": len(unreachable), "preview_hash": shown.preview_hash})
    # A signed tree head after every decision event, so anyone keeping copies can hold us to it;
    # the event is committed, so a failure to sign now never turns its answer into an error.
    await checkpoints.checkpoint_after_commit(settings, clock)
    return EventResult(decision, ids, unreachable)


REVOCATION_WORDS = {RevocationReason.REVOKED: "被撤销", RevocationReason.CONFIRMED_ILLEGAL: "被确认违法",
                    RevocationReason.CONFIRMED_INVALID: "被确认无效",
                    RevocationReason.ORDERED_REMADE: "被责令重新作出"}


def withdrawal_reason(revoked: RevocationReason, given: str) -> str:
    """The public reason of withdrawing a revoked decision: the registered finding first (its basis,
    a document number, stays internal), then the agency's own words."""
    words = f"该执法决定已{REVOCATION_WORDS[revoked]}"
    given = given.strip()
    return given if given.startswith(words) else (f"{words}：{given}" if given else words)


async def revoke(agency_id: uuid.UUID, decision_id: uuid.UUID, reason: RevocationReason, revoked_on: date,
                 basis: str, actor: str, clock: Clock) -> DecisionRevocation:
    """A published decision was revoked, confirmed illegal or ordered remade (R-P3): record it and
    start the 3-working-day clock to withdraw it from public view (``withdraw_due_on``)."""
    now = clock.now()
    if revoked_on > now.date():
        raise ValidationFailed("撤销日期不能晚于今天", code="revocation_date_in_future")
    try:
        async with in_transaction():
            decision = await Decision.filter(id=decision_id, agency_id=agency_id).select_for_update().first()
            if decision is None:
                raise NotFound("未找到该执法决定", code="decision_not_found")
            refusal = await revocation_refused(decision)
            if refusal is not None:
                raise refusal
            return await register_revocation(decision, reason, revoked_on, basis, actor, now)
    except IntegrityError as exc:  # a concurrent revocation of the same decision
        raise Conflict("该执法决定已登记撤销", code="decision_already_revoked") from exc


async def revocation_refused(decision: Decision) -> Conflict | None:
    """Why no revocation can be registered for ``decision`` now, or None: only a decision on public
    display has to be withdrawn, and its withdrawal clock starts once."""
    if decision.status not in clocks.PUBLIC:
        return Conflict("只有公示中的执法决定才需登记撤销并在3个工作日内撤回公示", code="decision_not_public")
    if await DecisionRevocation.filter(decision_id=decision.id).exists():
        return Conflict("该执法决定已登记撤销", code="decision_already_revoked")
    return None


async def register_revocation(decision: Decision, reason: RevocationReason, revoked_on: date, basis: str,
                              actor: str, now: datetime) -> DecisionRevocation:
    """The act itself, in the caller's transaction, with ``decision`` locked, public and not yet
    revoked: the revocation row, the withdrawal deadline, the case record and the audit entry.
    Also used when a remedy's recorded outcome revokes the decision (``services/remedies.py``)."""
    if revoked_on < decision.decided_at:
        raise ValidationFailed("撤销日期不能早于决定日期", code="revocation_date_before_decision")
    due = await clocks.withdraw_due(revoked_on)
    name, role = audit.who(actor)
    revocation = await DecisionRevocation.create(
        decision=decision, reason=reason, revoked_on=revoked_on, basis=basis, actor=actor, actor_name=name,
        actor_role=role)
    decision.withdraw_due_on, decision.withdraw_due_on_provisional = due.on, due.provisional
    await decision.save(update_fields=["withdraw_due_on", "withdraw_due_on_provisional", "updated_at"])
    case = await Case.get(id=decision.case_id)
    await records.append(case, RecordStep.PUBLICATION,
                         f"登记执法决定{REVOCATION_WORDS[reason]}：{decision.document_no}"
                         + (f"（{basis}）" if basis else "") + f"，应于{due.on.isoformat()}前撤回公示",
                         actor, now)
    await audit.record(actor, "decision.revoke", "decision", decision.id, agency_id=decision.agency_id,
                       data={"reason": reason.value, "revoked_on": revoked_on.isoformat(),
                             "withdraw_due_on": due.on.isoformat(), "provisional": due.provisional})
    return revocation


async def revocation_of(decision_id: uuid.UUID) -> DecisionRevocation | None:
    return await DecisionRevocation.filter(decision_id=decision_id).first()


async def end_publication(settings: Settings, clock: Clock, decision_id: uuid.UUID, action: str, actor: str, *,
                          agency_id: uuid.UUID | None, reason: str = "", checkpoint: bool = True) -> Decision:
    """End a publication period (R-P3 versioning): ``end`` once its maximum has passed, or
    ``credit_repair`` early (never before its type's minimum). A new version, a leaf, the case
    record and the audit, like every decision event; nothing is deleted."""
    kind, label = ENDINGS[action]
    async with in_transaction():
        query = Decision.filter(id=decision_id)
        decision = await (query if agency_id is None else query.filter(agency_id=agency_id)).select_for_update().first()
        if decision is None:
            raise NotFound("未找到该执法决定", code="decision_not_found")
        decision.status = DECISION.next(decision.status, action)
        now = clock.now()
        assert decision.published_at is not None  # every public state was published
        published_on = decision.published_at.astimezone(SHANGHAI).date()
        if action == "credit_repair":
            earliest = clocks.earliest_credit_repair(settings, decision.type, published_on)
            if now.date() < earliest:
                raise Conflict(f"公示未满最短公示期，{earliest.isoformat()}起方可因信用修复停止公示",
                               code="publication_minimum_not_reached")
        else:
            ends_on = decision.publication_ends_on or clocks.publication_ends_on(settings, decision.type, published_on)
            if now.date() <= ends_on:
                raise Conflict(f"公示期至{ends_on.isoformat()}，尚未届满", code="publication_period_running")
        last = await DecisionVersion.filter(decision_id=decision.id).order_by("-version").first()
        case = await Case.get(id=decision.case_id)
        parties = await case_parties(case.id)
        decision.current_version += 1
        who = audit.who(actor)
        version = DecisionVersion(
            decision=decision, version=decision.current_version, kind=kind,
            public_text=last.public_text if last is not None else "", reason=masking.mask_text(reason, parties),
            actor=actor, actor_name=who[0], actor_role=who[1])
        await log.append_row(version, LeafKind.DECISION_EVENT, leaf_content(version, decision),
                             agency_id=decision.agency_id, ref=str(version.id), clock=clock)
        await decision.save()
        await search.sync(decision, parties, version)  # it leaves the public search with the public view
        await records.append(case, RecordStep.PUBLICATION, f"{label}：{decision.document_no}"
                             + (f"，理由：{reason}" if reason else ""), actor, now)
        await audit.record(actor, f"decision.{action}", "decision", decision.id, agency_id=decision.agency_id,
                           data={"version": version.version})
    if checkpoint:
        await checkpoints.checkpoint_after_commit(settings, clock)
    return decision


async def end_due_publications(settings: Settings, clock: Clock) -> int:
    """The periodic job: every publication whose period ran out ends by itself (idempotent)."""
    due: list[uuid.UUID] = await Decision.filter(  # type: ignore[assignment]  # flat values_list
        status__in=list(clocks.PUBLIC), publication_ends_on__lt=clock.today()).values_list("id", flat=True)
    ended = 0
    for decision_id in due:
        try:
            await end_publication(settings, clock, decision_id, "end", "system:公示期满", agency_id=None,
                                  checkpoint=False)
            ended += 1
        except (IllegalTransition, Conflict):
            continue  # changed meanwhile (withdrawn, repaired, or ended by a concurrent run)
    if ended:
        await checkpoints.checkpoint_after_commit(settings, clock)
    return ended


@dataclass(frozen=True)
class PublicVersion:
    version: int
    kind: DecisionVersionKind
    at: datetime
    reason: str


@dataclass(frozen=True)
class PublicDecision:
    id: uuid.UUID
    agency_name: str
    type: CaseType
    document_no: str
    decided_at: date
    status: DecisionStatus
    party: str
    text: str | None  # None once withdrawn or its publication period ended: it leaves public view
    published_at: datetime | None
    history: list[PublicVersion]


async def public_view(decision_id: uuid.UUID) -> PublicDecision:
    """What the public may see (R-P3): the masked text of the latest version, the history of
    corrections, and for a withdrawn decision only that and why it was withdrawn. Drafts are 404."""
    decision = await Decision.filter(id=decision_id).exclude(status=DecisionStatus.DRAFT).first()
    if decision is None:
        raise NotFound("未找到该公示决定", code="decision_not_found")
    versions = await DecisionVersion.filter(decision_id=decision.id).order_by("version")
    agency = await Agency.get(id=decision.agency_id).values("name")
    latest_text = next((v.public_text for v in reversed(versions) if v.kind is not DecisionVersionKind.WITHDRAW),
                       None)
    withdrawn = decision.status in (DecisionStatus.WITHDRAWN, DecisionStatus.ENDED)
    return PublicDecision(
        id=decision.id, agency_name=agency["name"], type=decision.type, document_no=decision.document_no,
        decided_at=decision.decided_at, status=decision.status, party=decision.public_party_name,
        text=None if withdrawn else latest_text, published_at=decision.published_at,
        history=[PublicVersion(v.version, v.kind, v.created_at, v.reason) for v in versions],
    )
