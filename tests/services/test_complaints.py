"""Complaints without HTTP (R-X1, R-X2): intake and its receipt, the agency's steps through the
COMPLAINT table on working-day limits, escalation, ratings and satisfaction, verified phones, who
sees what, and each complaint and step as a leaf that ``audit verify`` checks."""

from __future__ import annotations

import asyncio
import re
import subprocess
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import orjson
import pytest
from tortoise import connections

from backend.clock import SHANGHAI, FrozenClock
from backend.errors import Conflict, IllegalTransition, NotFound, RateLimited, ValidationFailed
from backend.models import Agency, Complaint, ComplaintEvent, LogLeaf, Notification, PhoneVerification
from backend.models.enums import (
    ComplaintAbout,
    ComplaintKind,
    ComplaintStatus,
    NotificationChannel,
    NotificationEvent,
    Role,
)
from backend.services import officers
from backend.services.complaints import handling, intake, steps
from backend.services.disclosure import credentials
from backend.services.disclosure.verification import KeyStore
from tests.factories import an_agency, officer_body
from tests.support.processes import cli_env, run_cli

S = ComplaintStatus
FRIDAY = datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(FRIDAY)


@dataclass
class World:
    agency: Agency
    other: Agency
    officer_id: object
    credential_id: object
    admin: handling.Viewer
    officer: handling.Viewer  # a key of the officer complained about
    colleague: handling.Viewer  # an officer-role key of another officer of the same agency
    other_admin: handling.Viewer
    supervisor: handling.Viewer


async def a_world(db, frozen) -> World:  # type: ignore[no-untyped-def]
    agency = (await an_agency()).agency
    other = (await an_agency("另一个局")).agency
    officer = await officers.create_officer(agency.id, officer_body(), "key:test")
    colleague = await officers.create_officer(agency.id, officer_body(name="李四"), "key:test")
    cred, _ = await credentials.issue(agency.id, officer.id, valid_from=None, valid_until=date(2028, 12, 31),
                                      actor="key:test", keys=KeyStore(db.data_dir), clock=frozen)
    return World(agency, other, officer.id, cred.id,
                 handling.Viewer(agency.id, Role.ADMIN, None), handling.Viewer(agency.id, Role.OFFICER, officer.id),
                 handling.Viewer(agency.id, Role.OFFICER, colleague.id), handling.Viewer(other.id, Role.ADMIN, None),
                 handling.Viewer(None, Role.SUPERVISOR, None))


def about_officer(w: World) -> intake.About:
    return intake.About(ComplaintAbout.OFFICER, credential_id=w.credential_id)  # type: ignore[arg-type]


async def a_complaint(db, frozen, w: World, **kw) -> intake.Receipt:  # type: ignore[no-untyped-def]
    filing = intake.Filing(kind=kw.pop("kind", ComplaintKind.COMPLAINT), about=kw.pop("about", about_officer(w)),
                           text=kw.pop("text", "执法人员态度粗暴，我的电话 13800138000"), **kw)
    return await intake.file(db, frozen, filing)


async def test_a_complaint_is_filed_at_once_with_a_receipt_whose_leaf_holds_no_text(db, frozen):
    w = await a_world(db, frozen)
    receipt = await a_complaint(db, frozen, w, latitude=30.274085, longitude=120.155070, address="西湖区文三路")
    c = receipt.complaint
    assert re.fullmatch(r"T261204-[0-9A-Z]{4}-[0-9A-Z]{4}", receipt.tracking_no)
    assert re.fullmatch(r"[0-9A-Z]{8}", receipt.query_code) and receipt.query_code not in c.query_code_hash
    assert (c.agency_id, c.officer_id, c.status, c.anonymous, c.contact_phone) == (
        w.agency.id, w.officer_id, S.SUBMITTED, True, None)
    assert (float(c.latitude), float(c.longitude)) == (30.27, 120.16)  # coarse: about a kilometre
    leaf = await LogLeaf.get(leaf_index=receipt.leaf_index)
    envelope = orjson.loads(leaf.content)
    assert leaf.kind == "complaint" and envelope["data"] == steps.leaf_content(await Complaint.get(id=c.id))
    assert "粗暴" not in leaf.content and "13800138000" not in leaf.content and "文三路" not in leaf.content
    # Found with both, in any case and with confusable letters read back; one 404 otherwise.
    found = await intake.find(receipt.tracking_no.lower(), receipt.query_code.lower().replace("0", "o"))
    assert found.id == c.id
    wrong = receipt.query_code[:-1] + ("A" if receipt.query_code[-1] != "A" else "B")
    for number, code in ((receipt.tracking_no, wrong), ("T261204-AAAA-AAAA", receipt.query_code), ("x", "y")):
        with pytest.raises(NotFound) as exc:
            await intake.find(number, code)
        assert exc.value.code == "complaint_not_found"


