"""Notifications: each row is also its own outbox entry, written in the transaction of its event
(R-N2), then handed to a worker by the relay."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise import fields
from tortoise.models import Model

from backend.models.agency import Agency
from backend.models.base import created_at, updated_at, uuid_pk
from backend.models.enums import NotificationChannel, NotificationEvent, NotificationStatus


class Notification(Model):
    id = uuid_pk()
    # One message per (event, recipient, channel): the unique key that makes "never twice" hold.
    idempotency_key = fields.CharField(max_length=200, unique=True)
    event = fields.CharEnumField(NotificationEvent, max_length=24)
    event_ref = fields.CharField(max_length=64)  # id of the decision version, notice, complaint event
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "models.Agency", related_name="notifications", on_delete=fields.RESTRICT
    )
    agency_id: uuid.UUID
    case_id = fields.UUIDField(null=True, db_index=True)
    party_id = fields.UUIDField(null=True)
    channel = fields.CharEnumField(NotificationChannel, max_length=16)
    recipient = fields.CharField(max_length=64)  # phone or openid: private, never logged
    template = fields.CharField(max_length=64)
    template_version = fields.IntField(default=1)
    params = fields.JSONField[dict[str, Any]](default=dict)
    content = fields.TextField(default="")  # rendered text, for the agency and the sandbox
    status = fields.CharEnumField(
        NotificationStatus, max_length=16, default=NotificationStatus.PENDING, db_index=True
    )
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    relayed_at = fields.DatetimeField(null=True)  # last hand-over to the queue
    # Aliyun BizId / WeChat msgid; indexed: WeChat's delivery push names a message by its msgid only.
    provider_id = fields.CharField(max_length=100, null=True, db_index=True)
    provider_status = fields.CharField(max_length=100, default="")
    last_error = fields.TextField(default="")
    fallback_of: fields.ForeignKeyNullableRelation[Notification] = fields.ForeignKeyField(
        "models.Notification", related_name="fallbacks", null=True, on_delete=fields.RESTRICT
    )
    fallback_of_id: uuid.UUID | None
    created_at = created_at()
    updated_at = updated_at()
    sent_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        # (recipient, template, sent_at): the per-recipient daily cap is counted on every SMS send.
        indexes = (("status", "next_attempt_at"), ("recipient", "template", "sent_at"))


class DeliveryReceipt(Model):
    id = fields.BigIntField(primary_key=True)
    notification: fields.ForeignKeyRelation[Notification] = fields.ForeignKeyField(
        "models.Notification", related_name="receipts", on_delete=fields.CASCADE
    )
    notification_id: uuid.UUID
    provider_status = fields.CharField(max_length=100)
    error_code = fields.CharField(max_length=100, default="")
    received_at = created_at()
    payload = fields.JSONField[dict[str, Any]](default=dict)

    class Meta:
        table = "delivery_receipt"


class SubscriptionGrant(Model):
    """WeChat consent ledger: one row per accepted one-time subscription prompt (R-N1)."""

    id = fields.BigIntField(primary_key=True)
    openid = fields.CharField(max_length=64)
    template_id = fields.CharField(max_length=64)
    granted_at = created_at()
    consumed_at = fields.DatetimeField(null=True)
    consumed_by = fields.UUIDField(null=True)

    class Meta:
        table = "subscription_grant"
        indexes = (("openid", "template_id", "consumed_at"),)


class WechatPushNonce(Model):
    """A (timestamp, nonce) of WeChat's message push already taken: a replay of a signed push within
    the accepted window is refused. Written in the transaction that applies the push, so a push that
    failed half-way may come again; forgotten once its timestamp is out of the window anyway."""

    id = fields.BigIntField(primary_key=True)
    timestamp = fields.BigIntField()  # WeChat's, seconds since the epoch (signed with the nonce)
    nonce = fields.CharField(max_length=64)
    received_at = created_at()

    class Meta:
        table = "wechat_push_nonce"
        unique_together = (("timestamp", "nonce"),)
        indexes = (("received_at",),)
