from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_legal_review')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ReviewerRosterFiling',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('agency', fields.ForeignKeyField('models.Agency', source_field='agency_id', db_constraint=True, to_field='id', related_name='roster_filings', on_delete=OnDelete.RESTRICT)),
                ('filed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('enforcement_officers', fields.IntField()),
                ('reviewers', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('actor', fields.CharField(max_length=64)),
                ('actor_name', fields.CharField(default='', max_length=100)),
                ('actor_role', fields.CharField(default='', max_length=16)),
            ],
            options={'table': 'reviewer_roster_filing', 'app': 'models', 'pk_attr': 'id', 'table_description': "法制审核人员信息表 filed with the supervisor (R-L6): a snapshot of the agency's legal reviewers"},
            bases=['Model'],
        ),
    ]
