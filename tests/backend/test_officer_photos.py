"""Officer photos: JPEG or PNG only, decoded and re-encoded (no EXIF), bounded in bytes and pixels,
stored 0600 in a 0700 folder, shown on the H5 verify page."""

from __future__ import annotations

import asyncio
import io
import stat

from PIL import Image

from backend.models import Officer
from backend.services.disclosure import printing
from backend.services.disclosure.verification import KeyStore
from tests.credentials.support import a_credential, an_officer
from tests.factories import an_agency


def _jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SECRETCAM"  # Make
    exif[0x9286] = "SECRETNOTE"  # UserComment-like text that must not survive
    buf = io.BytesIO()
    Image.new("RGB", (300, 400), (200, 100, 50)).save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()


async def _put(client, agency, officer_id, data: bytes, content_type: str = "image/jpeg"):
    return await client.put(f"/api/v1/officers/{officer_id}/photo", data=data,
                            headers={**agency.auth(), "Content-Type": content_type})


async def test_a_photo_is_reencoded_without_exif_stored_privately_and_shown_on_the_verify_page(client, settings,
                                                                                                clock):
    agency = await an_agency()
    officer = await an_officer(client, agency)
    cred = await a_credential(client, agency, officer)
    before = await client.get(f"/v/{cred['token']}", headers={"Accept": "text/html"})
    assert "/photo" not in await before.text()
    original = _jpeg_with_exif()
    assert b"SECRETCAM" in original
    resp = await _put(client, agency, officer["id"], original)
    assert resp.status == 200, await resp.text()
    row = await Officer.get(id=officer["id"])
    path = settings.data_dir / row.photo_path
    stored = path.read_bytes()
    assert b"SECRETCAM" not in stored and b"SECRETNOTE" not in stored
    assert Image.open(io.BytesIO(stored)).format == "JPEG"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    page = await client.get(f"/v/{cred['token']}", headers={"Accept": "text/html"})  # cache invalidated
    assert f"/v/{cred['token']}/photo" in await page.text()
    served = await client.get(f"/v/{cred['token']}/photo")
    assert served.status == 200 and await served.read() == stored
    rows = await printing.printable_credentials(agency.agency.id, None, clock.today())  # and on the printed card
    assert printing.card_for(rows[0], "https://x.example", KeyStore(settings.data_dir)).photo == stored


async def test_garbage_other_formats_and_oversized_photos_are_refused_with_stable_codes(client):
    agency = await an_agency()
    officer = await an_officer(client, agency)
    resp = await _put(client, agency, officer["id"], b"\xff\xd8\xff\xe0 not really a jpeg")
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "photo_invalid"
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    resp = await _put(client, agency, officer["id"], gif.getvalue(), "image/png")
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "photo_format"
    resp = await _put(client, agency, officer["id"], gif.getvalue(), "image/gif")
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "photo_format"
    bomb = io.BytesIO()
    Image.new("1", (6000, 6000)).save(bomb, format="PNG")  # small file, 36 million pixels
    assert len(bomb.getvalue()) < 2 * 1024 * 1024
    resp = await _put(client, agency, officer["id"], bomb.getvalue(), "image/png")
    assert resp.status == 413 and (await resp.json())["error"]["code"] == "photo_too_large"
    resp = await _put(client, agency, officer["id"], b"\x00" * (2 * 1024 * 1024 + 1))
    assert resp.status == 413 and (await resp.json())["error"]["code"] == "photo_too_large"
    assert (await Officer.get(id=officer["id"])).photo_path is None
    other = await an_agency("乙局")
    assert (await _put(client, other, officer["id"], _jpeg_with_exif())).status == 404


async def test_a_photo_declared_larger_than_the_limit_is_refused_before_its_body_is_read(client):
    # Only the head is sent: a server that read the body first would wait for bytes that never come.
    agency = await an_agency()
    officer = await an_officer(client, agency)
    head = (f"PUT /api/v1/officers/{officer['id']}/photo HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {agency.admin_key}\r\nContent-Type: image/jpeg\r\n"
            f"Content-Length: {2 * 1024 * 1024 + 1}\r\n\r\n").encode()
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(head)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), 10)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert b'"photo_too_large"' in answer
    assert (await Officer.get(id=officer["id"])).photo_path is None
