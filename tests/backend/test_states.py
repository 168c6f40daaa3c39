"""Transition tables: allowed moves go where the table says; anything else is a stable 409."""

from __future__ import annotations

import pytest

from backend.errors import IllegalTransition
from backend.models.enums import CredentialStatus, DecisionStatus, NotificationStatus
from backend.services.states import CREDENTIAL, DECISION, MACHINES, NOTIFICATION


def test_a_revoked_credential_is_final():
    for action in CREDENTIAL.table:
        with pytest.raises(IllegalTransition) as err:
            CREDENTIAL.next(CredentialStatus.REVOKED, action)
        assert err.value.code == f"credential_{action}_not_allowed"
        assert err.value.status == 409


def test_suspension_and_reinstatement_round_trip():
    suspended = CREDENTIAL.next(CredentialStatus.VALID, "suspend")
    assert suspended is CredentialStatus.SUSPENDED
    assert CREDENTIAL.next(suspended, "reinstate") is CredentialStatus.VALID
    assert CREDENTIAL.allowed(CredentialStatus.VOID) == []


def test_a_withdrawn_decision_cannot_be_corrected_or_republished():
    assert DECISION.next(DecisionStatus.PUBLISHED, "withdraw") is DecisionStatus.WITHDRAWN
    for action in ("publish", "correct", "withdraw"):
        with pytest.raises(IllegalTransition):
            DECISION.next(DecisionStatus.WITHDRAWN, action)


def test_a_delivered_notification_is_never_claimed_again():
    with pytest.raises(IllegalTransition):
        NOTIFICATION.next(NotificationStatus.DELIVERED, "claim")


def test_every_table_only_names_states_of_its_own_enum():
    for machine in MACHINES:
        enums = {type(s) for moves in machine.table.values() for pair in moves.items() for s in pair}
        assert len(enums) == 1, machine.name


def test_every_state_of_every_table_reads_as_its_own_word_even_where_enums_share_values():
    """DecisionStatus.DRAFT, PublishState.DRAFT and StatisticsStatus.DRAFT are all "draft", and
    StrEnum members with equal values are one dict key: each must still read as its own word."""
    from backend.models.enums import RemedyState, StatisticsStatus
    from backend.statemachine import _STATE_WORD_LIST, state_word

    declared = {(type(state), state.value): word for state, word in _STATE_WORD_LIST}
    assert len(declared) == len(_STATE_WORD_LIST), "a state is declared twice"
    for machine in MACHINES:
        for moves in machine.table.values():
            for state in (s for pair in moves.items() for s in pair):
                assert state_word(state) == declared[(type(state), state.value)], (machine.name, state)
    assert (state_word(DecisionStatus.DRAFT), state_word(StatisticsStatus.DRAFT)) == ("草稿", "未报送")
    assert (state_word(NotificationStatus.PENDING), state_word(RemedyState.PENDING)) == ("待发送", "审理中")
    assert state_word(DecisionStatus.PUBLISHED) == "公示中"
    refusal = DECISION.refusal(DecisionStatus.DRAFT, "withdraw")
    assert "草稿" in refusal, refusal
