"""Evidence files over HTTP (R-R2, R-R5): a multipart upload streamed past the JSON body limit, the
type from the content, the size limit by header and by stream, Range reads, who may read, every read
logged, damaged files refused."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from backend.app import create_app
from backend.models.enums import Role
from backend.server import AppRunner
from backend.services import cases
from backend.services.records import evidence
from tests.conftest import make_settings
from tests.factories import a_supervisor, an_agency

BOUNDARY = "yg-test-boundary-7c1e"
MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
PDF_HEAD = b"%PDF-1.7\n"


def video(size: int) -> bytes:
    return MP4_HEAD + secrets.token_bytes(size - len(MP4_HEAD))


def form(file: bytes | None, *, kind: str = "audio_video", filename: str = "clip.mp4",
         file_type: str = "video/mp4", file_first: bool = False, **fields: str) -> bytes:
    """A multipart/form-data body, byte for byte (so tests can stream it, repeat fields, break it)."""
    values = {"kind": kind, "captured_at": "2026-11-20T10:15:00+08:00", "place": "西湖区某路1号",
              "proves": "当事人销售过期食品", **fields}
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in values.items() if v is not None]
    if file is not None:
        head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                f"Content-Type: {file_type}\r\n\r\n").encode()
        file_part = head + file + b"\r\n"
        parts = [file_part, *parts] if file_first else [*parts, file_part]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


CT = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def chunked(body: bytes, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i:i + size]


class Case:
    def __init__(self, client, agency, case_id) -> None:  # type: ignore[no-untyped-def]
        self.client, self.agency, self.id = client, agency, case_id

    async def upload(self, body: bytes, key: str | None = None, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return await self.client.post(f"/api/v1/cases/{self.id}/evidence", data=body,
                                      headers={**self.agency.auth(key), **CT, **(headers or {})})

    async def stored(self, body: bytes, key: str | None = None) -> dict:  # type: ignore[type-arg]
        resp = await self.upload(body, key)
        assert resp.status == 201, await resp.text()
        return await resp.json()  # type: ignore[no-any-return]


async def a_case(client, clock) -> Case:  # type: ignore[no-untyped-def]
    agency = await an_agency()
    case, _ = await cases.create_case(agency.agency.id, {"title": "销售过期食品", "type": "penalty",
                                                         "parties": [{"kind": "person", "name": "李四"}]},
                                      "test", clock)
    return Case(client, agency, case.id)


def temp_files(data_dir: Path) -> list[Path]:
    folder = evidence.evidence_dir(data_dir) / "tmp"
    return list(folder.iterdir()) if folder.exists() else []


def stored_files(data_dir: Path) -> list[Path]:
    root = evidence.evidence_dir(data_dir)
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp"]


async def test_a_multi_megabyte_video_is_streamed_stored_by_its_hash_and_read_back(client, settings, clock):
    case = await a_case(client, clock)
    data = video(3 * 1024 * 1024 + 17)  # far past the JSON body limit
    assert len(data) > settings.max_body_bytes * 40
    created = await case.stored(form(data))
    sha = hashlib.sha256(data).hexdigest()
    assert created["sha256"] == sha and created["size"] == len(data)
    assert created["kind"] == "audio_video" and created["content_type"] == "video/mp4"
    assert created["number"].endswith("-音像-001")
    path = settings.data_dir / "evidence" / sha[:2] / sha
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert temp_files(settings.data_dir) == []
    resp = await client.get(f"/api/v1/evidence/{created['id']}/content", headers=case.agency.auth())
    assert resp.status == 200 and await resp.read() == data
    assert resp.headers["Content-Type"] == "video/mp4"
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    listed = await (await client.get(f"/api/v1/cases/{case.id}/evidence", headers=case.agency.auth())).json()
    assert [(e["id"], e["sha256"], e["size"], e["proves"]) for e in listed["items"]] == [
        (created["id"], sha, len(data), "当事人销售过期食品")]
    assert listed["items"][0]["actor_name"] == "测试管理员"


async def test_an_other_json_route_keeps_its_body_limit(client, settings, clock):
    case = await a_case(client, clock)
    resp = await client.post(f"/api/v1/cases/{case.id}/records", data=b"{" + b" " * settings.max_body_bytes + b"}",
                             headers={**case.agency.auth(), "Content-Type": "application/json"})
    assert resp.status == 413


async def test_range_requests_get_206_with_the_right_bytes_and_416_beyond_the_end(client, clock):
    case = await a_case(client, clock)
    data = video(100_000)
    created = await case.stored(form(data))
    url = f"/api/v1/evidence/{created['id']}/content"
    for header, expected, content_range in [
            ("bytes=10-19", data[10:20], f"bytes 10-19/{len(data)}"),
            ("bytes=99990-", data[99990:], f"bytes 99990-99999/{len(data)}"),
            ("bytes=-5", data[-5:], f"bytes 99995-99999/{len(data)}")]:
        resp = await client.get(url, headers={**case.agency.auth(), "Range": header})
        assert resp.status == 206, header
        assert await resp.read() == expected and resp.headers["Content-Range"] == content_range
        assert resp.headers["Cache-Control"] == "no-store"
    for unsatisfiable in (f"bytes={len(data) + 10}-", f"bytes={len(data)}-{len(data) + 5}", "bytes=20-10",
                          "bytes=abc", "items=0-9"):
        resp = await client.get(url, headers={**case.agency.auth(), "Range": unsatisfiable})
        assert resp.status == 416, unsatisfiable
        assert resp.headers["Content-Range"] == f"bytes */{len(data)}", unsatisfiable


async def test_the_type_comes_from_the_content_not_the_name_or_the_declared_type(client, settings, clock):
    case = await a_case(client, clock)
    png = PNG_HEAD + secrets.token_bytes(5000)
    resp = await case.upload(form(png, filename="clip.mp4", file_type="video/mp4"))  # a PNG renamed .mp4
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "evidence_type_mismatch"
    resp = await case.upload(form(png, filename="clip.mp4", file_type="video/mp4", file_first=True))
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "evidence_type_mismatch"
    resp = await case.upload(form(PDF_HEAD + b"x" * 500, kind="photo", filename="a.jpg", file_type="image/jpeg"))
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "evidence_type_mismatch"
    resp = await case.upload(form(b"just some text, not a file we know" * 100, kind="document"))
    assert resp.status == 415 and (await resp.json())["error"]["code"] == "evidence_type_unknown"
    resp = await case.upload(form(b"", kind="document"))
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "evidence_empty"
    ok = await case.stored(form(png, kind="document", filename="scan.bin", file_type="application/octet-stream"))
    assert ok["content_type"] == "image/png" and ok["number"].endswith("-书证-001")
    assert temp_files(settings.data_dir) == [] and len(stored_files(settings.data_dir)) == 1


async def test_numbers_run_per_case_and_kind(client, clock):
    case, other = await a_case(client, clock), await a_case(client, clock)
    png = PNG_HEAD + b"\x00" * 100
    numbers = [(await case.stored(form(body, kind=kind)))["number"] for body, kind in [
        (video(2000), "audio_video"), (png, "photo"), (video(2000), "audio_video"), (PDF_HEAD + b"1", "document"),
        (png + b"2", "photo")]]
    case_no = numbers[0].rsplit("-", 2)[0]
    assert numbers == [f"{case_no}-音像-001", f"{case_no}-照片-001", f"{case_no}-音像-002", f"{case_no}-书证-001",
                       f"{case_no}-照片-002"]
    assert (await other.stored(form(video(2000))))["number"].endswith("-音像-001")


async def test_concurrent_uploads_to_one_case_get_distinct_numbers(client, clock):
    case = await a_case(client, clock)
    answers = await asyncio.gather(*[case.upload(form(video(50_000))) for _ in range(5)])
    assert [a.status for a in answers] == [201] * 5
    numbers = sorted([(await a.json())["number"] for a in answers])
    assert [n.rsplit("-", 1)[1] for n in numbers] == ["001", "002", "003", "004", "005"]


async def test_identical_content_is_stored_once_for_two_evidence_rows(client, settings, clock):
    case = await a_case(client, clock)
    data = video(40_000)
    first, second = await case.stored(form(data)), await case.stored(form(data, proves="同一段录像的另一用途"))
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    assert first["number"] != second["number"]
    assert stored_files(settings.data_dir) == [evidence.stored_path(settings.data_dir, first["sha256"])]
    for row in (first, second):
        resp = await client.get(f"/api/v1/evidence/{row['id']}/content", headers=case.agency.auth())
        assert await resp.read() == data


@pytest.fixture
async def small_limit(aiohttp_client, db_url, tmp_path, clock):  # type: ignore[no-untyped-def]
    settings = make_settings(db_url, tmp_path / "data", evidence_max_bytes=256 * 1024)
    return await aiohttp_client(create_app(settings, clock=clock)), settings


async def test_too_large_is_refused_by_content_length_and_by_stream_and_nothing_is_left(small_limit, clock):
    client, settings = small_limit
    case = await a_case(client, clock)
    big = form(video(300 * 1024))
    resp = await case.upload(big)  # Content-Length says too much: refused before reading
    assert resp.status == 413 and (await resp.json())["error"]["code"] == "evidence_too_large"
    # Chunked, no Content-Length: refused once the stream passes the limit.
    resp = await client.post(f"/api/v1/cases/{case.id}/evidence", data=chunked(big, 64 * 1024),
                             headers={**case.agency.auth(), **CT})
    assert resp.status == 413 and (await resp.json())["error"]["code"] == "evidence_too_large"
    # Within the Content-Length slack of the form, but the file itself is over the limit.
    resp = await case.upload(form(video(256 * 1024 + 1)))
    assert resp.status == 413
    assert temp_files(settings.data_dir) == [] and stored_files(settings.data_dir) == []
    exact = await case.stored(form(video(256 * 1024)))
    assert exact["size"] == 256 * 1024


async def test_bad_forms_get_stable_4xx_codes_and_leave_no_temporary_file(client, settings, clock):
    case = await a_case(client, clock)
    data = video(5000)
    file_part = form(data).split(f"--{BOUNDARY}--".encode())[0]

    async def code(body: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
        resp = await case.upload(body, headers=headers)
        return resp.status, (await resp.json())["error"]["code"]

    assert await code(form(None)) == (422, "evidence_file_missing")
    assert await code(form(data, proves=None)) == (422, "evidence_field_missing")
    assert await code(form(data, kind="sound")) == (422, "validation_error")
    assert await code(form(data, captured_at="0")) == (422, "validation_error")
    assert await code(form(data, captured_at="2026-11-20T10:15:00")) == (422, "validation_error")  # no zone
    for odd in ("2026-11-20T10:15:00+08:05:43", "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-14:00"):
        assert await code(form(data, captured_at=odd)) == (422, "validation_error"), odd
    assert await code(form(data, colour="red")) == (422, "evidence_field_unknown")
    repeated = file_part + (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nphoto\r\n'
                            f"--{BOUNDARY}--\r\n").encode()
    assert await code(repeated) == (422, "evidence_field_repeated")
    two_files = file_part + form(data, kind=None, captured_at=None, place=None, proves=None)
    assert await code(two_files) == (422, "evidence_field_repeated")
    assert await code(form(data, proves="x" * 9000)) == (422, "evidence_field_too_long")
    assert await code(form(data), {"Content-Type": "application/json"}) == (415, "unsupported_media_type")
    assert await code(b"garbage", {"Content-Type": "multipart/form-data"}) == (400, "malformed_multipart")
    assert await code(b"no boundary here") == (400, "malformed_multipart")
    assert await code(file_part) == (400, "malformed_multipart")  # cut off: no closing boundary
    assert await code(form(data, collector_officer_id="6f0c1a52-6a4e-4f43-9d8e-0d3c1b7f9a10")) == (
        422, "officer_not_found")
    future = (clock.now().replace(year=clock.now().year + 1)).isoformat()
    assert await code(form(data, captured_at=future)) == (422, "captured_in_future")
    assert temp_files(settings.data_dir) == [] and stored_files(settings.data_dir) == []


async def test_another_agency_gets_404_the_supervisor_reads_and_every_read_is_logged_with_who(client, clock):
    case = await a_case(client, clock)
    created = await case.stored(form(video(10_000)))
    url = f"/api/v1/evidence/{created['id']}/content"
    stranger, supervisor = await an_agency("另一个局"), await a_supervisor()
    for path in (url, f"/api/v1/cases/{case.id}/evidence"):
        resp = await client.get(path, headers=stranger.auth())
        assert resp.status == 404
    resp = await case.upload(form(video(1000)), key=stranger.admin_key)
    assert resp.status == 404
    reviewer = await case.agency.key(Role.REVIEWER)
    assert (await client.get(url, headers=case.agency.auth(reviewer))).status == 200
    assert (await client.get(url, headers=supervisor.auth())).status == 200
    listed = await client.get(f"/api/v1/cases/{case.id}/evidence", headers=supervisor.auth())
    assert [e["id"] for e in (await listed.json())["items"]] == [created["id"]]
    assert (await case.upload(form(video(1000)), key=reviewer)).status == 403
    log = await (await client.get(f"/api/v1/record-accesses?case_id={case.id}", headers=case.agency.auth())).json()
    assert [(a["kind"], a["evidence_id"], a["actor_name"], a["actor_role"]) for a in log["items"]] == [
        ("evidence", created["id"], "测试监督员", "supervisor"),
        ("evidence", created["id"], "测试reviewer", "reviewer")]
    seen_by_supervisor = await client.get("/api/v1/record-accesses", headers=supervisor.auth())
    assert (await seen_by_supervisor.json())["total"] == 2
    stranger_log = await client.get(f"/api/v1/record-accesses?case_id={case.id}", headers=stranger.auth())
    assert stranger_log.status == 404


async def test_a_damaged_or_missing_file_is_refused_and_logged_never_served(client, settings, clock, caplog):
    case = await a_case(client, clock)
    data = video(20_000)
    created = await case.stored(form(data))
    url = f"/api/v1/evidence/{created['id']}/content"
    assert (await client.get(url, headers=case.agency.auth())).status == 200  # hashed and remembered
    path = evidence.stored_path(settings.data_dir, created["sha256"])
    flipped = bytearray(data)
    flipped[5000] ^= 0xFF
    path.write_bytes(bytes(flipped))  # same size, other bytes
    caplog.set_level(logging.ERROR, logger="yangguang.evidence")
    for damage in ("flipped", "truncated", "missing"):
        if damage == "truncated":
            path.write_bytes(data[:-1])
        elif damage == "missing":
            path.unlink()
        resp = await client.get(url, headers={**case.agency.auth(), "Range": "bytes=0-9"})
        assert resp.status == 409, damage
        assert (await resp.json())["error"]["code"] == "evidence_file_damaged"
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(lines) == 3 and all(created["id"] in line and "李四" not in line for line in lines)
    log = await (await client.get(f"/api/v1/record-accesses?case_id={case.id}", headers=case.agency.auth())).json()
    assert log["total"] == 1  # the one read that was served
    await case.stored(form(data))  # the same content uploaded again repairs the stored copy
    assert (await client.get(url, headers=case.agency.auth())).status == 200
    assert path.stat().st_size == len(data)
    path.write_bytes(bytes(flipped))  # and so it does when the damaged copy has the right size
    assert (await client.get(url, headers=case.agency.auth())).status == 409
    await case.stored(form(data))
    resp = await client.get(url, headers=case.agency.auth())
    assert resp.status == 200 and await resp.read() == data


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_on_the_real_server_a_stalled_or_abandoned_upload_leaves_no_temporary_file(db_url, tmp_path, clock):
    settings = make_settings(db_url, tmp_path / "data")
    runner = AppRunner(create_app(settings, clock=clock), access_log=None, body_timeout=2.0, body_min_rate=1000.0)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    await web.SockSite(runner, sock).start()
    try:
        case = await a_case(None, clock)
        body = form(video(200_000))
        head = (f"POST /api/v1/cases/{case.id}/evidence HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {case.agency.admin_key}\r\nContent-Type: {CT['Content-Type']}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        for hang_up in (False, True):
            reader, writer = await asyncio.open_connection(*sock.getsockname())
            writer.write(head + body[:150_000])  # the file has begun: a temporary file exists
            await writer.drain()
            for _ in range(100):
                if temp_files(settings.data_dir):
                    break
                await asyncio.sleep(0.01)
            assert len(temp_files(settings.data_dir)) == 1
            if hang_up:
                writer.close()
            else:  # stalls: the body deadline answers 408
                answer = await asyncio.wait_for(reader.read(65536), 5)
                assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
                writer.close()
            for _ in range(100):  # the handler notices and cleans up (bounded wait, no timing assertion)
                if not temp_files(settings.data_dir):
                    break
                await asyncio.sleep(0.05)
            assert temp_files(settings.data_dir) == [], f"hang_up={hang_up}"
        assert stored_files(settings.data_dir) == []
    finally:
        await runner.cleanup()
