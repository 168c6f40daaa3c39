"""The disclosure registers (R-D1, R-D3, R-D4) at the service level: versions with effective dates,
the internal review before anything is public, the 20-working-day clock and its overdue view, one
agency never reaching another's register, and the public reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import pytest

from backend.clock import SHANGHAI, FrozenClock
from backend.errors import Conflict, IllegalTransition, NotFound, ValidationFailed
from backend.http.register_content import EXAMPLES
from backend.models import AuditEvent, LogLeaf, RegisterEvent, RegisterVersion
from backend.models.enums import PublishState, RegisterKind, RegisterReviewOutcome
from backend.services import audit, calendar, clocks, gauges
from backend.services.registers import public, versions
from tests.factories import an_agency
from tests.services.test_publication_clocks import SCHEDULE_2027

D = date
K = RegisterKind
ADMIN, REVIEWER = "key:admin-1", "key:reviewer-1"
DECEMBER_1 = D(2026, 12, 1)


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI))  # a Friday


@contextmanager
def acting(role: str, name: str) -> Iterator[None]:
    token = audit.acting_as.set((role, name))
    try:
        yield
    finally:
        audit.acting_as.reset(token)


def power(name: str = "对无证经营的行政处罚", **changes: Any) -> dict[str, Any]:
    return {**EXAMPLES[K.POWER], "name": name, **changes}


async def propose(agency_id: uuid.UUID, clock: FrozenClock, *, kind: RegisterKind = K.POWER, code: str | None = "P-001",
                  content: dict[str, Any] | None = None, effective_from: date = DECEMBER_1) -> RegisterVersion:
    with acting("admin", "钱管理"):
        return await versions.propose(agency_id, kind, code, content or power(), effective_from, ADMIN, clock)


async def approve(agency_id: uuid.UUID, row: RegisterVersion, clock: FrozenClock) -> RegisterVersion:
    with acting("admin", "钱管理"):
        await versions.submit(agency_id, row.id, ADMIN, clock)
    with acting("reviewer", "王法制"):
        await versions.review(agency_id, row.id, RegisterReviewOutcome.APPROVED, "依据准确，同意公开", REVIEWER, clock)
    return await RegisterVersion.get(id=row.id)


async def make_public(agency_id: uuid.UUID, row: RegisterVersion, clock: FrozenClock) -> RegisterVersion:
    await approve(agency_id, row, clock)
    with acting("admin", "钱管理"):
        return await versions.publish(agency_id, row.id, ADMIN, clock)


# -- versions and effective dates ---------------------------------------------------------------------

async def test_a_change_is_a_new_version_and_the_one_in_effect_depends_on_the_day(db, frozen):
    agency = (await an_agency()).agency
    first = await make_public(agency.id, await propose(agency.id, frozen), frozen)
    second = await make_public(agency.id, await propose(
        agency.id, frozen, content=power(legal_basis="《中华人民共和国食品安全法》（2027年修正）第一百二十二条"),
        effective_from=D(2027, 3, 1)), frozen)
    assert (first.version, second.version) == (1, 2)
    assert first.item_id == second.item_id
    # The first version is as it was: a change never edits it.
    assert (await RegisterVersion.get(id=first.id)).content["legal_basis"] == EXAMPLES[K.POWER]["legal_basis"]

    for day, expected in ((D(2026, 11, 30), None), (D(2026, 12, 1), 1), (D(2027, 2, 28), 1), (D(2027, 3, 1), 2)):
        rows, total = await public.items(agency.id, K.POWER, day, page=1, page_size=20)
        assert total == 1
        assert (rows[0].in_effect.version if rows[0].in_effect else None) == expected, day
        assert [v.version for v in rows[0].versions] == [2, 1]


async def test_a_version_cannot_take_effect_before_the_public_one(db, frozen):
    agency = (await an_agency()).agency
    await make_public(agency.id, await propose(agency.id, frozen, effective_from=D(2026, 12, 1)), frozen)
    with pytest.raises(ValidationFailed) as refused:
        await propose(agency.id, frozen, effective_from=D(2026, 11, 30))
    assert refused.value.code == "register_effective_before_current"


async def test_every_kind_has_its_items_and_an_entrusted_org_is_named_by_its_checked_credit_code(db, frozen):
    agency = (await an_agency()).agency
    for kind in K:
        row = await propose(agency.id, frozen, kind=kind, code="X-1", content=dict(EXAMPLES[kind]))
        expected_code = {K.AGENCY: "agency", K.ENTRUSTED_ORG: EXAMPLES[K.ENTRUSTED_ORG]["credit_code"]}.get(kind, "X-1")
        _, rows = await versions.item_versions(agency.id, kind, expected_code)
        assert [r.id for r in rows] == [row.id]
    assert (await RegisterVersion.get(kind=K.AGENCY)).title == agency.name
    bad = {**EXAMPLES[K.ENTRUSTED_ORG], "credit_code": "12330106MB12345673"}  # wrong check digit
    with pytest.raises(ValidationFailed) as refused:
        await propose(agency.id, frozen, kind=K.ENTRUSTED_ORG, content=bad)
    assert refused.value.code == "invalid_credit_code"
    with pytest.raises(ValidationFailed) as no_code:
        await propose(agency.id, frozen, kind=K.SERVICE_GUIDE, code=None, content=dict(EXAMPLES[K.SERVICE_GUIDE]))
    assert no_code.value.code == "register_code_required"


# -- the review before publication (R-D4) -------------------------------------------------------------

async def test_nothing_is_public_before_a_recorded_review_approved_it(db, frozen):
    agency = (await an_agency()).agency
    row = await propose(agency.id, frozen)
    with pytest.raises(IllegalTransition) as draft:
        await versions.publish(agency.id, row.id, ADMIN, frozen)
    assert draft.value.code == "register_item_publish_not_allowed"
    await versions.submit(agency.id, row.id, ADMIN, frozen)
    with pytest.raises(IllegalTransition):
        await versions.publish(agency.id, row.id, ADMIN, frozen)
    assert (await public.items(agency.id, K.POWER, D(2027, 1, 1), page=1, page_size=20))[1] == 0
    with acting("reviewer", "王法制"):
        await versions.review(agency.id, row.id, RegisterReviewOutcome.APPROVED, "同意公开", REVIEWER, frozen)
    assert (await public.items(agency.id, K.POWER, D(2027, 1, 1), page=1, page_size=20))[1] == 0  # approved only
    frozen.advance(hours=1)
    with acting("admin", "钱管理"):
        published = await versions.publish(agency.id, row.id, ADMIN, frozen)
    assert published.state is PublishState.PUBLISHED and published.published_by_name == "钱管理"
    review = await RegisterEvent.get(version_id=row.id, action="approve")
    assert (review.actor_name, review.actor_role, review.note, review.at) == (
        "王法制", "reviewer", "同意公开", datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI))
    assert await AuditEvent.filter(action="register.review.approved", actor_name="王法制").count() == 1
    assert (await public.items(agency.id, K.POWER, D(2027, 1, 1), page=1, page_size=20))[1] == 1


async def test_a_returned_version_stays_returned_and_the_author_never_reviews_their_own(db, frozen):
    agency = (await an_agency()).agency
    row = await propose(agency.id, frozen)
    await versions.submit(agency.id, row.id, ADMIN, frozen)
    with acting("reviewer", "钱管理"), pytest.raises(Conflict) as own:  # the author, holding a reviewer key
        await versions.review(agency.id, row.id, RegisterReviewOutcome.APPROVED, "同意", "key:other", frozen)
    assert own.value.code == "register_review_by_author"
    with acting("reviewer", "王法制"):
        with pytest.raises(ValidationFailed):
            await versions.review(agency.id, row.id, RegisterReviewOutcome.RETURNED, "  ", REVIEWER, frozen)
        await versions.review(agency.id, row.id, RegisterReviewOutcome.RETURNED, "救济渠道缺少复议机关", REVIEWER,
                              frozen)
    for action in (versions.publish, versions.submit):
        with pytest.raises(IllegalTransition):
            await action(agency.id, row.id, ADMIN, frozen)
    fixed = await make_public(agency.id, await propose(agency.id, frozen, content=power(
        remedy="六十日内向杭州市西湖区人民政府申请行政复议")), frozen)
    assert fixed.version == 2
    assert (await RegisterVersion.get(id=row.id)).state is PublishState.SUPERSEDED


# -- the 20-working-day clock -------------------------------------------------------------------------

async def test_a_change_not_public_within_20_working_days_is_overdue_for_the_agency_and_the_supervisor(db, frozen):
    agency = (await an_agency()).agency
    other = (await an_agency("另一局")).agency
    row = await propose(agency.id, frozen)  # Friday 11-20: 11-23 .. 12-18 are the 20 working days
    assert (row.changed_on, row.publish_due_on, row.publish_due_on_provisional) == (D(2026, 11, 20), D(2026, 12, 18),
                                                                                    False)
    assert (await versions.overdue(frozen, page=1, page_size=20))[1] == 0
    frozen.at = datetime(2026, 12, 17, 9, 0, tzinfo=SHANGHAI)  # due tomorrow
    found, _ = await versions.overdue(frozen, page=1, page_size=20)
    assert [(o.version.id, o.colour, o.days_overdue, o.code) for o in found] == [(row.id, "yellow", 0, "P-001")]
    assert (await gauges.read(frozen)).overdue["register"] == 0
    # A second attempt does not restart the clock: the change was made on 11-20.
    again = await propose(agency.id, frozen, content=power("对无证经营的行政处罚（修订）"))
    assert (again.changed_on, again.publish_due_on) == (D(2026, 11, 20), D(2026, 12, 18))
    frozen.at = datetime(2026, 12, 21, 9, 0, tzinfo=SHANGHAI)
    found, total = await versions.overdue(frozen, page=1, page_size=20)
    assert (total, found[0].version.id, found[0].colour, found[0].days_overdue) == (1, again.id, "red", 3)
    assert (await gauges.read(frozen)).overdue["register"] == 1
    assert (await versions.overdue(frozen, page=1, page_size=20, scope=agency.id))[1] == 1
    assert (await versions.overdue(frozen, page=1, page_size=20, scope=other.id))[1] == 0
    await make_public(agency.id, again, frozen)
    assert (await versions.overdue(frozen, page=1, page_size=20))[1] == 0
    assert (await gauges.read(frozen)).overdue["register"] == 0
    # The next change starts its own clock on the day it is made.
    later = await propose(agency.id, frozen, content=power("对无证经营的行政处罚（2027）"),
                          effective_from=D(2027, 1, 1))
    assert later.changed_on == D(2026, 12, 21)


async def test_loading_a_year_recomputes_a_register_clock_that_counted_it(db, frozen):
    agency = (await an_agency()).agency
    frozen.at = datetime(2026, 12, 10, 10, 0, tzinfo=SHANGHAI)
    row = await propose(agency.id, frozen)  # the count runs into 2027, which no source covers yet
    assert (row.publish_due_on, row.publish_due_on_provisional) == (D(2027, 1, 8), True)
    result = await clocks.load(calendar.parse(SCHEDULE_2027.encode()), source_name="2027.csv", sha256="0" * 64,
                               actor="operator:王运维", clock=frozen)
    assert result.recomputed["register"] == 1
    moved = await RegisterVersion.get(id=row.id)
    assert (moved.publish_due_on, moved.publish_due_on_provisional) == (D(2027, 1, 11), False)  # 01-04 off
    assert await AuditEvent.filter(action="deadline.recompute", target_id=str(row.id)).count() == 1


# -- one agency, its own register ---------------------------------------------------------------------

async def test_an_agency_never_reaches_another_agencys_register(db, frozen):
    mine = (await an_agency()).agency
    theirs = (await an_agency("另一局")).agency
    row = await propose(mine.id, frozen)
    for action in (versions.submit, versions.publish):
        with pytest.raises(NotFound) as hidden:
            await action(theirs.id, row.id, ADMIN, frozen)
        assert hidden.value.code == "register_version_not_found"
    with acting("reviewer", "王法制"), pytest.raises(NotFound):
        await versions.review(theirs.id, row.id, RegisterReviewOutcome.APPROVED, "同意", REVIEWER, frozen)
    with pytest.raises(NotFound):
        await versions.version(theirs.id, row.id)
    assert (await RegisterVersion.get(id=row.id)).state is PublishState.DRAFT
    # The same code in another agency is another item.
    assert (await propose(theirs.id, frozen)).version == 1


# -- public reads -------------------------------------------------------------------------------------

async def test_the_public_sees_only_published_versions(db, frozen):
    agency = (await an_agency()).agency
    published = await make_public(agency.id, await propose(agency.id, frozen, code="P-1"), frozen)
    await propose(agency.id, frozen, code="P-1", content=power("草稿中的修订"))  # a newer draft of P-1
    under_review = await propose(agency.id, frozen, code="P-2", content=power("审核中的事项"))
    await versions.submit(agency.id, under_review.id, ADMIN, frozen)
    await approve(agency.id, await propose(agency.id, frozen, code="P-3", content=power("已审核未公开")), frozen)
    rows, total = await public.items(agency.id, K.POWER, D(2026, 12, 1), page=1, page_size=20)
    assert total == 1
    assert [(r.code, [v.id for v in r.versions]) for r in rows] == [("P-1", [published.id])]
    assert rows[0].in_effect is not None and rows[0].in_effect.title == "对无证经营的行政处罚"
    assert (await public.counts(agency.id, D(2026, 12, 1)))[K.POWER] == 1
    assert await public.own_register(agency.id, D(2026, 12, 1)) is None
    me = await make_public(agency.id, await propose(agency.id, frozen, kind=K.AGENCY, code=None,
                                                    content=dict(EXAMPLES[K.AGENCY])), frozen)
    own = await public.own_register(agency.id, D(2026, 12, 1))
    assert own is not None and own.in_effect is not None and own.in_effect.id == me.id


# -- each step a leaf ---------------------------------------------------------------------------------

async def test_every_step_of_a_version_is_a_leaf_of_the_transparency_log_saying_who(db, frozen):
    agency = (await an_agency()).agency
    first = await propose(agency.id, frozen)
    second = await make_public(agency.id, await propose(agency.id, frozen, content=power("修订后的名称")), frozen)
    steps = await versions.steps_of([first.id, second.id])
    assert [(e.action, e.state) for e in steps[first.id]] == [("propose", PublishState.DRAFT),
                                                              ("supersede", PublishState.SUPERSEDED)]
    assert [(e.action, e.state, e.actor_name) for e in steps[second.id]] == [
        ("propose", PublishState.DRAFT, "钱管理"), ("submit", PublishState.PENDING_REVIEW, "钱管理"),
        ("approve", PublishState.APPROVED, "王法制"), ("publish", PublishState.PUBLISHED, "钱管理")]
    for e in steps[first.id] + steps[second.id]:
        leaf = await LogLeaf.get(leaf_index=e.leaf_index)
        assert (leaf.kind, leaf.ref, leaf.agency_id) == ("register_event", f"register_version:{e.version_id}",
                                                         agency.id)
    approve_leaf = await LogLeaf.get(leaf_index=steps[second.id][2].leaf_index)
    assert '"note_sha256"' in approve_leaf.content and "依据准确" not in approve_leaf.content  # a digest
    # The public version carries the leaf of its publication.
    rows, _ = await public.items(agency.id, K.POWER, DECEMBER_1, page=1, page_size=20)
    assert rows[0].leaves[second.id] == steps[second.id][-1].leaf_index


# -- retirement ---------------------------------------------------------------------------------------

JANUARY_1 = D(2027, 1, 1)


async def retire(agency_id: uuid.UUID, clock: FrozenClock, code: str = "P-001", effective_from: date = JANUARY_1,
                 reason: str = "设定依据已废止", kind: RegisterKind = K.POWER) -> RegisterVersion:
    with acting("admin", "钱管理"):
        return await versions.retire(agency_id, kind, code, effective_from, reason, ADMIN, clock)


async def test_a_retirement_is_reviewed_published_and_takes_the_item_off_the_public_register_on_its_date(db, frozen):
    agency = (await an_agency()).agency
    kept = await make_public(agency.id, await propose(agency.id, frozen, code="P-002", content=power("保留的事项")),
                             frozen)
    current = await make_public(agency.id, await propose(agency.id, frozen), frozen)
    ending = await retire(agency.id, frozen)
    assert (ending.version, ending.retirement, ending.retirement_reason, ending.content) == (2, True, "设定依据已废止",
                                                                                                {})
    assert (ending.title, ending.state, ending.publish_due_on) == (current.title, PublishState.DRAFT, D(2026, 12, 18))
    # Nothing is public before a recorded review, by someone other than its author.
    with pytest.raises(IllegalTransition):
        await versions.publish(agency.id, ending.id, ADMIN, frozen)
    await versions.submit(agency.id, ending.id, ADMIN, frozen)
    with acting("reviewer", "钱管理"), pytest.raises(Conflict):
        await versions.review(agency.id, ending.id, RegisterReviewOutcome.APPROVED, "同意", "key:other", frozen)
    january = D(2027, 1, 1)
    assert (await public.items(agency.id, K.POWER, january, page=1, page_size=20))[1] == 2  # not public yet
    with acting("reviewer", "王法制"):
        await versions.review(agency.id, ending.id, RegisterReviewOutcome.APPROVED, "依据已废止，同意", REVIEWER,
                              frozen)
    with acting("admin", "钱管理"):
        await versions.publish(agency.id, ending.id, ADMIN, frozen)
    assert [e.action for e in (await versions.steps_of([ending.id]))[ending.id]] == [
        "retire", "submit", "approve", "publish"]
    # Until its date the item is listed, its coming retirement shown with it.
    rows, total = await public.items(agency.id, K.POWER, D(2026, 12, 31), page=1, page_size=20)
    assert total == 2 and [(v.version, v.retirement) for v in rows[0].versions] == [(2, True), (1, False)]
    assert rows[0].in_effect is not None and rows[0].in_effect.id == current.id
    assert (await public.counts(agency.id, D(2026, 12, 31)))[K.POWER] == 2
    # From its date the public no longer lists it; the agency's history keeps every version.
    rows, total = await public.items(agency.id, K.POWER, january, page=1, page_size=20)
    assert total == 1 and [r.code for r in rows] == ["P-002"] and rows[0].versions[0].id == kept.id
    assert (await public.counts(agency.id, january))[K.POWER] == 1
    _, history = await versions.item_versions(agency.id, K.POWER, "P-001")
    assert [(v.version, v.retirement, v.state) for v in history] == [(1, False, PublishState.PUBLISHED),
                                                                     (2, True, PublishState.PUBLISHED)]
    own, _ = await versions.items(agency.id, K.POWER, january, page=1, page_size=20)
    assert [(v.item.code, v.in_effect.retirement if v.in_effect else None) for v in own] == [
        ("P-001", True), ("P-002", False)]
    # A power reinstated later is a new version, listed again from its own date.
    back = await make_public(agency.id, await propose(agency.id, frozen, effective_from=D(2027, 3, 1)), frozen)
    rows, total = await public.items(agency.id, K.POWER, D(2027, 3, 1), page=1, page_size=20)
    assert total == 2 and rows[0].in_effect is not None and rows[0].in_effect.id == back.id


async def test_a_retirement_is_refused_when_it_cannot_be_right(db, frozen):
    agency = (await an_agency()).agency
    await make_public(agency.id, await propose(agency.id, frozen, kind=K.AGENCY, code=None,
                                               content=dict(EXAMPLES[K.AGENCY])), frozen)
    with pytest.raises(Conflict) as own:
        await retire(agency.id, frozen, code="agency", kind=K.AGENCY)
    assert own.value.code == "register_agency_not_retirable"
    with pytest.raises(NotFound) as missing:
        await retire(agency.id, frozen, code="P-404")
    assert missing.value.code == "register_item_not_found"
    draft = await propose(agency.id, frozen)
    with pytest.raises(Conflict) as unpublished:
        await retire(agency.id, frozen)
    assert unpublished.value.code == "register_item_not_public"
    await make_public(agency.id, await propose(agency.id, frozen), frozen)
    assert (await RegisterVersion.get(id=draft.id)).state is PublishState.SUPERSEDED
    with pytest.raises(ValidationFailed) as early:
        await retire(agency.id, frozen, effective_from=D(2026, 11, 30))
    assert early.value.code == "register_effective_before_current"
    with pytest.raises(ValidationFailed) as blank:
        await retire(agency.id, frozen, reason="   ")
    assert blank.value.code == "register_retirement_reason_required"
    await make_public(agency.id, await retire(agency.id, frozen), frozen)
    with pytest.raises(Conflict) as twice:
        await retire(agency.id, frozen)
    assert twice.value.code == "register_item_already_retired"
    other = (await an_agency("另一局")).agency
    with pytest.raises(NotFound):
        await retire(other.id, frozen)


async def test_a_retirement_not_public_within_20_working_days_is_overdue(db, frozen):
    agency = (await an_agency()).agency
    await make_public(agency.id, await propose(agency.id, frozen), frozen)
    frozen.at = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)  # Monday: 11-24 .. 12-21
    ending = await retire(agency.id, frozen)
    assert (ending.changed_on, ending.publish_due_on) == (D(2026, 11, 23), D(2026, 12, 21))
    frozen.at = datetime(2026, 12, 22, 9, 0, tzinfo=SHANGHAI)
    found, total = await versions.overdue(frozen, page=1, page_size=20, scope=agency.id)
    assert total == 1 and (found[0].version.id, found[0].colour, found[0].days_overdue) == (ending.id, "red", 1)
    assert (await gauges.read(frozen)).overdue["register"] == 1
