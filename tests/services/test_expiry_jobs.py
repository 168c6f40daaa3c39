"""What must not linger, deleted by periodic jobs on the injected clock: photos no complaint claimed
(rows and files), and SMS verification codes once spent or expired (the code at once, the phone
once the per-number limits no longer count it)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from backend.clock import SHANGHAI, FrozenClock
from backend.errors import Conflict
from backend.models import BindingSmsCode, ComplaintUpload, Notification, PhoneVerification
from backend.models.enums import ComplaintAbout, ComplaintKind, NotificationStatus
from backend.services import cases
from backend.services.complaints import intake, photos
from backend.services.parties import bindings, sessions
from tests.factories import an_agency
from tests.support import images

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI)


def _job(name: str):  # type: ignore[no-untyped-def]
    from backend.periodic import PERIODIC_JOBS

    return next(j for j in PERIODIC_JOBS if j.name == name)


def _context(db, clock: FrozenClock):  # type: ignore[no-untyped-def]
    from backend.periodic import JobContext
    from backend.services.disclosure.verification import VerifyCache
    from notifications.deps import Deps
    from notifications.policy import Policy

    return JobContext(deps=Deps(settings=db, clock=clock, policy=Policy(schedule=(0.01,)), channels={}),
                      cache=VerifyCache(None))


async def _run(db, name: str, at: datetime) -> int:  # type: ignore[no-untyped-def]
    return await _job(name).run(_context(db, FrozenClock(at)))


async def _finish(notification_ids) -> None:  # type: ignore[no-untyped-def]
    # What the notification worker does once the provider accepted the SMS.
    await Notification.filter(id__in=list(notification_ids)).update(status=NotificationStatus.SENT)


async def test_uploads_no_complaint_claimed_within_a_day_go_with_their_files(db):
    agency = (await an_agency()).agency
    clock = FrozenClock(NOW)
    shared = images.jpeg((40, 30))
    lonely = await photos.receive(images.png(), data_dir=db.data_dir, clock=clock)
    twin = await photos.receive(shared, data_dir=db.data_dir, clock=clock)  # same picture as the claimed one
    claimed = await photos.receive(shared, data_dir=db.data_dir, clock=clock)
    await intake.file(db, clock, intake.Filing(kind=ComplaintKind.COMPLAINT, text="门口堆放杂物",
                                               about=intake.About(ComplaintAbout.AGENCY, agency_id=agency.id),
                                               upload_ids=[claimed.id]))
    clock.advance(hours=23)
    fresh = await photos.receive(images.jpeg((20, 20)), data_dir=db.data_dir, clock=clock)
    path = {u.id: photos.stored_path(db.data_dir, u.sha256) for u in (lonely, twin, claimed, fresh)}
    assert all(p.is_file() for p in path.values())

    assert await _run(db, "delete_unclaimed_uploads", NOW + photos.UPLOAD_TTL - timedelta(seconds=1)) == 0
    assert await ComplaintUpload.all().count() == 4
    assert await _run(db, "delete_unclaimed_uploads", NOW + photos.UPLOAD_TTL) == 2
    assert {u.id for u in await ComplaintUpload.all()} == {claimed.id, fresh.id}
    assert not path[lonely.id].exists()
    assert path[claimed.id].is_file() and path[fresh.id].is_file()  # the twin's file is the complaint's too
    assert not list(db.data_dir.glob(f"{photos.FOLDER}/*/*.deleting"))
    with pytest.raises(Conflict):  # and it could not have been claimed any more anyway
        await intake.file(db, clock, intake.Filing(kind=ComplaintKind.COMPLAINT, text="再交一次",
                                                   about=intake.About(ComplaintAbout.AGENCY, agency_id=agency.id),
                                                   upload_ids=[lonely.id]))
    # A picture uploaded again after its file went is stored again.
    again = await photos.receive(images.png(), data_dir=db.data_dir, clock=clock)
    assert photos.stored_path(db.data_dir, again.sha256).is_file()


async def test_complaint_phone_codes_are_blanked_when_spent_or_expired_and_the_phone_goes_after_a_day(db):
    agency = (await an_agency()).agency
    clock = FrozenClock(NOW)
    about = intake.About(ComplaintAbout.AGENCY, agency_id=agency.id)
    expired = await intake.request_code(db, clock, "13900001111", about)
    used = await intake.request_code(db, clock, "13900002222", about)
    code = (await Notification.get(id=used.notification_ids[0])).params["vars"]["code"]
    await intake.file(db, clock, intake.Filing(kind=ComplaintKind.COMPLAINT, text="噪音扰民", about=about,
                                               named=intake.Named("13900002222", used.verification.id, code)))
    live = await intake.request_code(db, clock, "13900003333", about)

    # Nothing is blanked while its SMS is still on its way.
    assert await _run(db, "scrub_sms_codes", NOW + intake.CODE_TTL) == 0
    await _finish(expired.notification_ids + used.notification_ids + live.notification_ids)
    assert await _run(db, "scrub_sms_codes", NOW + intake.CODE_TTL - timedelta(seconds=1)) == 1  # the used one
    assert (await PhoneVerification.get(id=used.verification.id)).code_hash == ""
    assert (await PhoneVerification.get(id=live.verification.id)).code_hash != ""
    assert await _run(db, "scrub_sms_codes", NOW + intake.CODE_TTL) == 2
    for sent in (expired, used, live):
        assert (await PhoneVerification.get(id=sent.verification.id)).code_hash == ""
        sms = await Notification.get(id=sent.notification_ids[0])
        assert sms.params["vars"]["code"] == "" and sms.status is NotificationStatus.SENT

    # The number stays counted by its limits for a day, then its rows go.
    later = FrozenClock(NOW + timedelta(hours=2))
    await intake.request_code(db, later, "13900001111", about)
    assert await PhoneVerification.filter(phone="13900001111").count() == 2
    assert await _run(db, "scrub_sms_codes", NOW + timedelta(days=1) - timedelta(seconds=1)) == 0
    assert await _run(db, "scrub_sms_codes", NOW + timedelta(days=1)) == 3
    assert [v.requested_at for v in await PhoneVerification.all()] == [later.now()]  # not yet a day old


async def test_binding_sms_codes_are_blanked_when_spent_or_expired_and_deleted_after_a_day(db):
    clock = FrozenClock(NOW)
    agency = (await an_agency()).agency
    case, _ = await cases.create_case(agency.id, {"title": "某案", "type": "penalty", "parties": [
        {"kind": "person", "name": "当事人", "phone": "13900005555"}]}, "test", clock)
    issued = await sessions.sign_in("o_alice", sandbox=False, settings=db, clock=clock)
    alice = await sessions.authenticate(issued.token, db, clock)
    assert alice is not None
    [nid] = await bindings.request_sms_code(alice, case.number, "13900005555", db, clock)
    assert await bindings.request_sms_code(alice, case.number, "13900006666", db, clock) == []  # no party's
    row = await BindingSmsCode.get(case_party_id__isnull=False)

    assert await _run(db, "scrub_sms_codes", NOW + timedelta(minutes=bindings.SMS_CODE_MINUTES)) == 0  # in flight
    await _finish([nid])
    assert await _run(db, "scrub_sms_codes", NOW + timedelta(minutes=bindings.SMS_CODE_MINUTES - 1)) == 0  # live
    assert (await BindingSmsCode.get(id=row.id)).code_hash != ""
    assert await _run(db, "scrub_sms_codes", NOW + timedelta(minutes=bindings.SMS_CODE_MINUTES)) == 1
    assert (await BindingSmsCode.get(id=row.id)).code_hash == ""
    assert (await Notification.get(id=nid)).params["vars"]["code"] == ""
    assert await BindingSmsCode.all().count() == 2  # the per-number limits still count both for a day
    assert await _run(db, "scrub_sms_codes", NOW + timedelta(days=1)) == 2
    assert await BindingSmsCode.all().count() == 0


async def test_a_shared_file_is_kept_when_an_upload_of_the_same_picture_arrives_during_the_clean_up(db):
    # The job counted no row for this picture, then a new upload of it was stored before the file went:
    # the file is moved aside, the rows counted again, and it is put back.
    clock = FrozenClock(NOW)
    arrived = await photos.receive(images.png(), data_dir=db.data_dir, clock=clock)
    path = photos.stored_path(db.data_dir, arrived.sha256)
    await photos._remove_file(path)
    assert path.is_file() and not path.with_name(path.name + ".deleting").exists()
    await ComplaintUpload.filter(id=arrived.id).delete()
    await photos._remove_file(path)
    assert not path.exists() and not path.with_name(path.name + ".deleting").exists()
