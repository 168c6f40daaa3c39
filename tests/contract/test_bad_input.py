"""Bad query strings, path ids, form bodies and headers: a 4xx with a stable code, never a 500 (issue 8 A.1)."""

from __future__ import annotations

import pytest

from tests.credentials.support import a_credential
from tests.factories import an_agency


async def _error(resp, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    text = await resp.text()
    assert resp.status == status, f"{resp.status} {text[:300]}"
    assert resp.content_type == "application/json", text[:200]
    body = await resp.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]


@pytest.mark.parametrize("length", [33, 40, 50])
async def test_public_register_search_up_to_the_name_column_is_answered(client, length):
    agency = await an_agency()
    resp = await client.get("/mp/v1/officers", params={"q": "x" * length})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["total"] == 0
    resp = await client.get("/api/v1/officers", params={"q": "x" * length}, headers=agency.auth())
    assert resp.status == 200, await resp.text()


async def test_search_longer_than_the_name_column_is_a_422(client):
    agency = await an_agency()
    await _error(await client.get("/mp/v1/officers", params={"q": "x" * 51}), 422, "validation_error")
    await _error(await client.get("/api/v1/officers", params={"q": "张" * 51}, headers=agency.auth()),
                 422, "validation_error")


@pytest.mark.parametrize("value", ["x" * 19, "1" * 36, "Z" * 25, "12345678-1234-1234-1234-12345678901g", "A" * 17])
async def test_public_register_agency_that_is_neither_uuid_nor_credit_code_is_a_422(client, value):
    await _error(await client.get("/mp/v1/officers", params={"agency": value}), 422, "validation_error")


FORM = "application/x-www-form-urlencoded"
RATING_FORMS = [
    ({"Content-Type": f"{FORM}; charset=gbk"}, b"score=3", 415, "unsupported_charset"),
    ({"Content-Type": f"{FORM}; charset=no-such-charset"}, b"score=3", 415, "unsupported_charset"),
    ({"Content-Type": FORM}, b"score=3&text=\xff\xfe\xb0", 400, "malformed_form"),
    ({"Content-Type": FORM}, b"score=3&text=%FF%FE", 400, "malformed_form"),
    ({"Content-Type": FORM}, "text=很好".encode("gbk") + b"&score=3", 400, "malformed_form"),
    ({"Content-Type": FORM}, b"score=9", 422, "validation_error"),
    ({"Content-Type": FORM}, b"score=3&score=4", 422, "validation_error"),
    ({"Content-Type": FORM}, b"score=3&" + b"&".join(b"f%d=1" % i for i in range(30)), 400, "malformed_form"),
    ({"Content-Type": "text/plain"}, b"score=3", 415, "unsupported_media_type"),
    ({"Content-Type": FORM}, b"score=3&text=" + b"a" * 5000, 413, "form_too_large"),
]


@pytest.mark.parametrize(("headers", "body", "status", "code"), RATING_FORMS)
async def test_the_rating_form_refuses_other_charsets_and_bytes_that_are_not_utf8(client, headers, body, status,
                                                                                  code):
    agency = await an_agency()
    cred = await a_credential(client, agency)
    url = f"/v/{cred['token']}/rating"
    await _error(await client.post(url, data=body, headers=headers), status, code)
    ok = await client.post(url, data=b"score=4&text=%E5%BE%88%E5%A5%BD", headers={"Content-Type": FORM})
    assert ok.status == 200, await ok.text()


@pytest.mark.parametrize("bad", ["not-a-uuid", "1" * 36, "%00", "A" * 200, "8def64f0823c4aa79a02d674a8950a4f"])
async def test_ids_in_paths_that_are_not_canonical_uuids_are_not_found(client, bad):
    agency = await an_agency()
    for path in (f"/api/v1/officers/{bad}", f"/api/v1/credentials/{bad}", f"/api/v1/cases/{bad}",
                 f"/mp/v1/decisions/{bad}"):
        resp = await client.get(path, headers=agency.auth())
        assert resp.status == 404, (path, resp.status, await resp.text())
        assert (await resp.json())["error"]["code"] in {"not_found", "decision_not_found"}


@pytest.mark.parametrize("body", [{"categories": None}, {"status": None}, {"name": None}, {"name": "\r" + "张" * 50},
                                  {"is_legal_reviewer": None}])
async def test_a_patch_with_null_or_overlong_values_is_a_422_never_a_500(client, body):
    agency = await an_agency()
    officer = await (await client.post("/api/v1/officers", json={"name": "张三", "certificate_no": "33019999000777"},
                                       headers=agency.auth())).json()
    await _error(await client.patch(f"/api/v1/officers/{officer['id']}", json=body, headers=agency.auth()),
                 422, "validation_error")
    assert (await client.patch(f"/api/v1/officers/{officer['id']}", headers=agency.auth())).status == 200  # no change
