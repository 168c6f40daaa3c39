"""The mini-program's signed-in people: their sessions, their bindings to case parties, and the SMS
codes that bind a party by the phone the agency recorded. Rules: ``backend/services/parties/``."""

from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model

from backend.models.base import uuid_pk
from backend.models.case import Case, CaseParty, Party
from backend.models.enums import BindingEnd, BindingMethod


class MpSession(Model):
    """A signed-in WeChat user. The token is opaque and random and only its SHA-256 is stored, the WeChat
    session_key is not stored at all (nothing here decrypts WeChat user data)."""

    id = uuid_pk()
    token_hash = fields.CharField(max_length=64, unique=True)
    openid = fields.CharField(max_length=64, db_index=True)
    # Signed in through the embedded default's sandbox exchange (no WeChat or SMS credentials): such a
    # session stops working the moment credentials are configured.
    sandbox = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()  # from the injected clock, like expires_at
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mp_session"


class PartyBinding(Model):
    """A WeChat user bound to one party of one case, at most one binding of a party is active
    (``ended_at`` null), and the party's messages go to its openid (``Party.wechat_openid``)."""

    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="party_bindings", on_delete=fields.RESTRICT
    )
    case_id: uuid.UUID
    party: fields.ForeignKeyRelation[Party] = fields.ForeignKeyField(
        "models.Party", related_name="bindings", on_delete=fields.RESTRICT
    )
    party_id: uuid.UUID
    openid = fields.CharField(max_length=64, db_index=True)
    method = fields.CharEnumField(BindingMethod, max_length=8)
    bound_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)
    ended_reason = fields.CharEnumField(BindingEnd, max_length=16, null=True)

    class Meta:
        table = "party_binding"
        indexes = (("openid", "ended_at"), ("party_id", "ended_at"))


class BindingSmsCode(Model):
    """A code sent by SMS to the phone on file for a party, usable only by the session that asked
    for it, for a few minutes and a few tries. The code and the number are stored hashed. A request
    that matched no party is stored too (no case party, no code): the per-number limits count every
    request, so their answers never tell whether a number belongs to a case."""

    id = uuid_pk()
    case_party: fields.ForeignKeyNullableRelation[CaseParty] = fields.ForeignKeyField(
        "models.CaseParty", related_name="sms_codes", null=True, on_delete=fields.CASCADE
    )
    case_party_id: int | None
    session: fields.ForeignKeyRelation[MpSession] = fields.ForeignKeyField(
        "models.MpSession", related_name="sms_codes", on_delete=fields.CASCADE
    )
    session_id: uuid.UUID
    phone_hash = fields.CharField(max_length=64)  # the per-number limits count these rows
    code_hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()  # from the injected clock: the per-number windows use it
    expires_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "binding_sms_code"
        indexes = (("phone_hash", "created_at"), ("session_id", "created_at"))
