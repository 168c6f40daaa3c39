"""Sandbox channel for the embedded default: records the message on its row, sends nothing.

The rendered text stays in ``notification.content``; the agency reads it through
``GET /api/v1/notifications`` and operators through ``yangguang notifications list``.
"""

from __future__ import annotations

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
