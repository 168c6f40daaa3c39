"""Orders to rectify without HTTP (R-X3): the agency's own supervising body orders, the agency answers
in writing, the body accepts or returns, the job escalates an unanswered order past its date to the
government level once; every step masked, audited with who, and a leaf ``audit verify`` checks.
And the supervisor's views of enforcement activity (R-X4): zero enforcement, repeated inspections."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import orjson
import pytest

from backend.clock import SHANGHAI, FrozenClock
from backend.errors import Conflict, IllegalTransition, NotFound, ValidationFailed
from backend.models import Agency, AuditEvent, Decision, LogLeaf, Rectification, RectificationEvent
from backend.models.enums import LeafKind, RecordStep, RectificationStatus
from backend.services import agencies, audit, cases, gauges, leaf_sources
from backend.services.records import entries
from backend.services.supervision import activity, rectifications
from backend.services.transparency.verify import LeafRecord
from tests.factories import a_supervisor, an_agency

X = RectificationStatus
FRIDAY = datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI)
BOSS, CLERK = "key:00000000-0000-4000-8000-000000000001", "key:00000000-0000-4000-8000-000000000002"


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(FRIDAY)


@pytest.fixture(autouse=True)
def acting() -> object:
    # Who acts: set per step as authentication does for a request's key.
    token = audit.acting_as.set(("supervisor", "吴监督"))
    yield
    audit.acting_as.reset(token)


def as_(role: str, name: str) -> None:
    audit.acting_as.set((role, name))


@dataclass
class World:
    a: Agency
    b: Agency
    body: Agency  # the supervising body of a and b
    elsewhere: Agency  # another supervising body


async def a_world() -> World:
    a, b = (await an_agency("甲局")).agency, (await an_agency("乙局")).agency
    body, elsewhere = (await a_supervisor("西湖区司法局")).agency, (await a_supervisor("另一区司法局")).agency
    for agency in (a, b):
        await agencies.set_supervising_body(agency, body)
    return World(a, b, body, elsewhere)


def an_order(w: World, frozen: FrozenClock, **kw) -> rectifications.Order:  # type: ignore[no-untyped-def]
    return rectifications.Order(kw.pop("agency_id", w.a.id), kw.pop("subject", "公示超期3件，请整改"),
                                kw.pop("due_on", frozen.today() + timedelta(days=10)), **kw)


async def test_the_agencys_own_supervising_body_orders_and_the_text_is_stored_masked(db, frozen):
    w = await a_world()
    case, _ = await cases.create_case(w.a.id, {"title": "无证经营", "type": "penalty", "parties": [
        {"kind": "person", "name": "欧阳修远", "phone": "13912345678"}]}, "test", frozen)
    r = await rectifications.order(an_order(w, frozen, case_id=case.id,
                                            subject="当事人欧阳修远（电话13912345678）的处罚未告知陈述申辩权利"),
                                   w.body.id, BOSS, frozen)
    assert (r.status, r.agency_id, r.ordered_by_agency_id, r.ordered_by_name) == (
        X.ORDERED, w.a.id, w.body.id, "吴监督")
    stored = await Rectification.get(id=r.id)
    assert "欧阳修远" not in stored.subject and "13912345678" not in stored.subject and "欧阳*" in stored.subject
    (event,) = await rectifications.events(r.id)
    assert (event.action, event.status, event.actor_name, event.actor_role) == ("order", X.ORDERED, "吴监督",
                                                                                "supervisor")
    assert event.text == stored.subject and event.data["due_on"] == (frozen.today() + timedelta(days=10)).isoformat()
    leaf = await LogLeaf.get(leaf_index=event.leaf_index)
    content = orjson.loads(leaf.content)
    assert leaf.kind == LeafKind.RECTIFICATION_EVENT and "欧阳" not in leaf.content and "*" not in leaf.content
    assert content["data"] == rectifications.leaf_content(event, stored)
    entry = await AuditEvent.get(action="rectification.order", target_id=str(r.id))
    assert (entry.actor_name, entry.actor_role, entry.agency_id) == ("吴监督", "supervisor", w.a.id)


async def test_only_the_agencys_own_supervising_body_may_order_and_bad_orders_are_refused(db, frozen):
    w = await a_world()
    with pytest.raises(Conflict) as exc:
        await rectifications.order(an_order(w, frozen), w.elsewhere.id, BOSS, frozen)
    assert exc.value.code == "not_supervising_body"
    unlinked = (await an_agency("丙局")).agency
    with pytest.raises(Conflict) as exc:
        await rectifications.order(an_order(w, frozen, agency_id=unlinked.id), w.body.id, BOSS, frozen)
    assert exc.value.code == "supervising_body_unknown"
    for agency_id in (w.body.id, uuid.uuid4()):  # a supervising body is not ordered; nor is nobody
        with pytest.raises(NotFound) as nf:
            await rectifications.order(an_order(w, frozen, agency_id=agency_id), w.body.id, BOSS, frozen)
        assert nf.value.code == "agency_not_found"
    for due in (frozen.today(), frozen.today() - timedelta(days=1), frozen.today() + timedelta(days=400)):
        with pytest.raises(ValidationFailed) as bad:
            await rectifications.order(an_order(w, frozen, due_on=due), w.body.id, BOSS, frozen)
        assert bad.value.code == "due_on_invalid"
    b_case, _ = await cases.create_case(w.b.id, {"title": "乙的案件", "type": "penalty", "parties": []}, "test", frozen)
    with pytest.raises(NotFound) as nf:  # a link to another agency's case
        await rectifications.order(an_order(w, frozen, case_id=b_case.id), w.body.id, BOSS, frozen)
    assert nf.value.code == "case_not_found"
    assert await Rectification.all().count() == 0 and await RectificationEvent.all().count() == 0


async def test_the_agency_answers_the_body_returns_then_accepts_and_another_agency_reaches_nothing(db, frozen):
    w = await a_world()
    r = await rectifications.order(an_order(w, frozen), w.body.id, BOSS, frozen)
    as_("admin", "周管理")
    with pytest.raises(NotFound) as nf:  # agency B cannot answer (nor see) A's rectification
        await rectifications.answer(r.id, w.b.id, "已整改", None, CLERK, frozen)
    assert nf.value.code == "rectification_not_found"
    with pytest.raises(NotFound):
        await rectifications.get(r.id, w.b.id)
    with pytest.raises(ValidationFailed):
        await rectifications.answer(r.id, w.a.id, "   ", None, CLERK, frozen)
    with pytest.raises(NotFound) as nf:  # a document must be one of the agency's own evidence files
        await rectifications.answer(r.id, w.a.id, "已整改", uuid.uuid4(), CLERK, frozen)
    assert nf.value.code == "evidence_not_found"
    frozen.advance(days=2)
    answered = await rectifications.answer(r.id, w.a.id, "已补充公示，联系人电话13800138000", None, CLERK, frozen)
    assert answered.status is X.ANSWERED and "13800138000" not in answered.answer
    as_("supervisor", "他区监督")
    with pytest.raises(Conflict) as exc:  # another body reads, but does not decide
        await rectifications.accept(r.id, w.elsewhere.id, "", BOSS, frozen)
    assert exc.value.code == "not_supervising_body"
    as_("supervisor", "吴监督")
    new_due = frozen.today() + timedelta(days=20)
    returned = await rectifications.send_back(r.id, w.body.id, "未说明制度落实", new_due, BOSS, frozen)
    assert (returned.status, returned.due_on) == (X.RETURNED, new_due)
    with pytest.raises(IllegalTransition) as illegal:  # nothing to accept until answered again
        await rectifications.accept(r.id, w.body.id, "", BOSS, frozen)
    assert illegal.value.code == "rectification_accept_not_allowed"
    as_("admin", "周管理")
    await rectifications.answer(r.id, w.a.id, "已建立提醒制度", None, CLERK, frozen)
    as_("supervisor", "吴监督")
    accepted = await rectifications.accept(r.id, w.body.id, "认可", BOSS, frozen)
    assert accepted.status is X.ACCEPTED and accepted.closed_at == frozen.now()
    with pytest.raises(IllegalTransition) as illegal:
        await rectifications.answer(r.id, w.a.id, "再答复", None, CLERK, frozen)
    assert illegal.value.code == "rectification_answer_not_allowed"
    steps = await rectifications.events(r.id)
    assert [(e.action, e.status, e.actor_name) for e in steps] == [
        ("order", X.ORDERED, "吴监督"), ("answer", X.ANSWERED, "周管理"), ("return", X.RETURNED, "吴监督"),
        ("answer", X.ANSWERED, "周管理"), ("accept", X.ACCEPTED, "吴监督")]
    mine, total = await rectifications.search(w.a.id, frozen)
    assert total == 1 and mine[0].id == r.id
    assert (await rectifications.search(w.b.id, frozen))[1] == 0


async def test_an_unanswered_order_past_its_date_is_escalated_once_to_the_government_level(db, frozen):
    w = await a_world()
    r = await rectifications.order(an_order(w, frozen, due_on=frozen.today() + timedelta(days=3)), w.body.id, BOSS,
                                   frozen)
    later = frozen.today() + timedelta(days=30)
    other = await rectifications.order(an_order(w, frozen, agency_id=w.b.id, due_on=later), w.body.id, BOSS, frozen)
    frozen.advance(days=3)  # due today: not late yet
    assert await rectifications.escalate_overdue(frozen) == 0
    assert (await gauges.read(frozen)).overdue["rectification"] == 0
    frozen.advance(days=1)
    assert (await gauges.read(frozen)).overdue["rectification"] == 1
    assert await rectifications.escalate_overdue(frozen) == 1
    assert await rectifications.escalate_overdue(frozen) == 0  # once
    row = await Rectification.get(id=r.id)
    assert (row.status, row.escalated_at) == (X.ESCALATED, frozen.now())
    assert (await Rectification.get(id=other.id)).status is X.ORDERED
    escalation = (await rectifications.events(r.id))[-1]
    assert (escalation.action, escalation.actor, escalation.actor_role) == ("escalate", rectifications.ESCALATION,
                                                                            "system")
    assert escalation.data == {"escalated_to": str(w.body.id), "days_overdue": 1}
    late, total = await rectifications.overdue(frozen, page=1, page_size=20)
    assert total == 1 and (late[0].rectification.id, late[0].agency_name, late[0].days_overdue) == (r.id, "甲局", 1)
    assert (await rectifications.overdue(frozen, page=1, page_size=20, scope=w.b.id))[1] == 0
    # Answered late under supervision: no longer overdue; returned past its date: late again, not re-escalated.
    as_("admin", "周管理")
    answered = await rectifications.answer(r.id, w.a.id, "已整改", None, CLERK, frozen)
    assert answered.status is X.ANSWERED and (await rectifications.events(r.id))[-1].data["late"] is True
    assert (await gauges.read(frozen)).overdue["rectification"] == 0
    as_("supervisor", "吴监督")
    await rectifications.send_back(r.id, w.body.id, "不充分", None, BOSS, frozen)
    assert (await gauges.read(frozen)).overdue["rectification"] == 1
    assert await rectifications.escalate_overdue(frozen) == 0
    assert (await Rectification.get(id=r.id)).status is X.RETURNED


async def test_every_step_is_a_leaf_that_the_audit_rebuilds_and_an_edited_row_no_longer_matches(db, frozen):
    w = await a_world()
    r = await rectifications.order(an_order(w, frozen), w.body.id, BOSS, frozen)
    await rectifications.answer(r.id, w.a.id, "已整改", None, CLERK, frozen)
    source = leaf_sources.registry(db.data_dir).get(LeafKind.RECTIFICATION_EVENT)
    assert source is not None

    async def problems() -> list[str]:
        leaves = await LogLeaf.filter(kind=LeafKind.RECTIFICATION_EVENT).order_by("leaf_index")
        records = []
        for leaf in leaves:
            env = orjson.loads(leaf.content)
            records.append(LeafRecord(leaf.leaf_index, leaf.kind, leaf.ref, leaf.agency_id, env["data"]))
        return [p.kind for p in await source(records)]

    assert await problems() == [] and await leaf_sources.unlogged_rows() == []
    await RectificationEvent.filter(rectification_id=r.id, action="answer").update(text="从未整改")
    assert await problems() == ["edited"]


# -- R-X4: enforcement activity -----------------------------------------------------------------------

async def test_zero_enforcement_lists_agencies_with_no_decision_and_no_case_step_in_the_year(db, frozen):
    decided, stepped, idle = (await an_agency("有决定局")).agency, (await an_agency("有环节局")).agency, \
        (await an_agency("零执法局")).agency
    await a_supervisor()  # supervising bodies are not enforcement agencies
    last_year = FrozenClock(datetime(2025, 6, 30, 9, 0, tzinfo=SHANGHAI))
    old, _ = await cases.create_case(idle.id, {"title": "去年的检查", "type": "inspection", "parties": []}, "test",
                                     last_year)
    old_decider, _ = await cases.create_case(decided.id, {"title": "去年立案", "type": "penalty", "parties": []},
                                             "test", last_year)
    await Decision.create(case_id=old_decider.id, agency_id=decided.id, type="penalty", document_no="罚〔2026〕1号",
                          summary="罚款", decided_at=date(2026, 3, 2))
    await cases.create_case(stepped.id, {"title": "今年立案", "type": "inspection", "parties": []}, "test", frozen)
    found = await activity.zero_enforcement(frozen)
    assert (found.year, found.complete, found.agencies_checked) == (2026, False, 3)
    assert [(i.agency_name, i.last_enforcement_on) for i in found.items] == [("零执法局", date(2025, 6, 30))]
    assert old.agency_id == idle.id
    earlier = await activity.zero_enforcement(frozen, 2025)  # in 2025 every one of them but 有环节局 was active
    assert earlier.complete and [i.agency_name for i in earlier.items] == ["有环节局"]
    assert earlier.items[0].last_enforcement_on is None
    with pytest.raises(ValidationFailed) as bad:
        await activity.zero_enforcement(frozen, 2027)
    assert bad.value.code == "year_invalid"


async def _inspection(agency: Agency, code: str, name: str, *days_ago: int, clock: FrozenClock) -> uuid.UUID:
    case, _ = await cases.create_case(agency.id, {"title": "日常检查", "type": "inspection", "parties": [
        {"kind": "organization", "name": name, "id_number": code}]}, "test", clock)
    for d in days_ago:
        await entries.append(case, RecordStep.ON_SITE, "现场检查", "test", clock.now() - timedelta(days=d))
    return case.id


async def test_repeated_inspections_count_visits_of_one_enterprise_within_the_window(db, frozen):
    a, b = (await an_agency("市场监管局")).agency, (await an_agency("卫健局")).agency
    code = "91330106MA2B3C4D5E"
    first = await _inspection(a, code.lower(), "杭州某某餐饮有限公司", 20, 20, clock=frozen)  # one visit, two records
    second = await _inspection(b, code, "杭州某某餐饮有限公司", 3, clock=frozen)
    # Two visits, but the other is out of a 30-day window:
    await _inspection(a, "91330106MA2B3C4D6F", "只查过一次的公司", 1, 40, clock=frozen)
    since, until, found = await activity.repeated_inspections(frozen, 30)
    assert (since, until) == (frozen.today() - timedelta(days=29), frozen.today())
    (only,) = found
    assert (only.credit_code, only.name) == (code, "杭州某某餐饮有限公司")
    assert [(v.agency_name, v.on, v.case_ids) for v in only.visits] == [
        ("市场监管局", frozen.today() - timedelta(days=20), [first]),
        ("卫健局", frozen.today() - timedelta(days=3), [second])]
    assert (await activity.repeated_inspections(frozen, 10))[2] == []  # the first visit is outside a 10-day window
    assert [r.credit_code for r in (await activity.repeated_inspections(frozen, 45))[2]] == [
        code, "91330106MA2B3C4D6F"]
    with pytest.raises(ValidationFailed):
        await activity.repeated_inspections(frozen, 0)
