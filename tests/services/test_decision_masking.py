"""Masking end to end through the decision service: whatever form one party's data takes in the text
or a reason, it never reaches the public version, the public page's history, another party's message
or a log line -- on publication, correction and withdrawal."""

from __future__ import annotations

import json
import logging
import re
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.logging_setup import JsonFormatter
from backend.models import DecisionVersion, Notification
from backend.services import cases, decisions
from backend.services.masking import fold
from tests.factories import an_agency
from tests.support.pii import bank_cards, digits_left, emails, id_numbers, person_names, phones

ORG = "杭州某某餐饮有限公司"
E2E = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def readable(text: str) -> str:
    return re.sub(r"[ ·]", "", fold(text))


@st.composite
def a_co_party(draw: st.DrawFn) -> dict[str, object]:
    """Party B as the case records them, and the ways a text may write their data."""
    name, surname, as_written = draw(person_names().filter(lambda n: n[1] != "李"))
    phone, id_number, card, email = draw(phones()), draw(id_numbers()), draw(bank_cards()), draw(emails())
    # Neither name inside the other, other surnames (party A is 李四, shown as 李*; the witness as 某*).
    witness = draw(person_names().filter(lambda n: n[0] not in name and name not in n[0] and n[1] != surname))
    return {"name": name, "surname": surname, "written": as_written, "phone": phone, "id": id_number,
            "card": card, "email": email, "witness": witness, "minor": draw(st.booleans())}


def leaked(b: dict[str, object], text: str) -> list[str]:
    """What of B (and the witness) can still be read in ``text``."""
    phone, id_number, card, email = (b["phone"], b["id"], b["card"], b["email"])  # type: ignore[misc]
    witness = b["witness"]  # type: ignore[assignment]
    seen = readable(text)
    found = [what for what, secret in (("name", b["name"]), ("witness", witness[0])) if secret in seen]  # type: ignore[index,operator]
    digits = digits_left(text)
    # Whole numbers here (a shrunk example is all zeros, and eight zeros may well be in a date or a
    # link); the masking unit tests check that no part of a number is left either.
    found += [what for what, secret in (("phone", phone[0]), ("id", id_number[0]),  # type: ignore[index]
                                        ("card", card[0])) if secret in digits]  # type: ignore[index]
    if email[0] in seen:  # type: ignore[index]
        found.append("email")
    if b["minor"] and b["surname"] in seen.replace("未成年人", ""):  # type: ignore[operator]
        found.append("minor's surname")
    return found


def sentence(b: dict[str, object]) -> str:
    phone, id_number, card, email = b["phone"], b["id"], b["card"], b["email"]
    witness = b["witness"]
    return (f"当事人{b['written']}（身份证号{id_number[1]}，电话{phone[1]}，银行账号{card[1]}，"  # type: ignore[index]
            f"邮箱{email[1]}）与{ORG}共同经营。证人{witness[2]}称属实。")  # type: ignore[index]


@E2E
@given(b=a_co_party())
async def test_a_co_partys_data_never_reaches_the_public_or_another_partys_message(db, clock, caplog, b) -> None:
    agency = await an_agency()
    a = {"kind": "person", "name": "李四", "phone": "13800138001"}
    party_b = {"kind": "person", "name": b["name"], "phone": b["phone"][0], "id_number": None,  # type: ignore[index]
               "is_minor": b["minor"]}
    case, _ = await cases.create_case(agency.agency.id, {"title": "合伙无照经营", "type": "penalty", "parties": [
        a, party_b, {"kind": "organization", "name": ORG}]}, "test", clock)
    decision = await decisions.create(agency.agency.id, case.id, {
        "document_no": f"杭西市监罚〔2026〕{case.number}号", "summary": sentence(b) + "罚款五千元。",
        "decided_at": date(2026, 11, 2)}, "test", clock)
    agency_id = agency.agency.id
    caplog.set_level(logging.INFO)  # what production logs (the SQL of tortoise stays at WARNING)

    shown = await decisions.preview(agency_id, decision.id)
    assert leaked(b, shown.public_text + shown.party) == [], shown.public_text
    assert ORG in shown.public_text  # the organisation stays named
    ids = (await decisions.change(db, clock, agency_id, decision.id, "publish", "test",
                                  preview_hash=shown.preview_hash)).notification_ids
    correction, why = sentence(b) + "罚款三千元。", f"{b['written']}（电话{b['phone'][1]}）称金额有误"  # type: ignore[index]
    shown = await decisions.preview(agency_id, decision.id, summary=correction, reason=why)
    ids += (await decisions.change(db, clock, agency_id, decision.id, "correct", "test", summary=correction,
                                   reason=why, preview_hash=shown.preview_hash)).notification_ids
    withdrawal = f"复议机关撤销，{b['written']}身份证号{b['id'][1]}，邮箱{b['email'][1]}"  # type: ignore[index]
    ids += (await decisions.change(db, clock, agency_id, decision.id, "withdraw", "test",
                                   reason=withdrawal)).notification_ids

    public = await decisions.public_view(decision.id)
    versions = await DecisionVersion.filter(decision_id=decision.id)
    for text in [public.party, *(v.public_text + v.reason for v in versions), *(h.reason for h in public.history)]:
        assert leaked(b, text) == [], text
    to_a = await Notification.filter(id__in=ids, recipient=a["phone"])
    assert len(to_a) == 3  # published, corrected, withdrawn
    for message in to_a:
        assert leaked(b, message.content + json.dumps(message.params, ensure_ascii=False)) == [], message.content
    formatter = JsonFormatter()
    for record in caplog.records:
        assert leaked(b, formatter.format(record)) == []
