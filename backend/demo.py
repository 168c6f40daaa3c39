"""`yangguang demo`: something to look at for every flow, loaded once; prints what to open.

A demo agency with officers and credentials (QR codes and a print sheet), a supervisor, and a
penalty case with two parties -- one reachable by SMS, one organisation without any contact, shown
as unreachable -- whose decision is published: the public decision page exists and the party's
notice lies in the sandbox outbox. Running it again creates nothing new.
"""

from __future__ import annotations

import uuid
from typing import Any

from backend.clock import Clock
from backend.db import orm, prepare_database
from backend.files import write_private
from backend.models import Agency, Case, Officer
from backend.models.enums import AgencyKind, OfficerKind
from backend.services.agencies import create_agency, set_supervising_body
from backend.services.apikeys import KeyHolder
from backend.services.officers import create_officer
from backend.settings import Settings

DEMO_AGENCY_CODE = "11330106MB0000012L"
DEMO_SUPERVISOR_CODE = "11330106MB0000020F"
DEMO_OFFICERS: list[dict[str, Any]] = [
    {"name": "张明", "certificate_no": "33010020230001", "categories": ["市场监管", "食品安全"],
     "region": "杭州市西湖区", "unit": "执法一队"},
    {"name": "李华", "certificate_no": "33010020230002", "categories": ["市场监管"],
     "region": "杭州市西湖区", "unit": "执法一队"},
    {"name": "王芳", "certificate_no": "33010020230003", "categories": ["法制审核"],
     "region": "杭州市", "unit": "法制科", "is_legal_reviewer": True},
    {"name": "赵强", "kind": OfficerKind.AUXILIARY, "categories": [], "region": "杭州市西湖区",
     "unit": "执法一队"},
]


async def _demo_agency_register(agency: Agency) -> None:
    """The agency's register of itself (主体资格, R-D1), drafted, reviewed by another person and
    published as an agency does it: the scan page's complaint phone comes from here."""
    from backend.http.register_content import EXAMPLES
    from backend.models.enums import RegisterKind, RegisterReviewOutcome
    from backend.services.registers import versions

    clock = Clock()
    content = {**EXAMPLES[RegisterKind.AGENCY], "complaint_phone": "12345"}  # the fields R-D1 names
    author, reviewer = "operator:周立（演示管理员）", "operator:王芳（演示法制审核员）"
    row = await versions.propose(agency.id, RegisterKind.AGENCY, None, content, clock.today(), author, clock)
    await versions.submit(agency.id, row.id, author, clock)
    await versions.review(agency.id, row.id, RegisterReviewOutcome.APPROVED, "依据充分，内容属实，同意公开",
                          reviewer, clock)
    await versions.publish(agency.id, row.id, author, clock)


