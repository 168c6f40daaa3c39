"""Delivery receipts: what the provider says became of a message it accepted (R-N3).

SMS receipts are polled (``tasks.poll_receipts``: Aliyun QuerySendDetails); WeChat reports each
subscribe message's outcome by its message push (``subscribe_msg_sent_event``, taken in by
``backend.services.wechat_push``). Both end here: a receipt moves a ``sent`` row once (NOTIFICATION
table) and is appended beside it; a receipt for a row already moved changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from backend.models import DeliveryReceipt, Notification
from backend.models.enums import NotificationChannel, NotificationStatus
from notifications.channels import Receipt
from notifications.fallback import fallback_for, write_fallback
from notifications.policy import Policy
from notifications.states import NOTIFICATION

N = NotificationStatus


async def record(receipt: Receipt, now: datetime, detail: str = "") -> bool:
    """Apply one receipt to its row, in the caller's transaction: ``sent`` → ``delivered`` or
    ``failed``, and the receipt appended. False (nothing written) when the row is not ``sent``."""
    action = "delivered" if receipt.provider_status == "delivered" else "fail"
    moved = await Notification.filter(id=receipt.notification_id, status=N.SENT).update(
        status=NOTIFICATION.next(N.SENT, action), provider_status=receipt.provider_status[:100],
        delivered_at=now if action == "delivered" else None, updated_at=now,
        last_error=(detail or receipt.error_code)[:500] if action == "fail" else "")
    if moved:
        await DeliveryReceipt.create(notification_id=receipt.notification_id, provider_status=receipt.provider_status,
                                     error_code=receipt.error_code[:100], payload=receipt.payload,
                                     received_at=now)
    return bool(moved)


@dataclass(frozen=True)
class WechatResult:
    """One item of a ``subscribe_msg_sent_event``'s List."""

    template_id: str
    msgid: str
    error_code: int  # 0: delivered
    error_status: str = ""


@dataclass
class Tally:
    delivered: int = 0
    failed: int = 0
    unknown: int = 0  # no WeChat message of ours has this msgid (for this user)
    unchanged: int = 0  # the message had moved already: a push seen before, or a row not 'sent'
    fallback_ids: list[uuid.UUID] = field(default_factory=list)  # SMS rows to hand over after commit


async def wechat_results(policy: Policy, openid: str, results: list[WechatResult], now: datetime) -> Tally:
    """Apply WeChat's delivery results for one user's messages, in the caller's transaction.

    Only WeChat rows sent to this openid are matched, by msgid (``provider_id``). A failed delivery
    falls back to SMS like a refusal at send time does (``fallback.py``): the party was not told by
    WeChat, and the message is an official notice they must receive. The WeChat row then ends
    ``superseded``, its receipt saying why; without a phone on record it stays ``failed``."""
    tally = Tally()
    for item in results:
        row = await Notification.filter(channel=NotificationChannel.WECHAT, provider_id=item.msgid,
                                        recipient=openid).first()
        if row is None:
            tally.unknown += 1
            continue
        ok = item.error_code == 0
        receipt = Receipt(row.id, "delivered" if ok else "failed", "" if ok else str(item.error_code),
                          {"template_id": item.template_id, "msgid": item.msgid, "error_code": item.error_code,
                           "error_status": item.error_status})
        if not await record(receipt, now, detail=f"{item.error_code} {item.error_status}".strip()):
            tally.unchanged += 1
            continue
        if ok:
            tally.delivered += 1
            continue
        tally.failed += 1
        fb = await fallback_for(policy, row)
        if fb is not None and await Notification.filter(id=row.id, status=N.FAILED).update(
                status=NOTIFICATION.next(N.FAILED, "fall_back"), updated_at=now):
            new_id = await write_fallback(row, fb, now)
            if new_id is not None:
                tally.fallback_ids.append(new_id)
    return tally