async def test_what_a_complaint_is_about_is_resolved_or_one_uniform_404(db, frozen):
    w = await a_world(db, frozen)
    receipt = await a_complaint(db, frozen, w, about=intake.About(ComplaintAbout.AGENCY, agency_id=w.other.id))
    assert receipt.complaint.agency_id == w.other.id and receipt.complaint.officer_id is None
    import uuid

    for about in (intake.About(ComplaintAbout.AGENCY, agency_id=uuid.uuid4()),
                  intake.About(ComplaintAbout.OFFICER, credential_id=uuid.uuid4()),
                  intake.About(ComplaintAbout.CASE, agency_id=w.agency.id, case_number="2026-NOPE"),
                  intake.About(ComplaintAbout.DECISION, decision_id=uuid.uuid4())):
        with pytest.raises(NotFound) as exc:
            await a_complaint(db, frozen, w, about=about)
        assert exc.value.code == "complaint_subject_not_found"


async def test_due_dates_are_the_agencys_limits_in_working_days(db, frozen):
    w = await a_world(db, frozen)
    c = (await a_complaint(db, frozen, w)).complaint  # filed on a Friday
    assert (c.acknowledge_due_on, c.answer_due_on) == (date(2026, 12, 8), date(2026, 12, 25))  # Tue; 15 days on
    await handling.set_limits(w.agency.id, 1, 5, "key:test")
    c = (await a_complaint(db, frozen, w)).complaint
    assert (c.acknowledge_due_on, c.answer_due_on) == (date(2026, 12, 7), date(2026, 12, 11))
    with pytest.raises(ValidationFailed) as exc:
        await handling.set_limits(w.agency.id, 6, 5, "key:test")
    assert exc.value.code == "complaint_limits_invalid"


async def test_a_limit_counted_into_a_year_without_a_schedule_is_provisional_until_the_year_is_loaded(db, frozen):
    from backend.services import calendar, clocks
    from tests.services.test_publication_clocks import SCHEDULE_2027

    w = await a_world(db, frozen)
    frozen.at = datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI)  # a Monday; 15 working days reach into 2027
    c = (await a_complaint(db, frozen, w)).complaint
    assert (c.acknowledge_due_on, c.due_on_provisional) == (date(2026, 12, 30), True)
    fallback_answer = c.answer_due_on
    result = await clocks.load(calendar.parse(SCHEDULE_2027.encode()), source_name="2027.csv", sha256="0" * 64,
                               actor="operator:王运维", clock=frozen)
    assert result.recomputed["complaint"] == 1 and result.confirmed["complaint"] == 1
    c = await Complaint.get(id=c.id)
    # 2027-01-04 is a holiday in the loaded schedule that the weekend-and-fixed-dates fallback missed.
    assert (c.acknowledge_due_on, c.answer_due_on, c.due_on_provisional) == (
        date(2026, 12, 30), fallback_answer + timedelta(days=1), False)


