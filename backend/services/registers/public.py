"""What anyone may read of an agency's registers: published versions only (a draft, a version under
review, approved but not yet published, returned or superseded never leaves the agency), each with
the date it took effect and the log leaf of its publication, the one in effect today marked. An item
whose version in effect today is a published retirement is no longer listed (its history stays with
the agency); a retirement still to take effect is shown with the item."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from tortoise.expressions import Subquery
from tortoise.functions import Count

from backend.errors import NotFound
from backend.models import Agency, RegisterEvent, RegisterItem, RegisterVersion
from backend.models.enums import AgencyKind, PublishState, RegisterKind
from backend.services.registers.versions import SINGLE_CODE, in_effect_of


@dataclass(frozen=True)
class PublicItem:
    code: str
    in_effect: RegisterVersion | None  # None: every published version takes effect later
    versions: list[RegisterVersion]  # published, newest first
    leaves: dict[uuid.UUID, int | None]  # each version's publication leaf in the transparency log


async def agency(agency_id: uuid.UUID) -> Agency:
    found = await Agency.filter(id=agency_id).exclude(kind=AgencyKind.SUPERVISOR).first()
    if found is None:
        raise NotFound("未找到该执法机关", code="agency_not_found")
    return found


async def _published(item_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[RegisterVersion]]:
    out: dict[uuid.UUID, list[RegisterVersion]] = {i: [] for i in item_ids}
    for v in await RegisterVersion.filter(item_id__in=item_ids, state=PublishState.PUBLISHED).order_by(
            "-effective_from", "-version"):
        out[v.item_id].append(v)
    return out


async def _leaves(versions: list[RegisterVersion]) -> dict[uuid.UUID, int | None]:
    rows = await RegisterEvent.filter(version_id__in=[v.id for v in versions], action="publish").values_list(
        "version_id", "leaf_index")
    return {v.id: None for v in versions} | {vid: leaf for vid, leaf in rows}


async def retired(agency_id: uuid.UUID, today: date, kind: RegisterKind | None = None) -> dict[uuid.UUID, RegisterKind]:
    """The items (and their kinds) whose published version in effect on ``today`` is a retirement:
    looked for among the few items with a published retirement in effect, by ``in_effect_of``'s rule."""
    query = RegisterVersion.filter(agency_id=agency_id, state=PublishState.PUBLISHED, retirement=True,
                                   effective_from__lte=today)
    found = await (query.filter(kind=kind) if kind is not None else query).values_list("item_id", flat=True)
    candidates: set[uuid.UUID] = {uuid.UUID(str(i)) for i in found}
    if not candidates:
        return {}
    published = await _published(list(candidates))
    return {item: current.kind for item, rows in published.items()
            if (current := in_effect_of(rows, today)) is not None and current.retirement}


async def items(agency_id: uuid.UUID, kind: RegisterKind, today: date, *, page: int,
                page_size: int) -> tuple[list[PublicItem], int]:
    """The agency's public items of one kind, by code, each with every published version."""
    query = RegisterItem.filter(agency_id=agency_id, kind=kind,
                                id__in=Subquery(RegisterVersion.filter(
                                    agency_id=agency_id, kind=kind, state=PublishState.PUBLISHED).values_list(
                                    "item_id", flat=True)))
    gone = await retired(agency_id, today, kind)
    if gone:
        query = query.exclude(id__in=list(gone))
    total = await query.count()
    rows = await query.order_by("code", "id").offset((page - 1) * page_size).limit(page_size)
    published = await _published([r.id for r in rows])
    leaves = await _leaves([v for vs in published.values() for v in vs])
    return [PublicItem(r.code, in_effect_of(published[r.id], today), published[r.id], leaves) for r in rows], total


async def own_register(agency_id: uuid.UUID, today: date) -> PublicItem | None:
    """The agency's register of itself (主体资格), if any version of it is public."""
    item = await RegisterItem.filter(agency_id=agency_id, kind=RegisterKind.AGENCY, code=SINGLE_CODE).first()
    if item is None:
        return None
    versions = (await _published([item.id]))[item.id]
    return PublicItem(item.code, in_effect_of(versions, today), versions, await _leaves(versions)) if versions else None


async def counts(agency_id: uuid.UUID, today: date) -> dict[RegisterKind, int]:
    """How many items of each kind the public register lists today (a public version, not retired)."""
    rows = await RegisterVersion.filter(agency_id=agency_id, state=PublishState.PUBLISHED).annotate(
        n=Count("item_id", distinct=True)).group_by("kind").values_list("kind", "n")
    found = {RegisterKind(getattr(k, "value", k)): int(n) for k, n in rows}
    for gone in (await retired(agency_id, today)).values():
        found[gone] -= 1
    return {k: found.get(k, 0) for k in RegisterKind}
