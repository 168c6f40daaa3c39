"""Real SDKs (aliyun-python-sdk-core, wechatpy) against local fake providers, driven through the API
and the in-process worker."""

from __future__ import annotations

from backend.clock import SHANGHAI
from backend.models import DeliveryReceipt, Notification, SubscriptionGrant
from backend.outbox import get_outbox
from notifications import tasks
from tests.factories import an_agency, correct
from tests.factories import publish as publish_previewed
from tests.notifications.helpers import a_case, a_decision, notifications, wait_for
from tests.support.parties import bind, sign_in


def settled(n: int, statuses=("sent", "delivered")):  # type: ignore[no-untyped-def]
    return lambda items: len(items) == n and all(i["status"] in statuses for i in items)


async def publish(client, auth, n_parties=2, **case_kw):  # type: ignore[no-untyped-def]
    case = await a_case(client, auth, n_parties=n_parties, **case_kw)
    decision = await a_decision(client, auth, case["id"])
    resp = await publish_previewed(client, decision["id"], auth)
    assert resp.status == 200, await resp.text()
    return case, decision


async def test_sms_goes_through_aliyun_with_the_notification_id_as_out_id(make_client, fake_aliyun):
    client = await make_client(aliyun=fake_aliyun)
    agency = await an_agency()
    case, decision = await publish(client, agency.auth(), n_parties=2)
    items = await wait_for(client, agency.auth(), case["id"], settled(2))
    sent = fake_aliyun.messages()
    assert sorted(m["out_id"] for m in sent) == sorted(i["id"] for i in items)
    assert all(m["template"] == "SMS_YG_PUBLISHED" and m["sign"] == "阳光执法" for m in sent)
    assert all(m["params"]["doc"] == decision["document_no"] for m in sent)
    assert all(i["provider_id"].endswith("^0") for i in items)

    # Delivery receipts come back through QuerySendDetails (R-N3).
    deps = get_outbox(client.app).local.deps
    # Receipts are asked for once a message is a few seconds old: let a minute pass.
    await Notification.filter(case_id=case["id"]).update(sent_at=_minutes_ago(deps, 1),
                                                         updated_at=_minutes_ago(deps, 1))
    assert await tasks.poll_receipts(deps) == 2
    items = await notifications(client, agency.auth(), case["id"])
    assert all(i["status"] == "delivered" and i["receipts"][0]["provider_status"] == "delivered" for i in items)
    assert await DeliveryReceipt.filter(notification__case_id=case["id"]).count() == 2


def _minutes_ago(deps, minutes: float):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    return deps.clock.now() - timedelta(minutes=minutes)


async def test_provider_500s_and_throttling_are_retried_until_each_party_has_one_message(make_client, fake_aliyun):
    client = await make_client(aliyun=fake_aliyun)
    agency = await an_agency()
    fake_aliyun.configure(fail_first=2, throttle_first=1)
    case, _ = await publish(client, agency.auth(), n_parties=2)
    items = await wait_for(client, agency.auth(), case["id"], settled(2))
    assert sum(i["attempts"] for i in items) == 2 + 3  # two 500s and one throttle, then success
    out_ids = [m["out_id"] for m in fake_aliyun.messages()]
    assert sorted(out_ids) == sorted(i["id"] for i in items)  # exactly one each


async def test_after_a_timeout_the_worker_asks_aliyun_before_sending_again(make_client, fake_aliyun):
    client = await make_client(aliyun=fake_aliyun)
    agency = await an_agency()
    fake_aliyun.configure(slow_first=1, slow_seconds=1.5)  # accepted, answer arrives after our timeout
    case, _ = await publish(client, agency.auth(), n_parties=1)
    items = await wait_for(client, agency.auth(), case["id"], settled(1), seconds=15)
    assert items[0]["attempts"] == 2
    assert items[0]["provider_status"] == "found_after_ambiguous"
    assert len(fake_aliyun.messages()) == 1  # no duplicate


