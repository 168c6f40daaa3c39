from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.migration_ops import AddField  # fills the rows already there (backend/migration_ops.py)
from backend.models.enums import CaseStatus, ReviewLevel, ReviewOutcome
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0005_transparency_log')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LegalReviewEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('review', fields.ForeignKeyField('models.LegalReview', source_field='review_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.RESTRICT)),
                ('case_id', fields.UUIDField()),
                ('kind', fields.CharField(max_length=24)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('data', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('actor', fields.CharField(default='', max_length=64)),
                ('actor_name', fields.CharField(default='', max_length=100)),
                ('actor_role', fields.CharField(default='', max_length=16)),
                ('leaf_index', fields.BigIntField(null=True, unique=True)),
            ],
            options={'table': 'legal_review_event', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Every submission, opinion, dispute and head decision, as it happened: a leaf of the log.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MajorCatalogue',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('agency', fields.ForeignKeyField('models.Agency', source_field='agency_id', db_constraint=True, to_field='id', related_name='major_catalogues', on_delete=OnDelete.RESTRICT)),
                ('version', fields.IntField()),
                ('effective_from', fields.DateField()),
                ('criteria', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('note', fields.TextField(default='', unique=False)),
                ('actor', fields.CharField(default='', max_length=64)),
                ('actor_name', fields.CharField(default='', max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'major_catalogue', 'app': 'models', 'unique_together': (('agency', 'version'),), 'pk_attr': 'id', 'table_description': "重大执法决定目录清单: one version of an agency's catalogue, in force from ``effective_from``"},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Case',
            name='status',
            field=fields.CharEnumField(default=CaseStatus.OPEN, description='OPEN: open\nINVESTIGATING: investigating\nIN_REVIEW: in_review\nDECIDED: decided\nEXECUTING: executing\nCLOSED: closed\nREFERRED: referred', enum_type=CaseStatus, max_length=16),
        ),
        AddField(
            model_name='Case',
            name='complex_case',
            field=fields.BooleanField(default=False),
        ),
        AddField(
            model_name='Case',
            name='major_by_catalogue',
            field=fields.BooleanField(default=False),
        ),
        AddField(
            model_name='Case',
            name='major_by_hand',
            field=fields.BooleanField(default=False),
        ),
        AddField(
            model_name='Case',
            name='major_catalogue_version',
            field=fields.IntField(null=True),
        ),
        AddField(
            model_name='Case',
            name='major_hand_reason',
            field=fields.TextField(default='', unique=False),
        ),
        AddField(
            model_name='Case',
            name='major_rights',
            field=fields.BooleanField(default=False),
        ),
        AddField(
            model_name='Case',
            name='measures',
            field=fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
        ),
        AddField(
            model_name='Case',
            name='public_interest',
            field=fields.BooleanField(default=False),
        ),
        AddField(
            model_name='Case',
            name='referred_on',
            field=fields.DateField(null=True),
        ),
        AddField(
            model_name='Case',
            name='referred_to',
            field=fields.CharField(default='', max_length=200),
        ),
        AddField(
            model_name='Decision',
            name='amount',
            field=fields.DecimalField(null=True, max_digits=14, decimal_places=2),
        ),
        AddField(
            model_name='Decision',
            name='measures',
            field=fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
        ),
        AddField(
            model_name='Decision',
            name='review_id',
            field=fields.UUIDField(null=True),
        ),
        ops.AlterModelOptions(
            name='LegalReview',
            options={'table': 'legal_review', 'app': 'models', 'unique_together': (('case', 'level', 'round'),), 'pk_attr': 'id', 'table_description': 'One round of review of one proposed decision. A correction is answered by a new round; every'},
        ),
        ops.AlterField(
            model_name='LegalReview',
            name='submitted_at',
            field=fields.DatetimeField(auto_now=False, auto_now_add=False),
        ),
        AddField(
            model_name='LegalReview',
            name='agency_id',
            field=fields.UUIDField(db_index=True),
            fill='(SELECT "case".agency_id FROM "case" WHERE "case".id = legal_review.case_id)',
        ),
        AddField(
            model_name='LegalReview',
            name='disputed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddField(
            model_name='LegalReview',
            name='disputed_by_name',
            field=fields.CharField(default='', max_length=100),
        ),
        AddField(
            model_name='LegalReview',
            name='due_on_provisional',
            field=fields.BooleanField(default=True),
        ),
        AddField(
            model_name='LegalReview',
            name='head_decided_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddField(
            model_name='LegalReview',
            name='head_minutes',
            field=fields.TextField(default='', unique=False),
        ),
        AddField(
            model_name='LegalReview',
            name='head_name',
            field=fields.CharField(default='', max_length=100),
        ),
        AddField(
            model_name='LegalReview',
            name='head_outcome',
            field=fields.CharEnumField(null=True, description='APPROVE: approve\nCORRECT: correct\nREFER: refer', enum_type=ReviewOutcome, max_length=16),
        ),
        AddField(
            model_name='LegalReview',
            name='in_government_name',
            field=fields.BooleanField(default=False),
        ),
        AddField(
            model_name='LegalReview',
            name='level',
            field=fields.CharEnumField(default=ReviewLevel.AGENCY, description='AGENCY: agency\nGOVERNMENT: government', enum_type=ReviewLevel, max_length=16),
        ),
        AddField(
            model_name='LegalReview',
            name='outcome',
            field=fields.CharEnumField(null=True, description='APPROVE: approve\nCORRECT: correct\nREFER: refer', enum_type=ReviewOutcome, max_length=16),
        ),
        AddField(
            model_name='LegalReview',
            name='proposal',
            field=fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads),
        ),
        AddField(
            model_name='LegalReview',
            name='referred_on',
            field=fields.DateField(null=True),
        ),
        AddField(
            model_name='LegalReview',
            name='referred_to',
            field=fields.CharField(default='', max_length=200),
        ),
        AddField(
            model_name='LegalReview',
            name='reviewer_name',
            field=fields.CharField(default='', max_length=100),
        ),
        AddField(
            model_name='LegalReview',
            name='submitted_by_name',
            field=fields.CharField(default='', max_length=100),
        ),
        AddField(
            model_name='LegalReview',
            name='submitted_by_role',
            field=fields.CharField(default='', max_length=16),
        ),
        ops.AddConstraint(
            model_name='LegalReview',
            constraint=UniqueConstraint(fields=('case', 'level', 'round'), name=None),
        ),
        ops.DeleteModel(name='MajorCatalogueEntry'),
    ]
