"""The scan recorder without HTTP: a batch lands whole, in order, with the instant, channel, status and
coarse location each scan had, stored as the ORM itself stores them; a clean close loses nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from backend.clock import SHANGHAI
from backend.models import Scan
from backend.models.enums import CredentialStatus, ScanChannel
from backend.services import officers
from backend.services.disclosure import credentials
from backend.services.disclosure.scans import ScanRecorder
from backend.services.disclosure.verification import KeyStore
from tests.factories import an_agency, officer_body

AT = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


async def two_cards(db, clock):  # type: ignore[no-untyped-def]
    agency = (await an_agency()).agency
    cards = []
    for _ in range(2):
        officer = await officers.create_officer(agency.id, officer_body(), "key:test")
        cred, _ = await credentials.issue(agency.id, officer.id, valid_from=None, valid_until=AT.date().replace(
            year=2028), actor="key:test", keys=KeyStore(db.data_dir), clock=clock)
        cards.append(cred.id)
    return cards


async def test_a_batch_is_stored_whole_in_order_as_the_orm_stores_it(db, clock):
    first, second = await two_cards(db, clock)
    recorder = ScanRecorder(delay=3600)
    scans = [
        (first, AT, ScanChannel.MINIPROGRAM, CredentialStatus.VALID, None, None),
        (second, AT + timedelta(microseconds=250_001), ScanChannel.H5, CredentialStatus.SUSPENDED, 30.2748, 120.1551),
        (first, AT + timedelta(seconds=1, microseconds=7), ScanChannel.H5, CredentialStatus.EXPIRED, -0.004, 0.0),
    ] + [(second, AT + timedelta(seconds=2, milliseconds=i), ScanChannel.MINIPROGRAM, CredentialStatus.VALID,
          None, None) for i in range(1500)]
    for scan in scans:
        recorder.add(*scan)
    assert await recorder.flush() == len(scans)
    rows = await Scan.all().order_by("id").values_list("credential_id", "scanned_at", "channel", "status_shown",
                                                       "latitude", "longitude")
    assert len(rows) == len(scans)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [s[:4] for s in scans]
    assert [(r[4], r[5]) for r in rows[:3]] == [(None, None), (Decimal("30.27"), Decimal("120.16")),
                                                (Decimal("-0.0"), Decimal("0.0"))]
    # The same row written by the ORM reads back exactly alike, stored text included (SQLite).
    orm = await Scan.create(credential_id=second, scanned_at=scans[1][1], channel=ScanChannel.H5,
                            status_shown=CredentialStatus.SUSPENDED, latitude=Decimal("30.27"),
                            longitude=Decimal("120.16"))
    raw = Scan._meta.db
    if raw.capabilities.dialect == "sqlite":
        stored = await raw.execute_query_dict(
            "SELECT id, scanned_at, latitude, longitude FROM scan WHERE credential_id = ? ORDER BY id LIMIT 1",
            [str(second)])
        by_orm = await raw.execute_query_dict("SELECT scanned_at, latitude, longitude FROM scan WHERE id = ?",
                                              [orm.id])
        assert {k: stored[0][k] for k in ("scanned_at", "latitude", "longitude")} == by_orm[0]
        assert by_orm[0]["scanned_at"] == scans[1][1].isoformat(" ")


async def test_a_scan_for_no_credential_is_refused_and_the_batch_not_half_written(db, clock):
    import uuid

    first, _ = await two_cards(db, clock)
    recorder = ScanRecorder(delay=3600)
    recorder.add(first, AT, ScanChannel.H5, CredentialStatus.VALID)
    recorder.add(uuid.uuid4(), AT, ScanChannel.H5, CredentialStatus.VALID)  # the foreign key still checks
    assert await recorder.flush() == 0
    assert await Scan.all().count() == 0


async def test_close_stores_what_is_still_buffered(db, clock):
    first, _ = await two_cards(db, clock)
    recorder = ScanRecorder(delay=3600)
    for i in range(5):
        recorder.add(first, AT + timedelta(seconds=i), ScanChannel.MINIPROGRAM, CredentialStatus.VALID)
    await recorder.close()
    assert await Scan.filter(credential_id=first).count() == 5