async def load_demo(settings: Settings) -> list[str]:
    """Idempotent: a second run finds the demo agency and only prints the instructions again."""
    await prepare_database(settings)
    key_file = settings.data_dir / "demo-api-keys.txt"
    async with orm(settings):
        agency = await Agency.filter(credit_code=DEMO_AGENCY_CODE).first()
        if agency is None:
            agency, _, admin_key = await create_agency(
                "杭州市西湖区市场监督管理局（演示）", DEMO_AGENCY_CODE, actor="demo",
                holder=KeyHolder(person_name="周立（演示管理员）"), region="杭州市西湖区",
            )
            await _demo_agency_register(agency)
            body, _, supervisor_key = await create_agency(
                "杭州市西湖区司法局（演示）", DEMO_SUPERVISOR_CODE, kind=AgencyKind.SUPERVISOR, actor="demo",
                holder=KeyHolder(person_name="吴静（演示监督员）"),
            )
            await set_supervising_body(agency, body, "demo")
            for data in DEMO_OFFICERS:
                await create_officer(agency.id, dict(data), "demo")
            write_private(key_file, f"admin {admin_key}\nsupervisor {supervisor_key}\n".encode())
        officers = await Officer.filter(agency=agency).order_by("name")
        cards = await _demo_credentials(settings, agency, officers)
        case_id, decision_id = await _demo_case(settings, agency)
    keys = dict(line.split(" ", 1) for line in key_file.read_text().splitlines()) if key_file.exists() else {}
    base = settings.public_base_url
    lines = [
        "演示数据已就绪：",
        f"  机构: {agency.name}（统一社会信用代码 {agency.credit_code}）",
        f"  执法人员: {', '.join(o.name for o in officers)}",
        f"  机构管理员密钥: {keys.get('admin', '(见 ' + str(key_file) + ')')}",
        f"  监督机构密钥: {keys.get('supervisor', '(见 ' + str(key_file) + ')')}",
        "试一试（先运行 yangguang serve）：",
        f"  curl -H 'Authorization: Bearer {keys.get('admin', 'KEY')}' {base}/api/v1/officers",
        f"  curl -H 'Authorization: Bearer {keys.get('admin', 'KEY')}' {base}/api/v1/cases",
        f"  浏览器打开接口文档: {base}/api/docs",
        "演示案件（两名当事人，其中一家单位无联系方式、显示为无法通知），其执法决定已公示：",
        f"  决定公示页（通知短信中的链接）: {base}/d/{decision_id}",
        f"  案件: curl -H 'Authorization: Bearer {keys.get('admin', 'KEY')}' {base}/api/v1/cases/{case_id}",
        f"  全过程记录: curl -H 'Authorization: Bearer {keys.get('admin', 'KEY')}' "
        f"{base}/api/v1/cases/{case_id}/records",
        f"  监督机构调阅（留痕）: curl -H 'Authorization: Bearer {keys.get('supervisor', 'KEY')}' "
        f"{base}/api/v1/cases/{case_id}/full-record",
        f"  透明日志检查点（公开）: {base}/log/checkpoint ；核验整个日志: yangguang audit verify",
        f"  通知记录（沙箱发件箱）: yangguang notifications list --case {case_id}",
        f"    或 curl -H 'Authorization: Bearer {keys.get('admin', 'KEY')}' "
        f"'{base}/api/v1/notifications?case_id={case_id}'",
        "执法证件二维码（手机扫码或浏览器打开，应显示“有效”）：",
        *[f"  {name}: {url}" for name, url, _ in cards],
        f"  二维码图片和打印页: {settings.data_dir / 'demo'}",
    ]
    if cards:
        lines += [
            "暂扣一张证件，再扫同一个二维码应显示“暂扣”：",
            f"  curl -X POST -H 'Authorization: Bearer {keys.get('admin', 'KEY')}' -H 'Content-Type: application/json'"
            f" -d '{{\"reason\": \"演示暂扣\"}}' {base}/api/v1/credentials/{cards[0][2]}/suspend",
        ]
    return lines


DEMO_CASE_TITLE = "某餐饮店未按规定公示食品经营许可证案（演示）"
DEMO_DOCUMENT_NO = "杭西市监罚〔2026〕演示1号"


