"""Sandbox channel for the embedded default: records the message on its row, sends nothing.

As the WeChat stand-in it also answers the mini-program's login (code2session) without WeChat: the
same ``wx.login`` code always gives the same sandbox openid, so the subscription and binding flow
can be tried end to end. It is used only when no provider at all is configured (see
``miniprogram_api/subscriptions.py``), never next to a real SMS account.

The rendered text stays in ``notification.content``; the agency reads it through
``GET /api/v1/notifications`` and operators through ``yangguang notifications list``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from backend.models import Notification
from notifications.channels import Accepted, Receipt


class SandboxChannel:
    sandbox = True

    def __init__(self, name: str) -> None:
        self.name = name

    async def send(self, n: Notification) -> Accepted:
        return Accepted(provider_id=f"sandbox-{n.id.hex[:16]}", provider_status="sandbox", delivered=True)

    async def lookup(self, n: Notification) -> Accepted | None:
        return None

    async def receipts(self, rows: list[Notification]) -> list[Receipt]:
        return []

    async def code_to_session(self, code: str) -> dict[str, Any]:
        """The embedded default's stand-in for WeChat's code exchange (no credentials configured):
        the same code always names the same sandbox user, marked as such in its openid."""
        return {"openid": "sandbox-" + hashlib.sha256(code.encode()).hexdigest()[:24], "sandbox": True}
