"""The life of a register version: propose (or retire), submit, review, publish (REGISTER_ITEM), each
step a ``RegisterEvent`` with its leaf in the transparency log; the agency's reads; and the
20-working-day publication clock with its overdue view.

A leaf commits to the step and to the version's own fields (its content as a SHA-256 digest: a
service guide is long, and the log's reader has the row), so ``yangguang audit verify`` names a
version whose content, effective date or retirement was edited behind the service's back (every
leaf of it no longer matches), and ``services/leaf_sources.py`` checks that each version's state is
the state its newest step left."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.clock import Clock
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.models import Agency, RegisterEvent, RegisterItem, RegisterVersion
from backend.models.enums import AgencyKind, LeafKind, PublishState, RegisterKind, RegisterReviewOutcome
from backend.services import audit, calendar
from backend.services.agencies import credit_code_is_valid
from backend.services.review import deadlines
from backend.services.scope import scoped, visible_one
from backend.services.states import REGISTER_ITEM
from backend.services.transparency import log

# 自信息生成或者变更之日起20个工作日内予以公开公示 (the province's publication rules).
PUBLISH_WORKING_DAYS = 20
# A version not yet public: its change is still waiting (its clock runs).
OPEN = (PublishState.DRAFT, PublishState.PENDING_REVIEW, PublishState.APPROVED, PublishState.REJECTED)
# The kinds with one item per agency, and the kinds whose item code comes from the content.
SINGLE_CODE = "agency"
CODE_MAX = RegisterItem._meta.fields_map["code"].max_length  # type: ignore[attr-defined]
NOT_FOUND = NotFound("未找到该公开事项版本", code="register_version_not_found")


def title_of(kind: RegisterKind, content: dict[str, Any], agency_name: str) -> str:
    if kind is RegisterKind.AGENCY:
        return agency_name
    if kind is RegisterKind.SERVICE_GUIDE:
        return str(content["item"])
    return str(content["name"])


def code_of(kind: RegisterKind, code: str | None, content: dict[str, Any]) -> str:
    """The item a version belongs to: the agency's one register of itself, an entrusted organisation
    by its credit code, any other item by the agency's own code."""
    if kind is RegisterKind.AGENCY:
        return SINGLE_CODE
    if kind is RegisterKind.ENTRUSTED_ORG:
        credit = str(content["credit_code"]).upper()
        if not credit_code_is_valid(credit):
            raise ValidationFailed("受委托组织的统一社会信用代码格式或校验位不正确", code="invalid_credit_code")
        content["credit_code"] = credit
        return credit
    if not code:
        raise ValidationFailed("请填写事项编码", code="register_code_required")
    return code


async def publish_due(changed_on: date) -> calendar.Deadline:
    return await calendar.add_working_days(changed_on, PUBLISH_WORKING_DAYS)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def leaf_content(e: RegisterEvent, v: RegisterVersion) -> dict[str, Any]:
    """What the log commits to for a step: the step, and the version's fields that never change."""
    return {"type": "register_event", "version_id": str(v.id), "item_id": str(v.item_id),
            "agency_id": str(v.agency_id), "kind": v.kind.value, "version": v.version, "title": v.title,
            "effective_from": v.effective_from.isoformat(),
            "content_sha256": _sha256(log.canonical(v.content).decode()), "retirement": v.retirement,
            "retirement_reason": v.retirement_reason, "author": v.author, "action": e.action,
            "state": e.state.value, "note_sha256": _sha256(e.note), "data": e.data, "at": log.leaf_time(e.at),
            "actor": e.actor, "actor_name": e.actor_name, "actor_role": e.actor_role}