async def test_a_permanent_failure_is_final_and_visible_to_the_agency(make_client, fake_aliyun):
    client = await make_client(aliyun=fake_aliyun)
    agency = await an_agency()
    body = {"name": "赵六", "kind": "person", "phone": "13900000400"}
    case = await a_case(client, agency.auth(), parties=[body])
    decision = await a_decision(client, agency.auth(), case["id"])
    await publish_previewed(client, decision["id"], agency.auth())
    items = await wait_for(client, agency.auth(), case["id"], settled(1, ("failed",)))
    assert items[0]["attempts"] == 1 and items[0]["provider_status"] == "isv.MOBILE_NUMBER_ILLEGAL"


async def test_retries_run_out_into_failed(make_client, fake_aliyun):
    client = await make_client(aliyun=fake_aliyun)
    agency = await an_agency()
    case = await a_case(client, agency.auth(), parties=[{"name": "钱七", "kind": "person", "phone": "13900000500"}])
    decision = await a_decision(client, agency.auth(), case["id"])
    await publish_previewed(client, decision["id"], agency.auth())
    items = await wait_for(client, agency.auth(), case["id"], settled(1, ("failed",)))
    assert items[0]["attempts"] == 4  # first try + the three retries of the schedule
    assert "500" in items[0]["last_error"]


async def test_the_daily_cap_per_number_and_template_defers_to_tomorrow(make_client, fake_aliyun):
    client = await make_client(aliyun=fake_aliyun, notify_daily_cap=1)
    agency = await an_agency()
    party = {"name": "孙八", "kind": "person", "phone": "13900001234"}
    case = await a_case(client, agency.auth(), parties=[party])
    for _ in range(2):
        await client.post(f"/api/v1/cases/{case['id']}/notices", json={"text": "请留意。"}, headers=agency.auth())
    items = await wait_for(client, agency.auth(), case["id"],
                           lambda xs: len(xs) == 2 and sorted(x["status"] for x in xs) == ["pending", "sent"])
    waiting = await Notification.get(id=next(i["id"] for i in items if i["status"] == "pending"))
    assert waiting.last_error == "daily cap per recipient reached" and waiting.attempts == 0
    assert waiting.next_attempt_at.astimezone(SHANGHAI).hour == 0  # the provider's day starts again
    assert len(fake_aliyun.messages()) == 1


async def _bind_and_grant(client, case, templates, code="abc"):  # type: ignore[no-untyped-def]
    """The party signs in, binds with the code on the paperwork, then accepts a subscription prompt
    (each wx.login code works once: ``user#n`` are logins of one user at the fake)."""
    resp = await bind(client, await sign_in(client, f"{code}-1"), case)
    assert resp.status == 201, await resp.text()
    body = {"code": f"{code}-2", "results": {t: "accept" for t in templates}}
    resp = await client.post("/mp/v1/subscriptions", json=body)
    assert resp.status == 201, await resp.text()
    return await resp.json()


def about_decisions(items):  # type: ignore[no-untyped-def]
    """The rows of decision events (the binding's own SMS to the party left aside)."""
    return [i for i in items if i["event"] != "binding_changed"]


async def test_wechat_with_a_grant_then_sms_when_the_grant_is_used_up(make_client, fake_aliyun, fake_wechat):
    client = await make_client(aliyun=fake_aliyun, wechat=fake_wechat)
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    assert (await _bind_and_grant(client, case, ["YG_WX_DECISION_PUBLISHED"], code="p1"))["granted"] == 1
    decision = await a_decision(client, agency.auth(), case["id"])
    await publish_previewed(client, decision["id"], agency.auth())
    items = about_decisions(await wait_for(client, agency.auth(), case["id"],
                                           lambda xs: settled(1)(about_decisions(xs))))
    assert items[0]["channel"] == "wechat"
    [msg] = fake_wechat.messages()
    assert msg["touser"] == "o_p1" and msg["template_id"] == "YG_WX_DECISION_PUBLISHED"
    assert all(len(v["value"]) <= 20 for k, v in msg["data"].items() if k.startswith("thing"))
    assert await SubscriptionGrant.filter(openid="o_p1", consumed_at__isnull=False).count() == 1

    # No grant for the correction template: the message goes by SMS instead.
    await correct(client, decision["id"], agency.auth(), "改为警告。", "依法从轻")
    items = about_decisions(await wait_for(
        client, agency.auth(), case["id"],
        lambda xs: any(x["channel"] == "sms" and x["status"] == "sent" for x in about_decisions(xs))))
    superseded = [i for i in items if i["status"] == "superseded"]
    assert len(superseded) == 1 and superseded[0]["provider_status"] == "no_grant"
    sms = next(i for i in items if i["channel"] == "sms")
    assert sms["fallback_of_id"] == superseded[0]["id"] and "依法从轻" in sms["content"]
    assert [m["template"] for m in fake_aliyun.messages()].count("SMS_YG_CORRECTED") == 1


