from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.migration_ops import AddField  # fills the rows already there (backend/migration_ops.py)
from backend.models.enums import RectificationStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0010_party_sessions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RectificationEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('rectification', fields.ForeignKeyField('models.Rectification', source_field='rectification_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.RESTRICT)),
                ('action', fields.CharField(max_length=16)),
                ('status', fields.CharEnumField(description='ORDERED: ordered\nANSWERED: answered\nRETURNED: returned\nESCALATED: escalated\nACCEPTED: accepted', enum_type=RectificationStatus, max_length=16)),
                ('text', fields.TextField(default='', unique=False)),
                ('data', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor', fields.CharField(max_length=64)),
                ('actor_name', fields.CharField(default='', max_length=100)),
                ('actor_role', fields.CharField(default='', max_length=16)),
                ('leaf_index', fields.BigIntField(null=True, unique=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'rectification_event', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One step of a rectification (order, answer, accept, return, escalate), append-only.'},
            bases=['Model'],
        ),
        AddField(
            model_name='Agency',
            name='supervised_by',
            field=fields.ForeignKeyField('models.Agency', source_field='supervised_by_id', null=True, db_constraint=True, to_field='id', related_name='supervised', on_delete=OnDelete.RESTRICT),
        ),
        ops.AlterModelOptions(
            name='Rectification',
            options={'table': 'rectification', 'app': 'models', 'indexes': [Index(fields=['status', 'due_on']), Index(fields=['agency_id', 'status'])], 'pk_attr': 'id', 'table_description': "An order to rectify from the supervising body, and the agency's written answers (R-X3;"},
        ),
        AddField(
            model_name='Rectification',
            name='answer_evidence_id',
            field=fields.UUIDField(null=True),
        ),
        AddField(
            model_name='Rectification',
            name='case_id',
            field=fields.UUIDField(null=True),
        ),
        AddField(
            model_name='Rectification',
            name='closed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddField(
            model_name='Rectification',
            name='complaint_id',
            field=fields.UUIDField(null=True),
        ),
        AddField(
            model_name='Rectification',
            name='ordered_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddField(
            model_name='Rectification',
            name='ordered_by_agency',
            field=fields.ForeignKeyField('models.Agency', source_field='ordered_by_agency_id', null=True, db_constraint=True, to_field='id', related_name='rectifications_ordered', on_delete=OnDelete.RESTRICT),
        ),
        AddField(
            model_name='Rectification',
            name='ordered_by_name',
            field=fields.CharField(default='', max_length=100),
        ),
        AddField(
            model_name='Rectification',
            name='salt',
            field=fields.CharField(default='', max_length=32),
        ),
        AddField(
            model_name='Rectification',
            name='status',
            field=fields.CharEnumField(default=RectificationStatus.ORDERED, description='ORDERED: ordered\nANSWERED: answered\nRETURNED: returned\nESCALATED: escalated\nACCEPTED: accepted', enum_type=RectificationStatus, max_length=16),
        ),
        ops.AddIndex(
            model_name='Rectification',
            index=Index(fields=['status', 'due_on']),
        ),
        ops.AddIndex(
            model_name='Rectification',
            index=Index(fields=['agency_id', 'status']),
        ),
    ]