async def _step(v: RegisterVersion, action: str, actor: str, clock: Clock, *, note: str = "",
                data: dict[str, Any] | None = None) -> RegisterEvent:
    """The step's event with its leaf and its audit entry: call inside the step's transaction, after
    the version's state moved (``state`` is the state the step leaves)."""
    name, role = audit.who(actor)
    event = RegisterEvent(version_id=v.id, action=action, state=v.state, note=note, data=data or {},
                          at=clock.now(), actor=actor, actor_name=name, actor_role=role)
    await log.append_row(event, LeafKind.REGISTER_EVENT, leaf_content(event, v), agency_id=v.agency_id,
                         ref=f"register_version:{v.id}", clock=clock)
    audit_action = "register.review." + ("approved" if action == "approve" else "returned") \
        if action in ("approve", "return") else f"register.{action}"
    await audit.record(actor, audit_action, "register_version", v.id, agency_id=v.agency_id,
                       data={"event": event.id, "version": v.version, **(data or {}),
                             **({"opinion": note} if note else {})})
    return event


async def _supervisor_refused(agency_id: uuid.UUID) -> Agency:
    agency = await Agency.get(id=agency_id)
    if agency.kind is AgencyKind.SUPERVISOR:
        raise Conflict("执法监督机构没有执法公开清单", code="register_not_for_supervisor")
    return agency


def _newest_published(rows: list[RegisterVersion]) -> RegisterVersion | None:
    return max((r for r in rows if r.state is PublishState.PUBLISHED), key=lambda r: (r.effective_from, r.version),
               default=None)


async def _new_version(agency: Agency, item: RegisterItem, content: dict[str, Any], effective_from: date,
                       actor: str, clock: Clock, *, title: str, retirement_reason: str | None = None
                       ) -> RegisterVersion:
    """A new version of ``item``, whose row the caller has locked: the one version not yet public is
    superseded by it (its change's day kept), the publication clock set, each step logged."""
    rows = await RegisterVersion.filter(item_id=item.id).order_by("version")
    last = rows[-1] if rows else None
    current = _newest_published(rows)
    if current is not None and effective_from < current.effective_from:
        raise ValidationFailed(
            f"生效日期不能早于已公开的第{current.version}版的生效日期 {current.effective_from.isoformat()}",
            code="register_effective_before_current")
    changed_on = clock.today()
    superseded = None
    if last is not None and last.state in OPEN:
        changed_on = last.changed_on
        last.state = REGISTER_ITEM.next(last.state, "supersede")
        await last.save(update_fields=["state"])
        superseded = last
    due = await publish_due(changed_on)
    row = await RegisterVersion.create(
        item_id=item.id, agency_id=agency.id, kind=item.kind, version=(last.version + 1) if last else 1,
        title=title[:200], content=content, effective_from=effective_from,
        retirement=retirement_reason is not None, retirement_reason=retirement_reason or "",
        state=PublishState.DRAFT, changed_on=changed_on, publish_due_on=due.on,
        publish_due_on_provisional=due.provisional, author=actor, author_name=audit.who(actor)[0])
    if superseded is not None:
        await _step(superseded, "supersede", actor, clock, data={"by_version": row.version})
    await _step(row, "retire" if row.retirement else "propose", actor, clock,
                data={"kind": item.kind.value, "code": item.code, "effective_from": effective_from.isoformat(),
                      "superseded": superseded.version if superseded is not None else None,
                      "publish_due_on": due.on.isoformat()})
    return row


async def propose(agency_id: uuid.UUID, kind: RegisterKind, code: str | None, content: dict[str, Any],
                  effective_from: date, actor: str, clock: Clock) -> RegisterVersion:
    """A new version of an item (the item is created with its first version). A version of the item
    not yet public is superseded by it, and its change's day is kept: the 20 working days run from the
    day the change was first made, not from the latest attempt."""
    content = dict(content)
    code = code_of(kind, code, content)
    agency = await _supervisor_refused(agency_id)
    async with in_transaction():
        try:
            async with in_transaction():  # a savepoint: two first versions at once, one item
                item, _ = await RegisterItem.get_or_create(agency_id=agency_id, kind=kind, code=code)
        except IntegrityError:
            item = await RegisterItem.get(agency_id=agency_id, kind=kind, code=code)
        await RegisterItem.filter(id=item.id).select_for_update().get()  # one version number at a time
        return await _new_version(agency, item, content, effective_from, actor, clock,
                                  title=title_of(kind, content, agency.name))


