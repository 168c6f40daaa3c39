"""The WeChat consent ledger (R-N1): one row per accepted one-time subscription prompt.

Each grant allows exactly one subscribe message with its template; sends consume grants
(``notifications.tasks``), and without one the message goes by SMS.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from backend.errors import NotFound
from backend.models import CaseParty, Party, SubscriptionGrant
from backend.services.cases import binding_code_hash

ACCEPT = "accept"


async def record_prompt(openid: str, results: dict[str, str], binding_code: str | None = None) -> int:
    """Store the accepted templates of one prompt; optionally bind the WeChat user to a case party.
    Returns the number of grants written."""
    async with in_transaction():
        if binding_code:
            link = await CaseParty.filter(binding_code_hash=binding_code_hash(binding_code)).first()
            if link is None:
                raise NotFound("绑定码无效", code="binding_code_not_found")
            await Party.filter(id=link.party_id).update(wechat_openid=openid)
        accepted = [tpl for tpl, result in results.items() if result == ACCEPT]
        if accepted:
            await SubscriptionGrant.bulk_create([SubscriptionGrant(openid=openid, template_id=tpl)
                                                 for tpl in accepted])
    return len(accepted)


async def available(openid: str, template_id: str) -> int:
    return await SubscriptionGrant.filter(openid=openid, template_id=template_id, consumed_at__isnull=True).count()
