"""Complaints over HTTP (R-X1, R-X2): uploads and photo bombs, filing and the receipt, following with the
query code, the agency's loop through the COMPLAINT table, the H5 form, and a BOLA matrix of two
agencies, the officer complained about, the supervisor and an anonymous complainant."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import rfc8785

from backend.models.enums import Role
from backend.services.apikeys import KeyHolder, create_key
from tests.credentials.support import a_credential, an_officer
from tests.factories import a_supervisor, an_agency
from tests.support import images
from tests.support.rfc6962 import verify_inclusion


async def _upload(client, data: bytes, content_type: str = "image/jpeg", multipart: bool = False):  # type: ignore[no-untyped-def]
    if multipart:
        from aiohttp import FormData

        form = FormData()
        form.add_field("file", data, filename="photo.heic", content_type="application/octet-stream")
        return await client.post("/mp/v1/uploads", data=form)
    return await client.post("/mp/v1/uploads", data=data, headers={"Content-Type": content_type})


async def _world(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    a, b, sup = await an_agency("甲局"), await an_agency("乙局"), await a_supervisor()
    officer = await an_officer(client, a, name="王五")
    cred = await a_credential(client, a, officer)
    _, own_key = await create_key(a.agency, Role.OFFICER, "王五的平板", "test", KeyHolder(officer_id=officer["id"]))
    colleague = await an_officer(client, a, name="李四")
    _, colleague_key = await create_key(a.agency, Role.OFFICER, "李四的平板", "test",
                                        KeyHolder(officer_id=colleague["id"]))
    return {"a": a, "b": b, "sup": sup, "officer": officer, "token": cred["token"],
            "own": {"Authorization": f"Bearer {own_key}"}, "colleague": {"Authorization": f"Bearer {colleague_key}"},
            "head": a.auth(await a.key(Role.HEAD))}


async def _file(client, token: str, **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    body = {"kind": "complaint", "about": {"type": "officer", "officer_token": token},
            "text": "执法时未出示证件，我的电话 13800138000", **extra}
    resp = await client.post("/mp/v1/complaints", json=body)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_photos_upload_and_a_complaint_is_filed_with_a_receipt_and_followed(client):
    w = await _world(client)
    ids = []
    for data, ctype, multipart in ((images.jpeg(gps=True), "image/jpeg", False), (images.png(), "image/png", False),
                                   (images.heic(), "", True)):
        resp = await _upload(client, data, ctype, multipart)
        assert resp.status == 201, await resp.text()
        ids.append((await resp.json())["upload_id"])
    receipt = await _file(client, w["token"], upload_ids=ids,
                          location={"latitude": 30.274085, "longitude": 120.15507, "address": "文三路"})
    assert set(receipt) == {"tracking_no", "query_code", "leaf_index", "status", "acknowledge_due_on",
                            "answer_due_on", "anonymous"}
    assert receipt["status"] == "submitted" and receipt["anonymous"] is True
    url, code = f"/mp/v1/complaints/{receipt['tracking_no']}", {"X-Query-Code": receipt["query_code"]}
    status = await client.get(url, headers=code)
    assert status.status == 200
    body = await status.json()
    assert body["agency_name"] == "甲局" and [s["action"] for s in body["steps"]] == ["submit"]
    assert body["steps"][0]["leaf_index"] == receipt["leaf_index"]
    # The photos are the agency's to see, re-encoded, without the GPS of the original.
    detail = await (await client.get(await _agency_complaint_url(client, w, receipt), headers=w["a"].auth())).json()
    assert detail["photos"] == ids and detail["latitude"] == 30.27
    photo = await client.get(f"/api/v1/complaints/{detail['id']}/photos/{ids[0]}", headers=w["a"].auth())
    assert photo.status == 200 and photo.headers["Content-Type"] == "image/jpeg"
    assert b"PhoneMaker" not in await photo.read()
    # An upload names one complaint only.
    again = await client.post("/mp/v1/complaints", json={
        "kind": "report", "about": {"type": "officer", "officer_token": w["token"]}, "text": "再次",
        "upload_ids": ids[:1]})
    assert again.status == 409 and (await again.json())["error"]["code"] == "upload_unavailable"


async def _agency_complaint_url(client, w, receipt) -> str:  # type: ignore[no-untyped-def]
    page = await (await client.get("/api/v1/complaints", headers=w["a"].auth())).json()
    match = [c for c in page["items"] if c["tracking_no"] == receipt["tracking_no"]]
    return f"/api/v1/complaints/{match[0]['id']}"


@pytest.mark.parametrize("data,ctype,status,code", [
    (images.png_claiming(60_000, 60_000), "image/png", 422, "photo_dimensions"),
    (images.jpeg()[:-300], "image/jpeg", 422, "photo_invalid"),
    (images.jpeg() + images.zip_bytes(), "image/jpeg", 422, "photo_polyglot"),
    (images.jpeg(comment=b"<script>alert(1)</script>"), "image/jpeg", 422, "photo_polyglot"),
    (b"<html><script>alert(1)</script></html>", "image/jpeg", 415, "photo_format"),  # the type is sniffed
    (images.jpeg(), "text/plain", 415, "photo_format"),
    (b"\xff\xd8\xff" + b"\x00" * (11 * 1024 * 1024), "image/jpeg", 413, "photo_too_large"),
], ids=["huge", "truncated", "zip-appended", "script-in-comment", "html-as-jpeg", "wrong-type", "too-large"])
async def test_photo_bombs_are_refused_with_4xx_and_leave_nothing(client, data, ctype, status, code):  # type: ignore[no-untyped-def]
    from backend.models import ComplaintUpload

    resp = await _upload(client, data, ctype)
    assert resp.status == status, await resp.text()
    assert (await resp.json())["error"]["code"] == code
    assert await ComplaintUpload.all().count() == 0


async def test_wrong_pairs_are_one_uniform_404(client):
    w = await _world(client)
    receipt = await _file(client, w["token"])
    wrong = "ZZZZZZZZ" if receipt["query_code"] != "ZZZZZZZZ" else "YYYYYYYY"
    answers = []
    for number, headers in ((receipt["tracking_no"], {"X-Query-Code": wrong}), (receipt["tracking_no"], {}),
                            ("T000000-AAAA-AAAA", {"X-Query-Code": receipt["query_code"]}),
                            ("garbage%00", {"X-Query-Code": "x" * 500})):
        resp = await client.get(f"/mp/v1/complaints/{number}", headers=headers)
        answers.append((resp.status, await resp.json()))
        rated = await client.post(f"/mp/v1/complaints/{number}/rating", json={"score": 1}, headers=headers)
        assert rated.status == 404
    assert all(a == answers[0] for a in answers) and answers[0][0] == 404
    assert answers[0][1]["error"]["code"] == "complaint_not_found"


async def test_the_agency_closes_the_loop_and_illegal_moves_are_409_with_stable_codes(client):
    w = await _world(client)
    receipt = await _file(client, w["token"])
    url = await _agency_complaint_url(client, w, receipt)
    head = w["head"]
    resp = await client.post(url + "/answer", json={"answer": "已处理"}, headers=head)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "complaint_answer_not_allowed"
    assert (await client.post(url + "/acknowledge", headers=head)).status == 200
    again = await client.post(url + "/acknowledge", headers=head)
    assert again.status == 409 and (await again.json())["error"]["code"] == "complaint_acknowledge_not_allowed"
    assert (await client.post(url + "/handle", json={"note": "调取执法记录仪"}, headers=head)).status == 200
    answered = await client.post(url + "/answer", json={"answer": "经核实，已批评教育"}, headers=head)
    assert answered.status == 200 and (await answered.json())["status"] == "answered"
    code = {"X-Query-Code": receipt["query_code"]}
    seen = await (await client.get(f"/mp/v1/complaints/{receipt['tracking_no']}", headers=code)).json()
    assert seen["can_rate"] and seen["answer"] == "经核实，已批评教育"
    assert "调取执法记录仪" not in str(seen)  # internal notes never reach the complainant
    rated = await client.post(f"/mp/v1/complaints/{receipt['tracking_no']}/rating", json={"score": 1}, headers=code)
    assert rated.status == 200 and (await rated.json())["status"] == "escalated"
    sup = await (await client.get("/api/v1/supervision/complaints", headers=w["sup"].auth())).json()
    row = next(r for r in sup["items"] if r["agency_name"] == "甲局")
    assert (row["rated"], row["satisfied"], row["satisfaction_percent"], row["escalated"]) == (1, 0, 0.0, 1)
    limits = await client.put("/api/v1/complaint-limits", json={"acknowledge_days": 3, "answer_days": 2},
                              headers=w["a"].auth())
    assert limits.status == 422


async def test_the_receipt_leaf_is_proved_included_for_the_complainant_alone(client):
    w = await _world(client)
    receipt = await _file(client, w["token"])
    url = f"/mp/v1/complaints/{receipt['tracking_no']}/proof"
    resp = await client.get(url, headers={"X-Query-Code": receipt["query_code"]})
    assert resp.status == 200, await resp.text()
    p = await resp.json()
    assert p["leaf_index"] == receipt["leaf_index"]
    leaf_hash = hashlib.sha256(b"\x00" + rfc8785.dumps(p["entry"])).hexdigest()
    assert leaf_hash == p["leaf_hash"]
    verify_inclusion(bytes.fromhex(p["leaf_hash"]), p["leaf_index"], p["tree_size"],
                     [bytes.fromhex(h) for h in p["audit_path"]], bytes.fromhex(p["root_hash"]))  # raises if not
    text = "执法时未出示证件，我的电话 13800138000"
    assert p["entry"]["data"]["text_digest"] == hashlib.sha256(f"{p['salt']}\x00{text}".encode()).hexdigest()
    assert (await client.get(url, headers={"X-Query-Code": "ZZZZZZZZ"})).status == 404
    assert (await client.get(url + "?leaf_index=0", headers={"X-Query-Code": receipt["query_code"]})).status == 404


async def test_bola_matrix(client):
    """Who may see and move a complaint about 王五 of 甲局, and who may see who complained."""
    w = await _world(client)
    receipt = await _file(client, w["token"])
    url = await _agency_complaint_url(client, w, receipt)
    cases = {  # name -> (headers, sees it, sees identity, may act)
        "admin 甲": (w["a"].auth(), True, True, True),
        "head 甲": (w["head"], True, False, True),
        "colleague 甲": (w["colleague"], True, False, False),
        "王五 himself": (w["own"], False, False, False),
        "admin 乙": (w["b"].auth(), False, False, False),
        "supervisor": (w["sup"].auth(), True, True, False),
        "no key": ({}, False, False, False),
    }
    for name, (headers, sees, identity, acts) in cases.items():
        one = await client.get(url, headers=headers)
        listed = await client.get("/api/v1/complaints", headers=headers)
        if not headers:
            assert one.status == 401 and listed.status == 401, name
            continue
        assert one.status == (200 if sees else 404), name
        assert (receipt["tracking_no"] in await listed.text()) == sees, name
        if sees:
            body = await one.json()
            assert (body["complainant"] is not None) == identity, name
            assert ("13800138000" in body["text"]) == identity, name
        moved = await client.post(url + "/handle", headers=headers)
        assert (moved.status in (200, 409)) == acts, (name, moved.status)
        if moved.status == 200:
            await client.post(url + "/answer", json={"answer": "x"}, headers=headers)  # keep moves legal
    # The anonymous complainant: right code sees, wrong code does not.
    ok = await client.get(f"/mp/v1/complaints/{receipt['tracking_no']}",
                          headers={"X-Query-Code": receipt["query_code"]})
    assert ok.status == 200 and "王五" not in await ok.text()


async def test_the_h5_verify_page_has_a_working_complaint_form_and_answers_a_receipt(client):
    w = await _world(client)
    page = await client.get(f"/v/{w['token']}", headers={"Accept": "text/html"})
    html = await page.text()
    assert f'action="/v/{w["token"]}/complaint"' in html and "王五" in html and "<script" not in html
    resp = await client.post(f"/v/{w['token']}/complaint", data={"kind": "report", "text": "冒用证件？" * 300,
                                                                  "address": "文三路"})
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/html"
    receipt = await resp.text()
    import re

    number = re.search(r"T[0-9]{6}-[0-9A-Z]{4}-[0-9A-Z]{4}", receipt)
    code = re.search(r"<dt>查询码</dt><dd><strong>([0-9A-Z]{8})</strong>", receipt)
    assert number and code
    status = await client.get(f"/mp/v1/complaints/{number.group(0)}", headers={"X-Query-Code": code.group(1)})
    assert status.status == 200 and (await status.json())["kind"] == "report"
    empty = await client.post(f"/v/{w['token']}/complaint", data={"kind": "complaint", "text": " "})
    assert empty.status == 422
