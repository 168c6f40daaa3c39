"""The embedded default: publish → outbox rows in the same transaction → in-process worker → sandbox."""

from __future__ import annotations

from backend.models import CaseRecord, DecisionVersion, Notification
from backend.models.enums import Role
from tests.factories import a_supervisor, an_agency, correct, publish
from tests.notifications.helpers import a_case, a_decision, notifications, wait_for


def all_delivered(n: int):  # type: ignore[no-untyped-def]
    return lambda items: len(items) == n and all(i["status"] == "delivered" for i in items)


async def test_publishing_a_decision_notifies_every_party_once_in_the_sandbox(client):
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=3)
    assert case["number"] and all(p["binding_code"] for p in case["parties"])
    decision = await a_decision(client, agency.auth(), case["id"])
    resp = await publish(client, decision["id"], agency.auth())
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["notifications"] == 3

    items = await wait_for(client, agency.auth(), case["id"], all_delivered(3))
    assert {i["channel"] for i in items} == {"sms"}
    assert all(decision["document_no"] in i["content"] for i in items)
    assert all("60日内申请行政复议" in i["content"] and "/d/" in i["content"] for i in items)
    assert all(i["provider_id"].startswith("sandbox-") and i["attempts"] == 1 for i in items)
    assert all("****" in i["recipient"] for i in items)  # phone numbers are masked in the log


async def test_correction_and_withdrawal_each_send_a_message_saying_what_and_why(client):
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    decision = await a_decision(client, agency.auth(), case["id"])
    url = f"/api/v1/decisions/{decision['id']}"
    assert (await publish(client, decision["id"], agency.auth())).status == 200
    resp = await correct(client, decision["id"], agency.auth(), "罚款人民币一千元。", "罚款金额笔误")
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["status"] == "corrected"
    resp = await client.post(f"{url}/withdraw", json={"reason": "复议机关已撤销该决定"}, headers=agency.auth())
    assert (await resp.json())["status"] == "withdrawn"

    items = await wait_for(client, agency.auth(), case["id"], all_delivered(3))
    by_event = {i["event"]: i["content"] for i in items}
    assert "罚款金额笔误" in by_event["decision_corrected"] and "一千元" in by_event["decision_corrected"]
    assert "复议机关已撤销该决定" in by_event["decision_withdrawn"]
    assert "行政复议" not in by_event["decision_withdrawn"]
    assert await DecisionVersion.filter(decision_id=decision["id"]).count() == 3
    assert await CaseRecord.filter(case_id=case["id"]).count() == 4  # start + three publication entries


async def test_an_illegal_transition_writes_no_notification(client):
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    decision = await a_decision(client, agency.auth(), case["id"])
    resp = await client.post(f"/api/v1/decisions/{decision['id']}/withdraw", json={"reason": "x"},
                             headers=agency.auth())
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "decision_withdraw_not_allowed"
    assert await Notification.filter(case_id=case["id"]).count() == 0
    assert await CaseRecord.filter(case_id=case["id"]).count() == 1


async def test_agency_notices_reach_parties_within_a_rate_limit(client):
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=2)
    resp = await client.post(f"/api/v1/cases/{case['id']}/notices", json={"text": "请于本周五前到窗口领取文书。"},
                             headers=agency.auth())
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["notifications"] == 2
    items = await wait_for(client, agency.auth(), case["id"], all_delivered(2))
    assert all("请于本周五前到窗口领取文书" in i["content"] for i in items)


async def test_agencies_see_only_their_own_cases_and_notifications(client):
    mine, theirs, supervisor = await an_agency("甲局"), await an_agency("乙局"), await a_supervisor()
    case = await a_case(client, theirs.auth(), n_parties=1)
    decision = await a_decision(client, theirs.auth(), case["id"])
    assert (await client.get(f"/api/v1/notifications?case_id={case['id']}", headers=mine.auth())).status == 404
    assert (await client.get(f"/api/v1/cases/{case['id']}", headers=mine.auth())).status == 404
    for action, body in (("publish", None), ("withdraw", {"reason": "x"})):
        resp = await client.post(f"/api/v1/decisions/{decision['id']}/{action}", json=body, headers=mine.auth())
        assert resp.status == 404
    resp = await client.post(f"/api/v1/cases/{case['id']}/notices", json={"text": "hi"}, headers=mine.auth())
    assert resp.status == 404
    resp = await client.post(f"/api/v1/cases/{case['id']}/decisions", headers=mine.auth(),
                             json={"document_no": "X1", "summary": "s", "decided_at": "2026-01-01"})
    assert resp.status == 404
    # The supervisor reads but never writes.
    assert (await client.get(f"/api/v1/notifications?case_id={case['id']}", headers=supervisor.auth())).status == 200
    resp = await client.post(f"/api/v1/decisions/{decision['id']}/publish", headers=supervisor.auth())
    assert resp.status == 403
    reviewer = await theirs.key(Role.REVIEWER)
    resp = await client.post(f"/api/v1/decisions/{decision['id']}/publish", headers=theirs.auth(reviewer))
    assert resp.status == 403
    assert await notifications(client, theirs.auth(), case["id"]) == []
