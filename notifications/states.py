"""The delivery life of a notification row, as a transition table (mechanism: ``backend.statemachine``)."""

from __future__ import annotations

from backend.models.enums import NotificationStatus
from backend.statemachine import Machine

N = NotificationStatus
NOTIFICATION = Machine[NotificationStatus]("notification", {
    "claim": {N.PENDING: N.SENDING},
    # Back to pending for a retry after a retryable failure (or a crash found by the sweeper).
    "retry": {N.SENDING: N.PENDING},
    # Back to pending until a later time without it counting as an attempt (the daily cap).
    "defer": {N.SENDING: N.PENDING},
    "accepted": {N.SENDING: N.SENT},
    "delivered": {N.SENT: N.DELIVERED, N.SENDING: N.DELIVERED},
    "fail": {N.PENDING: N.FAILED, N.SENDING: N.FAILED, N.SENT: N.FAILED},
    "fall_back": {N.PENDING: N.SUPERSEDED, N.SENDING: N.SUPERSEDED, N.FAILED: N.SUPERSEDED},
})
