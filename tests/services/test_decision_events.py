"""A decision's life at the service level, without HTTP: one transaction per event, nothing leaked."""

from __future__ import annotations

from datetime import date

import pytest

from backend.errors import Conflict, IllegalTransition, ValidationFailed
from backend.models import AuditEvent, CaseRecord, Decision, DecisionVersion, Notification, Party
from backend.services import cases, decisions
from tests.factories import an_agency, previewed

PERSON_A = {"kind": "person", "name": "李四", "phone": "13800138001", "id_number": "330102199001011234"}
PERSON_B = {"kind": "person", "name": "王小明", "phone": "13900139002", "id_number": "33010219850505432X"}


async def a_decision(clock, parties=(PERSON_A, PERSON_B)):  # type: ignore[no-untyped-def]
    agency = await an_agency()
    case, _ = await cases.create_case(agency.agency.id, {"title": "无照经营", "type": "penalty",
                                                         "parties": list(parties)}, "test", clock)
    decision = await decisions.create(agency.agency.id, case.id, {
        "document_no": f"杭西市监罚〔2026〕{case.number}号", "summary": "罚款五千元", "decided_at": date(2026, 11, 2)},
        "test", clock)
    return agency.agency.id, decision


async def test_an_illegal_move_writes_nothing(db, clock):
    agency_id, decision = await a_decision(clock)
    records_before = await CaseRecord.all().count()
    with pytest.raises(IllegalTransition) as exc:
        await decisions.change(db, clock, agency_id, decision.id, "withdraw", "test", reason="错误")
    assert exc.value.code == "decision_withdraw_not_allowed"
    assert await DecisionVersion.all().count() == 0
    assert await Notification.all().count() == 0
    assert await CaseRecord.all().count() == records_before


async def test_publishing_writes_the_version_the_record_and_one_message_per_party_together(db, clock):
    agency_id, decision = await a_decision(clock)
    shown = await decisions.preview(agency_id, decision.id)
    result = await decisions.change(db, clock, agency_id, decision.id, "publish", "key:test",
                                    preview_hash=shown.preview_hash)
    assert len(result.notification_ids) == 2
    version = await DecisionVersion.get(decision_id=decision.id)
    assert (version.version, version.actor) == (1, "key:test")
    assert version.public_text == shown.public_text  # exactly what the preview showed
    rows = await Notification.filter(id__in=result.notification_ids)
    assert sorted(r.recipient for r in rows) == sorted([PERSON_A["phone"], PERSON_B["phone"]])
    assert await CaseRecord.filter(case_id=decision.case_id, step="publication").count() == 1


async def test_a_correction_never_carries_one_partys_data_to_another(db, clock):
    agency_id, decision = await a_decision(clock)
    await decisions.change(db, clock, agency_id, decision.id, "publish", "test",
                           preview_hash=await previewed(agency_id, decision.id))
    text = f"当事人王小明（身份证号{PERSON_B['id_number']}，电话{PERSON_B['phone']}）罚款三千元"
    reason = f"王小明身份证号{PERSON_B['id_number']}有误"
    result = await decisions.change(db, clock, agency_id, decision.id, "correct", "test", summary=text,
                                    reason=reason, preview_hash=await previewed(agency_id, decision.id, text, reason))
    to_a = await Notification.get(id__in=result.notification_ids, recipient=PERSON_A["phone"])
    message = to_a.content + str(to_a.params)
    for secret in (PERSON_B["id_number"], PERSON_B["phone"], "王小明"):
        assert secret not in message


async def test_a_committed_event_answers_success_even_when_no_checkpoint_can_be_signed(db, clock, caplog):
    """The checkpoint is signed after the event commits: a refusal to sign (here: signed leaves were
    deleted behind the service's back) is logged loudly, but the published decision stays published
    and its caller is told so (a retry would otherwise be refused as already published)."""
    from tortoise import connections

    from backend.models import LogCheckpoint
    from backend.services.transparency import checkpoints

    agency_id, decision = await a_decision(clock)
    signed = await checkpoints.make_checkpoint(db, clock)
    await connections.get("default").execute_query(f"DELETE FROM log_leaf WHERE leaf_index = {signed.tree_size - 1}")
    result = await decisions.change(db, clock, agency_id, decision.id, "publish", "key:test",
                                    preview_hash=await previewed(agency_id, decision.id))
    assert result.decision.status.value == "published"
    assert await DecisionVersion.filter(decision_id=decision.id).count() == 1
    assert await LogCheckpoint.all().count() == 1  # nothing signed over the damaged log
    assert any(r.levelname == "ERROR" and "log_forked" in r.getMessage() for r in caplog.records)


async def _nothing_written(decision_id) -> None:  # type: ignore[no-untyped-def]
    assert await DecisionVersion.filter(decision_id=decision_id).count() == 0
    assert await Notification.all().count() == 0