async def test_the_agency_moves_a_complaint_only_through_the_transition_table(db, frozen):
    w = await a_world(db, frozen)
    c = (await a_complaint(db, frozen, w)).complaint
    with pytest.raises(IllegalTransition) as exc:
        await handling.act(db, frozen, w.admin, c.id, "answer", "key:test", "已处理")
    assert exc.value.code == "complaint_answer_not_allowed"
    await handling.act(db, frozen, w.admin, c.id, "acknowledge", "key:test")
    with pytest.raises(IllegalTransition) as exc:
        await handling.act(db, frozen, w.admin, c.id, "acknowledge", "key:test")
    assert exc.value.code == "complaint_acknowledge_not_allowed"
    await handling.act(db, frozen, w.admin, c.id, "handle", "key:test")
    with pytest.raises(ValidationFailed) as empty:
        await handling.act(db, frozen, w.admin, c.id, "answer", "key:test", "  ")
    assert empty.value.code == "answer_required"
    done = await handling.act(db, frozen, w.admin, c.id, "answer", "key:test", "经调查属实，已批评教育")
    assert (done.complaint.status, done.complaint.answer) == (S.ANSWERED, "经调查属实，已批评教育")
    events = await ComplaintEvent.filter(complaint_id=c.id).order_by("id")
    assert [(e.action, e.status) for e in events] == [("acknowledge", S.ACKNOWLEDGED), ("handle", S.HANDLING),
                                                      ("answer", S.ANSWERED)]
    assert all(e.leaf_index is not None and e.at == FRIDAY for e in events)
    steps_seen = await intake.public_steps(done.complaint)
    assert [s.action for s in steps_seen] == ["submit", "acknowledge", "handle", "answer"]
    assert steps_seen[-1].note == "经调查属实，已批评教育"
    # Another agency's admin cannot move it: the complaint does not exist for them.
    with pytest.raises(NotFound):
        await handling.act(db, frozen, w.other_admin, c.id, "handle", "key:test")


async def test_overdue_complaints_go_to_the_supervisor_once_by_the_job(db, frozen):
    w = await a_world(db, frozen)
    late_ack = (await a_complaint(db, frozen, w)).complaint
    acked = (await a_complaint(db, frozen, w)).complaint
    await handling.act(db, frozen, w.admin, acked.id, "acknowledge", "key:test")
    frozen.at = datetime(2026, 12, 8, 23, 0, tzinfo=SHANGHAI)  # the acknowledge due date itself: not late
    assert (await handling.escalate_overdue(db, frozen))[0] == 0
    frozen.at = datetime(2026, 12, 9, 8, 0, tzinfo=SHANGHAI)
    count, _ = await handling.escalate_overdue(db, frozen)
    assert count == 1
    assert (await Complaint.get(id=late_ack.id)).escalation_reason == "overdue_acknowledge"
    assert (await Complaint.get(id=acked.id)).status is S.ACKNOWLEDGED  # acknowledged in time, not late yet
    assert (await handling.escalate_overdue(db, frozen))[0] == 0  # once
    # Escalated, it is still late to be acknowledged: it stays in the supervisor's overdue view.
    seen, _ = await handling.overdue(frozen, page=1, page_size=20)
    assert [(o.complaint.id, o.late, o.days_overdue) for o in seen] == [(late_ack.id, "acknowledge", 1)]
    frozen.at = datetime(2026, 12, 26, 8, 0, tzinfo=SHANGHAI)  # past the answer limit
    assert (await handling.escalate_overdue(db, frozen))[0] == 1
    row = await Complaint.get(id=acked.id)
    assert (row.status, row.escalation_reason) == (S.ESCALATED, "overdue_answer")
    overdue, total = await handling.overdue(frozen, page=1, page_size=20)
    assert total == 2 and {o.complaint.id for o in overdue} == {late_ack.id, acked.id}
    assert {o.late for o in overdue} == {"answer"} and all(o.days_overdue == 1 for o in overdue)
    # The escalated complaint can still be answered (under supervision), and then it is no longer overdue.
    await handling.act(db, frozen, w.admin, acked.id, "answer", "key:test", "已整改")
    assert (await handling.overdue(frozen, page=1, page_size=20))[1] == 1


