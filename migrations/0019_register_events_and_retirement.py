# Register versions' steps become leaves of the transparency log (RegisterEvent: propose, retire, submit,
# approve/return, publish, supersede); the review record moves into them (the opinion is the review
# step's note), so a review has one home. Reviews made before this migration are copied as steps with
# no leaf (they were never logged), and every version already there gets a last unlogged step,
# ``carry_over``, with its state: `audit verify` accepts unlogged steps written before the first logged
# one (services/leaf_sources.py) and checks each version's state against its newest step as usual.
# A version can be a retirement.
from tortoise import migrations
from backend.migration_ops import AddField  # fills the rows already there (backend/migration_ops.py)
from tortoise.migrations import operations as ops
from backend.models.enums import PublishState, RevocationReason
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0018_search_gin_without_pending_list')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RegisterEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.ForeignKeyField('models.RegisterVersion', source_field='version_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.RESTRICT)),
                ('action', fields.CharField(max_length=16)),
                ('state', fields.CharEnumField(description='DRAFT: draft\nPENDING_REVIEW: pending_review\nAPPROVED: approved\nPUBLISHED: published\nREJECTED: rejected\nSUPERSEDED: superseded\nRETIRED: retired', enum_type=PublishState, max_length=16)),
                ('note', fields.TextField(default='', unique=False)),
                ('data', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor', fields.CharField(max_length=64)),
                ('actor_name', fields.CharField(default='', max_length=100)),
                ('actor_role', fields.CharField(default='', max_length=16)),
                ('leaf_index', fields.BigIntField(null=True, unique=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'register_event', 'app': 'models', 'indexes': [Index(fields=['version_id', 'leaf_index'])], 'pk_attr': 'id', 'table_description': 'One step of a version, append-only, each a leaf of the transparency log (``leaf_index``):'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='DecisionRevocation',
            name='reason',
            field=fields.CharEnumField(description='REVOKED: revoked\nCONFIRMED_ILLEGAL: confirmed_illegal\nCONFIRMED_INVALID: confirmed_invalid\nORDERED_REMADE: ordered_remade', enum_type=RevocationReason, max_length=24),
        ),
        AddField(
            model_name='RegisterVersion',
            name='retirement',
            field=fields.BooleanField(default=False),
        ),
        AddField(
            model_name='RegisterVersion',
            name='retirement_reason',
            field=fields.TextField(default='', unique=False),
        ),
        ops.RunSQL("INSERT INTO register_event (version_id, action, state, note, data, at, actor, actor_name, "
                   "actor_role, created_at) SELECT version_id, CASE outcome WHEN 'approved' THEN 'approve' "
                   "ELSE 'return' END, CASE outcome WHEN 'approved' THEN 'approved' ELSE 'rejected' END, opinion, "
                   "'{}', reviewed_at, reviewer, reviewer_name, reviewer_role, reviewed_at FROM register_review "
                   "ORDER BY reviewed_at, id"),
        ops.RunSQL("INSERT INTO register_event (version_id, action, state, note, data, at, actor, actor_name, "
                   "actor_role, created_at) SELECT id, 'carry_over', state, '', '{}', created_at, "
                   "'system:migration', '', 'system', created_at FROM register_version ORDER BY created_at, id"),
        ops.DeleteModel(name='RegisterReview'),
    ]