async def test_publishing_without_the_preview_hash_is_refused_and_writes_nothing(db, clock):
    agency_id, decision = await a_decision(clock)
    for missing in (None, ""):
        with pytest.raises(ValidationFailed) as exc:
            await decisions.change(db, clock, agency_id, decision.id, "publish", "test", preview_hash=missing)
        assert exc.value.code == "preview_hash_required" and exc.value.status == 422
    await _nothing_written(decision.id)
    assert (await Decision.get(id=decision.id)).status.value == "draft"


async def test_a_preview_goes_stale_when_what_it_showed_changes(db, clock):
    """The text, a party (here: found to be a minor) or the decision changed after the person looked."""
    agency_id, decision = await a_decision(clock)
    seen = await decisions.preview(agency_id, decision.id)
    assert seen.preview_hash == (await decisions.preview(agency_id, decision.id)).preview_hash  # stable
    await Decision.filter(id=decision.id).update(summary="当事人李四罚款五千元")
    with pytest.raises(Conflict) as exc:
        await decisions.change(db, clock, agency_id, decision.id, "publish", "test", preview_hash=seen.preview_hash)
    assert exc.value.code == "preview_stale" and exc.value.status == 409
    seen = await decisions.preview(agency_id, decision.id)
    assert seen.public_text == "当事人李*罚款五千元"
    await Party.filter(name="李四").update(is_minor=True)
    with pytest.raises(Conflict) as exc:
        await decisions.change(db, clock, agency_id, decision.id, "publish", "test", preview_hash=seen.preview_hash)
    assert exc.value.code == "preview_stale"
    await _nothing_written(decision.id)
    seen = await decisions.preview(agency_id, decision.id)
    assert seen.public_text == "当事人未成年人罚款五千元" and "李" not in seen.party
    await decisions.change(db, clock, agency_id, decision.id, "publish", "test", preview_hash=seen.preview_hash)
    entry = await AuditEvent.filter(action="decision.publish", target_id=str(decision.id)).get()
    assert entry.data["preview_hash"] == seen.preview_hash  # who published which reviewed text


async def test_a_correction_carries_the_preview_of_exactly_that_correction(db, clock):
    agency_id, decision = await a_decision(clock)
    published = await decisions.preview(agency_id, decision.id)
    await decisions.change(db, clock, agency_id, decision.id, "publish", "test", preview_hash=published.preview_hash)
    text, reason = "当事人李四（电话13800138001）罚款三千元", "李四提出金额有误"
    shown = await decisions.preview(agency_id, decision.id, summary=text, reason=reason)
    assert (shown.public_text, shown.public_reason) == ("当事人李*（电话[电话已隐去]）罚款三千元", "李*提出金额有误")
    assert [(m.field, m.kind, m.original) for m in shown.masked] == [
        ("summary", "person_name", "李四"), ("summary", "phone", "13800138001"), ("reason", "person_name", "李四")]
    for stale in (published.preview_hash,  # the publication's preview is not this correction's
                  (await decisions.preview(agency_id, decision.id, summary=text, reason="别的理由")).preview_hash):
        with pytest.raises(Conflict) as exc:
            await decisions.change(db, clock, agency_id, decision.id, "correct", "test", summary=text, reason=reason,
                                   preview_hash=stale)
        assert exc.value.code == "preview_stale"
    await decisions.change(db, clock, agency_id, decision.id, "correct", "test", summary=text, reason=reason,
                           preview_hash=shown.preview_hash)
    version = await DecisionVersion.get(decision_id=decision.id, version=2)
    assert (version.public_text, version.reason) == (shown.public_text, shown.public_reason)


async def test_an_agency_notice_never_carries_one_partys_data_to_another(db, clock):
    """The agency writes a notice's text freely; each party's message carries it masked, so an ID
    number or phone of a co-party typed into the notice never reaches the other party."""
    agency_id, decision = await a_decision(clock)
    text = f"请王小明（身份证号{PERSON_B['id_number']}，电话{PERSON_B['phone'][:3]} {PERSON_B['phone'][3:]}）周一到场。"
    result = await cases.send_notice(db, clock, agency_id, decision.case_id, text, "test")
    to_a = await Notification.get(id__in=result.notification_ids, recipient=PERSON_A["phone"])
    message = to_a.content + str(to_a.params)
    assert "周一到场" in message
    for secret in (PERSON_B["id_number"], PERSON_B["phone"][3:], "王小明"):
        assert secret not in message, message
    # the case's own record keeps what the agency wrote (internal, in the full-process record)
    entry = await CaseRecord.filter(case_id=decision.case_id, step="notice").get()
    assert PERSON_B["id_number"] in entry.text
