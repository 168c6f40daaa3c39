"""The WeChat consent ledger (R-N1): one row per accepted one-time subscription prompt.

Each grant allows exactly one subscribe message with its template; sends consume grants
(``notifications.tasks``), and without one the message goes by SMS.
"""

from __future__ import annotations

from backend.models import SubscriptionGrant

ACCEPT = "accept"


async def record_prompt(openid: str, results: dict[str, str]) -> int:
    """Store the accepted templates of one prompt. Returns the number of grants written."""
    accepted = [tpl for tpl, result in results.items() if result == ACCEPT]
    if accepted:
        await SubscriptionGrant.bulk_create([SubscriptionGrant(openid=openid, template_id=tpl) for tpl in accepted])
    return len(accepted)


async def available(openid: str, template_id: str) -> int:
    return await SubscriptionGrant.filter(openid=openid, template_id=template_id, consumed_at__isnull=True).count()
