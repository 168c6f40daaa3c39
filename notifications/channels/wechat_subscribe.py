"""WeChat mini-program subscribe messages through wechatpy (sync, so it runs in threads).

The access token lives in shared Redis storage (wechatpy's RedisStorage) so every worker uses the
same one, and only one worker at a time refreshes it (a Redis lock): WeChat invalidates the old
token on every refresh and limits refreshes per day. Without Redis the token lives in memory.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.client.api import WeChatWxa
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage

from backend.clock import Clock
from backend.models import Notification
from backend.settings import Settings
from notifications.channels import Accepted, Receipt, in_thread
from notifications.policy import NoConsentError, PermanentError, RetryableError, ThrottledError

log = logging.getLogger("yangguang.notifications.wechat")

NO_QUOTA = 43101  # the user has no subscription left for this template
THROTTLED = frozenset({45009, 45011, -1})  # api limit, frequency limit, system busy
PERMANENT = frozenset({40003, 40037, 41030, 47003, 43100})  # bad openid, template, page, data
TOKEN_LOCK_TIMEOUT = 15
FRESH_SECONDS = 30  # a token fetched this recently by another worker is used, not refreshed again


def make_client(settings: Settings, redis_url: str | None = None, clock: Clock | None = None) -> WeChatClient:
    """A wechatpy client pointed at ``settings.wechat_api_base`` (a stand-in in tests)."""
    source: Clock = clock or Clock()
    base = settings.wechat_api_base
    timeout = min(10.0, settings.notify_sdk_timeout)
    sync_redis = None
    if redis_url:
        import redis

        sync_redis = redis.Redis.from_url(redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)

    class LocalWxa(WeChatWxa):
        API_BASE_URL = base

    class Client(WeChatClient):
        expires_at: int | None = None  # wechatpy's own attribute, unannotated there
        API_BASE_URL = base + "cgi-bin/"
        wxa = LocalWxa()

        def fetch_access_token(self) -> dict[str, Any]:
            if sync_redis is None:
                return self._fetch()
            # One refresher at a time: WeChat invalidates the old token on every refresh, so workers
            # refreshing together would keep knocking each other's tokens out.
            fetched_key = f"yg:wechat:{self.appid}:fetched-at"
            with sync_redis.lock(f"yg:wechat:{self.appid}:token-lock", timeout=TOKEN_LOCK_TIMEOUT,
                                 blocking_timeout=TOKEN_LOCK_TIMEOUT):
                current = self.session.get(self.access_token_key)
                raw: Any = sync_redis.get(fetched_key)  # the sync client answers bytes or None
                fetched_at = float(raw) if raw else 0.0
                if current and source.now().timestamp() - fetched_at < FRESH_SECONDS:
                    self.expires_at = None  # somebody else just refreshed it: use theirs
                    return {"access_token": current}
                result = self._fetch()
                sync_redis.set(fetched_key, str(source.now().timestamp()), ex=7200)
                return result

        def _fetch(self) -> dict[str, Any]:
            # wechatpy passes no timeout on token fetches; ours does.
            res = self._http.get(base + "cgi-bin/token", timeout=timeout, params={
                "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})
            res.raise_for_status()
            result = res.json()
            if result.get("errcode"):
                raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self)
            expires_in = int(result.get("expires_in", 7200))
            self.session.set(self.access_token_key, result["access_token"], expires_in)
            # wechatpy checks expires_at against time.time() itself, so it must be in that basis.
            self.expires_at = int(time.time()) + expires_in  # wall-clock: wechatpy's basis
            return result

    if sync_redis is not None:
        from wechatpy.session.redisstorage import RedisStorage

        storage: Any = RedisStorage(sync_redis, prefix="yg:wechat")
    else:
        storage = MemoryStorage()
    return Client(settings.wechat_appid, settings.wechat_secret, session=storage, timeout=timeout)


class WechatSubscribeChannel:
    name = "wechat"
    sandbox = False

    def __init__(self, settings: Settings, executor: ThreadPoolExecutor | None = None,
                 clock: Clock | None = None) -> None:
        self.settings = settings
        self.timeout = min(10.0, settings.notify_sdk_timeout)
        self.client = make_client(settings, settings.redis_url, clock)
        self.executor = executor

    def _send_sync(self, n: Notification) -> dict[str, Any]:
        return self.client.wxa.send_subscribe_message(n.recipient, n.template, n.params.get("data", {}),
                                                      page=n.params.get("page"))

    async def send(self, n: Notification) -> Accepted:
        try:
            # Token fetch + send: two bounded calls at most, plus a margin.
            result = await in_thread(self.executor, self._send_sync, n, seconds=2 * self.timeout + 2)
        except WeChatClientException as exc:
            code = exc.errcode
            if code == NO_QUOTA:
                raise NoConsentError("no subscription quota (43101)", code=str(code)) from exc
            if code in THROTTLED:
                raise ThrottledError(f"wechat throttled ({code})", code=str(code)) from exc
            if code in PERMANENT:
                raise PermanentError(f"wechat refused ({code})", code=str(code)) from exc
            raise RetryableError(f"wechat error ({code})", code=str(code)) from exc
        except requests.RequestException as exc:
            # WeChat has no lookup by our id: a retry after a lost answer may duplicate (counted).
            raise RetryableError(f"wechat network error ({type(exc).__name__})", code="network") from exc
        return Accepted(provider_id=str(result.get("msgid", "") or f"wx-{n.id.hex[:12]}"))

    async def lookup(self, n: Notification) -> Accepted | None:
        return None

    async def receipts(self, rows: list[Notification]) -> list[Receipt]:
        return []  # WeChat reports delivery by event push to the mini-program's server, not by query

    async def code_to_session(self, code: str) -> dict[str, Any]:
        """wx.login code -> {openid, session_key, …} through wechatpy's WeChatWxa.code_to_session (sync:
        in a thread, bounded). A code WeChat refuses is PermanentError; no answer is RetryableError."""
        try:
            # wechatpy fetches an access token first when it has none: two bounded calls at most.
            return await in_thread(self.executor, self.client.wxa.code_to_session, code,
                                   seconds=2 * self.timeout + 2)
        except WeChatClientException as exc:
            raise PermanentError(f"wechat refused the login code ({exc.errcode})", code=str(exc.errcode)) from exc
        except requests.RequestException as exc:
            raise RetryableError(f"wechat network error ({type(exc).__name__})", code="network") from exc
