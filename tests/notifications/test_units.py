"""Templates, policy, the claim, the relay and sweeper, the WeChat token, the CLI, the notice limit."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from backend.clock import Clock
from backend.errors import ValidationFailed
from backend.models import Notification
from backend.models.enums import NotificationChannel, NotificationEvent, NotificationStatus
from backend.settings import Settings
from notifications import tasks, templates
from notifications.channels import Accepted
from notifications.deps import Deps
from notifications.policy import Policy
from tests.conftest import make_settings
from tests.factories import an_agency, publish
from tests.fakes.wechat import FakeWechat
from tests.notifications.conftest import provider_settings
from tests.notifications.helpers import a_case, a_decision

E = NotificationEvent
ROOT = Path(__file__).resolve().parents[2]
LONG = "因当事人提交新的证据材料，经重新核查，原决定中认定的违法所得金额及罚款数额均需调整" * 3


@pytest.mark.parametrize("event", [E.DECISION_PUBLISHED, E.DECISION_CORRECTED, E.DECISION_WITHDRAWN])
def test_every_decision_template_fits_the_providers_limits(event):
    ctx = {"doc": "杭西市监罚〔2026〕12345号", "url": "https://zfgs.example.gov.cn/d/" + str(uuid.uuid4()),
           "change": LONG, "reason": LONG, "decision_id": "x", "date": "2026-11-22 10:00"}
    sms = templates.render_sms(event, "SMS_X", ctx, "阳光执法")
    assert templates.sms_segments(sms.content) <= templates.SMS[event].max_segments
    assert ctx["doc"] in sms.content and ctx["url"] in sms.content
    assert all(len(v) <= templates.SMS_VARIABLE_MAX for k, v in sms.params.items() if k != "url")
    wx = templates.render_wechat(event, "TPL", ctx)
    things = {k: v["value"] for k, v in wx.params["data"].items() if k.startswith("thing")}
    assert things and all(len(v) <= templates.WECHAT_THING_MAX for v in things.values())
    assert ("行政复议" in sms.content) == (event is not E.DECISION_WITHDRAWN)  # remedies where they apply
    if event is E.DECISION_CORRECTED:
        assert "因当事人提交新的证据" in sms.content
    if event is E.DECISION_WITHDRAWN:
        assert "原因" in sms.content


def test_a_notice_that_cannot_fit_three_segments_is_refused():
    with pytest.raises(ValidationFailed) as err:
        templates.check_notice_text("很长" * 150, {"agency": "某局", "case": "2026-1", "case_id": "x", "date": ""})
    assert err.value.code == "sms_too_long"


def test_the_retry_schedule_is_data():
    policy = Policy(schedule=(5, 30, 120))
    assert [policy.next_delay(n) for n in range(1, 5)] == [5, 30, 120, None]
    assert policy.max_attempts == 4
    assert policy.fallback_for(NotificationChannel.WECHAT) is NotificationChannel.SMS
    assert policy.fallback_for(NotificationChannel.SMS) is None
    assert Settings.from_env({"YANGGUANG_NOTIFY_RETRY_SCHEDULE": "1,2.5"}).notify_retry_schedule == (1.0, 2.5)


class CountingChannel:
    name, sandbox = "sms", False

    def __init__(self) -> None:
        self.sent: list[uuid.UUID] = []

    async def send(self, n: Notification) -> Accepted:
        await asyncio.sleep(0.05)  # long enough for every racer to try its claim
        self.sent.append(n.id)
        return Accepted(provider_id=f"p-{len(self.sent)}")

    async def lookup(self, n: Notification) -> Accepted | None:
        return None

    async def receipts(self, rows: list[Notification]) -> list:  # type: ignore[type-arg]
        return []


async def a_row(client, **fields) -> Notification:  # type: ignore[no-untyped-def]
    agency = await an_agency()
    values = dict(idempotency_key=str(uuid.uuid4()), event=E.AGENCY_NOTICE, event_ref="r", agency_id=agency.agency.id,
                  channel=NotificationChannel.SMS, recipient="13900000001", template="T", content="c")
    values.update(fields)
    return await Notification.create(**values)


def deps_for(settings: Settings, channel: CountingChannel, dispatched: list | None = None) -> Deps:  # type: ignore[type-arg]
    async def dispatch(rows, delay, tag=""):  # type: ignore[no-untyped-def]
        if dispatched is not None:
            dispatched.append((rows, delay, tag))

    return Deps(settings=settings, clock=Clock(), policy=Policy(schedule=(0.01,)),
                channels={NotificationChannel.SMS: channel, NotificationChannel.WECHAT: channel}, dispatch=dispatch)


async def test_a_job_run_ten_times_at_once_sends_once(client, settings):
    row = await a_row(client)
    channel = CountingChannel()
    deps = deps_for(settings, channel)
    results = await asyncio.gather(*(tasks.deliver(deps, row.id) for _ in range(10)))
    assert sorted(results) == ["sent"] + ["skipped"] * 9
    assert channel.sent == [row.id]
    row = await Notification.get(id=row.id)
    assert (row.status, row.attempts, row.provider_id) == (NotificationStatus.SENT, 1, "p-1")
    assert await tasks.deliver(deps, row.id) == "skipped"  # and any later copy is harmless


async def test_racing_sends_to_one_number_never_exceed_the_daily_cap(client, settings):
    rows = [await a_row(client) for _ in range(5)]  # one number, one template
    channel = CountingChannel()  # each send takes 50 ms: every racer checks the cap meanwhile
    deps = deps_for(settings, channel)
    deps.policy = Policy(schedule=(0.01,), daily_cap=1)
    results = await asyncio.gather(*(tasks.deliver(deps, row.id) for row in rows))
    assert sorted(results) == ["capped"] * 4 + ["sent"]
    assert len(channel.sent) == 1


async def test_the_sweeper_rescues_rows_of_dead_workers_and_the_relay_hands_them_over(client, settings):
    channel, dispatched = CountingChannel(), []
    deps = deps_for(settings, channel, dispatched)
    long_ago = deps.clock.now() - timedelta(hours=1)
    stuck = await a_row(client, status=NotificationStatus.SENDING, attempts=1)
    await Notification.filter(id=stuck.id).update(updated_at=long_ago)
    fresh = await a_row(client, relayed_at=deps.clock.now())  # just handed over by the API: left alone
    later = await a_row(client, next_attempt_at=deps.clock.now() + timedelta(hours=1))  # not due yet
    lost = await a_row(client, relayed_at=long_ago)  # handed over long ago, never claimed: Redis lost it
    assert await tasks.sweep(deps) == 1
    stuck = await Notification.get(id=stuck.id)
    assert (stuck.status, stuck.provider_status) == (NotificationStatus.PENDING, tasks.AMBIGUOUS)
    assert await tasks.relay(deps) == 2
    [(rows, delay, tag)] = dispatched
    assert {r[0] for r in rows} == {stuck.id, lost.id} and delay == 0 and tag.startswith("r")
    assert fresh.id not in {r[0] for r in rows} and later.id not in {r[0] for r in rows}
    assert await tasks.relay(deps) == 0  # handed over: not again until notify_requeue_after


async def test_notices_are_rate_limited_per_agency(make_client):
    client = await make_client(agency_notice_per_hour=2)
    agency, other = await an_agency("甲局"), await an_agency("乙局")
    case = await a_case(client, agency.auth(), n_parties=1)
    url = f"/api/v1/cases/{case['id']}/notices"
    for _ in range(2):
        assert (await client.post(url, json={"text": "请留意"}, headers=agency.auth())).status == 201
    resp = await client.post(url, json={"text": "请留意"}, headers=agency.auth())
    assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
    assert (await resp.json())["error"]["code"] == "notice_rate_limited"
    other_case = await a_case(client, other.auth(), n_parties=1)
    resp = await client.post(f"/api/v1/cases/{other_case['id']}/notices", json={"text": "x"}, headers=other.auth())
    assert resp.status == 201  # the budget is per agency


async def test_wechat_workers_share_one_token_in_redis(fake_wechat: FakeWechat, redis_server, tmp_path):
    from notifications.channels.wechat_subscribe import make_client as make_wx

    redis_url = f"redis://127.0.0.1:{redis_server.port}/15"
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    settings = provider_settings("sqlite://:memory:", tmp_path, None, fake_wechat, redis_url=redis_url)
    before = fake_wechat.call(lambda: fake_wechat.state.token_fetches)
    clients = [make_wx(settings, redis_url) for _ in range(4)]

    def send(c, i):  # type: ignore[no-untyped-def]
        return c.wxa.send_subscribe_message(f"o_{i}", "TPL", {"thing1": {"value": "x"}})

    await asyncio.gather(*(asyncio.to_thread(send, c, i) for i, c in enumerate(clients)))
    assert fake_wechat.call(lambda: fake_wechat.state.token_fetches) - before == 1
    fake_wechat.expire_tokens()  # as if the token was refreshed elsewhere: every worker sees 40001
    redis.Redis.from_url(redis_url).delete(f"yg:wechat:{settings.wechat_appid}:fetched-at")
    await asyncio.gather(*(asyncio.to_thread(send, c, i) for i, c in enumerate(clients)))
    assert fake_wechat.call(lambda: fake_wechat.state.token_fetches) - before == 2  # one refresher


async def test_the_cli_lists_sandbox_messages(client, settings):
    agency = await an_agency()
    case = await a_case(client, agency.auth(), n_parties=1)
    decision = await a_decision(client, agency.auth(), case["id"])
    await publish(client, decision["id"], agency.auth())
    env = {**os.environ, "YANGGUANG_DATABASE_URL": settings.database_url, "YANGGUANG_DATA_DIR": str(settings.data_dir),
           "YANGGUANG_LOG_FORMAT": "plain"}
    out = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "backend.cli", "notifications", "list",
                                                   "--case", case["id"]], cwd=ROOT, env=env, capture_output=True,
                                  text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert decision["document_no"] in out.stdout and "sms" in out.stdout
    assert "****" in out.stdout  # masked phone


def test_settings_default_to_sandbox_and_four_aliyun_values_switch_sms_on(tmp_path):
    plain = make_settings("sqlite://:memory:", tmp_path)
    assert not plain.sms_configured and not plain.wechat_configured
    on = Settings.from_env({"YANGGUANG_ALIYUN_ACCESS_KEY_ID": "a", "YANGGUANG_ALIYUN_ACCESS_KEY_SECRET": "b",
                            "YANGGUANG_ALIYUN_SMS_SIGN_NAME": "c", "YANGGUANG_ALIYUN_SMS_ENDPOINT": "http://127.0.0.1:9"})
    assert on.sms_configured and on.aliyun_sms_templates["decision_published"]
