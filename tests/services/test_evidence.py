"""Evidence files at the service level (R-R2): streamed from chunks, limited as they arrive, typed by
their content, numbered per case and kind, and described in full for the transparency log."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import pytest

from backend.clock import FrozenClock
from backend.errors import ValidationFailed
from backend.models import Evidence
from backend.models.enums import EvidenceKind
from backend.services import cases, officers
from backend.services.records import evidence
from tests.factories import an_agency, officer_body
from tests.services.test_case_records import NOW

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
THREE_GP = b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x02\x00isom"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
AMR = b"#!AMR\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PDF = b"%PDF-1.4\n"


class Source:
    """Chunks on demand, counting how many were taken."""

    def __init__(self, head: bytes, chunk: int, count: int) -> None:
        self.head, self.chunk, self.count, self.taken = head, chunk, count, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:  # type: ignore[misc]
        for i in range(self.count):
            self.taken += 1
            yield self.head + b"\x01" * (self.chunk - len(self.head)) if i == 0 else b"\x01" * self.chunk


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(NOW)


async def a_case(frozen: FrozenClock):  # type: ignore[no-untyped-def]
    agency = (await an_agency()).agency
    case, _ = await cases.create_case(agency.id, {"title": "无照经营", "type": "penalty",
                                                  "parties": [{"kind": "person", "name": "李四"}]}, "test", frozen)
    return case


def meta(kind: EvidenceKind = EvidenceKind.AUDIO_VIDEO, **changes) -> evidence.EvidenceInput:  # type: ignore[no-untyped-def]
    fields = dict(kind=kind, captured_at=NOW - timedelta(hours=1), place="西湖区", collector_officer_id=None,
                  proves="现场情况")
    fields.update(changes)
    return evidence.EvidenceInput(**fields)  # type: ignore[arg-type]


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def temp_dir_empty(db) -> bool:  # type: ignore[no-untyped-def]
    folder = evidence.evidence_dir(db.data_dir) / "tmp"
    return not folder.exists() or not any(folder.iterdir())


@pytest.mark.parametrize(("head", "kind", "content_type"), [
    (MP4, EvidenceKind.AUDIO_VIDEO, "video/mp4"), (THREE_GP, EvidenceKind.AUDIO_VIDEO, "video/3gpp"),
    (AMR, EvidenceKind.AUDIO_VIDEO, "audio/amr"), (HEIC, EvidenceKind.PHOTO, "image/heic"),
    (JPEG, EvidenceKind.PHOTO, "image/jpeg"), (JPEG, EvidenceKind.DOCUMENT, "image/jpeg"),
    (PDF, EvidenceKind.DOCUMENT, "application/pdf")])
def test_each_kind_accepts_the_phone_and_office_formats_by_their_first_bytes(head, kind, content_type):
    sniffed = evidence.sniff(head + b"\x00" * 200)
    assert sniffed == content_type
    evidence.check_kind(kind, sniffed)


@pytest.mark.parametrize(("head", "kind"), [(PDF, EvidenceKind.PHOTO), (MP4, EvidenceKind.DOCUMENT),
                                            (JPEG, EvidenceKind.AUDIO_VIDEO), (HEIC, EvidenceKind.DOCUMENT)])
def test_a_format_outside_the_kind_is_a_mismatch(head, kind):
    with pytest.raises(evidence.EvidenceTypeMismatch):
        evidence.check_kind(kind, evidence.sniff(head + b"\x00" * 200) or "")


async def test_the_stream_stops_as_soon_as_it_passes_the_limit_and_leaves_no_file(db):
    source = Source(MP4, 64 * 1024, 10_000)  # 640 MiB if read to the end
    with pytest.raises(evidence.EvidenceTooLarge):
        await evidence.receive(aiter(source), db.data_dir, max_bytes=1024 * 1024)
    assert source.taken == 17  # 16 chunks are 1 MiB; the 17th passes it
    assert temp_dir_empty(db)


async def test_a_type_that_does_not_fit_the_known_kind_is_refused_before_anything_is_written(db):
    source = Source(MP4, 4096, 100)
    with pytest.raises(evidence.EvidenceTypeMismatch):
        await evidence.receive(aiter(source), db.data_dir, max_bytes=10**9, kind=EvidenceKind.PHOTO)
    assert source.taken == 2  # the sniffer's 8 KiB
    assert not (evidence.evidence_dir(db.data_dir) / "tmp").exists()


async def test_evidence_is_numbered_per_kind_hashed_and_described_for_the_log(db, frozen):
    case = await a_case(frozen)
    body = MP4 + b"\x02" * 3_000_000
    pieces = [body[i:i + 100_000] for i in range(0, len(body), 100_000)]
    first = await evidence.add(case, meta(), chunks(*pieces), "test", frozen, data_dir=db.data_dir, max_bytes=10**9)
    photo = await evidence.add(case, meta(EvidenceKind.PHOTO), chunks(JPEG + b"x"), "test", frozen,
                               data_dir=db.data_dir, max_bytes=10**9)
    second = await evidence.add(case, meta(), chunks(MP4 + b"y"), "test", frozen, data_dir=db.data_dir,
                                max_bytes=10**9)
    assert [first.number, photo.number, second.number] == [f"{case.number}-音像-001", f"{case.number}-照片-001",
                                                           f"{case.number}-音像-002"]
    assert (first.seq, photo.seq, second.seq) == (1, 1, 2)
    assert first.sha256 == hashlib.sha256(body).hexdigest() and first.size_bytes == len(body)
    assert evidence.stored_path(db.data_dir, first.sha256).read_bytes() == body
    row = await Evidence.get(id=first.id)
    leaf = evidence.leaf_content(row, case.agency_id)
    assert leaf["type"] == "evidence" and leaf["sha256"] == first.sha256 and leaf["size"] == len(body)
    assert leaf["number"] == first.number and leaf["kind"] == "audio_video" and leaf["seq"] == 1
    assert leaf["captured_at"] == (NOW - timedelta(hours=1)).astimezone(UTC).isoformat(timespec="microseconds")
    assert leaf["captured_at"].endswith("+00:00") and "created_at" not in leaf and leaf["id"] == str(first.id)
    assert leaf["agency_id"] == str(case.agency_id) and leaf["case_id"] == str(case.id)
    assert {"place", "proves", "content_type", "collector_officer_id", "actor", "actor_name", "actor_role"} <= set(leaf)
    unsaved = Evidence(case_id=case.id, number="x", kind=EvidenceKind.PHOTO, captured_at=NOW, sha256="0" * 64,
                       size_bytes=1)
    assert evidence.leaf_content(unsaved, case.agency_id)["id"] == str(unsaved.id)  # known before the row is written


async def test_the_collector_must_be_an_officer_of_the_case_agency(db, frozen):
    case = await a_case(frozen)
    own = await officers.create_officer(case.agency_id, officer_body(name="采集员"), "test")
    elsewhere = await officers.create_officer((await an_agency("别的局")).agency.id, officer_body(), "test")
    with pytest.raises(ValidationFailed) as exc:
        await evidence.add(case, meta(collector_officer_id=elsewhere.id), chunks(MP4), "test", frozen,
                           data_dir=db.data_dir, max_bytes=10**9)
    assert exc.value.code == "officer_not_found"
    assert temp_dir_empty(db)
    row = await evidence.add(case, meta(collector_officer_id=own.id), chunks(MP4), "test", frozen,
                             data_dir=db.data_dir, max_bytes=10**9)
    assert row.collector_officer_id == own.id
