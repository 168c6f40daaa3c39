from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.migration_ops import AddField  # fills the rows already there (backend/migration_ops.py)
from backend.models.enums import ComplaintAbout, NotificationEvent
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_calendar_and_publication_clocks')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ComplaintUpload',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('sha256', fields.CharField(max_length=64)),
                ('size_bytes', fields.IntField()),
                ('width', fields.IntField()),
                ('height', fields.IntField()),
                ('source_format', fields.CharField(max_length=8)),
                ('uploaded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('complaint_id', fields.UUIDField(null=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'complaint_upload', 'app': 'models', 'pk_attr': 'id', 'table_description': "A complainant's photo, decoded and re-encoded before it is stored. Its id is the opaque"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PhoneVerification',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('phone', fields.CharField(max_length=20)),
                ('code_hash', fields.CharField(max_length=64)),
                ('requested_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('verified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('used_by', fields.UUIDField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'phone_verification', 'app': 'models', 'indexes': [Index(fields=['phone', 'requested_at'])], 'pk_attr': 'id', 'table_description': "An SMS code sent to a complainant's phone, hashed here (the code travels in its outbox row)."},
            bases=['Model'],
        ),
        AddField(
            model_name='Agency',
            name='complaint_acknowledge_days',
            field=fields.IntField(null=True),
        ),
        AddField(
            model_name='Agency',
            name='complaint_answer_days',
            field=fields.IntField(null=True),
        ),
        ops.AlterModelOptions(
            name='Complaint',
            options={'table': 'complaint', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One complaint, report or suggestion (services/complaints). Written once at intake with its leaf'},
        ),
        AddField(
            model_name='Complaint',
            name='about',
            field=fields.CharEnumField(default=ComplaintAbout.AGENCY, description='OFFICER: officer\nAGENCY: agency\nCASE: case\nDECISION: decision', enum_type=ComplaintAbout, max_length=16),
        ),
        AddField(
            model_name='Complaint',
            name='acknowledged_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddField(
            model_name='Complaint',
            name='address',
            field=fields.CharField(default='', max_length=200),
        ),
        AddField(
            model_name='Complaint',
            name='answered_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddField(
            model_name='Complaint',
            name='channel',
            field=fields.CharField(default='miniprogram', max_length=16),
        ),
        AddField(
            model_name='Complaint',
            name='escalated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddField(
            model_name='Complaint',
            name='escalation_reason',
            field=fields.CharField(default='', max_length=32),
        ),
        AddField(
            model_name='Complaint',
            name='leaf_index',
            field=fields.BigIntField(null=True, unique=True),
        ),
        AddField(
            model_name='Complaint',
            name='query_code_hash',
            field=fields.CharField(default='', max_length=64),
        ),
        AddField(
            model_name='Complaint',
            name='salt',
            field=fields.CharField(default='', max_length=32),
        ),
        AddField(
            model_name='Complaint',
            name='submitted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddField(
            model_name='ComplaintEvent',
            name='action',
            field=fields.CharField(default='', max_length=16),
        ),
        AddField(
            model_name='ComplaintEvent',
            name='actor_name',
            field=fields.CharField(default='', max_length=100),
        ),
        AddField(
            model_name='ComplaintEvent',
            name='actor_role',
            field=fields.CharField(default='', max_length=16),
        ),
        AddField(
            model_name='ComplaintEvent',
            name='at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddField(
            model_name='ComplaintEvent',
            name='data',
            field=fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads),
        ),
        AddField(
            model_name='ComplaintEvent',
            name='leaf_index',
            field=fields.BigIntField(null=True, unique=True),
        ),
        ops.AlterField(
            model_name='Notification',
            name='event',
            field=fields.CharEnumField(description='DECISION_PUBLISHED: decision_published\nDECISION_CORRECTED: decision_corrected\nDECISION_WITHDRAWN: decision_withdrawn\nAGENCY_NOTICE: agency_notice\nCOMPLAINT_UPDATE: complaint_update\nCOMPLAINT_PHONE_CODE: complaint_phone_code', enum_type=NotificationEvent, max_length=24),
        ),
        AddField(
            model_name='Complaint',
            name='acknowledge_days',
            field=fields.SmallIntField(null=True),
        ),
        AddField(
            model_name='Complaint',
            name='answer_days',
            field=fields.SmallIntField(null=True),
        ),
        AddField(
            model_name='Complaint',
            name='due_on_provisional',
            field=fields.BooleanField(default=False),
        ),
    ]
