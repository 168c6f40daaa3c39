# The registers (R-D1, R-D3, R-D4). The register tables of 0001 were never written to (no code used
# them): they are dropped and created again with the versioned, reviewed shape.
from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.models.enums import PublishState, RegisterKind, RegisterReviewOutcome
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index
from orjson import loads
from tortoise.fields.data import JSON_DUMPS

_STATES = ('DRAFT: draft\nPENDING_REVIEW: pending_review\nAPPROVED: approved\nPUBLISHED: published\n'
           'REJECTED: rejected\nSUPERSEDED: superseded\nRETIRED: retired')
_KINDS = ('AGENCY: agency\nENTRUSTED_ORG: entrusted_org\nPOWER: power\nINSPECTION_ITEM: inspection_item\n'
          'SERVICE_GUIDE: service_guide\nFLOWCHART: flowchart')


class Migration(migrations.Migration):
    dependencies = [('models', '0011_rectifications')]

    initial = False

    operations = [
        ops.DeleteModel(name='RegisterVersion'),
        ops.DeleteModel(name='RegisterItem'),
        ops.AlterField(
            model_name='Agency',
            name='publish_state',
            field=fields.CharEnumField(default=PublishState.DRAFT, description=_STATES, enum_type=PublishState, max_length=16),
        ),
        ops.CreateModel(
            name='RegisterItem',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('agency', fields.ForeignKeyField('models.Agency', source_field='agency_id', db_constraint=True, to_field='id', related_name='register_items', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description=_KINDS, enum_type=RegisterKind, max_length=32)),
                ('code', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'register_item', 'app': 'models', 'unique_together': (('agency', 'kind', 'code'),), 'pk_attr': 'id', 'table_description': 'One thing an agency discloses: itself, an entrusted organisation, a power, a random-inspection'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RegisterVersion',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('item', fields.ForeignKeyField('models.RegisterItem', source_field='item_id', db_constraint=True, to_field='id', related_name='versions', on_delete=OnDelete.RESTRICT)),
                ('agency', fields.ForeignKeyField('models.Agency', source_field='agency_id', db_constraint=True, to_field='id', related_name='register_versions', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description=_KINDS, enum_type=RegisterKind, max_length=32)),
                ('version', fields.IntField()),
                ('title', fields.CharField(max_length=200)),
                ('content', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('effective_from', fields.DateField()),
                ('state', fields.CharEnumField(default=PublishState.DRAFT, description=_STATES, enum_type=PublishState, max_length=16)),
                ('changed_on', fields.DateField()),
                ('publish_due_on', fields.DateField()),
                ('publish_due_on_provisional', fields.BooleanField(default=False)),
                ('author', fields.CharField(max_length=64)),
                ('author_name', fields.CharField(max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('submitted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('submitted_by_name', fields.CharField(default='', max_length=100)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('published_by_name', fields.CharField(default='', max_length=100)),
            ],
            options={'table': 'register_version', 'app': 'models', 'unique_together': (('item', 'version'),), 'indexes': [Index(fields=['state', 'publish_due_on']), Index(fields=['agency_id', 'kind', 'state'])], 'pk_attr': 'id', 'table_description': 'One version of an item. Its content and effective date never change, only its state moves'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RegisterReview',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('version', fields.ForeignKeyField('models.RegisterVersion', source_field='version_id', db_constraint=True, to_field='id', related_name='reviews', on_delete=OnDelete.RESTRICT)),
                ('outcome', fields.CharEnumField(description='APPROVED: approved\nRETURNED: returned', enum_type=RegisterReviewOutcome, max_length=16)),
                ('opinion', fields.TextField(unique=False)),
                ('reviewer', fields.CharField(max_length=64)),
                ('reviewer_name', fields.CharField(max_length=100)),
                ('reviewer_role', fields.CharField(max_length=16)),
                ('reviewed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'register_review', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The internal review of a version (未经审查不得发布): who, when, the outcome and the opinion.'},
            bases=['Model'],
        ),
    ]
