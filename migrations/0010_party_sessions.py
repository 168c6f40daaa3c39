from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.migration_ops import AddField  # fills the rows already there (backend/migration_ops.py)
from backend.models.enums import BindingEnd, BindingMethod, NotificationEvent
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_complaints')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MpSession',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('openid', fields.CharField(db_index=True, max_length=64)),
                ('sandbox', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mp_session', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A signed-in WeChat user. The token is opaque and random and only its SHA-256 is stored, the WeChat'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BindingSmsCode',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('case_party', fields.ForeignKeyField('models.CaseParty', source_field='case_party_id', null=True, db_constraint=True, to_field='id', related_name='sms_codes', on_delete=OnDelete.CASCADE)),
                ('session', fields.ForeignKeyField('models.MpSession', source_field='session_id', db_constraint=True, to_field='id', related_name='sms_codes', on_delete=OnDelete.CASCADE)),
                ('phone_hash', fields.CharField(max_length=64)),
                ('code_hash', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'binding_sms_code', 'app': 'models', 'indexes': [Index(fields=['phone_hash', 'created_at']), Index(fields=['session_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A code sent by SMS to the phone on file for a party, usable only by the session that asked'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PartyBinding',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('models.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='party_bindings', on_delete=OnDelete.RESTRICT)),
                ('party', fields.ForeignKeyField('models.Party', source_field='party_id', db_constraint=True, to_field='id', related_name='bindings', on_delete=OnDelete.RESTRICT)),
                ('openid', fields.CharField(db_index=True, max_length=64)),
                ('method', fields.CharEnumField(description='CODE: code\nSMS: sms', enum_type=BindingMethod, max_length=8)),
                ('bound_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_reason', fields.CharEnumField(null=True, description='REISSUED: reissued\nREPLACED: replaced', enum_type=BindingEnd, max_length=16)),
            ],
            options={'table': 'party_binding', 'app': 'models', 'indexes': [Index(fields=['openid', 'ended_at']), Index(fields=['party_id', 'ended_at'])], 'pk_attr': 'id', 'table_description': 'A WeChat user bound to one party of one case, at most one binding of a party is active'},
            bases=['Model'],
        ),
        AddField(
            model_name='CaseParty',
            name='binding_code_used_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AlterField(
            model_name='Notification',
            name='event',
            field=fields.CharEnumField(description='DECISION_PUBLISHED: decision_published\nDECISION_CORRECTED: decision_corrected\nDECISION_WITHDRAWN: decision_withdrawn\nAGENCY_NOTICE: agency_notice\nCOMPLAINT_UPDATE: complaint_update\nCOMPLAINT_PHONE_CODE: complaint_phone_code\nBINDING_SMS_CODE: binding_sms_code\nBINDING_CHANGED: binding_changed', enum_type=NotificationEvent, max_length=24),
        ),
        AddField(
            model_name='Party',
            name='wechat_consent',
            field=fields.BooleanField(default=True),
        ),
            # Bindings made before codes were single-use (through /mp/v1/subscriptions): each becomes an
        # active binding, and its code counts as used, so nobody else can take the party over with it.
        ops.RunSQL("INSERT INTO party_binding (case_id, party_id, openid, method, bound_at) "
                   "SELECT cp.case_id, cp.party_id, p.wechat_openid, 'code', CURRENT_TIMESTAMP "
                   "FROM case_party cp JOIN party p ON p.id = cp.party_id WHERE p.wechat_openid IS NOT NULL"),
        ops.RunSQL("UPDATE case_party SET binding_code_used_at = CURRENT_TIMESTAMP WHERE party_id IN "
                   "(SELECT id FROM party WHERE wechat_openid IS NOT NULL)"),
    ]