async def test_a_low_rating_escalates_at_once_and_satisfaction_counts_every_rated_answer(db, frozen):
    w = await a_world(db, frozen)
    receipt = await a_complaint(db, frozen, w)
    c = receipt.complaint
    with pytest.raises(Conflict) as early:
        await intake.rate(db, frozen, receipt.tracking_no, receipt.query_code, 5)
    assert early.value.code == "complaint_rating_not_allowed"
    await handling.act(db, frozen, w.admin, c.id, "acknowledge", "key:test")
    await handling.act(db, frozen, w.admin, c.id, "answer", "key:test", "已处理")
    rated, _ = await intake.rate(db, frozen, receipt.tracking_no, receipt.query_code, 2, "敷衍")
    assert (rated.status, rated.escalation_reason, rated.satisfaction) == (S.ESCALATED, "unsatisfied", 2)
    await handling.act(db, frozen, w.admin, c.id, "answer", "key:test", "重新调查，已处分")
    rated, _ = await intake.rate(db, frozen, receipt.tracking_no, receipt.query_code, 5)
    assert rated.status is S.CLOSED
    with pytest.raises(Conflict):
        await intake.rate(db, frozen, receipt.tracking_no, receipt.query_code, 5)
    other = await a_complaint(db, frozen, w, about=intake.About(ComplaintAbout.AGENCY, agency_id=w.other.id))
    rows = {r.agency_id: r for r in await handling.satisfaction(frozen)}
    mine = rows[w.agency.id]
    assert (mine.received, mine.rated, mine.satisfied, mine.percent, mine.meets_target) == (1, 2, 1, 50.0, False)
    assert (rows[w.other.id].received, rows[w.other.id].percent, rows[w.other.id].open) == (1, None, 1)
    assert other.complaint.agency_id == w.other.id


async def test_a_named_complaint_needs_the_sms_code_sent_to_that_phone(db, frozen):
    w = await a_world(db, frozen)
    sent = await intake.request_code(db, frozen, "13900001111", about_officer(w))
    sms = await Notification.get(id=sent.notification_ids[0])
    code = sms.params["vars"]["code"]
    assert sms.event is NotificationEvent.COMPLAINT_PHONE_CODE and sms.recipient == "13900001111"
    assert sms.agency_id == w.agency.id and code not in sms.content and "******" in sms.content
    assert code not in (await PhoneVerification.get(id=sent.verification.id)).code_hash
    vid = sent.verification.id
    with pytest.raises(ValidationFailed) as wrong:
        await a_complaint(db, frozen, w, named=intake.Named("13900001111", vid, "000000" if code != "000000"
                                                            else "111111"))
    assert wrong.value.code == "phone_code_invalid"
    with pytest.raises(ValidationFailed):  # the code belongs to that number only
        await a_complaint(db, frozen, w, named=intake.Named("13900002222", vid, code))
    receipt = await a_complaint(db, frozen, w, named=intake.Named("13900001111", vid, code))
    assert (receipt.complaint.anonymous, receipt.complaint.contact_phone) == (False, "13900001111")
    with pytest.raises(ValidationFailed):  # used once
        await a_complaint(db, frozen, w, named=intake.Named("13900001111", vid, code))
    # Each step the agency takes is told to that phone.
    done = await handling.act(db, frozen, w.admin, receipt.complaint.id, "acknowledge", "key:test")
    told = await Notification.get(id=done.notification_ids[0])
    assert told.event is NotificationEvent.COMPLAINT_UPDATE and told.recipient == "13900001111"
    assert receipt.tracking_no in told.content and "2026-12-25" in told.content


async def test_a_complainant_signed_in_without_a_phone_is_told_each_step_on_wechat(db, frozen):
    w = await a_world(db, frozen)
    receipt = await a_complaint(db, frozen, w, signed_in="o-complainant-1")
    assert receipt.complaint.contact_phone is None
    done = await handling.act(db, frozen, w.admin, receipt.complaint.id, "acknowledge", "key:test")
    (told,) = [await Notification.get(id=i) for i in done.notification_ids]
    assert (told.event, told.channel, told.recipient) == (
        NotificationEvent.COMPLAINT_UPDATE, NotificationChannel.WECHAT, "o-complainant-1")
    assert told.template == "YG_WX_COMPLAINT_UPDATE" and told.party_id is None
    assert told.params["page"] == f"pages/complaint/detail?no={receipt.tracking_no}"
    assert receipt.tracking_no in told.content and "2026-12-25" in told.content
    assert told.params["fallback"] is None  # no number to fall back to
    # Nobody to tell: an anonymous complaint gets no message at all.
    anonymous = await a_complaint(db, frozen, w)
    assert (await handling.act(db, frozen, w.admin, anonymous.complaint.id, "acknowledge", "key:test")
            ).notification_ids == []


