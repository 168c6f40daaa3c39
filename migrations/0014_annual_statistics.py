from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.models.enums import RemedyKind, RemedyOutcome, StatisticsStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0013_decision_search')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CaseRemedy',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('models.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='remedies', on_delete=OnDelete.RESTRICT)),
                ('agency', fields.ForeignKeyField('models.Agency', source_field='agency_id', db_constraint=True, to_field='id', related_name='remedies', on_delete=OnDelete.RESTRICT)),
                ('decision', fields.ForeignKeyField('models.Decision', source_field='decision_id', null=True, db_constraint=True, to_field='id', related_name='remedies', on_delete=OnDelete.RESTRICT)),
                ('proceeding_id', fields.UUIDField(db_index=True)),
                ('seq', fields.IntField()),
                ('kind', fields.CharEnumField(description='RECONSIDERATION: reconsideration\nLITIGATION: litigation', enum_type=RemedyKind, max_length=16)),
                ('outcome', fields.CharEnumField(description='PENDING: pending\nUPHELD: upheld\nREVOKED: revoked\nCHANGED: changed\nCONFIRMED_ILLEGAL: confirmed_illegal\nCONFIRMED_INVALID: confirmed_invalid\nORDERED_TO_PERFORM: ordered_to_perform\nDISMISSED: dismissed\nWITHDRAWN: withdrawn\nMEDIATED: mediated\nOTHER: other', enum_type=RemedyOutcome, max_length=24)),
                ('filed_on', fields.DateField()),
                ('decided_on', fields.DateField(null=True)),
                ('authority', fields.CharField(max_length=200)),
                ('document_no', fields.CharField(default='', max_length=100)),
                ('note', fields.TextField(default='', unique=False)),
                ('actor', fields.CharField(max_length=64)),
                ('actor_name', fields.CharField(default='', max_length=100)),
                ('actor_role', fields.CharField(default='', max_length=16)),
                ('leaf_index', fields.BigIntField(null=True, unique=True)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'case_remedy', 'app': 'models', 'unique_together': (('proceeding_id', 'seq'),), 'indexes': [Index(fields=['agency_id', 'filed_on'])], 'pk_attr': 'id', 'table_description': 'One entry of a proceeding: its filing (``seq`` 1, ``proceeding_id`` its own id) or a later'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatisticsReport',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('agency', fields.ForeignKeyField('models.Agency', source_field='agency_id', db_constraint=True, to_field='id', related_name='statistics_reports', on_delete=OnDelete.RESTRICT)),
                ('year', fields.IntField()),
                ('status', fields.CharEnumField(default=StatisticsStatus.DRAFT, description='DRAFT: draft\nSUBMITTED: submitted\nPUBLISHED: published', enum_type=StatisticsStatus, max_length=16)),
                ('current_version', fields.IntField(default=0)),
                ('published_version', fields.IntField(null=True)),
                ('submitted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'statistics_report', 'app': 'models', 'unique_together': (('agency', 'year'),), 'indexes': [Index(fields=['year', 'status'])], 'pk_attr': 'id', 'table_description': "Where an agency's report for a year stands (STATISTICS table in services/states.py). Written"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatisticsVersion',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('report', fields.ForeignKeyField('models.StatisticsReport', source_field='report_id', db_constraint=True, to_field='id', related_name='versions', on_delete=OnDelete.RESTRICT)),
                ('version', fields.IntField()),
                ('figures', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('reason', fields.TextField(default='', unique=False)),
                ('submitted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor', fields.CharField(max_length=64)),
                ('actor_name', fields.CharField(default='', max_length=100)),
                ('actor_role', fields.CharField(default='', max_length=16)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('published_by', fields.CharField(default='', max_length=64)),
                ('published_by_name', fields.CharField(default='', max_length=100)),
                ('published_by_role', fields.CharField(default='', max_length=16)),
                ('leaf_index', fields.BigIntField(null=True, unique=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'statistics_version', 'app': 'models', 'unique_together': (('report', 'version'),), 'pk_attr': 'id', 'table_description': 'The figures as submitted, frozen: never changed (a correction is a new version). The'},
            bases=['Model'],
        ),
    ]
