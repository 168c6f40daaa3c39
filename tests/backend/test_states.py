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