async def retire(agency_id: uuid.UUID, kind: RegisterKind, code: str, effective_from: date, reason: str,
                 actor: str, clock: Clock) -> RegisterVersion:
    """Propose taking a public item off the register from ``effective_from`` (废止、协议终止、停止办理):
    a version like any change (reviewed by another person before it is public, within 20 working
    days); once published and in effect the public no longer lists the item, its history keeps it.
    The agency's register of itself is never retired: a change of it is a new version."""
    reason = reason.strip()
    if kind is RegisterKind.AGENCY:
        raise Conflict("本机关的行政执法主体资格不能停止公开，如有变更请提出新版本",
                       code="register_agency_not_retirable")
    if not reason:
        raise ValidationFailed("请填写停止公开的理由", code="register_retirement_reason_required")
    agency = await _supervisor_refused(agency_id)
    async with in_transaction():
        item, _ = await item_versions(agency_id, kind, code)
        await RegisterItem.filter(id=item.id).select_for_update().get()
        current = _newest_published(await RegisterVersion.filter(item_id=item.id))
        if current is None:
            raise Conflict("该事项尚无公开的版本，无需停止公开", code="register_item_not_public")
        if current.retirement:
            raise Conflict(f"该事项已由第{current.version}版停止公开", code="register_item_already_retired")
        return await _new_version(agency, item, {}, effective_from, actor, clock, title=current.title,
                                  retirement_reason=reason)


async def _locked(agency_id: uuid.UUID, version_id: uuid.UUID) -> RegisterVersion:
    await visible_one(RegisterVersion.filter(id=version_id), agency_id, NOT_FOUND)
    return await RegisterVersion.filter(id=version_id).select_for_update().get()


async def submit(agency_id: uuid.UUID, version_id: uuid.UUID, actor: str, clock: Clock) -> RegisterVersion:
    """Send a draft to the internal review (法制审核机构)."""
    async with in_transaction():
        row = await _locked(agency_id, version_id)
        row.state = REGISTER_ITEM.next(row.state, "submit")
        row.submitted_at, row.submitted_by_name = clock.now(), audit.who(actor)[0]
        await row.save(update_fields=["state", "submitted_at", "submitted_by_name"])
        await _step(row, "submit", actor, clock)
    return row


async def review(agency_id: uuid.UUID, version_id: uuid.UUID, outcome: RegisterReviewOutcome, opinion: str,
                 actor: str, clock: Clock) -> RegisterEvent:
    """The internal review, recorded with who, when and the opinion (未经审查不得发布). The author of a
    version does not review it."""
    opinion = opinion.strip()
    if not opinion:
        raise ValidationFailed("请填写审核意见", code="register_opinion_required")
    name, _ = audit.who(actor)
    async with in_transaction():
        row = await _locked(agency_id, version_id)
        if actor == row.author or (name and name == row.author_name):
            raise Conflict("起草人不能审核自己起草的版本", code="register_review_by_author")
        action = "approve" if outcome is RegisterReviewOutcome.APPROVED else "return"
        row.state = REGISTER_ITEM.next(row.state, action)
        await row.save(update_fields=["state"])
        return await _step(row, action, actor, clock, note=opinion, data={"outcome": outcome.value})


async def publish(agency_id: uuid.UUID, version_id: uuid.UUID, actor: str, clock: Clock) -> RegisterVersion:
    """Make an approved version public. The table allows it only from ``approved``, and only a
    recorded approval leads there."""
    async with in_transaction():
        row = await _locked(agency_id, version_id)
        row.state = REGISTER_ITEM.next(row.state, "publish")
        row.published_at, row.published_by_name = clock.now(), audit.who(actor)[0]
        await row.save(update_fields=["state", "published_at", "published_by_name"])
        await _step(row, "publish", actor, clock, data={"effective_from": row.effective_from.isoformat(),
                                                        "late": clock.today() > row.publish_due_on})
    return row


# -- the agency's reads -----------------------------------------------------------------------------

