"""What an agency sees of its cases: the list and its filters, a decision, the status that follows
the case's events, parties nobody can notify, and refusals worded in Chinese."""

from __future__ import annotations

import re
import uuid

from backend.models import Case
from backend.models.enums import Role
from tests.factories import a_supervisor, an_agency, correct, publish
from tests.notifications.helpers import a_case, a_decision, notifications, wait_for


async def test_cases_are_listed_per_agency_paged_and_filtered(client, clock):
    mine, theirs, supervisor = await an_agency("甲局"), await an_agency("乙局"), await a_supervisor()
    made = [await a_case(client, mine.auth(), n_parties=1) for _ in range(3)]
    other = await a_case(client, theirs.auth(), n_parties=1)
    await a_decision(client, mine.auth(), made[0]["id"])

    resp = await client.get("/api/v1/cases?page_size=2", headers=mine.auth())
    assert resp.status == 200, await resp.text()
    page = await resp.json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["page"] == 1
    second = await (await client.get("/api/v1/cases?page_size=2&page=2", headers=mine.auth())).json()
    ids = {c["id"] for c in page["items"] + second["items"]}
    assert ids == {c["id"] for c in made}  # never another agency's case
    assert other["id"] not in ids and all(p["binding_code"] is None for c in page["items"] for p in c["parties"])

    decided = await (await client.get("/api/v1/cases?status=decided", headers=mine.auth())).json()
    assert [c["id"] for c in decided["items"]] == [made[0]["id"]]
    by_number = await (await client.get(f"/api/v1/cases?number={made[1]['number']}", headers=mine.auth())).json()
    assert [c["id"] for c in by_number["items"]] == [made[1]["id"]]
    today = clock.today().isoformat()
    same_day = await (await client.get(f"/api/v1/cases?created_from={today}&created_to={today}",
                                       headers=mine.auth())).json()
    assert same_day["total"] == 3
    await Case.filter(id=made[2]["id"]).update(created_at=clock.now().replace(year=clock.now().year - 1))
    assert (await (await client.get(f"/api/v1/cases?created_from={today}", headers=mine.auth())).json())["total"] == 2
    early = await (await client.get(f"/api/v1/cases?created_to={clock.now().year - 1}-12-31",
                                    headers=mine.auth())).json()
    assert [c["id"] for c in early["items"]] == [made[2]["id"]]

    everything = await (await client.get("/api/v1/cases?page_size=100", headers=supervisor.auth())).json()
    assert {c["id"] for c in everything["items"]} >= ids | {other["id"]}
    only_theirs = await (await client.get(f"/api/v1/cases?agency_id={theirs.agency.id}",
                                          headers=supervisor.auth())).json()
    assert [c["id"] for c in only_theirs["items"]] == [other["id"]]
    resp = await client.get(f"/api/v1/cases?agency_id={theirs.agency.id}", headers=mine.auth())
    assert resp.status == 403
    for bad in ("status=nonsense", "created_from=2026-13-01", "page=0", "number=" + "9" * 65):
        resp = await client.get(f"/api/v1/cases?{bad}", headers=mine.auth())
        assert resp.status == 422, bad


async def test_a_decision_can_be_read_by_its_agency_and_the_supervisor_only(client):
    mine, theirs, supervisor = await an_agency("甲局"), await an_agency("乙局"), await a_supervisor()
    case = await a_case(client, mine.auth(), n_parties=1)
    decision = await a_decision(client, mine.auth(), case["id"])
    reviewer = await mine.key(Role.REVIEWER)
    for auth in (mine.auth(), mine.auth(reviewer), supervisor.auth()):
        resp = await client.get(f"/api/v1/decisions/{decision['id']}", headers=auth)
        assert resp.status == 200
        body = await resp.json()
        assert body["document_no"] == decision["document_no"] and body["status"] == "draft"
    for path in (f"/api/v1/decisions/{decision['id']}", f"/api/v1/decisions/{uuid.uuid4()}"):
        resp = await client.get(path, headers=theirs.auth())
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "decision_not_found"


async def test_the_case_status_follows_its_decision(client):
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    assert case["status"] == "open"
    decision = await a_decision(client, agency.auth(), case["id"])
    status = lambda: client.get(f"/api/v1/cases/{case['id']}", headers=agency.auth())  # noqa: E731
    assert (await (await status()).json())["status"] == "decided"
    assert (await publish(client, decision["id"], agency.auth())).status == 200
    assert (await (await status()).json())["status"] == "executing"
    await correct(client, decision["id"], agency.auth(), "改为警告。", "依法从轻")
    assert (await (await status()).json())["status"] == "executing"
    # A second decision on a decided case is refused by the CASE table, in Chinese.
    resp = await client.post(f"/api/v1/cases/{case['id']}/decisions", headers=agency.auth(),
                             json={"document_no": "第二份1号", "summary": "重复", "decided_at": "2026-11-20"})
    assert resp.status == 409
    err = (await resp.json())["error"]
    assert err["code"] == "case_decide_not_allowed"
    assert "执行中" in err["message"] and not re.search(r"[A-Za-z]", err["message"])


