"""Fixtures for notification tests: fake providers on real sockets, apps wired to them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.app import create_app
from backend.settings import Settings
from tests.conftest import make_settings
from tests.fakes.aliyun import FakeAliyun
from tests.fakes.wechat import APPID, SECRET, FakeWechat

FAST = (0.05, 0.1, 0.2)  # retry schedule for tests: three retries, quickly


@pytest.fixture(scope="session")
def aliyun_server() -> Iterator[FakeAliyun]:
    server = FakeAliyun().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def wechat_server() -> Iterator[FakeWechat]:
    server = FakeWechat().start()
    yield server
    server.stop()


@pytest.fixture
def fake_aliyun(aliyun_server: FakeAliyun) -> FakeAliyun:
    aliyun_server.configure(fail_first=0, throttle_first=0, slow_first=0, slow_seconds=0.0)
    aliyun_server.call(aliyun_server.state.messages.clear)
    return aliyun_server


@pytest.fixture
def fake_wechat(wechat_server: FakeWechat) -> FakeWechat:
    wechat_server.configure(fail_first=0)
    wechat_server.call(wechat_server.state.messages.clear)
    wechat_server.call(wechat_server.state.logins.clear)
    wechat_server.call(wechat_server.state.used_codes.clear)
    return wechat_server


def provider_settings(db_url: str, data_dir: Path, aliyun: FakeAliyun | None, wechat: FakeWechat | None,
                      **overrides: Any) -> Settings:
    values: dict[str, Any] = {"notify_retry_schedule": FAST, "notify_sdk_timeout": 1.0,
                              "notify_requeue_after": 2.0, "notify_stuck_after": 5.0}
    if aliyun is not None:
        values.update(aliyun_access_key_id="testAK", aliyun_access_key_secret="testSecret",
                      aliyun_sms_sign_name="阳光执法", aliyun_sms_endpoint=aliyun.url)
    if wechat is not None:
        values.update(wechat_appid=APPID, wechat_secret=SECRET, wechat_api_base=wechat.url + "/")
    values.update(overrides)
    return make_settings(db_url, data_dir, **values)


@pytest.fixture
def make_client(aiohttp_client, db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """make_client(aliyun=…, wechat=…, **settings) -> a TestClient with the in-process worker."""
    async def make(aliyun: FakeAliyun | None = None, wechat: FakeWechat | None = None, **overrides: Any):  # type: ignore[no-untyped-def]
        settings = provider_settings(db_url, tmp_path / "data", aliyun, wechat, **overrides)
        return await aiohttp_client(create_app(settings))

    return make
