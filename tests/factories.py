"""Plain factory functions. They call the services, so the ORM must be open (a `client` fixture)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from backend.models import Agency
from backend.models.enums import AgencyKind, Role
from backend.services.agencies import create_agency, with_check_digit
from backend.services.apikeys import KeyHolder, create_key

_seq = itertools.count(1)


def credit_code() -> str:
    return with_check_digit(f"1133010{next(_seq):010d}")


@dataclass
class AgencyWithKeys:
    agency: Agency
    admin_key: str

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.admin_key}"}

    async def key(self, role: Role) -> str:
        _, key = await create_key(self.agency, role, f"test {role.value}", "test",
                                  KeyHolder(person_name=f"测试{role.value}"))
        return key


async def an_agency(name: str = "测试市场监督管理局", **fields: Any) -> AgencyWithKeys:
    agency, _, key = await create_agency(name, credit_code(), actor="test",
                                         holder=KeyHolder(person_name="测试管理员"), **fields)
    return AgencyWithKeys(agency, key)


async def a_supervisor(name: str = "测试司法局") -> AgencyWithKeys:
    agency, _, key = await create_agency(name, credit_code(), kind=AgencyKind.SUPERVISOR, actor="test",
                                         holder=KeyHolder(person_name="测试监督员"))
    return AgencyWithKeys(agency, key)


def officer_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "张三",
        "certificate_no": f"3301{next(_seq):010d}",
        "categories": ["市场监管"],
        "region": "杭州市西湖区",
    }
    body.update(overrides)
    return body


async def previewed(agency_id: Any, decision_id: Any, summary: str | None = None, reason: str = "") -> str:
    """The preview hash a person reviewing the decision (or this correction) would send back."""
    from backend.services import decisions

    return (await decisions.preview(agency_id, decision_id, summary=summary, reason=reason)).preview_hash


async def publish(client: Any, decision_id: str, headers: dict[str, str]) -> Any:
    """Publish over HTTP as a person does: read the preview, send its hash back (none if the preview
    was refused, so the publish call shows its own refusal)."""
    preview = await client.get(f"/api/v1/decisions/{decision_id}/preview", headers=headers)
    body = {"preview_hash": (await preview.json())["preview_hash"]} if preview.status == 200 else {}
    return await client.post(f"/api/v1/decisions/{decision_id}/publish", json=body, headers=headers)


async def correct(client: Any, decision_id: str, headers: dict[str, str], summary: str, reason: str) -> Any:
    """Correct over HTTP after previewing exactly this correction."""
    proposal = {"summary": summary, "reason": reason}
    preview = await client.post(f"/api/v1/decisions/{decision_id}/preview", json=proposal, headers=headers)
    body = {**proposal, "preview_hash": (await preview.json())["preview_hash"]} if preview.status == 200 else proposal
    return await client.post(f"/api/v1/decisions/{decision_id}/correct", json=body, headers=headers)


async def an_agency_register(agency_id: Any, clock: Any, effective_from: Any = None, **content: Any) -> Any:
    """The agency's register of itself (主体资格) published as an agency does it: drafted by its
    administrator, reviewed by another person, published. ``content`` overrides the example's fields."""
    from backend.http.register_content import EXAMPLES
    from backend.models.enums import RegisterKind, RegisterReviewOutcome
    from backend.services.registers import versions

    body = {**EXAMPLES[RegisterKind.AGENCY], **content}
    author, reviewer = "operator:测试管理员", "operator:测试法制审核员"
    row = await versions.propose(agency_id, RegisterKind.AGENCY, None, body, effective_from or clock.today(),
                                 author, clock)
    await versions.submit(agency_id, row.id, author, clock)
    await versions.review(agency_id, row.id, RegisterReviewOutcome.APPROVED, "同意公开", reviewer, clock)
    return await versions.publish(agency_id, row.id, author, clock)
