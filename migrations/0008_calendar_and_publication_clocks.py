from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.migration_ops import AddField  # fills the rows already there (backend/migration_ops.py)
from backend.models.enums import CalendarDayKind, DecisionStatus, DecisionVersionKind, RevocationReason
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_reviewer_roster')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CalendarLoad',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('loaded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('years', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('source_name', fields.CharField(max_length=200)),
                ('sha256', fields.CharField(max_length=64)),
                ('entries', fields.IntField()),
                ('actor', fields.CharField(max_length=64)),
                ('actor_name', fields.CharField(default='', max_length=100)),
                ('actor_role', fields.CharField(default='', max_length=16)),
            ],
            options={'table': 'calendar_load', 'app': 'models', 'pk_attr': 'id', 'table_description': 'loads of the official holiday schedule (yangguang calendar load)'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CalendarDay',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('load', fields.ForeignKeyField('models.CalendarLoad', source_field='load_id', db_constraint=True, to_field='id', related_name='days', on_delete=OnDelete.RESTRICT)),
                ('year', fields.IntField(db_index=True)),
                ('day', fields.DateField()),
                ('kind', fields.CharEnumField(description='HOLIDAY: holiday\nWORKDAY: workday', enum_type=CalendarDayKind, max_length=16)),
                ('name', fields.CharField(default='', max_length=50)),
            ],
            options={'table': 'calendar_day', 'app': 'models', 'unique_together': (('load', 'day'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DecisionRevocation',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('decision', fields.OneToOneField('models.Decision', source_field='decision_id', db_constraint=True, to_field='id', related_name='revocation', on_delete=OnDelete.RESTRICT)),
                ('reason', fields.CharEnumField(description='REVOKED: revoked\nCONFIRMED_ILLEGAL: confirmed_illegal\nORDERED_REMADE: ordered_remade', enum_type=RevocationReason, max_length=24)),
                ('revoked_on', fields.DateField()),
                ('basis', fields.CharField(default='', max_length=500)),
                ('actor', fields.CharField(max_length=64)),
                ('actor_name', fields.CharField(default='', max_length=100)),
                ('actor_role', fields.CharField(default='', max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'decision_revocation', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A published decision revoked, confirmed illegal or ordered remade (R-P3): it must leave public'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Decision',
            name='status',
            field=fields.CharEnumField(default=DecisionStatus.DRAFT, description='DRAFT: draft\nPUBLISHED: published\nCORRECTED: corrected\nWITHDRAWN: withdrawn\nENDED: ended', enum_type=DecisionStatus, max_length=16),
        ),
        AddField(
            model_name='Decision',
            name='publication_ends_on',
            field=fields.DateField(null=True),
        ),
        AddField(
            model_name='Decision',
            name='publish_due_on_provisional',
            field=fields.BooleanField(default=False),
        ),
        AddField(
            model_name='Decision',
            name='withdraw_due_on_provisional',
            field=fields.BooleanField(default=False),
        ),
        ops.AlterField(
            model_name='DecisionVersion',
            name='kind',
            field=fields.CharEnumField(description='PUBLISH: publish\nCORRECT: correct\nWITHDRAW: withdraw\nEND: end\nCREDIT_REPAIR: credit_repair', enum_type=DecisionVersionKind, max_length=16),
        ),
    ]