async def test_codes_to_one_number_are_limited_per_minute_hour_and_day(db, frozen):
    w = await a_world(db, frozen)
    about, phone = about_officer(w), "13900003333"

    async def ask() -> None:
        await intake.request_code(db, frozen, phone, about)

    await ask()
    with pytest.raises(RateLimited) as minute:
        await ask()
    assert minute.value.code == "phone_code_rate_limited" and 0 < minute.value.retry_after <= 60
    for _ in range(4):
        frozen.advance(seconds=61)
        await ask()
    frozen.advance(seconds=61)
    with pytest.raises(RateLimited) as hour:  # five within the hour
        await ask()
    assert hour.value.retry_after > 60
    for _ in range(5):
        frozen.advance(minutes=61)
        await ask()
    frozen.advance(minutes=61)
    with pytest.raises(RateLimited) as day:  # ten within the day
        await ask()
    assert day.value.retry_after > 3600
    await intake.request_code(db, frozen, "13900004444", about)  # another number is not affected
    frozen.advance(days=1)
    await ask()


async def test_the_officer_complained_about_never_sees_the_complaint_nor_who_made_it(db, frozen):
    w = await a_world(db, frozen)
    c = (await a_complaint(db, frozen, w)).complaint
    assert [r.id for r in (await handling.search(w.admin, frozen))[0]] == [c.id]
    assert (await handling.search(w.officer, frozen))[1] == 0
    with pytest.raises(NotFound):
        await handling.get(w.officer, c.id)
    with pytest.raises(NotFound):
        await handling.act(db, frozen, w.officer, c.id, "acknowledge", "key:test")
    assert (await handling.search(w.other_admin, frozen))[1] == 0
    seen = await handling.get(w.colleague, c.id)
    assert handling.text_for(w.colleague, seen.text) == "执法人员态度粗暴，我的电话 [电话已隐去]"
    assert not w.colleague.sees_identity and w.admin.sees_identity and w.supervisor.sees_identity
    assert handling.text_for(w.supervisor, seen.text).endswith("13800138000")
    assert (await handling.search(w.supervisor, frozen))[1] == 1


async def _verify(db) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(run_cli, ["audit", "verify"], cli_env(db.database_url, db.data_dir))


async def test_audit_verify_names_a_complaint_or_a_step_changed_behind_the_services_back(db, frozen):
    w = await a_world(db, frozen)
    c = (await a_complaint(db, frozen, w)).complaint
    await handling.act(db, frozen, w.admin, c.id, "acknowledge", "key:test", "已受理")
    result = await _verify(db)
    assert result.returncode == 0, result.stdout + result.stderr
    conn = connections.get("default")
    await conn.execute_query(f"UPDATE complaint SET text = '我要表扬' WHERE id = '{c.id}'")
    event = await ComplaintEvent.get(complaint_id=c.id)
    await conn.execute_query(f"UPDATE complaint_event SET note = '不予受理' WHERE id = {event.id}")
    result = await _verify(db)
    assert result.returncode == 3
    assert sorted(result.stdout.strip().splitlines()) == sorted([
        f"leaf {c.leaf_index}: edited: 投诉举报与日志不符（text_digest）",
        f"leaf {event.leaf_index}: edited: 投诉办理环节与日志不符（note_digest）"])
    await conn.execute_query(f"DELETE FROM complaint_event WHERE id = {event.id}")
    result = await _verify(db)
    assert f"leaf {event.leaf_index}: deleted: 投诉办理环节已从数据库中删除（日志仍有其条目）" in result.stdout


async def test_no_step_is_written_twice_when_two_agency_requests_race(db, frozen):
    w = await a_world(db, frozen)
    c = (await a_complaint(db, frozen, w)).complaint
    results = await asyncio.gather(*(handling.act(db, frozen, w.admin, c.id, "acknowledge", "key:test")
                                     for _ in range(3)), return_exceptions=True)
    assert sum(1 for r in results if isinstance(r, IllegalTransition)) == 2
    assert await ComplaintEvent.filter(complaint_id=c.id).count() == 1
    assert (await Complaint.get(id=c.id)).acknowledged_at == FRIDAY