async def test_refusals_read_in_chinese(client):
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    decision = await a_decision(client, agency.auth(), case["id"])
    resp = await client.post(f"/api/v1/decisions/{decision['id']}/withdraw", json={"reason": "x"},
                             headers=agency.auth())
    err = (await resp.json())["error"]
    assert resp.status == 409 and err["message"] == "该决定当前状态为“草稿”，不能撤回"
    reviewer = await agency.key(Role.REVIEWER)
    resp = await publish(client, decision["id"], agency.auth(reviewer))
    err = (await resp.json())["error"]
    assert resp.status == 403 and "法制审核人员" in err["message"] and not re.search(r"[A-Za-z]", err["message"])


async def test_a_party_without_phone_or_wechat_is_shown_as_unreachable_not_skipped(client):
    agency = await an_agency()
    parties = [{"name": "王一", "kind": "person", "phone": "13900007777"},
               {"name": "杭州某某餐饮有限公司", "kind": "organization"}]
    case = await a_case(client, agency.auth(), parties=parties)
    by_name = {p["name"]: p for p in case["parties"]}
    assert by_name["王一"]["reachable"] is True and by_name["王一"]["unreachable_reason"] is None
    company = by_name["杭州某某餐饮有限公司"]
    assert company["reachable"] is False and company["unreachable_reason"] == "no_contact"
    seen = await (await client.get(f"/api/v1/cases/{case['id']}", headers=agency.auth())).json()
    assert [p["reachable"] for p in seen["parties"]] == [True, False]

    decision = await a_decision(client, agency.auth(), case["id"])
    resp = await publish(client, decision["id"], agency.auth())
    body = await resp.json()
    assert body["notifications"] == 1
    assert [(u["party_id"], u["reason"]) for u in body["unreachable_parties"]] == [(company["id"], "no_contact")]
    assert "无法通知" in body["unreachable_parties"][0]["reason_text"]
    resp = await client.post(f"/api/v1/cases/{case['id']}/notices", json={"text": "请来领取文书。"},
                             headers=agency.auth())
    assert [u["party_id"] for u in (await resp.json())["unreachable_parties"]] == [company["id"]]

    await wait_for(client, agency.auth(), case["id"], lambda xs: len(xs) == 2)
    view = await (await client.get(f"/api/v1/notifications?case_id={case['id']}", headers=agency.auth())).json()
    assert [(u["party_id"], u["reason"]) for u in view["unreachable_parties"]] == [(company["id"], "no_contact")]
    assert len(await notifications(client, agency.auth(), case["id"])) == 2


APPEAL_WORDS = ("行政复议", "行政诉讼", "复议", "诉讼", "处罚")


async def test_a_permit_decision_never_shows_penalty_appeal_text(client):
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1, type="permit", title="食品经营许可申请")
    decision = await a_decision(client, agency.auth(), case["id"])
    assert (await publish(client, decision["id"], agency.auth())).status == 200
    await correct(client, decision["id"], agency.auth(), "准予许可，有效期五年。", "补充有效期")
    items = await wait_for(client, agency.auth(), case["id"],
                           lambda xs: len(xs) == 2 and all(x["status"] == "delivered" for x in xs))
    assert {i["template"] for i in items} == {"SMS_YG_PUBLISHED_PLAIN", "SMS_YG_CORRECTED_PLAIN"}
    for item in items:
        assert not any(word in item["content"] for word in APPEAL_WORDS), item["content"]
    page = await (await client.get(f"/d/{decision['id']}")).text()
    assert "行政许可决定公示" in page
    assert not any(word in page for word in APPEAL_WORDS), page

    # A penalty decision keeps its appeal text, in the messages and on the page.
    penalty = await a_case(client, agency.auth(), n_parties=1)
    pdecision = await a_decision(client, agency.auth(), penalty["id"])
    await publish(client, pdecision["id"], agency.auth())
    [item] = await wait_for(client, agency.auth(), penalty["id"],
                            lambda xs: len(xs) == 1 and xs[0]["status"] == "delivered")
    assert "行政复议" in item["content"] and item["template"] == "SMS_YG_PUBLISHED"
    assert "对行政处罚决定不服" in await (await client.get(f"/d/{pdecision['id']}")).text()


def test_wechat_messages_of_a_permit_carry_no_appeal_text():
    from backend.models.enums import NotificationEvent
    from notifications.templates import render_wechat

    ctx = {"doc": "许可1号", "decision_id": "x", "date": "2026-11-20 10:00"}
    plain = render_wechat(NotificationEvent.DECISION_PUBLISHED, "T", ctx, remedies=False)
    assert "复议" not in plain.content and "诉讼" not in plain.content
    assert "复议" in render_wechat(NotificationEvent.DECISION_PUBLISHED, "T", ctx).content