async def test_wechat_43101_falls_back_to_sms(make_client, fake_aliyun, fake_wechat):
    client = await make_client(aliyun=fake_aliyun, wechat=fake_wechat)
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    await _bind_and_grant(client, case, ["YG_WX_DECISION_PUBLISHED"], code="noquota1")
    decision = await a_decision(client, agency.auth(), case["id"])
    await publish_previewed(client, decision["id"], agency.auth())
    items = about_decisions(await wait_for(
        client, agency.auth(), case["id"],
        lambda xs: any(x["channel"] == "sms" and x["status"] == "sent" for x in about_decisions(xs))))
    assert {i["status"] for i in items} == {"superseded", "sent"}
    assert next(i for i in items if i["channel"] == "wechat")["provider_status"] == "43101"


async def test_the_mini_program_cannot_claim_an_openid_without_a_valid_login_code(make_client, fake_wechat):
    client = await make_client(wechat=fake_wechat)
    resp = await client.post("/mp/v1/subscriptions", json={"code": "bad-code", "results": {"T1": "accept"}})
    assert resp.status == 401
    resp = await client.post("/mp/v1/subscriptions", json={"code": "c", "openid": "o_x", "results": {}})
    assert resp.status == 422
    # Binding moved to POST /mp/v1/me/cases (single-use codes): the field is refused here.
    resp = await client.post("/mp/v1/subscriptions", json={"code": "c", "binding_code": "NOSUCHCODE",
                                                           "results": {"T1": "accept"}})
    assert resp.status == 422
    assert await SubscriptionGrant.all().count() == 0


async def test_subscriptions_work_in_the_embedded_default_through_the_sandbox(client):
    """No provider configured: the sandbox logs the mini-program user in, the binding code links the
    party, and the WeChat message lands in the sandbox outbox (what failed with 503 before)."""
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    session = await sign_in(client, "wx-login-1")
    assert (await bind(client, session, case)).status == 201
    body = {"code": "wx-login-1", "results": {"YG_WX_DECISION_PUBLISHED": "accept", "OTHER": "reject"}}
    resp = await client.post("/mp/v1/subscriptions", json=body)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["granted"] == 1
    seen = await (await client.get(f"/api/v1/cases/{case['id']}", headers=agency.auth())).json()
    assert seen["parties"][0]["has_wechat"] is True
    decision = await a_decision(client, agency.auth(), case["id"])
    await publish_previewed(client, decision["id"], agency.auth())
    items = await wait_for(client, agency.auth(), case["id"], lambda xs: len(xs) == 2 and
                           all(x["status"] == "delivered" for x in xs))
    # The SMS telling the party of the binding, then the decision on WeChat.
    assert sorted((i["event"], i["channel"]) for i in items) == [("binding_changed", "sms"),
                                                                 ("decision_published", "wechat")]
    item = next(i for i in items if i["channel"] == "wechat")
    assert item["provider_id"].startswith("sandbox-")
    assert await SubscriptionGrant.filter(consumed_at__isnull=False).count() == 1


async def test_with_real_sms_but_no_wechat_subscriptions_are_unavailable(make_client, fake_aliyun):
    client = await make_client(aliyun=fake_aliyun)
    resp = await client.post("/mp/v1/subscriptions", json={"code": "c", "results": {"T1": "accept"}})
    assert resp.status == 503
    err = (await resp.json())["error"]
    assert err["code"] == "wechat_not_configured" and "微信" in err["message"]
