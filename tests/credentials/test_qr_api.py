"""QR images and print sheets from the agency API, decoded by a real decoder."""

from __future__ import annotations

import pytest

from backend.models.enums import Role
from tests.credentials.support import a_credential, act
from tests.factories import an_agency
from tests.qr.zbar import decode, needs_zbar


@needs_zbar
async def test_the_qr_png_decodes_to_the_verify_url_and_follows_a_reissue(client, tmp_path):
    agency = await an_agency()
    cred = await a_credential(client, agency)
    resp = await client.get(f"/api/v1/credentials/{cred['id']}/qr.png", headers=agency.auth())
    assert resp.status == 200 and resp.content_type == "image/png"
    assert decode(await resp.read(), tmp_path) == [cred["verify_url"]]
    new = await (await act(client, agency, cred["id"], "reissue", reason="遗失")).json()
    resp = await client.get(f"/api/v1/credentials/{new['id']}/qr.png", headers=agency.auth())
    assert decode(await resp.read(), tmp_path) == [new["verify_url"]]


async def test_the_qr_svg_is_served_as_svg(client):
    agency = await an_agency()
    cred = await a_credential(client, agency)
    resp = await client.get(f"/api/v1/credentials/{cred['id']}/qr.svg", headers=agency.auth())
    assert resp.status == 200 and resp.content_type == "image/svg+xml"
    assert "<svg" in await resp.text()
    officer_key = await agency.key(Role.OFFICER)
    resp = await client.get(f"/api/v1/credentials/{cred['id']}/qr.svg", headers=agency.auth(officer_key))
    assert resp.status == 403  # printing cards is the administrator's job


@needs_zbar
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_batch_print_sheet_as_pdf_and_as_png_pages(client, tmp_path):
    agency = await an_agency()
    creds = [await a_credential(client, agency) for _ in range(11)]
    await act(client, agency, creds[0]["id"], "revoke", reason="注销")  # a revoked card is not printed by default
    resp = await client.post("/api/v1/credentials/print-sheet", json={}, headers=agency.auth())
    assert resp.status == 200 and resp.content_type == "application/pdf"
    assert (await resp.read()).startswith(b"%PDF")
    assert resp.headers["X-Page-Count"] == "1"
    resp = await client.post("/api/v1/credentials/print-sheet", json={"format": "png"}, headers=agency.auth())
    assert sorted(decode(await resp.read(), tmp_path)) == sorted(c["verify_url"] for c in creds[1:])
    chosen = [c["id"] for c in creds[1:3]]
    resp = await client.post("/api/v1/credentials/print-sheet", json={"credential_ids": chosen, "format": "png"},
                             headers=agency.auth())
    assert sorted(decode(await resp.read(), tmp_path)) == sorted(c["verify_url"] for c in creds[1:3])
    resp = await client.post("/api/v1/credentials/print-sheet", json={"credential_ids": [creds[0]["id"]]},
                             headers=agency.auth())
    assert resp.status == 409  # a revoked card is never printed, not even when asked for
    resp = await client.post("/api/v1/credentials/print-sheet", json={"format": "png", "page": 2},
                             headers=agency.auth())
    assert resp.status == 404
