"""A named complaint's SMS through the real aliyun-python-sdk-core to the local fake (R-X1, R-X2): the
verification code, then a message at each step the agency takes, to the verified phone only."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.credentials.support import a_credential
from tests.factories import an_agency


async def _sent(fake, n: int, seconds: float = 10.0) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while len(messages := fake.messages()) < n:
        if loop.time() > deadline:
            raise AssertionError(f"expected {n} messages, got {messages}")
        await asyncio.sleep(0.05)
    return messages


async def test_the_code_and_each_step_reach_the_verified_phone_through_aliyun(make_client, fake_aliyun):
    client = await make_client(aliyun=fake_aliyun)
    agency = await an_agency()
    cred = await a_credential(client, agency)
    about = {"type": "officer", "officer_token": cred["token"]}
    asked = await client.post("/mp/v1/phone-codes", json={"phone": "13900007777", "about": about})
    assert asked.status == 202, await asked.text()
    verification = await asked.json()
    (code_sms,) = await _sent(fake_aliyun, 1)
    assert code_sms["phone"] == "13900007777" and code_sms["template"] == "SMS_YG_COMPLAINT_CODE"
    assert code_sms["sign"] == "阳光执法"
    code = code_sms["params"]["code"]
    again = await client.post("/mp/v1/phone-codes", json={"phone": "13900007777", "about": about})
    assert again.status == 429 and (await again.json())["error"]["code"] == "phone_code_rate_limited"

    filed = await client.post("/mp/v1/complaints", json={
        "kind": "complaint", "about": about, "text": "态度粗暴",
        "named": {"phone": "13900007777", "verification_id": verification["verification_id"], "code": code}})
    assert filed.status == 201, await filed.text()
    receipt = await filed.json()
    assert receipt["anonymous"] is False
    items = (await (await client.get("/api/v1/complaints", headers=agency.auth())).json())["items"]
    url = f"/api/v1/complaints/{items[0]['id']}"
    assert items[0]["complainant"]["phone"] == "13900007777"
    assert (await client.post(url + "/acknowledge", headers=agency.auth())).status == 200
    assert (await client.post(url + "/answer", json={"answer": "已批评教育"}, headers=agency.auth())).status == 200
    sent = await _sent(fake_aliyun, 3)
    steps = [m for m in sent if m["template"] == "SMS_YG_COMPLAINT"]
    assert len(steps) == 2 and all(m["phone"] == "13900007777" for m in steps)
    assert all(m["params"]["no"] == receipt["tracking_no"] for m in steps)
    assert [m["params"]["step"] for m in steps] == [f"已受理，将于{receipt['answer_due_on']}前答复",
                                                    "已答复，请凭查询码查看答复并评价"]
    assert all("态度粗暴" not in str(m) for m in sent)  # the complaint's text never goes out by SMS


async def test_an_anonymous_complaint_sends_no_message(make_client, fake_aliyun):
    client = await make_client(aliyun=fake_aliyun)
    agency = await an_agency()
    cred = await a_credential(client, agency)
    filed = await client.post("/mp/v1/complaints", json={
        "kind": "report", "about": {"type": "officer", "officer_token": cred["token"]}, "text": "冒用证件"})
    assert filed.status == 201
    items = (await (await client.get("/api/v1/complaints", headers=agency.auth())).json())["items"]
    assert (await client.post(f"/api/v1/complaints/{items[0]['id']}/acknowledge", headers=agency.auth())).status == 200
    await asyncio.sleep(0.5)
    assert fake_aliyun.messages() == []
