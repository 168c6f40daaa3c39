"""Aliyun SMS (Dysmsapi 2017-05-25) through aliyun-python-sdk-core's CommonRequest.

SendSms is not idempotent and the SDK never retries it; we pass ``OutId`` = notification id, so
after an ambiguous attempt ``lookup`` asks QuerySendDetails whether the message went out before
anyone sends it again. A reply of 200 with ``Code != "OK"`` is a failure the SDK does not raise.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

from backend.clock import SHANGHAI, Clock
from backend.models import Notification
from backend.settings import Settings
from notifications.channels import Accepted, Receipt, in_thread
from notifications.policy import AmbiguousError, PermanentError, RetryableError, ThrottledError

# The SDK logs request parameters at DEBUG and echoes response bodies at WARNING/ERROR, which can
# carry phone numbers in URL-encoded form the redactor cannot see. Our own logs carry the error codes.
logging.getLogger("aliyunsdkcore").setLevel(logging.CRITICAL)

THROTTLE_CODES = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "Throttling", "Throttling.User",
                            "isv.DAY_LIMIT_CONTROL", "isv.OUT_OF_SERVICE_LIMIT"})
# Provider-side trouble that a later attempt may not meet.
RETRYABLE_CODES = frozenset({"isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY", "ServiceUnavailable",
                             "InternalError"})
SEND_STATUS = {1: "waiting", 2: "failed", 3: "delivered"}
BATCH_PREFIX = "batch:"
BATCH_MAX = 100  # SendBatchSms takes at most 100 numbers


class AliyunSmsChannel:
    name = "sms"
    sandbox = False

    def __init__(self, settings: Settings, executor: ThreadPoolExecutor | None = None,
                 clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self.timeout = min(10.0, settings.notify_sdk_timeout)
        self.client = AcsClient(settings.aliyun_access_key_id, settings.aliyun_access_key_secret, "cn-hangzhou",
                                auto_retry=False, timeout=self.timeout, connect_timeout=min(3.0, self.timeout),
                                pool_size=max(10, settings.notify_concurrency))
        parts = urlsplit(settings.aliyun_sms_endpoint)
        self.protocol = parts.scheme or "https"
        self.domain = parts.netloc or parts.path
        self.executor = executor

    def _request(self, action: str, params: dict[str, str], body: dict[str, str] | None = None) -> CommonRequest:
        r = CommonRequest()
        r.set_accept_format("json")
        r.set_method("POST")
        r.set_domain(self.domain)
        r.set_protocol_type(self.protocol)
        r.set_version("2017-05-25")
        r.set_action_name(action)
        r.set_read_timeout(self.timeout)
        r.set_connect_timeout(min(3.0, self.timeout))
        r.add_query_param("RegionId", "cn-hangzhou")
        for key, value in params.items():
            r.add_query_param(key, value)
        for key, value in (body or {}).items():
            r.add_body_params(key, value)  # long lists go in the form body (still signed)
        return r

    def _call_sync(self, action: str, params: dict[str, str], body: dict[str, str] | None) -> dict[str, Any]:
        return json.loads(self.client.do_action_with_exception(self._request(action, params, body)))

    async def _call(self, action: str, params: dict[str, str], body: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            # The outer limit is a backstop: the SDK's connect + read timeouts end the thread first.
            return await in_thread(self.executor, self._call_sync, action, params, body, seconds=self.timeout + 4)
        except ServerException as exc:
            code, status = exc.get_error_code(), exc.get_http_status() or 0
            if code in THROTTLE_CODES or status == 429:
                raise ThrottledError(f"{action} throttled ({code})", code=code) from exc
            if status >= 500 or code in RETRYABLE_CODES:
                raise RetryableError(f"{action} server error {status} ({code})", code=code) from exc
            raise PermanentError(f"{action} refused {status} ({code})", code=code) from exc
        except ClientException as exc:
            if exc.get_error_code() == "SDK.HttpError":
                # Read timeout or a dropped connection: the request may have been accepted.
                raise AmbiguousError(f"{action} network error", code="SDK.HttpError") from exc
            raise PermanentError(f"{action} client error ({exc.get_error_code()})",
                                 code=exc.get_error_code()) from exc

    async def send(self, n: Notification) -> Accepted:
        params = {
            "PhoneNumbers": n.recipient,
            "SignName": self.settings.aliyun_sms_sign_name or "",
            "TemplateCode": n.template,
            "TemplateParam": json.dumps(n.params.get("vars", {}), ensure_ascii=False),
            "OutId": str(n.id),
        }
        return _accepted("SendSms", await self._call("SendSms", params))

    async def send_batch(self, rows: list[Notification], batch_id: str) -> Accepted:
        """SendBatchSms: up to 100 numbers with one template, one call (a backlog's fast path).
        ``OutId`` is the batch id, stored on every row before the call for ``lookup``."""
        body = {
            "PhoneNumberJson": json.dumps([n.recipient for n in rows]),
            "SignNameJson": json.dumps([self.settings.aliyun_sms_sign_name or ""] * len(rows), ensure_ascii=False),
            "TemplateCode": rows[0].template,
            "TemplateParamJson": json.dumps([n.params.get("vars", {}) for n in rows], ensure_ascii=False),
        }
        return _accepted("SendBatchSms", await self._call("SendBatchSms", {"OutId": batch_id}, body))

    async def _details(self, phone: str, day: datetime, biz_id: str = "") -> list[dict[str, Any]]:
        params = {"PhoneNumber": phone, "SendDate": day.astimezone(SHANGHAI).strftime("%Y%m%d"),
                  "PageSize": "50", "CurrentPage": "1"}
        if biz_id:
            params["BizId"] = biz_id
        body = await self._call("QuerySendDetails", params)
        if body.get("Code") != "OK":
            raise RetryableError(f"QuerySendDetails error ({body.get('Code')})", code=str(body.get("Code")))
        return list((body.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or [])

    async def lookup(self, n: Notification) -> Accepted | None:
        # The earlier attempt was made between the row's creation and now; retries span hours, not days.
        days = {d.astimezone(SHANGHAI).date(): d for d in (n.created_at, self.clock.now())}
        out_ids = {str(n.id)}
        if n.provider_id and n.provider_id.startswith(BATCH_PREFIX):
            out_ids.add(n.provider_id.removeprefix(BATCH_PREFIX))  # sent in a SendBatchSms
        for day in days.values():
            for row in await self._details(n.recipient, day):
                if row.get("OutId") in out_ids:
                    return Accepted(provider_id=str(row.get("BizId") or row.get("OutId")),
                                    provider_status="found_after_ambiguous")
        return None

    async def receipts(self, rows: list[Notification]) -> list[Receipt]:
        out: list[Receipt] = []
        for n in rows:
            try:
                details = await self._details(n.recipient, n.sent_at or n.created_at, n.provider_id or "")
            except RetryableError:
                continue
            for d in details:
                # Asked by BizId, the answer is ours; a batch's OutId is the batch's, not the row's.
                if not n.provider_id and d.get("OutId") not in (None, "", str(n.id)):
                    continue
                status = SEND_STATUS.get(int(d.get("SendStatus", 1)), "waiting")
                payload = {k: d.get(k) for k in ("SendStatus", "ErrCode", "SendDate", "ReceiveDate", "OutId")}
                out.append(Receipt(n.id, status, str(d.get("ErrCode") or ""), payload))
                break
        return out


def _accepted(action: str, answer: dict[str, Any]) -> Accepted:
    """Aliyun answers refusals with HTTP 200 and a Code: classify it (the SDK raises nothing)."""
    code = answer.get("Code", "")
    if code == "OK":
        return Accepted(provider_id=str(answer.get("BizId", "")), provider_status="accepted")
    if code in THROTTLE_CODES:
        raise ThrottledError(f"{action} throttled ({code})", code=code)
    if code in RETRYABLE_CODES:
        raise RetryableError(f"{action} error ({code})", code=code)
    raise PermanentError(f"{action} refused ({code})", code=code)
