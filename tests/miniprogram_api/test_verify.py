"""Scanning a credential: the live status, public fields only, scans recorded, forged tokens refused."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from backend.app_keys import REDIS, VERIFIER
from backend.clock import SHANGHAI, FrozenClock
from backend.models import Officer, Rating, Scan
from tests.conftest import make_settings
from tests.credentials.support import a_credential, act, an_officer
from tests.factories import an_agency, an_agency_register
from tests.qr.test_tokens import forged_tokens


async def test_a_valid_card_answers_public_fields_only(client, clock):
    agency = await an_agency("西湖区市场监管局")
    await an_agency_register(agency.agency.id, clock, complaint_phone="0571-12345")
    officer = await an_officer(client, agency, name="王五", phone="13800138000", id_number="330102199001011234",
                               home_address="杭州市某路 1 号", categories=["市场监管", "食品安全"])
    cred = await a_credential(client, agency, officer)
    resp = await client.get(f"/mp/v1/verify/{cred['token']}")
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert body["status"] == "valid" and body["status_text"] == "有效"
    assert body["officer"]["name"] == "王五"
    assert body["officer"]["certificate_no"] == officer["certificate_no"]
    assert body["officer"]["categories"] == ["市场监管", "食品安全"]
    assert body["agency"]["name"] == "西湖区市场监管局"
    assert body["agency"]["complaint_phone"] == "0571-12345"
    assert body["credential"]["valid_until"] == cred["valid_until"]
    assert body["checked_at"].startswith(clock.today().isoformat())
    text = await resp.text()
    for secret in ("13800138000", "330102199001011234", "某路", "\"phone\"", "id_number", "home_address",
                   cred["token"]):
        assert secret not in text


async def test_unknown_and_malformed_tokens_get_a_404_json_error(client):
    verifier = client.app[VERIFIER]
    _, unissued = verifier.keys.mint()  # a genuine MAC, but no such credential
    for token in [unissued, "A" * 30, "short", "x" * 64, "%E5%BC%A0"]:
        resp = await client.get(f"/mp/v1/verify/{token}")
        assert resp.status == 404, token
        assert (await resp.json())["error"]["code"] == "invalid_qr"


async def test_every_change_shows_on_the_very_next_scan(client):
    agency = await an_agency()
    cred = await a_credential(client, agency)
    url = f"/mp/v1/verify/{cred['token']}"

    async def status() -> str:
        return (await (await client.get(url)).json())["status"]

    assert await status() == "valid"
    assert await status() == "valid"  # served from the cache now
    await act(client, agency, cred["id"], "suspend", reason="暂扣")
    assert await status() == "suspended"
    await act(client, agency, cred["id"], "reinstate")
    assert await status() == "valid"
    new = await (await act(client, agency, cred["id"], "reissue", reason="换证")).json()
    assert await status() == "void"
    assert (await (await client.get(f"/mp/v1/verify/{new['token']}")).json())["status"] == "valid"
    await act(client, agency, new["id"], "revoke", reason="调离")
    assert (await (await client.get(f"/mp/v1/verify/{new['token']}")).json())["status"] == "revoked"


@pytest.fixture
def clock() -> FrozenClock:
    from backend.clock import Clock

    return FrozenClock(Clock().now())


async def test_a_card_expires_at_the_end_of_its_validity_without_waiting_for_the_cron(client, clock):
    agency = await an_agency()
    cred = await a_credential(client, agency, valid_until=clock.today().isoformat())
    url = f"/mp/v1/verify/{cred['token']}"
    assert (await (await client.get(url)).json())["status"] == "valid"
    clock.advance(days=1)
    assert (await (await client.get(url)).json())["status"] == "expired"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_hundred_thousand_forged_tokens_none_verifies_and_none_reaches_the_database(client):
    agency = await an_agency()
    cred = await a_credential(client, agency)
    verifier = client.app[VERIFIER]
    assert (await verifier.verify(cred["token"])) is not None
    lookups = verifier.db_lookups
    forged = [t for t in forged_tokens(cred["token"], verifier.keys.ring.keys, 100_000, random.Random(11))
              if t != cred["token"]]
    verified = [t for t in forged if await verifier.verify(t) is not None]
    assert verified == []
    assert verifier.db_lookups == lookups  # the MAC check refused every one before any query


async def test_scans_are_recorded_with_channel_and_coarse_location_and_no_ip(client, clock):
    agency = await an_agency()
    cred = await a_credential(client, agency)
    await client.get(f"/v/{cred['token']}?lat=30.2748&lng=120.1551")
    await client.get(f"/mp/v1/verify/{cred['token']}?lat=999&lng=1")  # out of range: not recorded
    await client.get("/mp/v1/verify/" + "B" * 30)  # unknown: nothing to record
    await client.app[VERIFIER].recorder.flush()
    rows = await Scan.all().order_by("id").values()
    assert [(r["channel"], r["status_shown"]) for r in rows] == [("h5", "valid"), ("miniprogram", "valid")]
    assert (float(rows[0]["latitude"]), float(rows[0]["longitude"])) == (30.27, 120.16)
    assert rows[1]["latitude"] is None and rows[1]["longitude"] is None
    for r in rows:
        assert r["scanned_at"].tzinfo is not None
        assert abs((r["scanned_at"] - clock.now()).total_seconds()) < 60
        assert str(r["credential_id"]) == cred["id"]
    assert not any("127.0.0.1" in str(v) for r in rows for v in r.values())


async def test_a_citizen_rates_anonymously_from_json_and_from_the_h5_form(client):
    agency = await an_agency()
    cred = await a_credential(client, agency)
    resp = await client.post("/mp/v1/ratings", json={"token": cred["token"], "score": 5, "text": "很规范"})
    assert resp.status == 201
    for bad in ({"token": cred["token"], "score": 0}, {"token": cred["token"], "score": 6},
                {"token": cred["token"], "score": 3, "text": "长" * 501}):
        assert (await client.post("/mp/v1/ratings", json=bad)).status == 422
    resp = await client.post("/mp/v1/ratings", json={"token": "A" * 30, "score": 3})
    assert resp.status == 404
    resp = await client.post(f"/v/{cred['token']}/rating", data={"score": "2", "text": "态度生硬"})
    assert resp.status == 200
    assert "感谢您的评价" in await resp.text()
    assert sorted(await Rating.all().values_list("score", flat=True)) == [2, 5]
    resp = await client.post(f"/v/{cred['token']}/rating", data={"score": "9"})
    assert resp.status == 422


async def test_the_public_register_lists_who_may_enforce_today_with_public_fields_only(client, clock):
    agency, other = await an_agency("甲局"), await an_agency("乙局")
    for i in range(3):
        officer = await an_officer(client, agency, name=f"执法{i}", phone="13900139000", id_number="330102199001011234")
        await a_credential(client, agency, officer)
    await an_officer(client, agency, name="无证人员")  # never issued a card: may not enforce
    suspended = await a_credential(client, agency, await an_officer(client, agency, name="暂扣人员"))
    await act(client, agency, suspended["id"], "suspend", reason="调查期间暂扣")
    await a_credential(client, agency, await an_officer(client, agency, name="未生效人员"),
                       valid_from=(clock.today() + timedelta(days=10)).isoformat())
    await an_officer(client, agency, name="辅助甲", kind="auxiliary", certificate_no=None)
    await a_credential(client, other, await an_officer(client, other, name="别局人员"))
    code = agency.agency.credit_code
    resp = await client.get(f"/mp/v1/officers?agency={code}&page_size=2")
    page = await resp.json()
    assert (page["total"], len(page["items"])) == (4, 2)
    page2 = await (await client.get(f"/mp/v1/officers?agency={code}&page=2&page_size=2")).json()
    names = [o["name"] for o in page["items"] + page2["items"]]
    assert sorted(names) == ["执法0", "执法1", "执法2", "辅助甲"]
    aux = next(o for o in page["items"] + page2["items"] if o["name"] == "辅助甲")
    assert (aux["kind"], aux["certificate_no"]) == ("auxiliary", None)
    assert "13900139000" not in await resp.text() and "330102" not in await resp.text()
    found = await (await client.get("/mp/v1/officers?q=别局")).json()
    assert [o["agency_name"] for o in found["items"]] == ["乙局"]
    assert (await (await client.get(f"/mp/v1/officers?agency={agency.agency.id}")).json())["total"] == 4
    await Officer.filter(name="执法0").update(status="departed")
    assert (await (await client.get(f"/mp/v1/officers?agency={code}")).json())["total"] == 3


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_scans_and_ratings_are_rate_limited_per_client(aiohttp_client, db_url, tmp_path):
    from backend.app import create_app

    app = create_app(make_settings(db_url, tmp_path / "data", scan_rate_per_minute=5))
    client = await aiohttp_client(app)
    agency = await an_agency()
    cred = await a_credential(client, agency)
    statuses = [(await client.get(f"/mp/v1/verify/{cred['token']}")).status for _ in range(5)]
    assert statuses == [200] * 5
    for url in (f"/mp/v1/verify/{cred['token']}", f"/v/{cred['token']}", "/mp/v1/verify/" + "A" * 30):
        resp = await client.get(url)
        assert resp.status == 429, url
        assert (await resp.json())["error"]["code"] == "rate_limited"
        assert int(resp.headers["Retry-After"]) >= 1
    ratings = [(await client.post("/mp/v1/ratings", json={"token": cred["token"], "score": 4})).status
               for _ in range(11)]
    assert ratings == [201] * 10 + [429]
    # The agency API is not throttled by the citizens' buckets.
    assert (await client.get(f"/api/v1/credentials/{cred['id']}", headers=agency.auth())).status == 200


async def test_expired_cards_are_shown_after_the_date_even_when_cached(client, clock):
    agency = await an_agency()
    cred = await a_credential(client, agency, valid_until=(clock.today() + timedelta(days=2)).isoformat())
    url = f"/mp/v1/verify/{cred['token']}"
    assert (await (await client.get(url)).json())["status"] == "valid"
    clock.advance(days=2)
    assert (await (await client.get(url)).json())["status"] == "valid"  # the last day still counts
    clock.advance(days=1)
    assert (await (await client.get(url)).json())["status"] == "expired"


async def test_an_unknown_token_is_404_an_invalid_qr_page_for_browsers_and_json_otherwise(client):
    resp = await client.get("/v/" + "Z" * 30, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert resp.status == 404
    assert resp.content_type == "text/html"
    assert 'id="status">无效二维码<' in await resp.text()
    resp = await client.get("/v/" + "Z" * 30)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "invalid_qr"


async def test_the_h5_page_carries_no_external_resources_and_leaks_no_referrer(client):
    agency = await an_agency()
    cred = await a_credential(client, agency)
    resp = await client.get(f"/v/{cred['token']}")
    html = await resp.text()
    assert resp.status == 200 and 'id="status">有效<' in html
    assert "<script" not in html and "src=\"http" not in html and "href=\"http" not in html
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_with_redis_the_scan_limit_is_shared_by_every_process(aiohttp_client, db_url, tmp_path, redis_server):
    from backend.app import create_app
    from backend.app_keys import RATE_LIMITER

    def app():  # type: ignore[no-untyped-def]
        settings = make_settings(db_url, tmp_path / "data", scan_rate_per_minute=5,
                                 redis_url=redis_server.url)
        return create_app(settings)

    a, b = await aiohttp_client(app()), await aiohttp_client(app())
    agency = await an_agency()
    cred = await a_credential(a, agency)
    url = f"/mp/v1/verify/{cred['token']}"
    assert [(await a.get(url)).status for _ in range(5)] == [200] * 5
    async def charged(client) -> None:  # type: ignore[no-untyped-def]
        await client.app[RATE_LIMITER].settled()

    await charged(a)  # the hits reach Redis in batches
    assert (await b.get(url)).status == 200  # b's own bucket says yes; Redis is charged after
    await charged(b)
    resp = await b.get(url)
    assert resp.status == 429
    assert (await resp.json())["error"]["code"] == "rate_limited"
    # Leave the shared Redis as found: other tests scan from the same loopback client.
    from backend.app_keys import REDIS

    pool = a.app[REDIS]
    keys = [k async for k in pool.scan_iter("yg:rl:*")]
    if keys:
        await pool.delete(*keys)


async def test_with_redis_a_warm_scan_reads_neither_the_database_nor_redis(aiohttp_client, db_url, tmp_path,
                                                                           redis_server):
    from backend.app import create_app

    client = await aiohttp_client(create_app(make_settings(db_url, tmp_path / "data", redis_url=redis_server.url)))
    cred = await a_credential(client, await an_agency())
    verifier = client.app[VERIFIER]
    assert await verifier.cache.synced()
    url = f"/mp/v1/verify/{cred['token']}"
    assert (await client.get(url)).status == 200
    lookups = verifier.db_lookups
    before = int((await client.app[REDIS].info("stats"))["total_commands_processed"])
    for _ in range(20):
        resp = await client.get(url)
        assert (await resp.json())["status"] == "valid"
    assert verifier.db_lookups == lookups  # every one from the cache
    # Redis saw the INFO calls and at most a lease renewal (SET, SADD) and the scans' rate-limit flush,
    # not a command per scan.
    after = int((await client.app[REDIS].info("stats"))["total_commands_processed"])
    assert after - before < 20


@pytest.mark.parametrize("clock", [FrozenClock(datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI))])
async def test_the_complaint_phone_is_the_one_of_the_agency_register_in_effect(client, clock):
    """One home (R-D1): the scan page shows the phone of the agency's published register; a newly
    published version shows at the next scan, one published ahead shows from its effective day."""
    agency = await an_agency("西湖区市场监管局")
    cred = await a_credential(client, agency)
    url = f"/mp/v1/verify/{cred['token']}"
    assert (await (await client.get(url)).json())["agency"]["complaint_phone"] == ""  # nothing public yet
    await an_agency_register(agency.agency.id, clock, complaint_phone="0571-11111")
    await client.app[VERIFIER].cache.invalidate()  # as POST …/publish does (tested below, over HTTP)
    assert (await (await client.get(url)).json())["agency"]["complaint_phone"] == "0571-11111"
    later = clock.today() + timedelta(days=3)
    await an_agency_register(agency.agency.id, clock, effective_from=later, complaint_phone="0571-22222")
    await client.app[VERIFIER].cache.invalidate()
    assert (await (await client.get(url)).json())["agency"]["complaint_phone"] == "0571-11111"
    clock.at += timedelta(days=3)  # no publish, no invalidation: the day itself changes it
    assert (await (await client.get(url)).json())["agency"]["complaint_phone"] == "0571-22222"


async def test_publishing_the_agency_register_over_http_shows_at_the_next_scan(client, clock):
    agency = await an_agency("西湖区市场监管局")
    cred = await a_credential(client, agency)
    url = f"/mp/v1/verify/{cred['token']}"
    assert (await (await client.get(url)).json())["agency"]["complaint_phone"] == ""  # cached from here
    from backend.http.register_content import EXAMPLES
    from backend.models.enums import RegisterKind, Role

    content = {**EXAMPLES[RegisterKind.AGENCY], "complaint_phone": "0571-33333"}
    resp = await client.post("/api/v1/registers/agency", json={"effective_from": clock.today().isoformat(),
                                                               "content": content}, headers=agency.auth())
    assert resp.status == 201, await resp.text()
    version = f"/api/v1/registers/versions/{(await resp.json())['id']}"
    assert (await client.post(version + "/submit", headers=agency.auth())).status == 200
    reviewer = agency.auth(await agency.key(Role.REVIEWER))
    assert (await client.post(version + "/review", json={"outcome": "approved", "opinion": "同意"},
                              headers=reviewer)).status == 200
    assert (await client.get(url)).status == 200  # approved is not public: still the cached view
    assert (await (await client.get(url)).json())["agency"]["complaint_phone"] == ""
    assert (await client.post(version + "/publish", headers=agency.auth())).status == 200
    assert (await (await client.get(url)).json())["agency"]["complaint_phone"] == "0571-33333"
