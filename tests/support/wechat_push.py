"""WeChat's message push in tests: its signature computed independently (hashlib), and a WeChat
notification row as the worker leaves it once WeChat accepted the message."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from backend.clock import SHANGHAI
from backend.models import Notification, Party
from backend.models.enums import NotificationChannel, NotificationEvent, NotificationStatus, PartyKind
from tests.factories import an_agency

S = NotificationStatus
SENT_AT = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


def sha1_of(*parts: str) -> str:
    """WeChat's signature, computed here independently: sha1 of the sorted parts, concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


async def a_wechat_row(msgid: str, openid: str = "o_party", *, phone: str | None = "13900000001",
                       status: S = S.SENT, channel: NotificationChannel = NotificationChannel.WECHAT) -> Notification:
    agency = await an_agency()
    party = await Party.create(kind=PartyKind.PERSON, name="王某", phone=phone, wechat_openid=openid)
    twin = {"template": "SMS_YG_PUBLISHED", "version": 1, "vars": {"doc": "罚〔2026〕1号"}, "content": "短信正文"}
    return await Notification.create(
        idempotency_key=str(uuid.uuid4()), event=NotificationEvent.DECISION_PUBLISHED, event_ref=str(uuid.uuid4()),
        agency_id=agency.agency.id, party_id=party.id, channel=channel, recipient=openid,
        template="YG_WX_DECISION_PUBLISHED", content="微信正文", status=status, provider_id=msgid,
        params={"data": {}, "fallback": twin if phone else None}, sent_at=SENT_AT)