async def _demo_case(settings: Settings, agency: Agency) -> tuple[str, str]:
    """Idempotent: the demo case and its published decision; its notices are handed to the sandbox
    at once (without providers) or, with real providers configured, left without a phone number so
    no real message goes to an invented person."""
    from backend.models import Decision
    from backend.services import cases, decisions

    clock = Clock()
    case = await Case.filter(agency_id=agency.id, title=DEMO_CASE_TITLE).first()
    if case is None:
        sandbox = not settings.sms_configured and not settings.wechat_configured
        person = {"name": "王小明", "kind": "person", "phone": "13800000000" if sandbox else None}
        company = {"name": "杭州某某餐饮有限公司", "kind": "organization"}  # no contact: shown as unreachable
        case, _ = await cases.create_case(agency.id, {"title": DEMO_CASE_TITLE, "type": "penalty",
                                                      "parties": [person, company]}, "demo", clock)
        await _demo_record(case, clock)
    decision = await Decision.filter(case_id=case.id).first()
    if decision is None:
        decision = await decisions.create(agency.id, case.id, {
            "document_no": DEMO_DOCUMENT_NO, "decided_at": clock.today(),
            "summary": "当事人杭州某某餐饮有限公司未在经营场所显著位置公示食品经营许可证，"
                       "依据《中华人民共和国食品安全法》责令改正，给予警告。"}, "demo", clock)
    if decision.status.value == "draft":
        # The demo publishes what its preview showed, as a person would (the hash proves it).
        shown = await decisions.preview(agency.id, decision.id)
        result = await decisions.change(settings, clock, agency.id, decision.id, "publish", "demo",
                                        preview_hash=shown.preview_hash)
        if not settings.sms_configured and not settings.wechat_configured and result.notification_ids:
            await _hand_to_sandbox(settings, result.notification_ids)
    return str(case.id), str(decision.id)


async def _demo_record(case: Case, clock: Clock) -> None:
    """Two officers on the case and an on-site inspection in its full-process record (a log leaf)."""
    from backend.models.enums import RecordStep, SignatureState
    from backend.services.records import case_officers, entries

    team = await Officer.filter(agency_id=case.agency_id, kind=OfficerKind.ENFORCEMENT).order_by("name").limit(2)
    if len(team) < 2:
        return
    await case_officers.assign(case, team[0].id, [team[1].id], "demo")
    await entries.add_step(case, entries.StepInput(
        step=RecordStep.ON_SITE, occurred_at=clock.now(), place="杭州市西湖区某路1号", officer_ids=[o.id for o in team],
        credential_shown=True, text="现场检查：经营场所未在显著位置公示食品经营许可证。",
        party_signature=SignatureState.REFUSED, refusal_note="当事人拒绝在笔录上签名，两名执法人员在场见证。",
        evidence_ids=[]), "demo", clock)


async def _hand_to_sandbox(settings: Settings, ids: list[uuid.UUID]) -> None:
    """Deliver the demo's notices through the sandbox channel now, as the server's worker would."""
    from notifications import tasks
    from notifications.deps import build_deps

    deps = build_deps(settings)
    try:
        for nid in ids:
            await tasks.deliver(deps, nid)
    finally:
        if deps.executor is not None:
            deps.executor.shutdown(wait=False)


async def _demo_credentials(settings: Settings, agency: Agency, officers: list[Officer]) -> list[tuple[str, str, str]]:
    """Idempotent: issue a card to each enforcement officer that has none, then (re)write QR images and a sheet."""
    from datetime import date

    from backend.clock import Clock
    from backend.models import Credential
    from backend.services.disclosure import credentials as lifecycle
    from backend.services.disclosure import printing, status, verification
    from qr import render

    keys, clock = verification.KeyStore(settings.data_dir), Clock()
    out_dir = settings.data_dir / "demo"
    cards: list[tuple[str, str, str]] = []
    for officer in officers:
        if officer.kind is not OfficerKind.ENFORCEMENT:
            continue  # auxiliary staff hold no credential (R-C1)
        cred = await Credential.filter(officer_id=officer.id, status__in=list(status.CURRENT)).first()
        if cred is None:
            today = clock.today()
            cred, token = await lifecycle.issue(
                agency.id, officer.id, valid_from=today, valid_until=date(today.year + 3, 12, 31), actor="demo",
                keys=keys, clock=clock)
        else:
            token = keys.token_for(cred.token_seed)
        url = status.verify_url(settings.public_base_url, token)
        qr_dir = out_dir / "qr"
        write_private(qr_dir / f"{officer.certificate_no}.png", render.png(url))
        write_private(qr_dir / f"{officer.certificate_no}.svg", render.svg(url))
        cards.append((officer.name, url, str(cred.id)))
    await printing.write_print_sheet(agency.id, out_dir, settings.public_base_url, keys, clock.today())
    return cards