async def test_photos_are_claimed_once_fresh_and_all_or_none(db, frozen):
    import uuid

    from backend.models import ComplaintUpload
    from backend.services.complaints import photos

    w = await a_world(db, frozen)

    async def an_upload(age: timedelta) -> ComplaintUpload:
        return await ComplaintUpload.create(sha256=f"{len(str(age)):064d}", size_bytes=10, width=1, height=1,
                                            source_format="JPEG", uploaded_at=frozen.now() - age)

    fresh = [await an_upload(timedelta(hours=23, minutes=59)), await an_upload(timedelta(0))]
    stale = await an_upload(photos.UPLOAD_TTL + timedelta(seconds=1))
    receipt = await a_complaint(db, frozen, w, upload_ids=[u.id for u in fresh])
    assert receipt.complaint.photos == [{"upload_id": str(u.id), "sha256": u.sha256} for u in fresh]
    claimed = await ComplaintUpload.filter(id__in=[u.id for u in fresh])
    assert {u.complaint_id for u in claimed} == {receipt.complaint.id}
    spare = await an_upload(timedelta(0))
    for taken in ([spare.id, stale.id], [spare.id, fresh[0].id], [spare.id, uuid.uuid4()]):
        with pytest.raises(Conflict) as exc:
            await a_complaint(db, frozen, w, upload_ids=taken)
        assert exc.value.code == "upload_unavailable"
    # Nothing half-claimed: the spare photo is still free, and the refused filings left no complaint.
    assert (await ComplaintUpload.get(id=spare.id)).complaint_id is None
    assert await Complaint.all().count() == 1


async def test_filings_at_once_each_commit_or_fail_alone_with_dense_leaves_that_verify(db, frozen):
    """Filed together (on SQLite they commit as one group, a savepoint each): the one naming a photo
    already taken is refused and leaves nothing (no row, leaf, audit entry or claim of its free photo);
    every other is answered with its own receipt, committed with its leaf, and ``audit verify`` passes."""
    import uuid

    from backend.models import AuditEvent, ComplaintUpload

    w = await a_world(db, frozen)

    async def an_upload() -> uuid.UUID:
        row = await ComplaintUpload.create(sha256=uuid.uuid4().hex * 2, size_bytes=10, width=1, height=1,
                                           source_format="JPEG", uploaded_at=frozen.now())
        return row.id

    first = await a_complaint(db, frozen, w, upload_ids=[await an_upload()])
    taken = first.complaint.photos[0]["upload_id"]
    free = await an_upload()
    own = [[await an_upload(), await an_upload()] for _ in range(5)]
    filings = [a_complaint(db, frozen, w, upload_ids=ids) for ids in own[:2]]
    filings.append(a_complaint(db, frozen, w, upload_ids=[free, uuid.UUID(taken)]))
    filings += [a_complaint(db, frozen, w, upload_ids=ids) for ids in own[2:]]
    results = await asyncio.gather(*filings, return_exceptions=True)
    refused = results.pop(2)
    assert isinstance(refused, Conflict) and refused.code == "upload_unavailable"
    receipts = [r for r in results if isinstance(r, intake.Receipt)]
    assert len(receipts) == 5
    for receipt, ids in zip(receipts, own, strict=True):
        row = await Complaint.get(tracking_no=receipt.tracking_no)
        assert row.leaf_index == receipt.leaf_index and [p["upload_id"] for p in row.photos] == [str(i) for i in ids]
        assert {u.complaint_id for u in await ComplaintUpload.filter(id__in=ids)} == {row.id}
    assert sorted(r.leaf_index for r in receipts) == list(range(first.leaf_index + 1, first.leaf_index + 6))
    assert await LogLeaf.all().count() == first.leaf_index + 6
    assert await Complaint.all().count() == 6
    assert await AuditEvent.filter(action="complaint.submit").count() == 6
    assert (await ComplaintUpload.get(id=free)).complaint_id is None
    result = await _verify(db)
    assert result.returncode == 0, result.stdout + result.stderr