async def version(agency_id: uuid.UUID | None, version_id: uuid.UUID) -> RegisterVersion:
    return await visible_one(RegisterVersion.filter(id=version_id), agency_id, NOT_FOUND)


REVIEW_ACTIONS = {"approve": RegisterReviewOutcome.APPROVED, "return": RegisterReviewOutcome.RETURNED}


async def steps_of(version_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[RegisterEvent]]:
    """Each version's steps, oldest first (the reviews are those whose action is in REVIEW_ACTIONS)."""
    out: dict[uuid.UUID, list[RegisterEvent]] = {v: [] for v in version_ids}
    for e in await RegisterEvent.filter(version_id__in=version_ids).order_by("at", "id"):
        out[e.version_id].append(e)
    return out


@dataclass(frozen=True)
class ItemView:
    item: RegisterItem
    latest: RegisterVersion
    in_effect: RegisterVersion | None


def in_effect_of(published: list[RegisterVersion], day: date) -> RegisterVersion | None:
    """The published version in effect on ``day``: the latest effective date on or before it."""
    candidates = [v for v in published if v.state is PublishState.PUBLISHED and v.effective_from <= day]
    return max(candidates, key=lambda v: (v.effective_from, v.version), default=None)


async def items(agency_id: uuid.UUID, kind: RegisterKind, today: date, *, page: int,
                page_size: int) -> tuple[list[ItemView], int]:
    query = RegisterItem.filter(agency_id=agency_id, kind=kind)
    total = await query.count()
    rows = await query.order_by("code", "id").offset((page - 1) * page_size).limit(page_size)
    versions: dict[uuid.UUID, list[RegisterVersion]] = {r.id: [] for r in rows}
    for v in await RegisterVersion.filter(item_id__in=list(versions)).order_by("version"):
        versions[v.item_id].append(v)
    return [ItemView(r, versions[r.id][-1], in_effect_of(versions[r.id], today)) for r in rows], total


async def item_versions(agency_id: uuid.UUID, kind: RegisterKind, code: str) -> tuple[RegisterItem,
                                                                                      list[RegisterVersion]]:
    # A code longer than the column names no item (and the ORM would refuse to even compare it).
    item = None if len(code) > CODE_MAX else await RegisterItem.filter(agency_id=agency_id, kind=kind,
                                                                      code=code).first()
    if item is None:
        raise NotFound("未找到该公开事项", code="register_item_not_found")
    return item, await RegisterVersion.filter(item_id=item.id).order_by("version")


# -- the publication clock --------------------------------------------------------------------------

@dataclass(frozen=True)
class OverdueVersion:
    version: RegisterVersion
    code: str
    agency_name: str
    colour: deadlines.Colour
    days_overdue: int


async def overdue(clock: Clock, *, page: int, page_size: int,
                  scope: uuid.UUID | None = None) -> tuple[list[OverdueVersion], int]:
    """Changes not yet public whose 20 working days end today or tomorrow (yellow) or have passed
    (red): every agency for the supervisor (``scope=None``), one agency for its own view."""
    today = clock.today()
    query = scoped(RegisterVersion.filter(state__in=list(OPEN), publish_due_on__lte=today + timedelta(days=1)),
                   scope)
    total = await query.count()
    rows = await query.order_by("publish_due_on", "id").offset((page - 1) * page_size).limit(page_size)
    names = {a["id"]: a["name"] for a in await Agency.filter(id__in={r.agency_id for r in rows}).values("id", "name")}
    codes = {i["id"]: i["code"] for i in await RegisterItem.filter(id__in={r.item_id for r in rows}).values(
        "id", "code")}
    return [OverdueVersion(r, codes.get(r.item_id, ""), names.get(r.agency_id, ""),
                           deadlines.colour(r.publish_due_on, today), max(0, (today - r.publish_due_on).days))
            for r in rows], total


async def overdue_count(today: date) -> int:
    """What the gauge reads: changes past their 20 working days and still not public."""
    return await RegisterVersion.filter(state__in=list(OPEN), publish_due_on__lt=today).count()
