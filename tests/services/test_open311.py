"""The Open311 rules without HTTP (services/complaints/open311.py): a filing is a complaint through the
one intake, the status is open until answered, and an integrator reads only its own system's requests."""

from __future__ import annotations

from datetime import datetime

import pytest

from backend.clock import SHANGHAI, FrozenClock
from backend.errors import NotFound, ValidationFailed
from backend.models import ComplaintEvent
from backend.models.enums import ComplaintStatus, Role
from backend.services import apikeys
from backend.services.apikeys import KeyHolder, create_key
from backend.services.complaints import handling, open311
from tests.factories import an_agency


async def _principal(owner, system: str, role: Role = Role.INTEGRATOR) -> apikeys.Principal:  # type: ignore[no-untyped-def]
    _, key = await create_key(owner.agency, role, system, "test",
                              KeyHolder(system_name=system) if system else KeyHolder(person_name="张三"))
    found = await apikeys.authenticate(key, FrozenClock(datetime(2026, 12, 4, 9, tzinfo=SHANGHAI)))
    assert found is not None
    return found


async def test_filing_status_and_ownership(db):
    clock = FrozenClock(datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI))
    a = await an_agency("甲局")
    city, district = await _principal(a, "市12345热线"), await _principal(a, "区12345分中心")
    receipt = await open311.file(db, clock, city, open311.OpenFiling(
        service_code="report", description="举报：执法人员收受好处，举报人电话 13800138000", agency_id=a.agency.id))
    c = receipt.complaint
    assert c.channel == "open311" and c.filed_by_key_id == city.key_id and c.anonymous and c.kind.value == "report"
    [view] = await open311.search(city, clock, open311.Search())
    assert view.status == "open" and "13800138000" not in view.description
    assert view.requested_datetime.isoformat() == "2026-12-04T10:00:00+08:00"
    with pytest.raises(NotFound):
        await open311.get(district, c.tracking_no)
    assert await open311.search(district, clock, open311.Search()) == []
    # Named ids: the request itself (written loosely), and strings that are no tracking number (one
    # longer than the column) name nothing instead of failing.
    named = open311.Search(service_request_ids=(c.tracking_no.lower(), "0" * 300, "不是编号"))
    assert [v.service_request_id for v in await open311.search(city, clock, named)] == [c.tracking_no]
    # The agency answers through the COMPLAINT table: closed for the hotline.
    viewer = handling.Viewer(a.agency.id, Role.HEAD, None)
    await handling.act(db, clock, viewer, c.id, "acknowledge", "key:test")
    clock.advance(hours=2)
    await handling.act(db, clock, viewer, c.id, "answer", "key:test", note="已立案调查")
    seen = await open311.get(city, c.tracking_no)
    assert seen.status == "closed" and seen.status_notes == "已答复：已立案调查"
    assert seen.updated_datetime.isoformat() == "2026-12-04T12:00:00+08:00"
    assert await ComplaintEvent.filter(complaint_id=c.id).count() == 2


def test_open_and_closed_cover_every_complaint_state():
    assert {open311.status_of(s) for s in ComplaintStatus} == {"open", "closed"}
    assert open311.status_of(ComplaintStatus.ESCALATED) == "open"  # an unsatisfied answer reopens
    assert open311.status_of(ComplaintStatus.ANSWERED) == "closed"


async def test_only_an_integrator_key_files_and_unknown_services_are_refused(db):
    clock = FrozenClock(datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI))
    a = await an_agency("甲局")
    officer_like = await _principal(a, "", Role.OFFICER)
    with pytest.raises(ValidationFailed):
        await open311.file(db, clock, officer_like, open311.OpenFiling("complaint", "x", a.agency.id))
    city = await _principal(a, "市12345热线")
    with pytest.raises(NotFound):
        await open311.file(db, clock, city, open311.OpenFiling("pothole", "x", a.agency.id))
    assert await open311.search(officer_like, clock, open311.Search()) == []
